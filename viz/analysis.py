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
