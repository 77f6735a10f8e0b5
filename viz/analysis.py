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


def step_states(graph: nx.DiGraph) -> dict:
    """{step: node} picking each step's hidden state: the node named h[t], else the step's last
    named node, else its last node."""
    named, last_named, last = {}, {}, {}
    for node, attrs in graph.nodes(data=True):  # node keys are creation ids, iterated in order
        step = attrs["step"]
        if step is None:
            continue
        last[step] = node
        name = attrs["name"]
        if name:
            last_named[step] = node
            if _STATE_NAME.match(name) and step not in named:
                named[step] = node
    return {step: named.get(step, last_named.get(step, last[step])) for step in sorted(last)}


def step_statistics(graph: nx.DiGraph, states: dict | None = None) -> list:
    """One dict per step: step, nodes (made at that step), state (its name), distance (shortest
    path from the state to the loss, None if it does not reach it), grad_norm of the state."""
    states = step_states(graph) if states is None else states
    counts: dict = {}
    for _, step in graph.nodes(data="step"):
        if step is not None:
            counts[step] = counts.get(step, 0) + 1
    distance = distances_to_root(graph)
    rows = []
    for step, node in sorted(states.items()):
        attrs = graph.nodes[node]
        rows.append({"step": step, "nodes": counts.get(step, 0), "state": attrs["name"],
                     "distance": distance.get(node), "grad_norm": attrs.get("grad_norm")})
    return rows


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
