"""tree-rnn: trees and their checks, exact gradients, batching different trees, the depth
figures (against networkx), the drawings (real SVG), the CLI, and a short training run."""

import math
import re
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

from tinygrad_rnn import gradcheck, manual_seed
from tinygrad_rnn.cli import main
from tinygrad_rnn.models import build_graph, get_arch, run_on
from tinygrad_rnn.tasks import Tree, TreeBatch, balanced_tree, check_tree, get_task
from tinygrad_rnn.tasks.trees import (NO_LABEL, expression_text, expression_value,
                                      random_expression)
from tinygrad_rnn.training import TrainConfig, train
from viz import analysis, draw, render, to_networkx

VOCAB = 13  # the expression task's: digits 0-9, + - *


def _model(task, cell="tanh", schedule="auto", hidden=5, seed=0):
    manual_seed(seed)
    return get_arch("tree-rnn").build(task, hidden=hidden, cell=cell,
                                      schedule=schedule).to(np.float64)


# ---------------------------------------------------------------------------------- trees


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 100])
def test_balanced_tree_has_depth_ceil_log2(n):
    tree = balanced_tree(n)
    check_tree(tree, 1)
    assert len(tree.leaves()) == n and tree.leaves() == list(range(n))  # token order
    assert max(tree.depths()) == math.ceil(math.log2(n))
    assert tree.size == 2 * n - 1


def test_expressions_are_seeded_parse_trees_with_their_value():
    rng = np.random.default_rng(0)
    for _ in range(50):
        tree = random_expression(int(rng.integers(1, 7)), rng)
        check_tree(tree, VOCAB)
        assert eval(expression_text(tree)) == expression_value(tree)  # noqa: S307 - digits, + - *
    a = get_task("expression").sample(8, 5, rng=np.random.default_rng(3))
    b = get_task("expression").sample(8, 5, rng=np.random.default_rng(3))
    assert [t.children for t in a.trees] == [t.children for t in b.trees]
    assert len({t.shape_key() for t in a.trees}) > 1  # different trees in one batch
    sign = get_task("expression", target="sign").sample(64, 4, rng=np.random.default_rng(1))
    assert set(sign.y) == {0, 1, 2}


def _one_leaf(children, tokens=None, root=0):
    tokens = tokens if tokens is not None else [0 if not c else NO_LABEL for c in children]
    return Tree(tuple(tuple(c) for c in children), tuple(tokens), root)


@pytest.mark.parametrize("tree, message", [
    (_one_leaf([(1, 2), (0, 3), (), ()]), r"cycle at node 0: 0 -> 1 -> 0"),
    (_one_leaf([(1, 2), (3, 4), (3, 5), (), (), ()]), r"node 3 is reachable twice \(a child of "
                                                      r"node 1 and of node 2\)"),
    (_one_leaf([(1,), ()]), r"node 0 has 1 child \(1,\)"),
    (_one_leaf([(1, 2, 3), (), (), ()]), r"node 0 has 3 children"),
    (_one_leaf([(1, 2), (), ()], tokens=[NO_LABEL, 4, 13]), r"leaf node 2 has token 13, "
                                                            r"outside the vocabulary 0\.\.12"),
    (_one_leaf([]), r"empty: it has no nodes"),
    (_one_leaf([(1, 2), (), (), ()]), r"node 3 is not reachable from the root"),
    (_one_leaf([(1, 7), (), ()]), r"node 0 names child 7, which is not a node"),
    (_one_leaf([(1, 2), (), ()], tokens=[NO_LABEL, 1, 2.5]), r"node 2 has token 2.5; tokens "
                                                             r"are ints"),
])
def test_a_bad_tree_is_one_clear_error_naming_the_node(tree, message):
    with pytest.raises(ValueError, match=message):
        check_tree(tree, VOCAB)
    good = balanced_tree(2, tokens=[1, 2])
    batch = TreeBatch([good, tree], np.array([0, 1]), VOCAB)
    model = _model(get_task("expression"))
    with pytest.raises(ValueError, match="tree-rnn: tree 1.*" + message):
        model.run_batch(batch)


# ----------------------------------------------------------------------- exact gradients


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
@pytest.mark.parametrize("schedule", ["level", "node"])
def test_gradcheck_on_a_tiny_tree(cell, schedule):
    task = get_task("expression")
    model = _model(task, cell=cell, schedule=schedule, hidden=3)
    batch = task.sample(2, 3, rng=np.random.default_rng(5))

    def loss(*params):
        return task.loss(run_on(model, task, batch).outputs, batch)[0]

    assert gradcheck(loss, *model.parameters())


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
@pytest.mark.parametrize("schedule", ["level", "node"])
def test_batched_different_trees_equal_each_tree_alone(cell, schedule):
    task = get_task("expression")
    batch = task.sample(7, 6, rng=np.random.default_rng(2))
    assert len({t.shape_key() for t in batch.trees}) > 3
    model = _model(task, cell=cell, schedule=schedule)
    run = model.run_batch(batch)
    loss, _ = task.loss(run.outputs, batch, reduction="sum")
    loss.backward()
    batched = {name: p.grad.copy() for name, p in model.named_parameters()}
    alone = {name: np.zeros_like(g) for name, g in batched.items()}
    for b, tree in enumerate(batch.trees):
        one = TreeBatch([tree], batch.y[b:b + 1], batch.vocab_size)
        model.zero_grad()
        out = model.run_batch(one)
        np.testing.assert_allclose(out.outputs[0].data[0], run.outputs[0].data[b], rtol=0,
                                   atol=1e-12)
        task.loss(out.outputs, one, reduction="sum")[0].backward()
        for name, p in model.named_parameters():
            alone[name] += p.grad
    for name in batched:
        np.testing.assert_allclose(batched[name], alone[name], rtol=0, atol=1e-12, err_msg=name)


def test_level_and_node_schedules_agree_on_a_balanced_tree():
    task = get_task("first-last")
    batch = task.sample(4, 11, rng=np.random.default_rng(0))
    outs = [run_on(_model(task, cell="lstm", schedule=s), task, batch).outputs[0].data
            for s in ("level", "node")]
    np.testing.assert_allclose(outs[0], outs[1], rtol=0, atol=1e-12)


def test_auto_schedule_draws_nodes_for_one_tree_and_levels_for_many():
    task = get_task("expression")
    many = task.sample(6, 5, rng=np.random.default_rng(0))
    model = _model(task)
    assert {h.axis for h in model.run_batch(many).states} == {"level"}
    one = TreeBatch(many.trees[:1], many.y[:1], VOCAB)
    assert {h.axis for h in model.run_batch(one).states} == {"node"}


# ----------------------------------------------------------------- depths, with networkx


def _leaf_states(graph):
    """The states named h[n] of the leaf steps, found with networkx alone: the named tensors
    of the node loop with no predecessor from another step of the loop."""
    out = []
    for node, attrs in graph.nodes(data=True):
        if attrs["axis"] == "node" and re.fullmatch(r"h\[\d+\]", attrs["name"] or ""):
            ancestors = nx.ancestors(graph, node)
            if not any(graph.nodes[a]["axis"] == "node" and graph.nodes[a]["step"] !=
                       attrs["step"] for a in ancestors):
                out.append((attrs["step"], node))
    return [node for _, node in sorted(out)]


@pytest.mark.parametrize("T", [8, 64])
def test_leaf_to_loss_paths_are_log_t_for_the_tree_and_t_for_the_chain(T):
    tree = to_networkx(build_graph("tree-rnn", steps=T).loss, stats=False)
    chain_sample = build_graph("rnn", steps=T, task="first-last")
    chain = to_networkx(chain_sample.loss, stats=False)
    root = tree.graph["root"]
    leaves = _leaf_states(tree)
    assert len(leaves) == T
    paths = [nx.shortest_path_length(tree, leaf, root) for leaf in leaves]
    figures = analysis.leaf_paths(tree)
    assert figures["inputs"] == T and figures["first"] == paths[0]
    assert figures["longest"] == max(paths) and figures["shortest"] == min(paths)
    assert figures["tree_depth"] == math.ceil(math.log2(T))
    assert figures["depth"] == nx.dag_longest_path_length(tree)
    # four edges per level (matmul, add, add b, tanh), three from the root to the loss
    assert max(paths) == 4 * math.ceil(math.log2(T)) + 3
    h1 = chain_sample.states[0].id
    chain_figures = analysis.leaf_paths(chain)
    assert chain_figures["first"] == nx.shortest_path_length(chain, h1, chain.graph["root"])
    assert chain_figures["first"] == 3 * (T - 1) + 2  # linear, add U x, tanh per step
    assert chain_figures["first"] > (2 if T >= 64 else 1) * figures["first"]


def test_tree_nodes_read_depth_and_child_slot_off_the_record():
    sample = build_graph("tree-rnn", steps=5)
    graph = to_networkx(sample.loss, stats=False)
    (loop,) = analysis.node_loops(graph)
    nodes = analysis.tree_nodes(graph, loop)
    tree = balanced_tree(5)
    depths = tree.depths()
    for n in range(tree.size):
        figures = nodes[n + 1]
        assert figures["depth"] == depths[n]
        kids = tree.children[n]
        assert figures["children"] == ({"left child": kids[0] + 1, "right child": kids[1] + 1}
                                       if kids else {})
        assert (figures["leaf"] is not None) == (not kids)
    assert [s for s, f in nodes.items() if f["leaf"] is not None] == [1, 2, 3, 4, 5]


# ------------------------------------------------------------------------------ drawings


def _texts(svg_path):
    root = ET.parse(svg_path).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    return [(t.text or "", float(t.get("x")), float(t.get("y")))
            for t in root.iter("{http://www.w3.org/2000/svg}text")], root, ns


def test_unrolled_tree_svg_has_the_root_on_top_and_the_leaves_in_order(tmp_path):
    sample = build_graph("tree-rnn", steps=5)
    path = render(sample.loss, tmp_path / "tree.svg")
    texts, _, _ = _texts(path)
    leaves = {}
    root_y = None
    for text, x, y in texts:
        found = re.match(r"leaf (\d) · depth \d · (left|right) child", text)
        if found:
            leaves[int(found.group(1))] = (x, y)
        if text.startswith("node 9 · depth 0 · root"):
            root_y = y
    assert sorted(leaves) == [1, 2, 3, 4, 5]
    xs = [leaves[k][0] for k in sorted(leaves)]
    assert xs == sorted(xs), xs  # token order, left to right
    assert root_y is not None and all(root_y < y for _, y in leaves.values())  # SVG y grows down
    assert len({round(y) for _, y in leaves.values()}) == 1  # one row, leaf 5 (depth 1) too


@pytest.mark.parametrize("cell", ["tanh", "lstm"])
def test_folded_tree_draws_the_composition_once_with_child_slot_markers(tmp_path, cell):
    sample = build_graph("tree-rnn", steps=6, cell=cell)
    dot = draw(sample.loss, view="folded")
    path = render(sample.loss, tmp_path / "folded.svg", view="folded", grads=True)
    texts, root, _ = _texts(path)
    joined = "\n".join(t for t, _, _ in texts)
    assert "composition once for 5 internal nodes" in joined
    assert "leaf function drawn once for 6 leaves" in joined
    markers = [g for g in root.iter("{http://www.w3.org/2000/svg}g")
               if "child-slot" in (g.get("class") or "")]
    assert markers
    # leaves 1 3 5 are left children, 2 4 6 right; nodes 7 9 left, 8 10 right (ceil: 11 root)
    assert "left child\\n3 nodes" in dot.source and "right child\\n3 nodes" in dot.source
    assert "left child\\n2 nodes" in dot.source and "right child\\n2 nodes" in dot.source
    assert "delay" not in joined
    # the size does not grow with the tree: the same count of drawn nodes at T = 6 and 12
    bigger = draw(build_graph("tree-rnn", steps=12, cell=cell).loss, view="folded")
    count = len(re.findall(r"^\s*n\d+ \[", dot.source, re.M))
    assert len(re.findall(r"^\s*n\d+ \[", bigger.source, re.M)) == count


def test_an_expression_tree_svg_keeps_its_leaves_in_token_order(tmp_path):
    # (7 - (3 * 2)) + 5 numbered so that the leaves' numbers run against the token order
    tree = Tree(children=((6, 1), (), (), (), (), (4, 3), (2, 5)),
                tokens=(10, 5, 7, 2, 3, 12, 11), root=0)
    check_tree(tree, VOCAB)
    task = get_task("expression")
    model = _model(task, schedule="node")
    batch = TreeBatch([tree], np.array([expression_value(tree) % 10]), VOCAB)
    loss, _ = task.loss(model.run_batch(batch).outputs, batch)
    texts, _, _ = _texts(render(loss, tmp_path / "expr.svg"))
    x = {int(m.group(1)): tx for text, tx, _ in texts
         if (m := re.match(r"leaf (\d+) · depth", text))}
    # token order: 7 (node 2), 3 (node 4), 2 (node 3), 5 (node 1); steps are node + 1
    assert sorted(x, key=x.get) == [3, 5, 4, 2]
    assert expression_text(tree) == "((7 - (3 * 2)) + 5)"


def test_expression_trees_render_one_tree_each(tmp_path):
    sample = build_graph("tree-rnn", steps=4, task="expression", schedule="node", batch=2,
                         seed=0)
    graph = to_networkx(sample.loss, stats=False)
    assert len(analysis.node_loops(graph)) == 2
    ET.parse(render(sample.loss, tmp_path / "expr.svg"))


# ------------------------------------------------------------------------ CLI and training


def test_cli_inspect_reports_the_tree_against_the_chain(capsys):
    assert main(["inspect", "tree-rnn", "--steps", "8", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "left child" in out and "root" in out
    tree_row = next(line for line in out.splitlines() if "tree-rnn" in line and "│" in line
                    and "3" in line.split("│")[2])
    assert "15" in tree_row  # 4 * 3 + 3
    chain_row = next(line for line in out.splitlines() if "rnn (chain)" in line)
    assert "23" in chain_row  # 3 * 7 + 2


def test_cli_trace_reports_gradient_norms_per_depth(capsys):
    import json

    assert main(["trace", "tree-rnn", "--steps", "8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    depths = doc["depths"]
    assert [row["depth"] for row in depths] == [0, 1, 2, 3]
    assert [row["nodes"] for row in depths] == [1, 2, 4, 8] and depths[3]["leaves"] == 8
    assert doc["steps"][-1]["t"] == 15  # the root is the last state
    assert main(["trace", "tree-rnn", "--steps", "8", "--no-color"]) == 0
    assert "per tree depth" in capsys.readouterr().out


def test_tree_rnn_learns_expression_signs():
    result = train(TrainConfig("tree-rnn", task="expression", steps=3, iters=150, batch=32,
                               hidden=16, lr=0.02, eval_every=150,
                               task_options={"target": "sign"}))
    assert result.test["loss"] < 0.5 * result.baseline, (result.test, result.baseline)


def test_tree_rnn_rejects_a_per_step_task():
    with pytest.raises(ValueError, match="one output at the end"):
        get_arch("tree-rnn").build(get_task("parity"))


def test_the_readme_depth_table_is_what_the_analysis_measures():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for T in (8, 64):
        for name, arch in (("tree-rnn (balanced tree)", "tree-rnn"), ("rnn (chain)", "rnn")):
            f = analysis.leaf_paths(to_networkx(build_graph(arch, steps=T,
                                                            task="first-last").loss,
                                                stats=False))
            levels = f["tree_depth"] if f["tree_depth"] is not None else f["inputs"]
            row = (f"| {T} | {name} | {levels} | {f['depth']} | {f['first']} | "
                   f"{f['longest']} | {f['shortest']} |")
            assert row in readme, row


def test_a_sequence_of_the_wrong_width_is_a_shape_error():
    from tinygrad_rnn import ShapeError, Tensor

    model = _model(get_task("first-last"))
    with pytest.raises(ShapeError, match=r"tree-rnn\(input_size=2\) got x with shape "
                                         r"\(4, 3, 5\)"):
        model(Tensor(np.zeros((4, 3, 5))))


def test_walking_an_unchecked_cyclic_tree_raises_instead_of_looping():
    with pytest.raises(ValueError, match="node 0 is reached twice"):
        _one_leaf([(1, 2), (0, 3), (), ()]).leaves()
