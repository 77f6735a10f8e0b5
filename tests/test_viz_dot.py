"""viz.draw: golden DOT files with structural checks, folding, elision, gradients, escaping."""

import pathlib
import re

import numpy as np
import pytest

from tinygrad_rnn import Tensor, scope, stack
from viz import draw

from test_viz_graph import user_rnn

GOLDEN = pathlib.Path(__file__).parent / "golden"
NODE = re.compile(r"^\s*(n\d+) \[(.*)\]$", re.M)
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?![^\n]*style=invis)", re.M)  # drawn edges


def check_golden(name: str, source: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing; run pytest --update-golden"
    assert source == path.read_text(encoding="utf-8"), \
        f"{name} differs from the golden file; if the change is intended, pytest --update-golden"


def kinds(source: str) -> dict:
    """Drawn node counts by class (legend nodes excluded: their ids are not n<k>)."""
    out: dict = {}
    for _, attrs in NODE.findall(source):
        kind = re.search(r"class=([\w-]+)", attrs).group(1)
        if kind == "timeorder":  # the invisible anchors that keep the steps in order
            continue
        out[kind] = out.get(kind, 0) + 1
    return out


def step_counts_hidden(source: str) -> str:
    """The folded DOT with every step-count label replaced by a placeholder."""
    source = re.sub(r"\d+ (step pair|step)s?\b", "N steps", source)
    source = re.sub(r"all steps s \(\d+\)", "all steps s (N)", source)
    source = re.sub(r"t = [^\\\"]*", "t = …", source)
    return source


def test_unrolled_golden(update_golden):
    source = draw(user_rnn(3)).source
    check_golden("user_rnn_unrolled.dot", source, update_golden)
    assert kinds(source) == {"param": 2, "input": 2, "op": 7 * 3 + 1, "tensor": 3, "loss": 1}
    # per step: x, h[t-1], W, U and 7 in-step edges (h * h is one edge); 2 loss adds x 2 inputs
    assert len(EDGE.findall(source)) == 11 * 3 + 2 * 2
    for t in (1, 2, 3):
        assert f'label="t = {t}"' in source
    assert source.count('label="W\\n(3, 3)"') == 1  # a parameter is drawn once
    assert 'label="h[2]\\ntanh · (1, 3)"' in source
    assert "cluster_legend" in source


def test_folded_golden(update_golden):
    source = draw(user_rnn(3), view="folded").source
    check_golden("user_rnn_folded.dot", source, update_golden)
    assert kinds(source) == {"param": 2, "input": 2, "op": 7, "tensor": 1, "loss": 1,
                             "delay": 3}
    # the label rides on the edge leaving the marker (a delay node, drawn as a black square)
    markers = {n for n, attrs in NODE.findall(source) if "class=delay" in attrs}
    delays = re.findall(r'(n\d+) -> n\d+ \[label="(delay -?\d+\\n\d+ steps?)"', source)
    assert {m for m, _ in delays} == markers
    delays = [text for _, text in delays]
    assert sorted(delays) == ["delay 1\\n1 step", "delay 1\\n1 step", "delay 1\\n2 steps"]
    assert 'label="h[t]\\ntanh · (1, 3)"' in source
    assert "t = 2–3" in source  # the loss add exists from step 2 on
    assert 'label="x\\n(T, 1, 2)"' in source


def test_elided_golden(update_golden):
    source = draw(user_rnn(10), max_steps=4).source
    check_golden("user_rnn_elided.dot", source, update_golden)
    counts = kinds(source)
    assert counts["elided"] == 1 and counts["tensor"] == 4
    assert "… 6 steps …\\n(t = 3–8)" in source
    assert [f'label="t = {t}"' in source for t in range(1, 11)] == \
        [True, True] + [False] * 6 + [True, True]


def test_grads_golden(update_golden):
    source = draw(user_rnn(3), grads=True).source
    check_golden("user_rnn_grads.dot", source, update_golden)
    nodes = NODE.findall(source)
    grad_nodes = [a for _, a in nodes if "|∇|" in a]
    # everything that requires grad: W, U, 6 ops a step (not x's getitem), the add, h[t], loss
    assert len(grad_nodes) == 2 + 6 * 3 + 1 + 3 + 1
    assert all("penwidth" in a for a in grad_nodes)
    assert source.count("|∇| ") >= len(grad_nodes) + 5  # plus the legend's five stops
    assert "no gradient" in source


def test_values_records():
    source = draw(user_rnn(2), grads=True, values=True).source
    assert "shape=record" in source and "data [" in source and "grad [" in source
    assert "\\|grad\\| " in source  # (3, 3) W is past the record's value limit: its norm instead


def folded_pair(build):
    return (step_counts_hidden(draw(build(3), view="folded").source),
            step_counts_hidden(draw(build(30), view="folded").source))


def test_folded_user_model_does_not_grow_with_T():
    small, big = folded_pair(user_rnn)
    assert small == big


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_folded_catalog_does_not_grow_with_T(arch):
    models = pytest.importorskip("tinygrad_rnn.models")
    small, big = folded_pair(lambda T: models.build_graph(arch, steps=T).loss)
    assert small == big
    assert "class=delay" in small


def test_same_program_same_dot():
    first = draw(user_rnn(3), view="folded").source
    Tensor(np.ones(3)) * 2  # more records in between shift every engine id
    assert draw(user_rnn(3), view="folded").source == first
    assert draw(user_rnn(3)).source == draw(user_rnn(3)).source


def two_scopes(T: int) -> Tensor:
    """An encoder, a backward-running scope (delay -1) and a decoder reading the encoder."""
    w = Tensor(np.full(2, 0.5), requires_grad=True, name="w")
    h = Tensor(np.ones(2), name="h[0]")
    enc = []
    for t in range(1, T + 1):
        with scope("enc", step=t):
            h = (h * w).tanh().named(f"h[{t}]")
            enc.append(h)
    back = [None] * (T + 2)
    back[T + 1] = Tensor(np.ones(2), name="g[end]")
    for t in range(T, 0, -1):
        with scope("bwd", step=t):
            back[t] = (back[t + 1] * w + enc[t - 1]).tanh().named(f"g[{t}]")
    d = back[1]
    outs = []
    for t in range(1, 3):
        with scope("dec", step=t):
            d = (d * w + enc[-1]).tanh().named(f"d[{t}]")
            outs.append(d)
    return stack(outs).sum()


def test_delays_and_cross_scope_edges():
    source = draw(two_scopes(4), view="folded").source
    delays = set(re.findall(r'label="delay (-?\d+)\\n', source))
    assert delays == {"1", "-1"}
    assert 'label="4 step pairs"' in source  # enc h[t] -> bwd g[t], for every t
    assert 'label="2 step pairs"' in source  # enc h[T] -> dec d[1], d[2]
    assert step_counts_hidden(source) == step_counts_hidden(
        draw(two_scopes(9), view="folded").source)


def test_steps_of_different_loops_never_fold_into_a_delay():
    """Attention scored in the parent scope at decoder step t over encoder steps s: the
    parent's step t and the encoder's step s are different loops, so no 'delay t - s'."""
    def attention_in_parent_scope(T: int) -> Tensor:
        w = Tensor(np.full(2, 0.5), requires_grad=True, name="w")
        h, enc = Tensor(np.ones(2), name="h[0]"), []
        for s in range(1, T + 1):
            with scope("model"), scope("enc", step=s):
                h = (h * w).tanh().named(f"h[{s}]")
                enc.append(h)
        outs = []
        for t in range(1, 3):
            with scope("model", step=t):  # scores in the parent scope, at decoder step t
                outs.append(sum((e * w for e in enc[1:]), enc[0] * w).named(f"c[{t}]"))
        return stack(outs).sum()

    source = draw(attention_in_parent_scope(4), view="folded").source
    assert set(re.findall(r'label="delay (-?\d+)\\n', source)) == {"1"}
    assert "step pair" in source


def test_partial_steps_are_labelled():
    def slow(T: int) -> Tensor:
        w = Tensor(np.ones(2), requires_grad=True, name="w")
        h = Tensor(np.ones(2), name="h[0]")
        for t in range(1, T + 1):
            with scope("ms", step=t):
                h = (h * w).named(f"h[{t}]")
                if t % 4 == 0:
                    h = h.tanh()  # a slow group updating every 4 steps
        return h.sum()

    source = draw(slow(12), view="folded").source
    assert "t = 4, 8, …, 12 (every 4)" in source or "t = 4, 8, 12" in source
    assert "t = 4, 8, …, 20 (every 4)" in draw(slow(20), view="folded").source


def test_graph_without_steps_draws_unrolled_with_a_note():
    x = Tensor(np.ones(2), requires_grad=True, name="leaf")
    tree = ((x + x).tanh() * (x * 2).tanh()).sum()
    source = draw(tree, view="folded").source
    assert "no step tags" in source and "class=delay" not in source
    assert kinds(source)["param"] == 1


HOSTILE = ['say "hi"', "<b>bold</b>", "a & b &amp; &foo;", "two\nlines", "ünï ∑ 🙂",
           "back\\slash\\", "{rec|ord}", "</text><script>x</script>"]


def hostile_graph() -> Tensor:
    out = None
    for i, name in enumerate(HOSTILE):
        p = Tensor(np.full(2, float(i)), requires_grad=True, name=name)
        with scope(name, step=1):
            term = (p * 2).named(name)
        out = term if out is None else out + term
    return out.sum().named('loss "<&>"')


@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_hostile_names_are_escaped(view):
    source = draw(hostile_graph(), view=view, values=True).source
    assert "<b>" not in source and "<script>" not in source
    assert "&amp;foo;" in source and "&lt;b&gt;" in source
    assert 'say \\"hi\\"' in source
    assert "two\\nlines" in source and "ünï ∑ 🙂" in source


def labels_by_class(source: str, kind: str) -> list:
    """The visible first line of every drawn node of one class."""
    return [re.search(r'label="([^"\\]*)', attrs).group(1)
            for _, attrs in NODE.findall(source) if f"class={kind}" in attrs]


def shared_names(T: int) -> Tensor:
    """Two 'cells' whose parameters share attribute names, as ModuleList layers or a birnn's
    fwd/bwd cells do, plus two same-named parameters used in the same scope."""
    rng = np.random.default_rng(1)
    cells = {side: (Tensor(rng.normal(size=(2, 2)), requires_grad=True, name="weight_hh"),
                    Tensor(rng.normal(size=2), requires_grad=True, name="bias"))
             for side in ("fwd", "bwd")}
    twins = [Tensor(rng.normal(size=2), requires_grad=True, name="gain") for _ in range(2)]
    out = Tensor(np.zeros(2), requires_grad=True, name="head")
    for side, (w, b) in cells.items():
        h = Tensor(np.ones((1, 2)), name="h[0]")
        for t in range(1, T + 1):
            with scope("net"), scope(side, step=t):
                h = (h @ w + b).tanh().named(f"h[{t}]")
        with scope("net"):
            out = out + h.sum(axis=0)
    with scope("net"):
        out = out * twins[0] * twins[1]
    return out.sum()


@pytest.mark.parametrize("view", ["unrolled", "folded"])
def test_shared_parameter_names_are_qualified(view):
    source = draw(shared_names(3), view=view).source
    labels = labels_by_class(source, "param")
    assert sorted(labels) == ["bwd.bias", "bwd.weight_hh", "fwd.bias", "fwd.weight_hh",
                              "gain#1", "gain#2", "head"]
    assert 'tooltip="parameter fwd.weight_hh\\n' in source  # the tooltip names it the same
    assert draw(shared_names(3), view=view).source == source  # deterministic


@pytest.mark.parametrize("arch,view", [("birnn", "folded"), ("birnn", "unrolled"),
                                       ("deep-rnn", "folded")])
def test_catalog_parameter_labels_are_unique(arch, view):
    models = pytest.importorskip("tinygrad_rnn.models")
    if arch not in models.ARCHS:
        pytest.skip(f"{arch} is not in the catalog yet")
    source = draw(models.build_graph(arch, steps=3).loss, view=view).source
    labels = labels_by_class(source, "param")
    assert len(labels) == len(set(labels)) == len(
        list(models.build_graph(arch, steps=3).model.parameters()))
    if arch == "birnn":
        assert {"fwd.weight_ih", "bwd.weight_ih", "fwd.bias_hh", "bwd.bias_hh"} <= set(labels)
    else:
        assert {"layers.0.W", "layers.1.W"} <= set(labels)


def test_delay_legend_entry_is_one_node_inside_the_legend():
    source = draw(user_rnn(3), view="folded").source
    legend = source[source.index("subgraph cluster_legend"):]
    assert "delay d: from step t-d" in legend and "xlabel" not in legend
    entry = next(line for line in legend.splitlines() if "delay d:" in line)
    assert "shape=plaintext" in entry and 'bgcolor="#000000"' in entry
    assert "delay d:" not in draw(user_rnn(3)).source  # unrolled: no delays, no entry


def test_bad_arguments():
    loss = user_rnn(2)
    with pytest.raises(ValueError, match="view"):
        draw(loss, view="circuit")
    with pytest.raises(ValueError, match="max_steps"):
        draw(loss, max_steps=0)
    with pytest.raises(ValueError, match="rankdir"):
        draw(loss, rankdir="up")


@pytest.mark.parametrize("view", ["unrolled", "folded"])
@pytest.mark.parametrize("arch", list(__import__("tinygrad_rnn.models").models.ARCHS))
def test_catalog_golden(arch, view, update_golden):
    """Every catalog architecture at T = 3, drawn both ways: a drawing change shows here."""
    from tinygrad_rnn.models import build_graph

    source = draw(build_graph(arch, steps=3).loss, view=view).source
    check_golden(f"catalog/{arch}-{view}.dot", source, update_golden)
    assert source == draw(build_graph(arch, steps=3).loss, view=view).source


def encoder_decoder(S: int, T: int = 3, hidden: int = 3, axis: str = "time"):
    """A hand-built attention encoder-decoder: scope("enc", step=s) over S source steps, the
    encoder states stacked, scope("dec", step=t) scoring the stack of all of them at every
    decoder step."""
    import numpy as np

    from tinygrad_rnn import Tensor, scope, stack

    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(hidden, hidden)) * 0.5, requires_grad=True, name="W")
    Wd = Tensor(rng.normal(size=(hidden, hidden)) * 0.5, requires_grad=True, name="Wd")
    x = Tensor(rng.normal(size=(S, hidden)), name="x")
    h = Tensor(np.zeros(hidden), name="h[0]")
    states = []
    for s in range(1, S + 1):
        with scope("enc", step=s, axis=axis):
            h = (h @ W + x[s - 1]).tanh().named(f"h[{s}]")
        states.append(h)
    H = stack(states).named("H")  # (S, hidden): every encoder state
    d = h
    loss = None
    for t in range(1, T + 1):
        with scope("dec", step=t):
            scores = (H @ d).named(f"e[{t}]")
            weights = (scores - scores.max()).exp()
            alpha = (weights / weights.sum()).named(f"alpha[{t}]")
            context = (alpha @ H).named(f"c[{t}]")
            d = ((d + context) @ Wd).tanh().named(f"d[{t}]")
            step_loss = (d * d).sum()
            loss = step_loss if loss is None else loss + step_loss
    return loss.named("L")


def test_all_steps_marker_for_attention_over_every_encoder_state(update_golden):
    source = draw(encoder_decoder(3), view="folded").source
    check_golden("encoder_attention_folded.dot", source, update_golden)
    markers = re.findall(r"^\s*(n\d+) \[.*class=allsteps.*\]$", source, re.M)
    assert len(markers) == 1  # h[s] -> H: every encoder step feeds the stack, drawn once
    assert "all steps s (3)" in source and "step pair" in source  # h[S] -> decoder start
    assert "∀ s" in source and "all steps s: every step of one loop feeds it" in source
    names = {m.group(1): m.group(2) for m in re.finditer(r"^\s*(n\d+) \[label=\"([^\\\"]*)",
                                                          source, re.M)}
    scopes = {m.group(1): m.group(2) for m in re.finditer(
        r"^\s*(n\d+) \[.*tooltip=\".*?\\nscope: ([^\\]*)\\n", source, re.M)}
    into = [b for a, b in EDGE.findall(source) if a == markers[0]]
    out_of = [a for a, b in EDGE.findall(source) if b == markers[0]]
    assert [names[n] for n in out_of] == ["h[t]"] and [names[n] for n in into] == ["H"]
    # no numeric delay between the two loops: every delay marker joins nodes of one loop
    for delay in re.findall(r"^\s*(n\d+) \[.*class=delay.*\]$", source, re.M):
        ends = [a for a, b in EDGE.findall(source) if b == delay] + \
               [b for a, b in EDGE.findall(source) if a == delay]
        assert len({scopes[n] for n in ends}) == 1, [names[n] for n in ends]


def test_all_steps_drawing_does_not_grow_with_the_source_length():
    small = draw(encoder_decoder(3), view="folded").source
    large = draw(encoder_decoder(30), view="folded").source
    assert kinds(small) == kinds(large)
    assert len(EDGE.findall(small)) == len(EDGE.findall(large))
    assert "all steps s (30)" in large
