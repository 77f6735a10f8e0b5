"""Terminal traces with rich: backward node by node, BPTT per step, clipping, training progress.

Everything here observes the engine from outside: `backward(on_grad=...)`, `register_hook` and
`tinygrad_rnn.autograd.vjp(node, grad)` (what a node's op passes to each parent), plus the
record's public attributes (.op .parents .id .scope .step .name .shape .grad). The engine never
learns that a trace is watching.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tinygrad_rnn.autograd import vjp
from tinygrad_rnn.optim import clip_grad_norm_

from .graph import norm, walk

SCHEMA = 1
VANISHED_BELOW = 1e-6  # through-time part below this fraction of ||dL/dh_T||: vanished
EXPLODED_ABOVE = 1e6  # ... above this multiple of it: exploded

# One line of calculus per op: what backward does with the incoming gradient g (y = the output).
RULES = {
    "add": "g to x, g to y (summed over broadcast axes)",
    "sub": "g to x, -g to y",
    "mul": "g * y to x, g * x to y",
    "div": "g / y to x, -g * x / y^2 to y",
    "pow": "g * p x^(p-1) to x, g * y log x to p",
    "maximum": "g to the larger input (ties split it)",
    "where": "g to a where cond, else to b",
    "matmul": "matmul: g @ W^T to x, x^T @ g to W",
    "neg": "-g",
    "exp": "g * y",
    "log": "g / x",
    "tanh": "tanh: g * (1 - y^2)",
    "sigmoid": "g * y * (1 - y)",
    "relu": "g * [x > 0]",
    "sqrt": "g / (2 y)",
    "abs": "g * sign(x)",
    "softplus": "g * sigmoid(x)",
    "sum": "g copied to every summed element",
    "mean": "g / n copied to every averaged element",
    "max": "g to the maxima (ties split it)",
    "reshape": "g reshaped back",
    "transpose": "g with the axes permuted back",
    "getitem": "g scattered back into zeros at the index",
    "cat": "each input gets its slice of g",
    "stack": "each input gets its slice of g",
    "softmax": "y * (g - sum(g * y))",
    "log_softmax": "g - softmax(x) * sum(g)",
    "cross_entropy": "g * (softmax(logits) - onehot(target))",
    "min": "g to the minima (ties split it)",
    "prod": "g * (product of the other elements)",
    "var": "2 g (x - mean) / (n - correction)",
    "std": "g (x - mean) / ((n - correction) y), 0 where y = 0",
    "norm": "g sign(x) (|x| / y)^(p-1), 0 where y = 0",
    "clamp": "g where min <= x <= max, else 0",
    "roll": "g rolled back by -shift",
    "sign": "0 (flat steps)",
    "einsum": "einsum of g with the other operands",
    "linear": "linear: g @ W to x, g^T x to W, g summed to b",
    None: "leaf: accumulate into .grad",
}


# ----------------------------------------------------------------------------------- helpers


def jsonable(obj):
    """obj with every inf/nan float turned into the strings "inf", "-inf", "nan" (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {key: jsonable(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(value) for value in obj]
    return obj


_ASCII = str.maketrans({"‖": "||", "·": "|", "→": "->", "Σ": "sum", "✓": "ok", "…": "...",
                        "≤": "<="})


def _txt(text: str, ascii_only: bool) -> str:
    """text as is, or spelled in ASCII for a terminal that can't draw these symbols."""
    if not ascii_only:
        return text
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def _label(node) -> str:
    """How a node is named in a table: its name, else op#id."""
    if node.name:
        return node.name
    return f"{node.op or 'leaf'}#{node.id}"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3e}"


def _ascii_only(console: Console) -> bool:
    """True when the terminal can't draw block characters (non-UTF encoding, legacy Windows)."""
    return bool(console.options.ascii_only or console.legacy_windows
                or not console.encoding.lower().startswith("utf"))


def log_bar(value: float, low: float, high: float, width: int, ascii_only: bool = False) -> str:
    """A bar whose length grows with log10(value) between `low` and `high` (both > 0).

    A value at `low` gets one cell, one at `high` the full width; 0 gets an empty bar.
    """
    if width <= 0:
        return ""
    if not value > 0 or not math.isfinite(value):
        return "." if value == 0 else "?"
    span = max(math.log10(high) - math.log10(low), 1e-12) if high > low else 1.0
    frac = (math.log10(max(value, low)) - math.log10(low)) / span if high > low else 1.0
    cells = 1 + frac * (width - 1)
    if ascii_only:
        return "#" * max(1, int(round(cells)))
    full = int(cells)
    eighths = int(round((cells - full) * 8))
    if eighths == 8:
        full, eighths = full + 1, 0
    partial = " ▏▎▍▌▋▊▉"[eighths] if eighths else ""
    return "█" * full + partial


def _bar_range(values: Iterable[float]) -> tuple[float, float]:
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 1.0, 1.0
    high = max(positive)
    return max(min(positive), high * 1e-30), high


def _bar_width(console: Console, used: int, bars: int) -> int:
    """Width of each bar column: whatever the numbers leave of the terminal, within 3..24."""
    return max(3, min(24, (console.width - used) // max(bars, 1)))


def _default_console(console: Console | None) -> Console:
    return console if console is not None else Console(highlight=False)


# --------------------------------------------------------------------- backward, node by node


def trace_backward(loss, console: Console | None = None, show_all: bool = False,
                   head: int = 8, tail: int = 8, retain_graph: bool = False) -> list[dict]:
    """Run backward from `loss` and print each node as backward visits it; return all rows.

    A row: order, id, op ("leaf" for leaves), name, scope, step, shape, grad_norm (of the
    incoming gradient), rule (the local derivative in one line) and passes (what the node sends
    to each parent: to, id, norm). Long traces print the first `head` and last `tail` rows and
    the counts per op unless `show_all`; the returned list always has every row.
    """
    rows: list[dict] = []

    def on_grad(node, grad) -> None:
        passes = []
        for parent, sent in zip(node.parents, vjp(node, grad)):
            if parent.requires_grad and sent is not None:
                passes.append({"to": _label(parent), "id": parent.id, "norm": norm(sent)})
        rows.append({
            "order": len(rows), "id": node.id, "op": node.op or "leaf", "name": node.name,
            "scope": "/".join(node.scope), "step": node.step, "shape": list(node.shape),
            "grad_norm": norm(grad), "rule": RULES.get(node.op, node.op or ""),
            "passes": passes,
        })

    loss.backward(retain_graph=retain_graph, on_grad=on_grad)
    print_trace(rows, _default_console(console), show_all=show_all, head=head, tail=tail)
    return rows


def op_counts(rows: list[dict]) -> dict[str, int]:
    """How many visited nodes each op had, in order of first visit."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["op"]] = counts.get(row["op"], 0) + 1
    return counts


def print_trace(rows: list[dict], console: Console, show_all: bool = False, head: int = 8,
                tail: int = 8) -> None:
    """Print trace rows as a table (summarised when long, unless show_all).

    The last column holds the local rule and, on a second line, what goes to each parent, so
    the table stays readable in 80 columns.
    """
    a = _ascii_only(console)
    table = Table(title="backward, in the order it visits the nodes",
                  box=box.ASCII if a else box.SIMPLE_HEAD, title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column(_txt("node · scope/step", a), overflow="fold", max_width=24)
    table.add_column("shape", no_wrap=True)
    table.add_column(_txt("‖g‖ in", a), justify="right", no_wrap=True)
    table.add_column(_txt("local rule → passes to each parent: ‖·‖", a), overflow="fold",
                     ratio=1)
    shown = rows
    elided = 0
    if not show_all and len(rows) > head + tail:
        shown = rows[:head] + rows[len(rows) - tail:]
        elided = len(rows) - head - tail
    for i, row in enumerate(shown):
        if elided and i == head:
            table.add_row("", "", "", "", Text(_txt(f"… {elided} more rows (--all shows "
                                                        f"them) …", a), style="dim"))
        where = row["scope"] or "-"
        if row["step"] is not None:
            where += f" t={row['step']}"
        passes = ", ".join(f"{p['to']}: {_fmt(p['norm'])}" for p in row["passes"])
        node = row["name"] + f" ({row['op']})" if row["name"] else f"{row['op']}#{row['id']}"
        cell = Text(row["rule"])
        if passes:
            cell.append(_txt(f"\n→ {passes}", a), style="dim")
        label = Text(_txt(node, a))
        label.append(_txt(f"\n{where}", a), style="dim")
        shape = "x".join(map(str, row["shape"])) or "()"
        table.add_row(str(row["order"]), label, shape, _fmt(row["grad_norm"]), cell)
    console.print(table)
    counts = op_counts(rows)
    console.print(f"{len(rows)} nodes visited: " + ", ".join(f"{op} {n}" for op, n in
                                                              counts.items()), markup=False)


# ------------------------------------------------------------------------- BPTT per time step


@dataclass
class StepRow:
    """dL/dh_t at one step: its norm, the part from the loss at t itself, the part through time."""

    t: int
    total: float
    local: float
    through: float
    residual: float  # ||total - (local + through)||, the vector check
    flag: str | None = None  # "vanished", "exploded" or None
    loop: str | None = None  # the loop's scope ("enc", "dec") when the states span several

    @property
    def label(self) -> str:
        return str(self.t) if self.loop is None else f"{self.loop} {self.t}"


@dataclass
class ParamRow:
    """One parameter: its gradient norm and the norm of each step's contribution to it."""

    name: str
    shape: tuple
    grad_norm: float
    # step (None for nodes outside any step) -> norm of the contribution; when the steps come
    # from several loops (an encoder and a decoder), the keys are (loop, step) instead
    per_step: dict
    sum_diff: float  # max |sum of contributions - gradient|
    sum_ok: bool


@dataclass
class BPTTReport:
    """The figures of one BPTT trace; `print(console)` draws the tables, `to_dict()` gives JSON."""

    steps: list[StepRow]
    params: list[ParamRow]
    last_step_norm: float
    decay_factor: float | None
    spectral_radius: float | None
    radius_kind: str | None
    last_step_only: bool = False
    clip: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def vanished(self) -> list[int]:
        return [row.t for row in self.steps if row.flag == "vanished"]

    @property
    def exploded(self) -> list[int]:
        return [row.t for row in self.steps if row.flag == "exploded"]

    @property
    def parts_residual(self) -> float:
        return max((row.residual for row in self.steps), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The same figures as the tables, JSON-ready (floats, ints, str, None, lists, dicts)."""
        return jsonable({
            "schema": SCHEMA,
            "kind": "bptt",
            "last_step_only": self.last_step_only,
            "thresholds": {"vanished_below": VANISHED_BELOW, "exploded_above": EXPLODED_ABOVE},
            "last_step_norm": self.last_step_norm,
            "decay_factor": self.decay_factor,
            "spectral_radius": self.spectral_radius,
            "radius_kind": self.radius_kind,
            "parts_residual": self.parts_residual,
            "steps": [{"t": r.t, "loop": r.loop, "total": r.total, "local": r.local,
                       "through": r.through, "flag": r.flag} for r in self.steps],
            "vanished": self.vanished,
            "exploded": self.exploded,
            "params": [{"name": p.name, "shape": list(p.shape), "grad_norm": p.grad_norm,
                        "per_step": [{"step": s, "loop": loop, "norm": n}
                                     for (loop, s), n in _loop_keys(p.per_step).items()],
                        "sum_check": {"max_abs_diff": p.sum_diff, "ok": p.sum_ok}}
                       for p in self.params],
            "clip": self.clip,
            "notes": list(self.notes),
        })

    def print(self, console: Console | None = None) -> None:
        console = _default_console(console)
        console.print(self.steps_table(console))
        console.print(self.summary_text(_ascii_only(console)))
        if self.params:
            for table in self.params_tables(console):
                console.print(table)
            console.print(self.params_check_text(_ascii_only(console)))
        if self.clip is not None:
            print_clipping(console, self.clip["before"], self.clip["after"],
                           self.clip["max_norm"])
        for note in self.notes:
            console.print(Text(note, style="dim"))

    def steps_table(self, console: Console) -> Table:
        what = "dL(T)/dh_t" if self.last_step_only else "dL/dh_t"
        ascii_only = _ascii_only(console)
        table = Table(title=_txt(f"BPTT: ‖{what}‖ per time step (bars: log scale)", ascii_only),
                      box=box.ASCII if ascii_only else box.SIMPLE_HEAD, title_justify="left")
        table.add_column("t", justify="right", no_wrap=True)
        table.add_column(_txt(f"‖{what}‖", ascii_only), justify="right", no_wrap=True)
        table.add_column("from L(t)", justify="right", no_wrap=True)
        table.add_column("through time", justify="right", no_wrap=True)
        # the bars share what the numbers, the flag, the padding and the rules (3 per column) leave
        fixed = max(len(r.label) for r in self.steps) + len(what) + 2 + 9 + 12
        fixed += max([4] + [len(r.flag) for r in self.steps if r.flag]) + 3 * 7 + 1
        width = _bar_width(console, fixed, 2)
        table.add_column("L(t)", no_wrap=True, overflow="crop", min_width=width)
        table.add_column("t+1", no_wrap=True, overflow="crop", min_width=width)
        table.add_column("flag", no_wrap=True)
        low, high = _bar_range([r.local for r in self.steps] + [r.through for r in self.steps])
        for r in self.steps:
            style = {"vanished": "blue", "exploded": "bold red"}.get(r.flag or "", "")
            through = "n/a" if r is self.steps[-1] and r.through == 0 else _fmt(r.through)
            table.add_row(r.label, _fmt(r.total), _fmt(r.local), through,
                          Text(log_bar(r.local, low, high, width, ascii_only), style="green"),
                          Text(log_bar(r.through, low, high, width, ascii_only), style="cyan"),
                          Text(r.flag or "", style=style))
        return table

    def summary_text(self, ascii_only: bool = False) -> Text:
        parts = [f"‖dL/dh_T‖ = {_fmt(self.last_step_norm)}"]
        if self.decay_factor is not None:
            kind = "decay" if self.decay_factor < 1 else "growth"
            parts.append(f"mean {kind} factor per step {self.decay_factor:.3g}")
        if self.spectral_radius is not None:
            parts.append(f"{self.radius_kind} of the recurrent weight {self.spectral_radius:.3g}")
        flags = []
        if self.vanished:
            flags.append(f"vanished at t={_steps_text(self.vanished)}")
        if self.exploded:
            flags.append(f"exploded at t={_steps_text(self.exploded)}")
        parts.append(" · ".join(flags) if flags else "no vanished or exploded step")
        parts.append(f"parts add up to the total (max ‖residual‖ {self.parts_residual:.1e})")
        style = "bold red" if self.exploded else ("blue" if self.vanished else "")
        return Text(_txt(" · ".join(parts), ascii_only), style=style)

    def params_tables(self, console: Console) -> list[Table]:
        """Rows are steps, columns parameters: each cell is ‖what step t sends to the weight‖.

        As many tables as it takes for the columns to fit the console's width.
        """
        groups: list[list[ParamRow]] = [[]]
        used = 14  # the step column
        for p in self.params:
            need = max(len(p.name), 10) + 3
            if groups[-1] and used + need > console.width:
                groups.append([])
                used = 14
            groups[-1].append(p)
            used += need
        return [self._params_table(console, group, "shared weights (continued)" if i else
                                   "shared weights: ‖what step t adds to the gradient‖")
                for i, group in enumerate(groups)]

    def _params_table(self, console: Console, params: list[ParamRow], title: str) -> Table:
        ascii_only = _ascii_only(console)
        table = Table(title=_txt(title, ascii_only),
                      box=box.ASCII if ascii_only else box.SIMPLE_HEAD, title_justify="left")
        table.add_column("t", justify="right", no_wrap=True)
        for p in params:
            table.add_column(Text(_txt(p.name, ascii_only)), justify="right", no_wrap=True)
        steps = []
        for p in self.params:  # every table lists the same rows, in the report's order
            for key in p.per_step:
                if key not in steps:
                    steps.append(key)
        loops = list(dict.fromkeys(r.loop for r in self.steps))  # in the order they ran

        def rank(key):
            loop, s = key if isinstance(key, tuple) else (None, key)
            return (s is None, loops.index(loop) if loop in loops else len(loops), s or 0)

        for key in sorted(steps, key=rank):
            if not any(key in p.per_step for p in params):
                continue
            loop, s = key if isinstance(key, tuple) else (None, key)
            label = "-" if s is None else (f"{loop} {s}" if loop else str(s))
            table.add_row(label, *[_fmt(p.per_step[key]) if key in p.per_step else ""
                                   for p in params])
        table.add_section()
        table.add_row(_txt("Σ = ‖grad‖", ascii_only), *[_fmt(p.grad_norm) for p in params])
        check = "✓" if not ascii_only else "ok"
        table.add_row("sum check", *[(check if p.sum_ok else "MISMATCH") + f" {p.sum_diff:.0e}"
                                     for p in params])
        return table

    def params_check_text(self, ascii_only: bool = False) -> Text:
        """The sentence under the parameter table: the check that the contributions add up."""
        if all(p.sum_ok for p in self.params):
            worst = max((p.sum_diff for p in self.params), default=0.0)
            return Text(_txt("checked: for every parameter the per-step contributions (as "
                             f"arrays) sum to its gradient (max |Σ - grad| {worst:.1e}); that "
                             "sum is BPTT", ascii_only))
        bad = ", ".join(p.name for p in self.params if not p.sum_ok)
        return Text(f"MISMATCH: the per-step contributions do not sum to the gradient of {bad}",
                    style="bold red")


def _steps_text(steps: list[int]) -> str:
    if len(steps) > 2 and steps == list(range(steps[0], steps[-1] + 1)):
        return f"{steps[0]}..{steps[-1]}"
    return ",".join(map(str, steps))


def _named_params(params, loss) -> list[tuple[str, Any]]:
    """(name, tensor) pairs from None (the graph's leaves that require grad), a Module, a dict
    or an iterable of tensors or pairs."""
    if params is None:
        leaves = [n for n in walk(loss) if not n.parents and n.requires_grad]
        return [(n.name or f"param#{n.id}", n) for n in leaves]
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, dict):
        return list(params.items())
    pairs = []
    for item in params:
        if isinstance(item, tuple):
            pairs.append((str(item[0]), item[1]))
        else:
            pairs.append((item.name or f"param#{item.id}", item))
    return pairs


def _radius(weight) -> tuple[float | None, str | None]:
    """Spectral radius of a square weight; the largest singular value of a stacked-gate one."""
    if weight is None:
        return None, None
    w = np.asarray(getattr(weight, "data", weight), dtype=np.float64)
    if w.ndim == 2 and w.shape[0] == w.shape[1]:
        return float(np.max(np.abs(np.linalg.eigvals(w)))), "spectral radius"
    return float(np.linalg.norm(w, 2)), "largest singular value"


class _StepSplitter:
    """Split each state's gradient into the book's two parts, beside backward (on_grad + vjp).

    dL/dh_t = ∂L(t)/∂h_t + (dL/dh_{t+1}) ∂h_{t+1}/∂h_t: the part "through time" is exactly the
    gradient that reached h_t after passing through a later state. So the sweep carries two
    streams per node: "direct", gradient that has not yet passed through any state, and
    "through", gradient that has passed through at least one. At a state the incoming total
    (direct + through) continues down entirely as "through"; every other node passes each
    stream on linearly with vjp. Nothing depends on step tags, so a loss summed inside or
    outside the step scopes splits the same, and a recurrence through the output (h(t) -> o(t)
    -> h(t+1)) still counts as through time: h(t+1) is a later state. The streams add up to
    the engine's total by linearity; the report checks it.

    Also collects, per parameter, what the nodes of each step pass to it (tagged by the
    sending node's step).
    """

    def __init__(self, root, states, params, restricted: bool = False):
        self.index = {h.id: i for i, h in enumerate(states)}
        self.state_step = [h.step if h.step is not None else i + 1 for i, h in enumerate(states)]
        self.first_id: dict = {}  # (loop, step) -> the first node id seen with it: the row order
        self.last_state = states[-1].id
        self.restricted = restricted
        self.local = [None] * len(states)
        self.through = [None] * len(states)
        self.totals = [None] * len(states)
        self.param_index = {p.id: i for i, (_, p) in enumerate(params)}
        self.contrib: list[dict] = [{} for _ in params]
        self.pending_direct: dict = {}  # node id -> its direct stream so far
        self.pending_through: dict = {}
        # only nodes computed from some state can carry gradient on to a state: streams go to
        # those alone (ids are a topological order, parents first)
        self.carries = set()
        for node in walk(root):
            if node.requires_grad and (node.id in self.index
                                       or any(p.id in self.carries for p in node.parents)):
                self.carries.add(node.id)

    def on_grad(self, node, grad) -> None:
        g = np.asarray(grad, dtype=np.float64)
        direct = self.pending_direct.pop(node.id, None)
        through = self.pending_through.pop(node.id, None)
        if direct is None and through is None:
            direct = g  # the loss itself: nothing has passed through a state yet
        i = self.index.get(node.id)
        if i is not None:
            if self.restricted and node.id != self.last_state:
                direct = None  # the hook kept only the through-time part: g is that part
            self.totals[i], self.local[i], self.through[i] = g, direct, through
            direct, through = None, g  # from here on, all of it has passed through h_t
        cache: dict = {}  # id of a gradient -> what vjp passes on for it (computed once)

        def passed(part):
            if part is None:
                return None
            if id(part) not in cache:
                cache[id(part)] = vjp(node, part)
            return cache[id(part)]

        for k, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            j = self.param_index.get(parent.id)
            if j is not None:
                key = (_loop_name(node), node.step)
                self.first_id[key] = min(node.id, self.first_id.get(key, node.id))
                _add(self.contrib[j], key, passed(g)[k])
            if parent.id in self.carries:
                for part, pending in ((direct, self.pending_direct),
                                      (through, self.pending_through)):
                    if part is not None:
                        _add(pending, parent.id, passed(part)[k])

    def through_hook(self, i: int, state):
        """A hook that keeps only the through-time part of state i (drops L(t)'s own part)."""
        def hook(grad):
            part = self.pending_through.get(state.id)
            return np.zeros_like(grad) if part is None else part.astype(grad.dtype)
        return hook


def _add(buckets: dict, key, part) -> None:
    if part is None:
        return
    part = np.asarray(part, dtype=np.float64)
    buckets[key] = part if key not in buckets else buckets[key] + part


def _check_states(loss, states) -> None:
    from tinygrad_rnn import Tensor

    if not getattr(loss, "requires_grad", False) or getattr(loss, "size", 0) != 1:
        raise ValueError("bptt_report: loss must be a scalar Tensor that requires grad")
    if not states:
        raise ValueError("bptt_report: states is empty; pass the hidden states h_1..h_T")
    for t, h in enumerate(states, start=1):
        if not isinstance(h, Tensor) or not h.requires_grad:
            raise ValueError(f"bptt_report: states[{t - 1}] (h_{t}) must be a Tensor that "
                             f"requires grad (a state computed from parameters)")


def bptt_report(loss, states, params=None, console: Console | None = None,
                last_step_only: bool = False, recurrent_weight=None,
                clip: float | None = None, print_report: bool = True) -> BPTTReport:
    """Run backward from `loss` and report dL/dh_t per step, split into its two parts.

    Shapes: states are h_1..h_T, each (B, H). Captures each state's total gradient and, via
    on_grad + vjp, splits it as the book does: dL/dh_t = ∂L(t)/∂h_t + (dL/dh_{t+1}) ∂h_{t+1}/∂h_t,
    the part that reached h_t without passing through a later state ("from L(t)") and the part
    that did ("through time", see _StepSplitter); the two must add up to the total. Per
    parameter, the contribution of each step (what the nodes of step t pass to it) is checked
    to sum to its gradient. `recurrent_weight` adds its spectral radius to the summary (the
    largest singular value when it is not square). `last_step_only` restricts the loss to the
    last step (dL(T)/dh_t: each earlier state keeps only its through-time part); the parameter
    gradients are still those of the full loss. `clip=max_norm` clips the parameter gradients
    after backward (as clip_grad_norm_) and shows the norm before and after. Prints the tables
    to `console` (a new one when None) unless print_report is False.
    """
    _check_states(loss, states)
    states = list(states)
    named = _named_params(params, loss)
    restricted = _last_step_pass(loss, states) if last_step_only and len(states) > 1 else None
    splitter = _StepSplitter(loss, states, named)
    param_ids = {p.id for _, p in named}
    grads: dict = {}  # parameter id -> this loss's gradient, seen by on_grad

    def on_grad(node, grad):
        if node.id in param_ids:
            grads[node.id] = np.array(grad, dtype=np.float64)
        splitter.on_grad(node, grad)

    # side-effect free: the graph is kept (a trace or drawing can follow) and every .grad is
    # left as it was (nothing is added to, or clipped in, the user's gradients)
    with _grads_kept(loss):
        loss.backward(retain_graph=True, on_grad=on_grad)
    several_loops = len({_loop_name(h) for h in states}) > 1

    steps = []
    for i in range(len(states)):
        total = splitter.totals[i]
        local, through = splitter.local[i], splitter.through[i]
        if restricted is not None:
            total, local, through = restricted[i]
        zero = 0.0 if total is None else np.zeros_like(total)
        residual = 0.0 if total is None else norm(
            total - (zero if local is None else local) - (zero if through is None else through))
        steps.append(StepRow(splitter.state_step[i], norm(total), norm(local),
                             norm(through), residual,
                             loop=_loop_name(states[i]) if several_loops else None))
    last = steps[-1].total
    for row in steps[:-1]:
        if last > 0 and row.through < VANISHED_BELOW * last:
            row.flag = "vanished"
        elif last > 0 and row.through > EXPLODED_ABOVE * last:
            row.flag = "exploded"
    report = BPTTReport(steps, _param_rows(named, splitter, grads), last,
                        _decay_factor(steps), *_radius(recurrent_weight),
                        last_step_only=last_step_only)
    if len(steps) > 1 and all(row.through == 0 for row in steps):
        report.notes.append("no gradient reaches these states through time: the recurrence does "
                            "not pass through them (teacher forcing, a discrete feedback such as "
                            "argmax, a detached state, or states that only feed the outputs)")
    if clip is not None:  # on copies of the gradients: what clipping would do, not done
        report.clip = clip_params([_GradHolder(grads[p.id]) for _, p in named
                                   if p.id in grads], clip)
    if print_report:
        report.print(console)
    return report


def _last_step_pass(loss, states) -> list[tuple]:
    """dL(T)/dh_t for every t: a backward (graph kept) in which each earlier state's gradient is
    replaced by its through-time part (what came back through h_{t+1}), so the losses of the
    earlier steps stop at their own state and only the last step's loss flows back.

    Leaves' and retained nodes' gradients are restored afterwards.
    """
    splitter = _StepSplitter(loss, states, [], restricted=True)
    handles = [h.register_hook(splitter.through_hook(i, h)) for i, h in enumerate(states[:-1])]
    try:
        with _grads_kept(loss):
            loss.backward(retain_graph=True, on_grad=splitter.on_grad)
    finally:
        for handle in handles:
            handle.remove()
    out = []
    for i in range(len(states)):
        through = splitter.through[i]
        local = None if i < len(states) - 1 else splitter.local[i]
        out.append((splitter.totals[i], local, through))
    return out


@contextlib.contextmanager
def _grads_kept(root):
    """Every .grad of the tensors behind root (leaves and retained nodes) as it was, after."""
    saved = [(n, n.grad) for n in walk(root) if n.requires_grad]
    try:
        yield
    finally:
        for node, grad in saved:
            node.grad = grad


def _GradHolder(grad):  # noqa: N802 (reads as the stand-in it makes)
    """A detached leaf holding a copy of grad, so clip_params shows clipping without touching
    the parameters."""
    from tinygrad_rnn import Tensor

    holder = Tensor(np.zeros(np.shape(grad)))
    holder.grad = np.array(grad)
    return holder


def _param_rows(named, splitter: _StepSplitter, grads: dict) -> list[ParamRow]:
    rows = []
    for j, (name, p) in enumerate(named):
        per_step = splitter.contrib[j]
        grad = grads.get(p.id, np.zeros(p.shape))
        total = sum(per_step.values(), np.zeros(p.shape))
        diff = float(np.max(np.abs(total - grad))) if grad.size else 0.0
        eps = float(np.finfo(p.dtype).eps)
        scale = float(np.max(np.abs(grad))) if grad.size else 0.0
        ok = diff <= 64 * eps * max(scale, 1e-30) * max(len(per_step), 1)
        order = sorted(per_step, key=lambda key: (key[1] is None, splitter.first_id.get(key, 0)))
        several = len({loop for loop, _ in splitter.first_id if loop is not None}) > 1
        norms = {(key if several else key[1]): norm(per_step[key]) for key in order}
        rows.append(ParamRow(name, tuple(p.shape), norm(grad), norms, diff, ok))
    return rows


def _loop_keys(per_step: dict) -> dict:
    """per_step keyed by (loop, step) whatever the report's keys are (step alone: loop None)."""
    return {(key if isinstance(key, tuple) else (None, key)): n for key, n in per_step.items()}


def _loop_name(node) -> str | None:
    """'enc' for a node of the loop scope("enc", step=...); None outside any step."""
    loop = node.loop
    return None if loop is None else "/".join(loop.scope)


def _decay_factor(steps: list[StepRow]) -> float | None:
    """Geometric mean over t of ‖through-time part at t‖ / ‖dL/dh_{t+1}‖: the factor by which
    one step back in time scales the gradient (compare with the spectral radius)."""
    logs = []
    for row, nxt in zip(steps, steps[1:]):
        if row.through > 0 and nxt.total > 0:
            logs.append(math.log(row.through / nxt.total))
    if not logs:
        return None
    return math.exp(sum(logs) / len(logs))


# --------------------------------------------------------------------------------- clipping


def clip_params(params, max_norm: float) -> dict:
    """Clip the parameters' gradients to a total norm of max_norm (clip_grad_norm_'s rule);
    return {"max_norm", "before", "after", "clipped"}."""
    before = clip_grad_norm_(params, max_norm)
    clipped = max_norm / (before + 1e-6) < 1  # the rule clip_grad_norm_ scaled by
    after = math.sqrt(sum(float(np.sum(np.square(p.grad, dtype=np.float64)))
                          for p in params if p.grad is not None))
    return {"max_norm": float(max_norm), "before": before, "after": after, "clipped": clipped}


def clipping_text(before: float, after: float, max_norm: float | None = None,
                  ascii_only: bool = False) -> Text:
    """'clipped: ‖g‖ 12.3 → 1.00 (max_norm 1)' or 'not clipped: ‖g‖ 0.52 ≤ 1'."""
    limit = f" (max_norm {max_norm:g})" if max_norm is not None else ""
    if after < before * (1 - 1e-9):
        return Text(_txt(f"clipped: ‖g‖ {before:.4g} → {after:.4g}{limit}", ascii_only),
                    style="yellow")
    return Text(_txt(f"not clipped: ‖g‖ {before:.4g}{limit}", ascii_only))


def print_clipping(console: Console, before: float, after: float,
                   max_norm: float | None = None) -> None:
    """Print the gradient norm before and after clipping on one line."""
    console.print(clipping_text(before, after, max_norm, _ascii_only(console)))


# -------------------------------------------------------------------------- training display


class TrainDisplay:
    """Progress for `tinygrad-rnn train`: a rich bar with loss and it/s on a terminal, a few
    plain lines when the output is a pipe or a log, nothing with quiet (or json).

        with TrainDisplay(iters, console, title="rnn on copy") as display:
            for i in range(iters):
                ...
                display.update(i + 1, loss.item(), clip=(before, after))
        display.results({"final loss": 0.12, ...})
    """

    def __init__(self, total: int, console: Console | None = None, quiet: bool = False,
                 title: str = "training", json_mode: bool = False, plain_lines: int = 10):
        self.total = int(total)
        self.console = _default_console(console)
        self.quiet = quiet or json_mode
        self.json_mode = json_mode
        self.title = title
        self.every = max(1, self.total // max(plain_lines, 1))
        self.history: list[tuple[int, float]] = []
        self.clips = 0
        self.last_clip: tuple[float, float] | None = None
        self._clips_printed = 0  # self.clips and the iteration when the last plain line printed
        self._iter_printed = 0
        self._progress = None
        self._task = None
        self._start = time.perf_counter()

    @property
    def live(self) -> bool:
        """A redrawing bar only on a real terminal."""
        return not self.quiet and self.console.is_terminal and not self.console.is_dumb_terminal

    def __enter__(self) -> TrainDisplay:
        self._start = time.perf_counter()
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]} it/s"),
                TimeRemainingColumn(), TextColumn("{task.fields[clip]}"), console=self.console,
                transient=False)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.total, loss="-",
                                                 rate="-", clip="")
        elif not self.quiet:
            self.console.print(f"{self.title}: {self.total} iterations")
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @property
    def rate(self) -> float:
        elapsed = time.perf_counter() - self._start
        done = self.history[-1][0] if self.history else 0
        return done / elapsed if elapsed > 0 else 0.0

    def update(self, iteration: int, loss: float, clip: tuple[float, float] | None = None) -> None:
        """Record iteration `iteration` (1-based) with its loss; clip=(before, after) norms."""
        self.history.append((int(iteration), float(loss)))
        if clip is not None and clip[1] < clip[0] * (1 - 1e-9):
            self.clips += 1
            self.last_clip = (float(clip[0]), float(clip[1]))
        if self.quiet:
            return
        if self._progress is not None:
            clip_text = ""
            if self.last_clip is not None:
                clip_text = _txt(f"clipped ‖g‖ {self.last_clip[0]:.3g} → {self.last_clip[1]:.3g}"
                                 f" ({self.clips}x)", _ascii_only(self.console))
            self._progress.update(self._task, completed=iteration, loss=f"{loss:.4f}",
                                  rate=f"{self.rate:.1f}", clip=clip_text)
            return
        if iteration % self.every == 0 or iteration == self.total:
            line = f"iter {iteration}/{self.total}  loss {loss:.4f}  {self.rate:.1f} it/s"
            since = self.clips - self._clips_printed  # clipped iterations since the last line
            if since:
                line += (f"  clipped {since} of {iteration - self._iter_printed} "
                         f"(last ‖g‖ {self.last_clip[0]:.3g} → {self.last_clip[1]:.3g})")
            self._clips_printed, self._iter_printed = self.clips, iteration
            self.console.print(_txt(line, _ascii_only(self.console)), markup=False)

    def summary(self) -> dict[str, Any]:
        """Figures of the run: first/final loss, iterations, it/s, clipped iterations."""
        return {"iters": len(self.history),
                "first_loss": self.history[0][1] if self.history else None,
                "final_loss": self.history[-1][1] if self.history else None,
                "it_per_s": self.rate, "clipped_iters": self.clips,
                "seconds": time.perf_counter() - self._start}

    def results(self, results: dict[str, Any] | None = None, title: str | None = None) -> None:
        """Print the final results table (the run's summary plus `results`); not in json mode."""
        if self.json_mode:
            return
        figures = dict(results or {})
        labels = {"iters": "iterations", "first_loss": "first training loss",
                  "final_loss": "final training loss", "it_per_s": "it/s",
                  "clipped_iters": "clipped iterations", "seconds": "seconds"}
        for key, value in self.summary().items():
            if key not in figures and labels[key] not in figures:
                figures[labels[key]] = value
        print_results(self.console, figures, title or f"{self.title}: results")


def results_table(results: dict[str, Any], title: str = "results",
                  ascii_only: bool = False) -> Table:
    """A two-column table: what, value (floats to 4 significant digits)."""
    table = Table(title=_txt(title, ascii_only), box=box.ASCII if ascii_only else box.SIMPLE_HEAD,
                  title_justify="left")
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if isinstance(value, float):
            text = f"{value:.4g}"
        else:
            text = "-" if value is None else str(value)
        table.add_row(_txt(str(key).replace("_", " "), ascii_only), _txt(text, ascii_only))
    return table


def print_results(console: Console, results: dict[str, Any], title: str = "results") -> None:
    """Print `results` as a small table (a training run's final figures)."""
    console.print(results_table(results, title, _ascii_only(console)))


def train_json(results: dict[str, Any], history: list[tuple[int, float]] | None = None) -> dict:
    """The `train --json` document: {"schema": 1, "kind": "train", "results", "history"}."""
    return jsonable({"schema": SCHEMA, "kind": "train", "results": dict(results),
                     "history": [{"iter": i, "loss": loss} for i, loss in (history or [])]})
