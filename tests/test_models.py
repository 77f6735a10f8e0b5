"""The architecture catalog: registry, forward/backward, float64 gradcheck, and the mechanisms."""

import networkx as nx
import numpy as np
import pytest

from tinygrad_rnn import Tensor, gradcheck, manual_seed
from tinygrad_rnn.models import (ARCHS, GraphSample, IncompatibleError, UnknownArchError,
                                 build_graph, get_arch, model_inputs)
from tinygrad_rnn.models.base import SequenceModel, Step
from tinygrad_rnn.nn import Module, Parameter
from tinygrad_rnn.tasks import SequenceBatch, get_task

# a tiny instance per architecture: task, task options, architecture options
TINY = {
    "rnn": ("parity", {}, {}),
    "rnn-output-feedback": ("parity", {}, {}),
    "rnn-seq2one": ("adding", {}, {}),
    "context-rnn": ("sine", {}, {"mode": "both"}),
    "deep-rnn": ("parity", {}, {"deep_input": True, "deep_transition": True,
                                "deep_output": True}),
    "skip-rnn": ("copy", {"delay": 1}, {"delay": 2}),
    "leaky-rnn": ("copy", {"delay": 1}, {}),
    "multiscale-rnn": ("copy", {"delay": 1}, {"scales": 2}),
    "lstm": ("adding", {}, {}),
    "gru": ("adding", {}, {}),
    "birnn": ("tagging", {}, {}),
    "esn": ("mackey-glass", {}, {"sparsity": 0.0}),
    "ntm": ("copy-bits", {"width": 2}, {"memory": 4, "width": 2}),
}
# the architectures that read sequence batches (tests/test_seq2seq.py covers the pair models)
SEQUENCE_ARCHS = [name for name, arch in ARCHS.items() if arch.model.consumes is SequenceBatch]


def test_every_sequence_architecture_has_a_tiny_case():
    assert list(TINY) == SEQUENCE_ARCHS


def test_catalog_entries_have_the_interface_fields():
    for name, arch in ARCHS.items():
        assert arch.name == name and arch.summary and arch.family
        assert "\n" not in arch.summary
        assert arch.incompatibility(get_task(arch.default_task)) is None


def test_get_arch_unknown_lists_the_names():
    with pytest.raises(UnknownArchError) as info:
        get_arch("transformer")
    assert isinstance(info.value, ValueError)
    assert "transformer" in str(info.value) and "lstm" in str(info.value)


def test_incompatible_pair_says_which_tasks_fit():
    with pytest.raises(IncompatibleError, match="adding"):
        get_arch("rnn-seq2one").build(get_task("parity"))
    with pytest.raises(IncompatibleError, match="context"):
        get_arch("context-rnn").build(get_task("copy"))


def test_unknown_or_bad_option_is_an_error():
    with pytest.raises(ValueError, match="no option 'depth'"):
        get_arch("deep-rnn").build(get_task("parity"), depth=3)
    with pytest.raises(ValueError, match="delay"):
        get_arch("skip-rnn").build(get_task("copy"), delay=1)
    with pytest.raises(ValueError, match="mode"):
        get_arch("context-rnn").build(get_task("sine"), mode="sideways")


@pytest.mark.parametrize("name", SEQUENCE_ARCHS)
def test_build_graph_tags_steps_and_names_states(name):
    sample = build_graph(name, steps=5, batch=2, seed=0)
    assert isinstance(sample, GraphSample) and sample.arch is ARCHS[name]
    assert isinstance(sample.model, Module)
    assert sample.loss.size == 1 and sample.loss.requires_grad
    assert [h.name for h in sample.states] == [f"h[{t}]" for t in range(1, 6)]
    assert [h.step for h in sample.states] == [1, 2, 3, 4, 5]
    assert all(h.scope[0] == sample.arch.scope for h in sample.states)
    if sample.step_losses is not None:
        assert [L.step for L in sample.step_losses] == sorted(L.step for L in sample.step_losses)
    if sample.recurrent_weight is not None:
        assert sample.recurrent_weight.ndim == 2
        held = sample.model.parameters() + sample.model.buffers()  # an ESN's W is a buffer
        assert any(p is sample.recurrent_weight for p in held)
    # forward/backward smoke: every parameter gets a finite gradient of its own shape
    sample.loss.backward()
    for pname, p in sample.model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, pname
        assert np.isfinite(p.grad).all(), pname


def test_build_graph_is_seeded():
    a = build_graph("lstm", seed=3)
    b = build_graph("lstm", seed=3)
    c = build_graph("lstm", seed=4)
    assert a.loss.item() == b.loss.item() != c.loss.item()


def test_rnn_uses_the_books_names_and_formula():
    sample = build_graph("rnn", steps=3)
    params = dict(sample.model.named_parameters())
    H = sample.model.hidden_size
    D, C = sample.model.input_size, sample.model.output_size
    assert {k: v.shape for k, v in params.items()} == {
        "U": (H, D), "W": (H, H), "b": (H,), "V": (C, H), "c": (C,)}
    x = sample.run.states[0].parents  # h[1] = tanh(a[1])
    assert sample.states[0].op == "tanh" and x[0].name == "a[1]"
    # recompute the first two steps by hand
    U, W, b = (params[k].data for k in "UWb")
    xs = build_graph("rnn", steps=3).task.sample(2, 3, rng=np.random.default_rng(0)).x
    h1 = np.tanh(b + np.zeros(H) @ W.T + xs[0] @ U.T)
    h2 = np.tanh(b + h1 @ W.T + xs[1] @ U.T)
    np.testing.assert_allclose(sample.states[1].data, h2, rtol=1e-5, atol=1e-6)
    o2 = params["c"].data + h2 @ params["V"].data.T
    np.testing.assert_allclose(sample.run.outputs[1].data, o2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SEQUENCE_ARCHS)
def test_gradcheck_float64_tiny(name):
    task_name, task_options, options = TINY[name]
    task = get_task(task_name, **task_options)
    manual_seed(0)
    model = get_arch(name).build(task, hidden=3, **options).to(np.float64)
    batch = task.sample(2, 4, rng=np.random.default_rng(1))
    x = Tensor(batch.x.astype(np.float64), requires_grad=True)
    emit = "every" if task.per_step else "last"
    inputs = model_inputs(model, task, batch)

    def loss(x, *params):
        run = model(x, emit=emit, **inputs)
        return task.loss(run.outputs, batch)[0]

    assert gradcheck(loss, x, *model.parameters())


def _step_ancestry_crosses_time(root) -> bool:
    """True when some step-tagged node has a step-tagged ancestor from another step."""
    seen, stack = {}, [root]
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen[node.id] = node
        stack.extend(node.parents)
    graph = nx.DiGraph()
    for node in seen.values():
        graph.add_node(node.id, step=node.step)
        for parent in node.parents:
            graph.add_edge(parent.id, node.id)
    for node_id, data in graph.nodes(data=True):
        if data["step"] is None:
            continue
        for ancestor in nx.ancestors(graph, node_id):
            step = graph.nodes[ancestor]["step"]
            if step is not None and step != data["step"]:
                return True
    return False


def test_teacher_forcing_decouples_the_steps():
    sample = build_graph("rnn-output-feedback", steps=5)  # teacher forced by default
    assert not _step_ancestry_crosses_time(sample.loss)
    # the same check finds the link through time of a net that feeds back its own output
    free = get_arch("rnn-output-feedback").build(get_task("parity"), hidden=4, feedback="probs")
    batch = get_task("parity").sample(2, 5, rng=np.random.default_rng(0))
    run = free(Tensor(batch.x))
    assert _step_ancestry_crosses_time(get_task("parity").loss(run.outputs, batch)[0])
    assert _step_ancestry_crosses_time(build_graph("rnn", steps=5).loss)


@pytest.mark.parametrize("feedback", ["argmax", "probs"])
def test_free_running_outputs_ignore_the_true_targets(feedback):
    task = get_task("parity")
    model = get_arch("rnn-output-feedback").build(task, hidden=6, feedback=feedback)
    batch = task.sample(4, 6, rng=np.random.default_rng(0))
    flipped = task.sample(4, 6, rng=np.random.default_rng(0))
    flipped.y = 1 - flipped.y
    free_a = model(Tensor(batch.x), **model_inputs(model, task, batch, teacher=False))
    free_b = model(Tensor(flipped.x), **model_inputs(model, task, flipped, teacher=False))
    for a, b in zip(free_a.outputs, free_b.outputs):
        np.testing.assert_array_equal(a.data, b.data)
    # teacher forcing does read the targets: the same comparison there differs
    forced_a = model(Tensor(batch.x), **model_inputs(model, task, batch))
    forced_b = model(Tensor(flipped.x), **model_inputs(model, task, flipped))
    assert not np.array_equal(forced_a.outputs[-1].data, forced_b.outputs[-1].data)


def test_multiscale_group_is_unchanged_between_its_updates():
    task = get_task("copy", delay=2)
    model = get_arch("multiscale-rnn").build(task, hidden=6, scales=3)
    batch = task.sample(3, 12, rng=np.random.default_rng(0))
    run = model(Tensor(batch.x))
    h = np.stack([s.data for s in run.states])  # (T, B, H), h[0] at index 0 is step 1
    start = 0
    for k, size in enumerate(model.sizes):
        group = h[:, :, start:start + size]
        start += size
        period = 2 ** k
        for t in range(2, 13):
            same = np.array_equal(group[t - 1], group[t - 2])
            if t % period == 0:
                assert not same, (k, t)  # an update step changes the group
            else:
                assert same, (k, t)  # in between it keeps its value
    # the slow group's own connection really is 2^k long in the graph
    slow = [n for n in run.states[7].parents if n.name == "h2[8]"][0]
    latest = slow.parents  # through the affine map to the groups latest states
    found, stack = set(), list(latest)
    while stack:
        node = stack.pop()
        if node.name and node.name[:1] == "h" and node.name[1:2].isdigit():
            found.add(node.name)  # a group state: the far end of an edge
            continue
        stack.extend(node.parents)
    assert found == {"h0[7]", "h1[6]", "h2[4]"}


def test_skip_rnn_reads_the_state_d_steps_back():
    task = get_task("copy", delay=2)
    model = get_arch("skip-rnn").build(task, hidden=4, delay=3)
    run = model(Tensor(task.sample(2, 6, rng=np.random.default_rng(0)).x))
    direct = {t: {p.name for p in _ancestors_within_step(run.states[t - 1])}
              for t in range(1, 7)}
    assert "h[0]" in direct[3] and "h[2]" in direct[3]  # skip from h(0) starts at t = d
    assert "h[3]" in direct[6] and "h[5]" in direct[6]
    assert "h[0]" not in direct[2]


def _ancestors_within_step(h):
    out, stack = [], list(h.parents)
    while stack:
        node = stack.pop()
        if node.step == h.step or node.step is None and node.name is None:
            stack.extend(node.parents)
        out.append(node)
    return out


def test_leaky_rnn_alpha_spread_and_fixed():
    task = get_task("copy")
    spread = get_arch("leaky-rnn").build(task, hidden=5, max_tau=16.0)
    np.testing.assert_allclose(spread.alpha, 1 - 1 / np.geomspace(1, 16, 5), rtol=1e-6)
    fixed = get_arch("leaky-rnn").build(task, hidden=5, alpha="0.9")
    assert np.allclose(fixed.alpha, 0.9)
    with pytest.raises(ValueError, match="alpha"):
        get_arch("leaky-rnn").build(task, alpha="1.5")


@pytest.mark.parametrize("mode", ["input", "initial", "both"])
def test_context_rnn_modes(mode):
    sample = build_graph("context-rnn", mode=mode)
    names = {name for name, _ in sample.model.named_parameters()}
    assert ("R" in names) == (mode in ("input", "both"))
    assert ("P" in names) == (mode in ("initial", "both"))
    h0 = [p for p in sample.states[0].parents[0].parents if p.name == "h[0]"] or \
        [n for n in _ancestors_within_step(sample.states[0]) if n.name == "h[0]"]
    assert h0 and (h0[0].op is not None) == (mode != "input")


def test_birnn_output_depends_on_the_future():
    task = get_task("tagging")
    model = get_arch("birnn").build(task, hidden=4)
    batch = task.sample(2, 6, rng=np.random.default_rng(0))
    x = Tensor(batch.x, requires_grad=True)
    run = model(x)
    run.outputs[1].sum().backward()
    assert np.abs(x.grad[4:]).sum() > 0  # o(2) reads x(5), x(6) through the backward pass
    names = [g.name for g in run.extra["backward_states"]]
    assert names == [f"g[{t}]" for t in range(1, 7)]
    with pytest.raises(ValueError, match="whole sequence"):
        model(x, state=run.state, t0=6)


def test_deep_rnn_stacks_layers_in_their_own_scopes():
    sample = build_graph("deep-rnn", layers=3)
    scopes = {h.scope for h in sample.states}
    assert scopes == {("deep-rnn", "layers.2")}
    assert len(sample.model.layers) == 3


def test_lstm_gates_are_visible():
    sample = build_graph("lstm", steps=2)
    names, stack, seen = set(), [sample.loss], set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        names.add(node.name)
        stack.extend(node.parents)
    assert {"i", "f", "g", "o", "c[1]", "c[2]", "h[1]"} <= names


def test_model_rejects_wrong_input_size():
    model = get_arch("rnn").build(get_task("parity"), hidden=4)
    with pytest.raises(ValueError, match=r"expected \(T, B, 1\)"):
        model(Tensor(np.zeros((3, 2, 5), dtype=np.float32)))


def test_a_model_written_as_hooks_gets_the_shared_unroll():
    class Doubler(SequenceModel):
        """h(t) = 2 h(t-1) + x(t), o(t) = c + V h(t): only step is its own."""

        scope_name = "doubler"

        def __init__(self):
            super().__init__(1, 1, 1)
            self.V = Parameter(np.ones((1, 1), dtype=np.float32))
            self.c = Parameter(np.zeros(1, dtype=np.float32))

        def step(self, x, h_prev, t, **inputs):
            h = (h_prev * 2.0 + x(t)).named(f"h[{t}]")
            return Step(h, h)

    model = Doubler()
    x = np.arange(1, 4, dtype=np.float32).reshape(3, 1, 1)  # a chunk holding steps 4, 5, 6
    run = model(Tensor(x), t0=3, emit="last")
    assert [h.name for h in run.states] == ["h[4]", "h[5]", "h[6]"]
    assert [h.step for h in run.states] == [4, 5, 6]
    assert {h.scope for h in run.states} == {("doubler",)}
    assert [o.name for o in run.outputs] == ["o[6]"] and run.state is run.states[-1]
    np.testing.assert_allclose([h.item() for h in run.states], [1.0, 4.0, 11.0])
    h0 = run.states[0].parents[0].parents[0]  # h[4] = h_prev * 2 + x(4), h_prev = h[0]
    assert h0.name == "h[0]" and h0.step is None and h0.scope == ("doubler",)
    # carrying the state on: the next chunk starts from h(6)
    more = model(Tensor(x[:1]), state=run.state, t0=6)
    assert more.states[0].name == "h[7]" and more.states[0].item() == 23.0
    assert [o.name for o in more.outputs] == ["o[7]"]  # default emit: the first of `emits`


def test_leaky_rnn_learned_alpha_is_a_parameter_with_an_exact_gradient():
    task = get_task("copy", delay=1)
    manual_seed(0)
    model = get_arch("leaky-rnn").build(task, hidden=3, alpha="learned").to(np.float64)
    assert "alpha_logit" in dict(model.named_parameters())
    start = 1 / (1 + np.exp(-model.alpha_logit.data))
    assert start.min() >= 0.05 - 1e-9 and start.max() <= 0.95 + 1e-9
    batch = task.sample(2, 4, rng=np.random.default_rng(1))

    def loss(*params):
        return task.loss(model(Tensor(batch.x.astype(np.float64))).outputs, batch)[0]

    assert gradcheck(loss, *model.parameters())
    loss().backward()
    assert np.abs(model.alpha_logit.grad).max() > 0  # alpha is read by the step, not ignored
    with pytest.raises(ValueError, match="'learned'"):
        get_arch("leaky-rnn").build(task, alpha="trained")
