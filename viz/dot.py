"""Graphviz drawings of the record: unrolled (optionally elided) and folded, and rendering them.

Reads only the networkx graph that viz.graph builds. DOT ids are numbered per drawing in the
order the drawn nodes were created, so the same program always gives byte-identical DOT.
"""

from __future__ import annotations

import math
import pathlib
import re
import shutil
import subprocess

import graphviz
import networkx as nx
import numpy as np

from .analysis import child_slot, node_loops, tree_nodes
from .graph import stats_of, to_networkx

VIEWS = ("unrolled", "folded")
RECORD_VALUES = 8  # values=True prints at most this many numbers; bigger tensors get statistics
RENDER_MAX_STEPS = 8  # render()'s default max_steps, the CLI's too
DOT_TIMEOUT = 300.0  # seconds render() gives graphviz before saying the drawing is too large
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}

# Shape tells the kind even when grads=True recolours the fill (never colour alone).
KIND_STYLE = {
    # box3d's depth edges cut into the label unless the margin leaves room for them
    "param": {"shape": "box3d", "style": "filled", "fillcolor": "#fdb863", "margin": "0.12,0.07"},
    "input": {"shape": "invhouse", "style": "filled", "fillcolor": "#b8e186"},
    "constant": {"shape": "note", "style": "filled", "fillcolor": "#eeeeee"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#ffffff"},
    "tensor": {"shape": "box", "style": "rounded,filled", "fillcolor": "#c6dbef"},
    "loss": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#fb9a99"},
    "output": {"shape": "octagon", "style": "filled", "fillcolor": "#fb9a99"},
}
KIND_TEXT = {"param": "parameter", "input": "input", "constant": "constant", "op": "op result",
             "tensor": "named tensor", "loss": "loss", "output": "output"}
# viridis, dark (small gradient) to yellow (large): sequential and colour-blind safe
VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
           "#28ae80", "#5ec962", "#addc30", "#fde725"]


DELAY_LEGEND = ('<<table border="0" cellborder="0" cellspacing="4" cellpadding="0"><tr>'
                '<td fixedsize="true" width="10" height="10" bgcolor="#000000"></td>'
                '<td>delay d: from step t-d</td></tr></table>>')


ALL_STEPS_MARK = "∀ s"
ALL_STEPS_LEGEND = ('<<table border="0" cellborder="0" cellspacing="4" cellpadding="0"><tr>'
                    '<td border="1" style="rounded" cellpadding="2">∀ s</td>'
                    '<td>all steps s: every step of one loop feeds it</td></tr></table>>')


def all_steps_text(loop: tuple, n: int) -> str:
    """'all steps s (30)' on the time axis, 'all hops (3)' / 'all nodes (7)' on another."""
    axis = loop[0]
    return f"all steps s ({n})" if axis in (None, "time") else f"all {axis}s ({n})"


class GraphvizNotFound(RuntimeError):
    """The `dot` binary is not on PATH; the DOT source was written instead."""


# ------------------------------------------------------------------------------------ escaping


# each character that could inject markup or break a quoted DOT string, and what replaces it;
# control characters other than newline are not valid in XML 1.0 at all
_ESCAPES = {"\\": "\\\\", '"': '\\"', "&": "&amp;", "<": "&lt;", ">": "&gt;", "\n": "\\n"}
_ESCAPES.update({chr(c): "?" for c in [*range(32), 127] if chr(c) not in _ESCAPES})
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


MAX_TEXT = 2000  # characters of one label or tooltip; graphviz fails on far longer strings
MAX_NAME = 60  # characters of a name shown on a node (the tooltip keeps up to MAX_TEXT)


def clip_text(text, limit: int = MAX_TEXT) -> str:
    """text shortened to at most limit characters, with '…' where it was cut."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def esc(text) -> str:
    """Any text made safe inside a quoted DOT label: no injected markup, valid SVG XML (a lone
    surrogate becomes '?'), at most MAX_TEXT characters."""
    text = clip_text(text).encode("utf-8", "replace").decode("utf-8")
    return text.translate(_ESCAPE_TABLE)


def esc_tip(text) -> str:
    """esc() for a tooltip: graphviz expands \\N, \\G, ... in tooltips once more than in
    labels, so a backslash is escaped twice there."""
    return esc(clip_text(text).replace("\\", "\\\\"))


def esc_record(text) -> str:
    """esc() plus the characters a record label treats as structure."""
    text = esc(text).replace("\\n", " ")
    return re.sub(r"([{}|])", r"\\\1", text)


# ------------------------------------------------------------------------------ text of a node


def fmt(x: float) -> str:
    return f"{x:.3g}" if x is not None else "-"


def shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ")" if len(shape) != 1 else f"({shape[0]},)"


def op_text(attrs: dict) -> str:
    """'sum(axis=1)': the op and its settings (an index is not shown: it varies per step)."""
    args = {k: v for k, v in attrs["op_args"].items() if k != "index" and v is not None}
    if not args:
        return attrs["op"]
    return attrs["op"] + "(" + ", ".join(f"{k}={v}" for k, v in sorted(args.items())) + ")"


def _array_text(array) -> str:
    flat = np.asarray(array, dtype=np.float64).ravel()
    body = ", ".join(f"{v:.3g}" for v in flat)
    return body if flat.size == 1 else f"[{body}]"


def title_lines(attrs: dict, name: str | None, shape: str) -> list:
    """The visible lines of a tensor node: name first (at most MAX_NAME characters), then op,
    then shape."""
    kind = attrs["kind"]
    name = None if name is None else clip_text(name, MAX_NAME)
    if kind == "constant":
        if name:  # a module's buffer: a fixed matrix, not a number mixed into an op
            return [name, f"fixed · {shape}"]
        value = attrs.get("value")
        return [_array_text(value) if value is not None else "const"]
    if kind in ("param", "input"):
        return [name or kind, shape]
    if kind == "op":
        return [op_text(attrs), shape]
    return [name or KIND_TEXT[kind], f"{op_text(attrs)} · {shape}"]


def tooltip(attrs: dict, name: str | None, shape: str, steps_text: str | None,
            grad_text: str | None) -> str:
    """Op, shape, scope, step, value statistics and gradient norm, one per line."""
    lines = [f"{KIND_TEXT[attrs['kind']]}" + (f" {name}" if name else "")]
    lines.append(f"op: {op_text(attrs) if attrs['op'] != 'leaf' else 'leaf'}")
    lines.append(f"shape: {shape} {attrs['dtype']}")
    lines.append("scope: " + ("/".join(attrs["scope"]) or "-"))
    if steps_text:
        lines.append(steps_text)
    elif attrs["step"] is not None:
        lines.append(f"t = {attrs['step']}")
    stats = node_stats(attrs)
    if stats:
        lines.append("value: " + ", ".join(f"{k} {fmt(v)}" for k, v in stats.items()))
    lines.append(grad_text or "grad: none")
    return "\n".join(lines)


def steps_label(steps: list, axis: str | None = None) -> str:
    """'t = 1', 't = 3–30', 't = 4, 8, …, 28 (every 4)', 't = 1, 2, 5'; 'hop 2–5' off time."""
    head = "t = " if axis in (None, "time") else f"{axis} "
    if len(steps) == 1:
        return f"{head}{steps[0]}"
    gaps = {b - a for a, b in zip(steps, steps[1:])}
    if gaps == {1}:
        return f"{head}{steps[0]}–{steps[-1]}"
    if len(gaps) == 1 and len(steps) > 3:
        return f"{head}{steps[0]}, {steps[1]}, …, {steps[-1]} (every {gaps.pop()})"
    return head + ", ".join(str(s) for s in steps)


def node_stats(attrs: dict) -> dict | None:
    """min/max/mean/std of a node's value: the graph's, else computed now from its array."""
    stats = attrs.get("stats")
    if stats is None and attrs.get("array") is not None:
        stats = attrs["stats"] = stats_of(attrs["array"])
    return stats


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------- gradient colours


class _GradScale:
    """Maps a gradient norm to a viridis colour and a pen width on a log scale."""

    def __init__(self, norms: list):
        positive = [n for n in norms if n is not None and n > 0]
        self.lo = math.log10(min(positive)) if positive else 0.0
        self.hi = math.log10(max(positive)) if positive else 0.0

    def frac(self, norm: float) -> float:
        if norm <= 0:
            return 0.0
        if self.hi - self.lo < 1e-12:
            return 1.0
        return min(1.0, max(0.0, (math.log10(norm) - self.lo) / (self.hi - self.lo)))

    def style(self, norm: float | None) -> dict:
        if norm is None:
            return {"fillcolor": "#ffffff", "style": "filled,dashed", "penwidth": "1"}
        frac = self.frac(norm)
        colour = VIRIDIS[round(frac * (len(VIRIDIS) - 1))]
        return {"fillcolor": colour, "fontcolor": "#ffffff" if frac < 0.55 else "#000000",
                "penwidth": f"{1 + 3 * frac:.2f}", "color": "#000000"}

    def stops(self) -> list:
        """Five norms spread over the scale, for the legend."""
        if self.hi - self.lo < 1e-12:
            return [10 ** self.hi]
        return [10 ** (self.lo + (self.hi - self.lo) * i / 4) for i in range(5)]


# ---------------------------------------------------------------------------- drawing builder


class _Drawing:
    """Collects nodes (with their cluster path) and edges, then emits deterministic DOT."""

    def __init__(self, rankdir: str, title: str | None):
        self.nodes: list = []  # (key, cluster path, attrs), in creation order
        self.index: dict = {}  # key -> DOT id
        self.edges: list = []
        self.cluster_labels: dict = {}
        self.rankdir = rankdir
        self.title = title

    def node(self, key, path: tuple, **attrs) -> str:
        dot_id = f"n{len(self.nodes)}"
        self.index[key] = dot_id
        self.nodes.append((dot_id, path, attrs))
        return dot_id

    def edge(self, a, b, **attrs) -> None:
        self.edges.append((self.index[a], self.index[b], attrs))

    def build(self, legend: list) -> graphviz.Digraph:
        dot = graphviz.Digraph(name="tinygrad_rnn", node_attr={"fontname": "Helvetica",
                               "fontsize": "10", "margin": "0.06,0.03", "height": "0.3"},
                               edge_attr={"fontname": "Helvetica", "fontsize": "9",
                                          "arrowsize": "0.6"})
        dot.attr(rankdir=self.rankdir, fontname="Helvetica", fontsize="11", nodesep="0.2",
                 ranksep="0.3", compound="true", newrank="true")
        # no `size`: graphviz 2.42/2.43 rounds its scale so that content spills past the
        # viewBox (the right edge of the SVG was cut off)
        if self.title:
            dot.attr(label=esc(self.title), labelloc="t")
        tree: dict = {}  # cluster path -> list of node lines; children found by prefix
        order: list = []
        for dot_id, path, attrs in self.nodes:
            for i in range(len(path) + 1):
                if path[:i] not in tree:
                    tree[path[:i]] = []
                    order.append(path[:i])
            tree[path].append((dot_id, attrs))
        numbers = {path: k for k, path in enumerate(p for p in order if p)}
        children: dict = {}  # cluster path -> its child clusters, in order (one pass: linear)
        for path in order:
            if path:
                children.setdefault(path[:-1], []).append(path)
        self._emit(dot, (), tree, children, numbers)
        for a, b, attrs in self.edges:
            dot.edge(a, b, **attrs)
        if legend:
            with dot.subgraph(name="cluster_legend") as sub:
                sub.attr(label="legend", style="rounded", color="#999999")
                for dot_id, attrs in legend:
                    sub.node(dot_id, **attrs)
        return dot

    def _emit(self, dot, path, tree, children, numbers) -> None:
        for dot_id, attrs in tree[path]:
            dot.node(dot_id, **attrs)
        for child in children.get(path, ()):
            with dot.subgraph(name=f"cluster_{numbers[child]}") as sub:
                label, style = self.cluster_labels.get(child, (child[-1], "rounded"))
                sub.attr(label=esc(clip_text(label, MAX_NAME)), style=style,
                         color="#888888", fontsize="10")
                self._emit(sub, child, tree, children, numbers)


def _legend(kinds: set, scale: _GradScale | None, extra: list) -> list:
    """Legend nodes: one per kind drawn, the gradient scale, and any extra (id-less) entries."""
    entries = []
    for kind in KIND_STYLE:
        if kind in kinds:
            entries.append({**KIND_STYLE[kind], "label": KIND_TEXT[kind], "class": kind})
    if scale is not None:
        for norm in scale.stops():
            entries.append({"shape": "box", "style": "filled", **scale.style(norm),
                            "label": f"|∇| {norm:.1e}"})
        entries.append({"shape": "box", **scale.style(None), "label": "no gradient"})
    entries.extend(extra)
    return [(f"legend{i}", attrs) for i, attrs in enumerate(entries)]


# -------------------------------------------------------------------------- node attributes


def _node_attrs(attrs: dict, name: str | None, shape: str, values: bool,
                scale: _GradScale | None, norm: float | None, steps_text: str | None,
                grad_text: str | None, rankdir: str = "LR") -> dict:
    kind = attrs["kind"]
    lines = title_lines(attrs, name, shape)
    if steps_text:
        lines.append(steps_text)
    if scale is not None and norm is not None and not values:
        lines.append(grad_text.replace("grad norm: ", "|∇| "))
    out = dict(KIND_STYLE[kind])
    out["class"] = kind
    if values and kind != "constant":
        out["shape"] = "record"
        out["style"] = "filled" if kind != "tensor" else "rounded,filled"
        out["label"] = _record_label(attrs, lines, rankdir)
    else:
        out["label"] = "\\n".join(esc(line) for line in lines)
    if scale is not None:
        out.update(scale.style(norm))
    out["tooltip"] = esc_tip(tooltip(attrs, name, shape, steps_text, grad_text))
    return out


def _record_label(attrs: dict, lines: list, rankdir: str) -> str:
    """micrograd's "{ name | data … | grad … }" for small tensors, statistics for big ones."""
    fields = [" · ".join(lines)]
    value, grad = attrs.get("value"), attrs.get("grad")
    if value is not None and value.size <= RECORD_VALUES:
        fields.append("data " + _array_text(value))
    elif node_stats(attrs):
        s = node_stats(attrs)
        fields.append(f"mean {fmt(s['mean'])} std {fmt(s['std'])}")
    if grad is not None and grad.size <= RECORD_VALUES:
        fields.append("grad " + _array_text(grad))
    elif attrs.get("grad_norm") is not None:
        fields.append(f"|grad| {fmt(attrs['grad_norm'])}")
    else:
        fields.append("grad -")
    body = " | ".join(esc_record(f) for f in fields)
    # a record's top level runs across the rank direction: braces only when ranks go down
    return body if rankdir in ("LR", "RL") else "{" + body + "}"


def _grad_text(norm: float | None) -> str | None:
    return None if norm is None else f"grad norm: {norm:.3g}"


# ------------------------------------------------------------------------- scopes and steps


def step_text(axis: str | None, step) -> str:
    """'t = 3' on the time axis, 'hop 2' / 'node 5' on any other."""
    return f"t = {step}" if axis in (None, "time") else f"{axis} {step}"


def _cluster_path(attrs: dict, step_clusters: bool) -> tuple:
    """Where a node is drawn: its scope, with the step cluster right below the scope that set
    the step (the loop's own scope), so an inner module's nodes sit inside their step."""
    scope, loop = attrs["scope"], attrs["loop"]
    if loop is None or not step_clusters:
        return scope
    head = loop[1]
    return head + (step_text(loop[0], attrs["step"]),) + scope[len(head):]


def _common_prefix(scopes: list) -> tuple:
    prefix = scopes[0] if scopes else ()
    for scope in scopes[1:]:
        n = 0
        while n < min(len(prefix), len(scope)) and prefix[n] == scope[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def parameter_names(graph: nx.DiGraph) -> dict:
    """node -> the name its parameter node is drawn with: the plain name when unique, else
    qualified by where it is used ("fwd.weight_ih", "layers.0.W").

    A Parameter's name is only its attribute name and parameters are made outside any scope,
    so the qualifier comes from the consumers: the scope they share, minus the prefix every
    parameter of that name shares (the architecture's own scope). Names still equal after that
    get "#1", "#2", ... in creation order.
    """
    groups: dict = {}
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] == "param" and attrs["name"]:
            groups.setdefault(attrs["name"], []).append(node)
    out = {}
    for name, nodes in groups.items():
        if len(nodes) == 1:
            continue
        used = {node: _common_prefix([graph.nodes[c]["scope"] for c in graph.successors(node)])
                for node in nodes}
        shared = len(_common_prefix(list(used.values())))
        labels = {node: ".".join(used[node][shared:] + (name,)) for node in nodes}
        for node in nodes:
            twins = [n for n in nodes if labels[n] == labels[node]]
            out[node] = labels[node] if len(twins) == 1 else \
                f"{labels[node]}#{twins.index(node) + 1}"
    return out


# ------------------------------------------------------------------------------ the two views


def _time_entries(graph: nx.DiGraph, elided: dict) -> tuple:
    """The unrolled drawing's time order: (entries, entry of each stepped node). An entry is one
    step of one loop, or an elided run; loops in the order they started (an encoder, then a
    decoder), each loop's steps ascending. Loops that only ever meet at equal step numbers (a
    per-step loss scope reading o(t) at its own t) share their entries, so L(t) stays by o(t)."""
    loops: dict = {}
    for _, attrs in graph.nodes(data=True):  # creation order
        if attrs["loop"] is not None:
            loops.setdefault(attrs["loop"], set()).add(attrs["step"])
    joined = {loop: loop for loop in loops}
    between: dict = {}  # (loop a, loop b) -> do all their edges join equal steps?
    for a, b in graph.edges():
        la, lb = graph.nodes[a]["loop"], graph.nodes[b]["loop"]
        if la is not None and lb is not None and la != lb:
            same = graph.nodes[a]["step"] == graph.nodes[b]["step"]
            between[(la, lb)] = between.get((la, lb), True) and same
    for (la, lb), same in between.items():
        if same and between.get((lb, la), True) and not elided.get(la) and not elided.get(lb):
            joined[lb] = joined[la]
    entries: list = []
    for loop in loops:
        head = joined[loop]
        while joined[head] != head:
            head = joined[head]
        joined[loop] = head
    steps: dict = {}
    for loop, found in loops.items():
        steps.setdefault(joined[loop], set()).update(found)
    for head, found in steps.items():
        done_elided = False
        for step in sorted(found):
            if step in elided.get(head, ()):
                if not done_elided:
                    entries.append(("elided", head))
                    done_elided = True
                continue
            entries.append((head, step))
    where = {}
    for node, attrs in graph.nodes(data=True):
        if attrs["loop"] is not None:
            head = joined[attrs["loop"]]
            where[node] = ("elided", head) if attrs["step"] in elided.get(head, ()) \
                else (head, attrs["step"])
    return entries, where


def _draw_unrolled(graph: nx.DiGraph, values: bool, scale, rankdir: str, max_steps,
                   note: str | None) -> graphviz.Digraph:
    """Time reads along `rankdir` (LR: t = 1 on the left, later steps to its right): every
    node of a step comes after every node of the step before it, through an invisible anchor
    between them, so the order does not depend on graphviz's crossing minimisation. Several
    loops come one after another in the order they ran; one "… n steps …" node per elided loop
    sits between the steps it stands for."""
    loops: dict = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["loop"] is not None:
            loops.setdefault(attrs["loop"], set()).add(attrs["step"])
    elided: dict = {}  # loop -> its elided steps
    if max_steps is not None:
        for loop, found in loops.items():
            ordered = sorted(found)
            if len(ordered) > max_steps:
                first = max(1, (max_steps + 1) // 2)
                last = max(1, max_steps // 2)
                elided[loop] = set(ordered[first:len(ordered) - last])
    entries, where = _time_entries(graph, elided)
    position = {entry: k for k, entry in enumerate(entries)}
    drawing = _Drawing(rankdir, note)
    kinds = set()
    names = parameter_names(graph)
    members: dict = {}  # entry -> its drawn keys
    for node, attrs in graph.nodes(data=True):
        entry = where.get(node)
        if entry is not None and entry[0] == "elided":
            if entry not in drawing.index:
                kept = sorted(elided[entry[1]])
                loop = entry[1]
                drawing.node(entry, loop[1], shape="box", style="dashed,rounded",
                             **{"class": "elided"},
                             label=esc(f"… {plural(len(kept), 'step')} …\n"
                                       f"({steps_label(kept, loop[0])})"),
                             tooltip=esc_tip(f"{len(kept)} steps elided (max_steps)"))
                members[entry] = [entry]
            continue
        shape = shape_text(attrs["shape"])
        norm = attrs["grad_norm"]
        kinds.add(attrs["kind"])
        drawing.node(node, _cluster_path(attrs, True),
                     **_node_attrs(attrs, names.get(node, attrs["name"]), shape, values,
                                   scale, norm, None, _grad_text(norm), rankdir))
        if entry is not None:
            members.setdefault(entry, []).append(node)
    key_of = {node: where[node] if where.get(node, ("",))[0] == "elided" else node
              for node in graph.nodes}
    seen = set()
    inside_in, inside_out = set(), set()  # keys with a parent / a child in their own entry
    for a, b in graph.edges():
        ka, kb = key_of[a], key_of[b]
        if ka == kb or (ka, kb) in seen:
            continue
        seen.add((ka, kb))
        ea, eb = where.get(a), where.get(b)
        if ea is not None and ea == eb:
            inside_out.add(ka)
            inside_in.add(kb)
        # an edge against the time order (a backward-running loop) must not bend it
        against = ea is not None and eb is not None and position[ea] > position[eb]
        drawing.edge(ka, kb, **({"constraint": "false"} if against else {}))
    for k, (before, after) in enumerate(zip(entries, entries[1:])):
        anchor = ("time", k)
        drawing.node(anchor, (), shape="point", style="invis", width="0", height="0",
                     label="", **{"class": "timeorder"})
        for key in members.get(before, ()):
            if key not in inside_out:  # the step's last nodes
                drawing.edge(key, anchor, style="invis")
        for key in members.get(after, ()):
            if key not in inside_in:  # the next step's first nodes
                drawing.edge(anchor, key, style="invis")
    return drawing.build(_legend(kinds, scale, []))


def _fold_keys(graph: nx.DiGraph) -> dict:
    """node -> its folded key: (loop, scope, op, how many nodes of that op its step made there
    before it), so equal keys are "the same node at another step of the same loop"; unstepped
    nodes keep their own id. Counting per op (not over all nodes) keeps a step-1-only node,
    such as the zero initial state a cell makes, from shifting the keys of everything after it."""
    counters: dict = {}
    keys = {}
    for node, attrs in graph.nodes(data=True):
        if attrs["step"] is None:
            keys[node] = ("node", node)
            continue
        op = attrs["op"] if attrs["op"] != "leaf" else "leaf:" + attrs["kind"]
        slot = (attrs["loop"], attrs["scope"], attrs["step"], op)
        position = counters.get(slot, 0)
        counters[slot] = position + 1
        keys[node] = ("step", attrs["loop"], attrs["scope"], op, position)
    return keys


def _folded_name(name: str | None, step: int) -> str | None:
    """'h[3]' at step 3 -> 'h[t]'; an index one off the step, 'y[2]' at step 3 -> 'y[t-1]'."""
    if not name:
        return name
    name = re.sub(rf"(?<![\w.]){step}(?![\w.])", "t", name)
    return re.sub(rf"\[{step - 1}\]", "[t-1]", name)


def _folded_shape(shape: tuple, n_steps: int, letter: str, time_major: bool) -> str:
    """A time-major tensor outside the steps shows its leading axis as T: (T, 2, 4)."""
    if time_major and shape and shape[0] == n_steps:
        return "(" + ", ".join([letter] + [str(n) for n in shape[1:]]) + ")"
    return shape_text(shape)


def _time_axis(graph: nx.DiGraph, node, domains: dict, domain: list) -> tuple:
    """(how many steps, what to call them) for an unstepped node's leading axis: the steps of
    the one loop it feeds or is fed by (an encoder's states stacked: T(enc)), else all steps."""
    near = {graph.nodes[n]["loop"] for n in graph.predecessors(node)
            if graph.nodes[n]["loop"] is not None}  # what it stacks, else what reads it
    near = near or {graph.nodes[n]["loop"] for n in graph.successors(node)
                    if graph.nodes[n]["loop"] is not None}
    if len(near) != 1:
        return len(domain), "T"
    (loop,) = near
    several = len({len(d) for d in domains.values()}) > 1
    return len(domains[loop]), (f"T({'/'.join(loop[1])})" if several else "T")


def _folded_grad(graph: nx.DiGraph, nodes: list) -> tuple:
    """(the largest gradient norm of the nodes a folded node stands for, its text: the range
    min…max when they differ), or (None, None) when none has a gradient."""
    norms = [graph.nodes[n]["grad_norm"] for n in nodes if graph.nodes[n]["grad_norm"] is not None]
    if not norms:
        return None, None
    norm = max(norms)
    text = f"grad norm: {min(norms):.3g}…{norm:.3g}" if len(norms) > 1 else _grad_text(norm)
    return norm, text


def _loop_domains(graph: nx.DiGraph) -> dict:
    """loop -> the steps a node of it is measured against: a node present at all of them needs
    no step label. A loop's own steps, joined with those of every loop that feeds it at the
    same step number (a per-step loss L(t) reading o(t) counts the recurrence's steps, so a
    loss only at t = T says "t = T"); an encoder's and a decoder's steps stay apart."""
    domains: dict = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["loop"] is not None:
            domains.setdefault(attrs["loop"], set()).add(attrs["step"])
    feeds = {(graph.nodes[a]["loop"], graph.nodes[b]["loop"]) for a, b in graph.edges()
             if graph.nodes[a]["loop"] is not None and graph.nodes[b]["loop"] is not None
             and graph.nodes[a]["loop"] != graph.nodes[b]["loop"]
             and graph.nodes[a]["step"] == graph.nodes[b]["step"]}
    changed = True
    while changed:  # until every loop has taken in the steps of the loops feeding it
        changed = False
        for source, target in feeds:
            if not domains[source] <= domains[target]:
                domains[target] |= domains[source]
                changed = True
    return domains


def _draw_folded(graph: nx.DiGraph, scale, rankdir: str) -> graphviz.Digraph:
    keys = _fold_keys(graph)
    members: dict = {}
    for node in graph.nodes:
        members.setdefault(keys[node], []).append(node)
    domains = _loop_domains(graph)
    domain = sorted(set().union(*domains.values())) if domains else []
    drawing = _Drawing(rankdir, f"folded: {plural(len(domain), 'step')} drawn once")
    kinds = set()
    names = parameter_names(graph)
    root = graph.graph["root"]
    for key, nodes in members.items():  # first members come in creation order
        # the root (a loss accumulated inside the steps) speaks for its key
        attrs = graph.nodes[root if root in nodes else nodes[0]]
        stepped = attrs["step"] is not None
        steps = sorted({graph.nodes[n]["step"] for n in nodes}) if stepped else []
        steps_text = steps_label(steps) if stepped and steps != sorted(
            domains[attrs["loop"]]) else None
        name = _folded_name(attrs["name"], attrs["step"]) if stepped else \
            names.get(nodes[0], attrs["name"])
        norm, grad_text = _folded_grad(graph, nodes)
        kinds.add(attrs["kind"])
        folded = dict(attrs, step=None, stats=None, grad=None, array=None)
        # the sequence x (T, B, D), or a stack of every step's values (T,): not a parameter
        time_major = not stepped and attrs["kind"] != "param" and (
            len(attrs["shape"]) >= 2 or any(graph.nodes[p]["step"] is not None
                                            for p in graph.predecessors(nodes[0])))
        shape = _folded_shape(attrs["shape"], *_time_axis(graph, nodes[0], domains, domain),
                              time_major)
        node_attrs = _node_attrs(folded, name, shape, False, scale, norm, steps_text, grad_text)
        if stepped:  # the tooltip always says which steps the node stands for
            node_attrs["tooltip"] = esc_tip(tooltip(folded, name, shape, steps_label(steps),
                                                grad_text))
        drawing.node(key, attrs["scope"], **node_attrs)
    plain: dict = {}
    delays: dict = {}
    feeds: dict = {}  # (ka, kb) -> {step of b (None: unstepped): steps of a feeding it}
    loop_steps: dict = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["loop"] is not None:
            loop_steps.setdefault(attrs["loop"], set()).add(attrs["step"])
    for a, b in graph.edges():
        ka, kb = keys[a], keys[b]
        sa, sb = graph.nodes[a]["step"], graph.nodes[b]["step"]
        both = sa is not None and sb is not None
        # a delay only within one loop: an encoder's step s and a decoder's step t are not
        # t - s apart, whatever their numbers
        related = both and graph.nodes[a]["loop"] == graph.nodes[b]["loop"]
        if related and sa != sb:
            delays[(ka, kb, sb - sa)] = delays.get((ka, kb, sb - sa), 0) + 1
            continue
        # between scopes (encoder -> decoder): count step pairs; into an unstepped node: steps
        kind = "pairs" if both and not related else \
            "steps" if sa is not None and sb is None else "plain"
        plain[(ka, kb, kind)] = plain.get((ka, kb, kind), 0) + 1
        if kind != "plain":  # which of its loop's steps feed each step of b (or b itself)
            feeds.setdefault((ka, kb), {}).setdefault(sb, set()).add(sa)
    all_steps = []
    for (ka, kb, kind), count in plain.items():
        label = None
        loop = graph.nodes[members[ka][0]]["loop"]
        if kind != "plain" and len(loop_steps[loop]) > 1 and all(
                found == loop_steps[loop] for found in feeds[(ka, kb)].values()):
            all_steps.append((ka, kb, loop))  # every step of a's loop: drawn as one marker
            continue
        if kind == "pairs":
            label = plural(count, "step pair")
        elif kind == "steps" and count > 1:
            label = plural(count, "step")
        drawing.edge(ka, kb, **({"label": esc(label)} if label else {}))
    for ka, kb, loop in all_steps:
        # the edges from every step s of a's loop into b (a stack of all encoder states read
        # by each decoder step, a readout over all states): one edge through one marker; never
        # a numeric delay between different loops
        text = all_steps_text(loop, len(loop_steps[loop]))
        marker = ("all", ka, kb)
        where = "/".join(loop[1])
        drawing.node(marker, graph.nodes[members[ka][0]]["scope"][:len(loop[1]) - 1],
                     shape="circle", style="filled", fillcolor="#ffffff", fixedsize="true",
                     width="0.3", height="0.3", fontsize="8", label=esc(ALL_STEPS_MARK),
                     tooltip=esc_tip(f"{text}: every step of the loop {where} feeds this edge"),
                     **{"class": "allsteps"})
        drawing.edge(ka, marker, arrowhead="none")
        drawing.edge(marker, kb, label=esc(text), **{"class": "allsteps"})
    for (ka, kb, delay), count in delays.items():
        scope_a = graph.nodes[members[ka][0]]["scope"]
        scope_b = graph.nodes[members[kb][0]]["scope"]
        marker = ("delay", ka, kb, delay)
        text = f"delay {delay}\n{plural(count, 'step')}"
        drawing.node(marker, min(scope_a, scope_b, key=len), shape="square", style="filled",
                     fillcolor="#000000", fixedsize="true", width="0.14", height="0.14",
                     label="", tooltip=esc_tip(text.replace("\n", ", ")), **{"class": "delay"})
        drawing.edge(ka, marker, arrowhead="none")
        # an edge label gets its own room in dot's layout; an xlabel is drawn over the edges
        drawing.edge(marker, kb, label=esc(text), **{"class": "delay"})
    extra = []
    if delays:
        # one HTML-table node (marker cell + text cell) so the text stays inside the legend;
        # an xlabel is placed outside its cluster
        extra.append({"shape": "plaintext", "margin": "0", "label": DELAY_LEGEND})
    if all_steps:
        extra.append({"shape": "plaintext", "margin": "0", "label": ALL_STEPS_LEGEND})
    return drawing.build(_legend(kinds, scale, extra))


# ------------------------------------------------------------------------------------ trees

CHILD_LEGEND = ('<<table border="0" cellborder="0" cellspacing="4" cellpadding="0"><tr>'
                '<td fixedsize="true" width="12" height="12" bgcolor="#000000"></td>'
                '<td>child slot: the state of the node&#39;s left / right child</td>'
                '</tr></table>>')


def _draw_tree(graph: nx.DiGraph, view: str, values: bool, scale) -> graphviz.Digraph:
    """A graph whose steps count tree nodes: unrolled laid out as the tree (root at the top,
    leaves in token order at the bottom), or folded (the leaf function and the composition
    drawn once, the recursive inputs marked by child slot)."""
    loops = node_loops(graph)
    trees = {loop: tree_nodes(graph, loop) for loop in loops}
    if view == "folded":
        return _draw_tree_folded(graph, trees, scale)
    return _draw_tree_unrolled(graph, trees, values, scale)


def _tree_position(figures: dict, step: int) -> str:
    """'leaf 5 · depth 3 · left child', 'node 9 · depth 0 · root'."""
    where = "root" if figures["parent"] is None else figures["slot"]
    kind = "leaf" if figures["leaf"] is not None else "node"
    return f"{kind} {step} · depth {figures['depth']} · {where}"


def _draw_tree_unrolled(graph: nx.DiGraph, trees: dict, values: bool,
                        scale) -> graphviz.Digraph:
    count = sum(len(t) for t in trees.values())
    drawing = _Drawing("TB", f"unrolled: {plural(count, 'tree node')}, the root at the top; "
                             f"each state says where its node is")
    kinds = set()
    names = parameter_names(graph)
    shared = set()  # parameters and constants read by every node: drawn once, off the ranks
    for node, attrs in graph.nodes(data=True):
        kinds.add(attrs["kind"])
        loop = attrs["loop"]
        extra = {}
        if loop in trees:
            # no cluster per node: dot orders clusters by its own lights and then puts sibling
            # leaves out of token order; unclustered, the ordering below holds. A node's ops
            # share a group (kept in one column) and its state names its place in the tree.
            figures = trees[loop][attrs["step"]]
            path = attrs["scope"][:len(loop[1]) - 1]
            extra["group"] = f"node{attrs['step']}"
            if figures["state"] == node:
                extra["position"] = _tree_position(figures, attrs["step"])
        elif attrs["step"] is None and attrs["kind"] in ("param", "constant", "input") and \
                any(graph.nodes[c]["loop"] in trees for c in graph.successors(node)):
            shared.add(node)
            path = ("shared by every node",)
        else:
            path = _cluster_path(attrs, True)
        norm = attrs["grad_norm"]
        position = extra.pop("position", None)
        drawn = _node_attrs(attrs, names.get(node, attrs["name"]), shape_text(attrs["shape"]),
                            values, scale, norm, position, _grad_text(norm), "TB")
        drawing.node(node, path, **drawn, **extra)
    # every edge is laid out from the consumer down to its inputs (drawn pointing up, dir=back):
    # with ordering=out, a node's inputs sit left to right in argument order, so the left
    # child's subtree is on the left and the leaves come out in token order
    for a, b in graph.edges():
        if a in shared:  # a line to every node would tie the tree's layout in knots
            drawing.edge(b, a, dir="back", style="dotted", color="#aaaaaa",
                         constraint="false", arrowsize="0.4")
        else:
            drawing.edge(b, a, dir="back")
    dot = drawing.build(_legend(kinds, scale, []))
    dot.attr(ordering="out")
    for loop, nodes in trees.items():  # every leaf on the bottom row, even a shallow one
        leaves = sorted((f["leaf"], f["state"]) for f in nodes.values() if f["leaf"] is not None)
        ids = [drawing.index[state] for _, state in leaves]
        with dot.subgraph() as row:
            row.attr(rank="same")
            for dot_id in ids:
                row.node(dot_id)
        for a, b in zip(ids, ids[1:]):  # a flat edge puts a left of b
            dot.edge(a, b, style="invis")
    return dot


def _draw_tree_folded(graph: nx.DiGraph, trees: dict, scale) -> graphviz.Digraph:
    keys = _fold_keys(graph)
    members: dict = {}
    for node in graph.nodes:
        members.setdefault(keys[node], []).append(node)
    leaves = sum(1 for t in trees.values() for f in t.values() if f["leaf"] is not None)
    inner = sum(len(t) for t in trees.values()) - leaves
    drawing = _Drawing("BT", f"folded: the leaf function drawn once for "
                             f"{plural(leaves, 'leaf').replace('leafs', 'leaves')}, the "
                             f"composition once for {plural(inner, 'internal node')}")
    kinds = set()
    names = parameter_names(graph)
    for key, nodes in members.items():
        attrs = graph.nodes[nodes[0]]
        stepped = attrs["step"] is not None
        name = _folded_name(attrs["name"], attrs["step"]) if stepped else \
            names.get(nodes[0], attrs["name"])
        if stepped and name:
            name = name.replace("[t]", "[n]")
        norm, grad_text = _folded_grad(graph, nodes)
        kinds.add(attrs["kind"])
        folded = dict(attrs, step=None, stats=None, grad=None)
        steps_text = plural(len(nodes), "node") if attrs["loop"] in trees else None
        drawing.node(key, attrs["scope"], **_node_attrs(folded, name, shape_text(attrs["shape"]),
                                                        False, scale, norm, steps_text,
                                                        grad_text, "TB"))
    plain: dict = {}
    slots: dict = {}
    for a, b in graph.edges():
        ka, kb = keys[a], keys[b]
        la, lb = graph.nodes[a], graph.nodes[b]
        if la["step"] is not None and la["loop"] == lb["loop"] and la["step"] != lb["step"]:
            slot = child_slot(lb) or "child"
            slots[(ka, kb, slot)] = slots.get((ka, kb, slot), 0) + 1
            continue
        plain[(ka, kb)] = plain.get((ka, kb), 0) + 1
    for (ka, kb), count in plain.items():
        into_root = graph.nodes[members[ka][0]]["step"] is not None and \
            graph.nodes[members[kb][0]]["step"] is None
        label = "at the root" if into_root and count == 1 else \
            plural(count, "node") if into_root else None
        drawing.edge(ka, kb, **({"label": esc(label)} if label else {}))
    for (ka, kb, slot), count in slots.items():
        marker = ("slot", ka, kb, slot)
        text = f"{slot}\n{plural(count, 'node')}"
        scope_a = graph.nodes[members[ka][0]]["scope"]
        scope_b = graph.nodes[members[kb][0]]["scope"]
        drawing.node(marker, _common_prefix([scope_a, scope_b]), shape="square", style="filled",
                     fillcolor="#000000", fixedsize="true", width="0.16", height="0.16",
                     label="", tooltip=esc(text.replace("\n", ", ")), **{"class": "child-slot"})
        drawing.edge(ka, marker, arrowhead="none")
        drawing.edge(marker, kb, label=esc(text), **{"class": "child-slot"})
    extra = [{"shape": "plaintext", "margin": "0", "label": CHILD_LEGEND}] if slots else []
    return drawing.build(_legend(kinds, scale, extra))


# ------------------------------------------------------------------------------ public API


def draw(root, view: str = "unrolled", grads: bool = False, values: bool = False,
         rankdir: str = "LR", max_steps: int | None = None) -> graphviz.Digraph:
    """Draw the graph recorded behind `root` as a graphviz.Digraph (see API.md, viz).

    view="unrolled" draws the graph as it ran, one cluster per step; max_steps=k elides the
    middle steps into one "… n steps …" node. view="folded" draws each step's sub-graph once
    with delay markers on the edges between steps. grads=True shows every node's gradient norm
    (running root.backward(retain_graph=True) if it has not run); values=True shows data|grad.
    A tree (steps on the node axis) is always drawn root at the top, leaves in token order at
    the bottom (rankdir and max_steps do not apply); folded, its recursive inputs are marked
    by child slot instead of by delay.
    """
    if view not in VIEWS:
        raise ValueError(f"draw: view must be one of {', '.join(VIEWS)}, got {view!r}")
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"draw: rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        # max_steps=1 still keeps the first and the last step: both ends of the sequence show
        raise ValueError(f"draw: max_steps must be a positive int or None, got {max_steps!r}")
    # statistics are computed while drawing, for the drawn nodes only (node_stats)
    graph = to_networkx(root, grads=grads, stats=False)
    return draw_graph(graph, view, grads, values, rankdir, max_steps)


def draw_graph(graph: nx.DiGraph, view: str = "unrolled", grads: bool = False,
               values: bool = False, rankdir: str = "LR",
               max_steps: int | None = None) -> graphviz.Digraph:
    """draw() for a graph already built by viz.to_networkx."""
    scale = _GradScale([n for _, n in graph.nodes(data="grad_norm")]) if grads else None
    if node_loops(graph):  # a tree (steps on the node axis): drawn as one, see _draw_tree
        return _draw_tree(graph, view, values, scale)
    has_steps = any(s is not None for _, s in graph.nodes(data="step"))
    if view == "folded" and has_steps:
        return _draw_folded(graph, scale, rankdir)
    note = None
    if view == "folded":
        note = "no step tags in this graph (nothing repeats over time): drawn unrolled"
    return _draw_unrolled(graph, values, scale, rankdir, max_steps, note)


def render(root, path, **draw_kwargs) -> pathlib.Path:
    """Draw root and write it to path; the format comes from the suffix (.svg .png .pdf .dot).

    Unlike draw(), elides by default: max_steps=RENDER_MAX_STEPS (8) unless given (None draws
    every step). `dot` gets DOT_TIMEOUT seconds; past that, a RuntimeError says the drawing is
    too large.

    Uses the real `dot` binary; without it, writes the DOT source beside path and raises
    GraphvizNotFound naming that file.
    """
    path = pathlib.Path(path)
    # as the CLI: a long unrolled drawing keeps its first and last steps (dot is slow on
    # thousands of clusters); pass max_steps=None to draw every step
    draw_kwargs.setdefault("max_steps", RENDER_MAX_STEPS)
    fmt_name = FORMATS.get(path.suffix.lower())
    if fmt_name is None:
        raise ValueError(f"render: unknown format {path.suffix or '(no suffix)'!r} for {path}; "
                         f"use one of {', '.join(FORMATS)}")
    source = draw(root, **draw_kwargs).source
    if fmt_name == "dot":
        path.write_text(source, encoding="utf-8")
        return path
    binary = shutil.which("dot")
    if binary is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(source, encoding="utf-8")
        raise GraphvizNotFound(
            f"render: the graphviz `dot` program is not on PATH, so {path.name} was not made; "
            f"the DOT source is in {dot_path}. Install graphviz (apt-get install graphviz, "
            f"brew install graphviz, or https://graphviz.org/download/) and run again, or "
            f"render it yourself with: dot -T{fmt_name} {dot_path} -o {path}")
    try:  # the output comes back on stdout: no file name ever reaches dot's command line
        result = subprocess.run([binary, f"-T{fmt_name}"], input=source.encode("utf-8"),
                                capture_output=True, timeout=DOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"render: graphviz `dot` did not finish {path.name} within {DOT_TIMEOUT:g} s "
            f"({source.count(' -> ')} edges): the drawing is too large for it; draw fewer "
            f"steps (max_steps=k elides the middle ones) or view='folded'") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"render: dot failed on {path.name}: "
                           f"{message[0] if message else 'exit ' + str(result.returncode)}")
    path.write_bytes(result.stdout)
    return path
