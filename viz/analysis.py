"""Graph statistics with networkx: depth, each step's path length to the loss, per-step figures."""

from __future__ import annotations

import re

import networkx as nx

_STATE_NAME = re.compile(r"^h\[-?\d+\]$")


def root_of(graph: nx.DiGraph):
    """The node the graph was built from (the loss)."""
    return graph.graph["root"]


def depth(graph: nx.DiGraph) -> int:
    """Longest path, in edges, from any input to the loss: the sequential depth of the net."""
    return int(nx.dag_longest_path_length(graph))


def distances_to_root(graph: nx.DiGraph) -> dict:
    """Shortest path length (edges) from every node to the root, in one reverse BFS."""
    return dict(nx.single_source_shortest_path_length(graph.reverse(copy=False), root_of(graph)))


def loop_name(loop) -> str | None:
    """'enc' for the loop ("time", ("enc",)); None for no loop."""
    return None if loop is None else "/".join(loop[1])


def recurrent_loops(graph: nx.DiGraph) -> set:
    """The loops with an edge from one of their steps to another: the recurrences."""
    found = set()
    for a, b in graph.edges():
        la = graph.nodes[a]["loop"]
        if la is not None and la == graph.nodes[b]["loop"] and \
                graph.nodes[a]["step"] != graph.nodes[b]["step"]:
            found.add(la)
    return found


def step_states(graph: nx.DiGraph) -> dict:
    """{(loop, step): node} picking each step's hidden state: the node named h[t], else the
    step's last named node that feeds a later step of its loop, else its last named node, else
    its last node. Keyed by loop as well as step, so an encoder's step 3 and a decoder's step 3
    are two states. Only the recurrent loops count (a per-step loss is no state) when there are
    any."""
    loops = recurrent_loops(graph)
    named, carrier, last_named, last = {}, {}, {}, {}
    for node, attrs in graph.nodes(data=True):  # node keys are creation ids, iterated in order
        step, loop = attrs["step"], attrs["loop"]
        if step is None or (loops and loop not in loops):
            continue
        key = (loop, step)
        last[key] = node
        name = attrs["name"]
        if name:
            last_named[key] = node
            if _STATE_NAME.match(name) and key not in named:
                named[key] = node
            if any(graph.nodes[c]["loop"] == loop and graph.nodes[c]["step"] != step
                   for c in graph.successors(node)):
                carrier[key] = node
    order = sorted(last, key=lambda key: last[key])  # loops in the order they ran
    order = sorted(order, key=lambda key: (min(last[k] for k in last if k[0] == key[0]), key[1]))
    return {key: named.get(key, carrier.get(key, last_named.get(key, last[key])))
            for key in order}


def step_statistics(graph: nx.DiGraph, states: dict | None = None) -> list:
    """One dict per state: step, loop (its scope, e.g. "enc"), nodes (made at that step of
    that loop), state (its name), distance (shortest path from the state to the loss, None if
    it does not reach it), grad_norm of the state. `states`: {(loop, step): node}, default
    step_states(graph)."""
    states = step_states(graph) if states is None else states
    counts: dict = {}
    for _, attrs in graph.nodes(data=True):
        if attrs["step"] is not None:
            key = (attrs["loop"], attrs["step"])
            counts[key] = counts.get(key, 0) + 1
    distance = distances_to_root(graph)
    rows = []
    for (loop, step), node in states.items():
        attrs = graph.nodes[node]
        rows.append({"step": step, "loop": loop_name(loop), "nodes": counts.get((loop, step), 0),
                     "state": attrs["name"], "distance": distance.get(node),
                     "grad_norm": attrs.get("grad_norm")})
    return rows


def states_of(graph: nx.DiGraph, tensors: list) -> dict:
    """{(loop, step): node} for a model's own list of states (e.g. Run.states)."""
    out = {}
    for tensor in tensors:
        if tensor.id in graph:
            attrs = graph.nodes[tensor.id]
            out[(attrs["loop"], attrs["step"])] = tensor.id
    return out


def summary(graph: nx.DiGraph) -> dict:
    """Whole-graph figures: node and edge counts, counts by kind, parameters, steps, depth."""
    kinds: dict = {}
    param_elements = 0
    for _, attrs in graph.nodes(data=True):
        kinds[attrs["kind"]] = kinds.get(attrs["kind"], 0) + 1
        if attrs["kind"] == "param":
            param_elements += attrs["size"]
    steps = {s for _, s in graph.nodes(data="step") if s is not None}
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "kinds": dict(sorted(kinds.items())), "parameters": kinds.get("param", 0),
            "parameter_elements": param_elements, "steps": len(steps), "depth": depth(graph)}


# ---------------------------------------------------------------------------------- trees


def child_slot(attrs: dict) -> str | None:
    """'left child' / 'right child': the scope, right below its loop's own, in which a node of a
    tree step reads a child's state; None elsewhere."""
    loop = attrs["loop"]
    if loop is None or len(attrs["scope"]) <= len(loop[1]):
        return None
    name = attrs["scope"][len(loop[1])]
    return name if name.endswith(" child") else None


def node_loops(graph: nx.DiGraph) -> list:
    """The loops that count tree nodes (axis "node"), in the order they ran."""
    found: dict = {}
    for node, attrs in graph.nodes(data=True):
        loop = attrs["loop"]
        if loop is not None and loop[0] == "node" and loop not in found:
            found[loop] = node
    return sorted(found, key=found.get)


def tree_nodes(graph: nx.DiGraph, loop) -> dict:
    """{step: figures} of one tree loop, read off the record: "state" (the graph node of its
    h), "children" ({slot: child step}), "parent", "slot" (its slot in the parent), "depth"
    (edges from the root of the tree), "height" (edges down to its deepest leaf), "leaf"
    (its position among the leaves, left to right, or None). A child is the step whose nodes
    feed this step's nodes in scope "left child" / "right child"."""
    steps: dict = {}
    for node, attrs in graph.nodes(data=True):
        if attrs["loop"] == loop:
            steps.setdefault(attrs["step"], {"children": {}, "parent": None, "slot": None})
    states = {step: node for (lp, step), node in step_states(graph).items() if lp == loop}
    for a, b in graph.edges():
        sa, sb = graph.nodes[a], graph.nodes[b]
        if sa["loop"] == loop and sb["loop"] == loop and sa["step"] != sb["step"]:
            slot = child_slot(sb)
            if slot is not None:
                steps[sb["step"]]["children"].setdefault(slot, sa["step"])
                steps[sa["step"]]["parent"], steps[sa["step"]]["slot"] = sb["step"], slot
    roots = [s for s, figures in steps.items() if figures["parent"] is None]
    order = []  # preorder from the root(s), the left child first
    stack = sorted(roots, reverse=True)
    depth = {s: 0 for s in roots}
    while stack:
        s = stack.pop()
        order.append(s)
        kids = steps[s]["children"]
        for slot in sorted(kids, reverse=True):  # "left child" sorts first, so it pops first
            depth[kids[slot]] = depth[s] + 1
            stack.append(kids[slot])
    height: dict = {}
    for s in reversed(order):
        height[s] = 1 + max((height[c] for c in steps[s]["children"].values()), default=-1)
    leaves = [s for s in order if not steps[s]["children"]]
    for s, figures in steps.items():
        figures.update(state=states.get(s), depth=depth.get(s), height=height.get(s),
                       leaf=leaves.index(s) if s in leaves else None)
    return {s: steps[s] for s in order}


def tree_statistics(graph: nx.DiGraph) -> list:
    """One dict per tree node (every tree loop, preorder): loop, step, depth, height, slot,
    leaf, state (its name), distance (shortest path from its state to the loss), grad_norm."""
    distance = distances_to_root(graph)
    rows = []
    for loop in node_loops(graph):
        for step, figures in tree_nodes(graph, loop).items():
            state = figures["state"]
            attrs = graph.nodes[state] if state is not None else {}
            rows.append({"loop": loop_name(loop), "step": step, "depth": figures["depth"],
                         "height": figures["height"], "slot": figures["slot"],
                         "leaf": figures["leaf"], "state": attrs.get("name"),
                         "distance": distance.get(state), "grad_norm": attrs.get("grad_norm")})
    return rows


def leaf_paths(graph: nx.DiGraph) -> dict:
    """How far the inputs are from the loss: for a tree, its leaves' states (left to right);
    for a chain, the state of every step (h(1) first). Keys: "inputs" (how many), "first"
    (the first one's shortest path to the loss), "longest" and "shortest" (over all of them),
    "depth" (the longest path of the whole graph), "tree_depth" (edges root -> deepest leaf,
    None for a chain)."""
    distance = distances_to_root(graph)
    loops = node_loops(graph)
    if loops:
        nodes = tree_nodes(graph, loops[0])
        leaves = sorted((f["leaf"], f["state"]) for f in nodes.values() if f["leaf"] is not None)
        paths = [distance.get(state) for _, state in leaves]
        tree_depth = max(f["depth"] for f in nodes.values())
    else:
        paths = [row["distance"] for row in step_statistics(graph)]
        tree_depth = None
    known = [p for p in paths if p is not None]
    return {"inputs": len(paths), "first": paths[0] if paths else None,
            "longest": max(known, default=None), "shortest": min(known, default=None),
            "depth": depth(graph), "tree_depth": tree_depth}


def norms_by_depth(graph: nx.DiGraph, norms: dict) -> list:
    """Gradient norms per tree depth: `norms` maps (loop, step) -> ||dL/dh|| of that node's
    state; one row per depth (0 = the root): nodes, leaves, min, mean, max over its nodes."""
    rows: dict = {}
    for loop in node_loops(graph):
        for step, figures in tree_nodes(graph, loop).items():
            value = norms.get((loop, step))
            if value is None:
                continue
            row = rows.setdefault(figures["depth"], {"depth": figures["depth"], "nodes": 0,
                                                     "leaves": 0, "values": []})
            row["nodes"] += 1
            row["leaves"] += figures["leaf"] is not None
            row["values"].append(value)
    out = []
    for depth_ in sorted(rows):
        row = rows[depth_]
        values = row.pop("values")
        out.append({**row, "min": min(values), "mean": sum(values) / len(values),
                    "max": max(values)})
    return out
