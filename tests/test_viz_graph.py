"""viz.graph and viz.analysis: the record as networkx, gradients via on_grad, depth and paths."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, nn, scope, stack
from viz import analysis, to_networkx


def user_rnn(T: int, hidden: int = 3, seed: int = 0) -> Tensor:
    """A textbook RNN written with raw tensors: h[t] = tanh(h[t-1] W + x[t] U^T), loss summed
    inside the steps (so the loss accumulator is itself a recurrent node)."""
    rng = np.random.default_rng(seed)
    W = Tensor(rng.normal(size=(hidden, hidden)) * 0.5, requires_grad=True, name="W")
    U = Tensor(rng.normal(size=(hidden, 2)), requires_grad=True, name="U")
    x = Tensor(rng.normal(size=(T, 1, 2)), name="x")
    h = Tensor(np.zeros((1, hidden)), name="h[0]")
    loss = None
    for t in range(1, T + 1):
        with scope("rnn", step=t):
            h = (h @ W + x[t - 1] @ U.T).tanh().named(f"h[{t}]")
            step_loss = (h * h).sum()
            loss = step_loss if loss is None else loss + step_loss
    return loss.named("loss")


def test_nodes_edges_and_attributes():
    loss = user_rnn(3)
    graph = to_networkx(loss)
    # per step: getitem, matmul, transpose, matmul, add, tanh, mul, sum (+ a loss add from t=2)
    assert graph.number_of_nodes() == 4 + 8 * 3 + 2
    kinds = [k for _, k in graph.nodes(data="kind")]
    assert kinds.count("param") == 2 and kinds.count("input") == 2
    assert kinds.count("tensor") == 3 and kinds.count("loss") == 1
    by_name = {a["name"]: a for _, a in graph.nodes(data=True) if a["name"]}
    assert by_name["W"]["op"] == "leaf" and by_name["W"]["requires_grad"]
    assert by_name["W"]["is_param"] is False  # a plain Tensor, not an nn.Parameter
    assert by_name["h[2]"]["op"] == "tanh" and by_name["h[2]"]["shape"] == (1, 3)
    assert by_name["h[2]"]["scope"] == ("rnn",) and by_name["h[2]"]["step"] == 2
    assert by_name["h[0]"]["step"] is None and by_name["x"]["kind"] == "input"
    assert graph.graph["root"] == loss.id
    for a, b in graph.edges():
        assert a < b  # parents were made first


def test_parameters_and_constants():
    cell = nn.RNNCell(2, 3)
    x = Tensor(np.ones((1, 2), dtype=np.float32), name="x")
    out = (1 - cell(x)).sum()
    graph = to_networkx(out)
    params = {a["name"] for _, a in graph.nodes(data=True) if a["is_param"]}
    assert params == {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    constants = [a for _, a in graph.nodes(data=True) if a["kind"] == "constant"]
    assert len(constants) == 1 and constants[0]["value"] == 1


def test_repeated_parent_keeps_both_slots():
    x = Tensor([1.0, 2.0], requires_grad=True)
    graph = to_networkx((x * x).sum())
    assert graph.edges[x.id, x.id + 1]["slots"] == (0, 1)


def test_long_chain_needs_no_recursion():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    graph = to_networkx(y.sum(), stats=False)
    assert graph.number_of_nodes() == 1 + 2 * 20000 + 1
    assert analysis.depth(graph) == 20001


def test_grads_from_on_grad_equal_retain_grad():
    loss = user_rnn(4)
    graph = to_networkx(loss, grads=True)
    assert graph.graph["backward_ran"]
    reference = user_rnn(4)
    nodes = []
    stack_ = [reference]
    seen = set()
    while stack_:
        node = stack_.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        nodes.append(node)
        if node.requires_grad and node.parents:
            node.retain_grad()
        stack_.extend(node.parents)
    reference.backward()
    got = {a["name"] or f"{a['op']}@{a['step']}#{i}": a["grad_norm"]
           for i, (_, a) in enumerate(graph.nodes(data=True))}
    want = {}
    for i, node in enumerate(sorted(nodes, key=lambda n: n.id)):
        key = node.name or f"{node.op or 'leaf'}@{node.step}#{i}"
        want[key] = None if node.grad is None else float(np.linalg.norm(node.grad))
    assert got.keys() == want.keys()
    for key in want:
        if want[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(want[key], rel=1e-12), key
    assert got["h[1]"] is not None and got["h[1]"] > 0  # an intermediate, never retained
    again = to_networkx(loss, grads=True)  # drawing twice neither reruns nor loses them
    assert [a["grad_norm"] for _, a in again.nodes(data=True)] == \
        [a["grad_norm"] for _, a in graph.nodes(data=True)]


def _fresh_norms(make) -> dict:
    """{name: gradient norm} from a fresh backward of a fresh copy, every node retained."""
    root = make()
    nodes, stack_ = {}, [root]
    while stack_:
        node = stack_.pop()
        if node.id not in nodes:
            nodes[node.id] = node
            if node.requires_grad and node.parents:
                node.retain_grad()
            stack_.extend(node.parents)
    root.backward()
    return {n.name: float(np.linalg.norm(n.grad)) for n in nodes.values()
            if n.name and n.grad is not None}


def test_grads_after_the_users_backward_are_the_roots_not_only_the_leaves():
    loss = user_rnn(3)
    to_networkx(loss, grads=True)  # drawn once while the graph exists
    loss.backward()  # the user's own backward frees it; its .grad must stay the user's
    graph = to_networkx(loss, grads=True)
    norms = {a["name"]: a["grad_norm"] for _, a in graph.nodes(data=True) if a["name"]}
    want = _fresh_norms(lambda: user_rnn(3))
    assert norms["h[2]"] == pytest.approx(want["h[2]"], rel=1e-12)  # an intermediate
    assert norms["W"] == pytest.approx(want["W"], rel=1e-12)


def test_grads_of_a_freed_graph_never_drawn_is_a_clear_error():
    loss = user_rnn(3)
    loss.backward()
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        to_networkx(loss, grads=True)


def test_grads_after_a_training_step_are_the_fresh_roots():
    # the previous batch's parameter gradients must not be drawn for a new forward pass
    rng = np.random.default_rng(1)
    W = Tensor(rng.normal(size=(3, 3)) * 0.5, requires_grad=True, name="W")
    x = Tensor(rng.normal(size=(4, 3)), name="x")

    def forward(scale):
        h = x
        for t in range(1, 4):
            with scope("rnn", step=t):
                h = (h @ W * scale).tanh().named(f"h[{t}]")
        return (h * h).sum().named("L")

    forward(1.0).backward()  # a training step's gradient stays on W
    stale = np.array(W.grad)
    graph = to_networkx(forward(0.3), grads=True)
    norms = {a["name"]: a["grad_norm"] for _, a in graph.nodes(data=True) if a["name"]}
    W.grad = None
    want = _fresh_norms(lambda: forward(0.3))
    assert norms["W"] == pytest.approx(want["W"], rel=1e-12)
    assert norms["h[1]"] == pytest.approx(want["h[1]"], rel=1e-12)
    assert norms["W"] != pytest.approx(float(np.linalg.norm(stale)), rel=1e-6)


def test_drawing_with_grads_leaves_retained_gradients_and_a_later_backward_alone():
    rng = np.random.default_rng(2)
    w = Tensor(rng.normal(size=(2, 2)), requires_grad=True, name="w")
    h = (w @ Tensor(np.ones((2, 1)))).tanh().named("h")
    h.retain_grad()
    loss = (h * h).sum()
    to_networkx(loss, grads=True)
    assert h.grad is None and w.grad is None
    loss.backward()  # still possible: the drawing's backward kept the graph
    assert h.grad is not None and w.grad is not None


def test_path_lengths_shrink_towards_the_loss_and_skips_shorten_them():
    graph = to_networkx(user_rnn(6), stats=False)
    rows = analysis.step_statistics(graph)
    assert [r["state"] for r in rows] == [f"h[{t}]" for t in range(1, 7)]
    distances = [r["distance"] for r in rows]
    assert distances == sorted(distances, reverse=True) and distances[-1] >= 1

    def chain(skip: int) -> Tensor:
        w = Tensor(np.ones(2), requires_grad=True, name="w")
        states = [Tensor(np.ones(2), name="h[0]")]
        for t in range(1, 9):
            with scope("rnn", step=t):
                h = states[-1] * w
                if skip and t > skip:
                    h = h + states[-skip]  # connection from h[t-skip]
                states.append(h.tanh().named(f"h[{t}]"))
        return states[-1].sum()

    plain = analysis.step_statistics(to_networkx(chain(0), stats=False))
    skipped = analysis.step_statistics(to_networkx(chain(3), stats=False))
    assert skipped[0]["distance"] < plain[0]["distance"]


def test_balanced_tree_depth_is_logarithmic():
    leaves = [Tensor(np.ones(2), requires_grad=True) for _ in range(64)]
    level = leaves
    while len(level) > 1:
        level = [(a + b).tanh() for a, b in zip(level[::2], level[1::2])]
    tree = to_networkx(level[0].sum(), stats=False)
    assert analysis.depth(tree) == 2 * 6 + 1
    chain = leaves[0]
    for leaf in leaves[1:]:
        chain = (chain + leaf).tanh()
    assert analysis.depth(to_networkx(chain.sum(), stats=False)) == 2 * 63 + 1


def test_summary_counts():
    graph = to_networkx(stack([user_rnn(2), user_rnn(2)]).sum())
    figures = analysis.summary(graph)
    assert figures["parameters"] == 4 and figures["parameter_elements"] == 2 * (9 + 6)
    assert figures["steps"] == 2 and figures["nodes"] == graph.number_of_nodes()


def test_drawing_with_grads_leaves_the_leaves_gradients_alone():
    # a drawing mid-training must not add to the gradients the next optimizer step uses
    import viz
    from tinygrad_rnn import Tensor

    w = Tensor(np.array([[0.5, -1.0], [2.0, 0.3]]), requires_grad=True)
    x = Tensor(np.array([1.0, 2.0]))
    loss = (w @ x).tanh().sum()
    viz.draw(loss, grads=True)
    assert w.grad is None
    loss.backward()
    expected = np.outer(1 - np.tanh(w.data @ x.data) ** 2, x.data)
    np.testing.assert_allclose(w.grad, expected, rtol=1e-12)
