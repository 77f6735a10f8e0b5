"""Encoder-decoders: exact gradients, padding, attention weights, the paths gradients take, greedy
decoding, bad input, the folded drawing of two loops, the heat map and the CLI."""

import re
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pytest

from tinygrad_rnn import Tensor, gradcheck, manual_seed
from tinygrad_rnn.cli import main
from tinygrad_rnn.models import ARCHS, IncompatibleError, build_graph, get_arch, run_on
from tinygrad_rnn.tasks import PairBatch, get_task
from tinygrad_rnn.tasks.pairs import pad_pairs
from viz import draw, heat_table, heatmap_svg, to_networkx

PAIR_ARCHS = [name for name, arch in ARCHS.items() if arch.model.consumes is PairBatch]


def tiny(name: str, cell: str = "gru", dtype=np.float64, hidden: int = 3, **options):
    manual_seed(0)
    task = get_task("reverse")
    model = get_arch(name).build(task, hidden=hidden, cell=cell, embed=2, **options)
    return task, model.to(dtype)


def test_the_catalog_has_both_encoder_decoders():
    assert PAIR_ARCHS == ["seq2seq", "seq2seq-attention"]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("name", PAIR_ARCHS)
def test_gradcheck_float64_with_padding(name, cell):
    task, model = tiny(name, cell)
    batch = task.sample(3, 4, rng=np.random.default_rng(2))
    assert len(set(batch.source_lengths)) > 1  # padding in play

    def loss(*params):
        return task.loss(run_on(model, task, batch).outputs, batch)[0]

    assert gradcheck(loss, *model.parameters())


@pytest.mark.parametrize("name", PAIR_ARCHS)
def test_a_padded_sequence_gives_what_it_gives_alone(name):
    task, model = tiny(name, "lstm", hidden=4)
    batch = task.sample(4, 6, rng=np.random.default_rng(5))
    together = run_on(model, task, batch)
    for k in range(4):
        n = batch.source_lengths[k]
        alone = pad_pairs([batch.source[:n, k]], [batch.target[:n, k]])
        run = run_on(model, task, alone)
        for t, o in enumerate(run.outputs):
            np.testing.assert_allclose(together.outputs[t].data[k], o.data[0], rtol=0,
                                       atol=1e-12)


def test_attention_weights_sum_to_one_and_ignore_padding():
    task, model = tiny("seq2seq-attention")
    batch = task.sample(5, 6, rng=np.random.default_rng(1))
    alpha = run_on(model, task, batch).extra["attention"]  # (T, S, B)
    assert alpha.shape == (batch.target_steps, batch.steps, 5)
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, atol=1e-12)
    for k, n in enumerate(batch.source_lengths):
        assert (alpha[:, n:, k] == 0).all() and (alpha[:, :n, k] > 0).all()


@pytest.mark.parametrize("name,reaches", [("seq2seq", False), ("seq2seq-attention", True)])
def test_an_encoder_state_gets_gradient_only_through_paths_that_exist(name, reaches):
    """Without attention every path from h[1] to the loss runs through C = h[S] (networkx),
    so cutting the gradient at h[S] leaves h[1] none; attention adds a path around it."""
    task = get_task("reverse", fixed=True)
    manual_seed(0)
    model = get_arch(name).build(task, hidden=4).to(np.float64)
    batch = task.sample(2, 5, rng=np.random.default_rng(0))
    run = run_on(model, task, batch)
    loss = task.loss(run.outputs, batch)[0]
    h1, hS = run.extra["encoder_states"][0], run.extra["encoder_states"][-1]
    graph = to_networkx(loss, stats=False)
    cut = graph.copy()
    cut.remove_node(hS.id)
    assert nx.has_path(graph, h1.id, loss.id)
    assert nx.has_path(cut, h1.id, loss.id) == reaches
    h1.retain_grad()
    hS.register_hook(lambda g: np.zeros_like(g))  # no gradient goes on through C = h[S]
    loss.backward()
    assert (np.abs(h1.grad).max() > 0) == reaches


def test_greedy_decoding_reads_its_own_outputs_not_the_targets():
    task, model = tiny("seq2seq-attention", hidden=4)
    batch = task.sample(3, 5, rng=np.random.default_rng(3))
    other = PairBatch(batch.source, batch.source_lengths, batch.target_in.copy(), batch.target,
                      batch.target_mask)
    other.target_in[1:] = 3  # different teacher tokens after BOS
    greedy = [o.data for o in run_on(model, task, batch, teacher=False).outputs]
    assert all(np.array_equal(a, o.data) for a, o in
               zip(greedy, run_on(model, task, other, teacher=False).outputs))
    forced = [o.data for o in run_on(model, task, other).outputs]
    assert not np.allclose(forced[-1], greedy[-1])


def test_bad_input_is_one_clear_error_each():
    task, model = tiny("seq2seq", max_target=4)
    good = task.sample(2, 3, rng=np.random.default_rng(0))
    long = pad_pairs([np.array([3, 4, 5, 6])], [np.array([6, 5, 4, 3])])
    with pytest.raises(ValueError, match="5 steps, more than the model's maximum max_target=4"):
        model.run_batch(long)
    bad = PairBatch(good.source.copy(), good.source_lengths, good.target_in, good.target,
                    good.target_mask)
    bad.source[0, 1] = 99
    with pytest.raises(ValueError, match="source holds token 99, outside the vocabulary 0..10"):
        model.run_batch(bad)
    empty = PairBatch(good.source, np.array([2, 0]), good.target_in, good.target,
                      good.target_mask)
    with pytest.raises(ValueError, match="source sequence 1 is empty"):
        model.run_batch(empty)
    with pytest.raises(ValueError, match="non-empty"):
        model.run_batch(PairBatch(np.zeros((0, 2), np.int64), np.array([1, 1]), good.target_in,
                                  good.target, good.target_mask))
    with pytest.raises(IncompatibleError, match="rnn reads sequence batches, but task "
                                                "'reverse' makes pair batches"):
        get_arch("rnn").build(task)
    with pytest.raises(IncompatibleError, match="tasks that fit seq2seq: reverse, sort"):
        get_arch("seq2seq").build(get_task("parity"))
    with pytest.raises(TypeError, match="reads a PairBatch"):
        model.run_batch(get_task("parity").sample(2, 3))


def test_cli_errors_are_one_line(capsys):
    assert main(["train", "rnn", "--task", "reverse", "--iters", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "rnn reads sequence batches, but task 'reverse' makes pair batches" in err
    assert main(["train", "seq2seq", "--bptt", "2", "--iters", "1"]) == 2
    assert "--bptt" in capsys.readouterr().err


def two_loop_dot(steps: int) -> str:
    return draw(build_graph("seq2seq-attention", steps=steps, task="reverse").loss,
                view="folded").source


def test_folded_drawing_has_two_loops_and_no_delay_between_them():
    source = two_loop_dot(3)
    delays = re.findall(r'label="delay (-?\d+)\\n(\d+) steps?"', source)
    assert {d for d, _ in delays} == {"1"}  # each loop's own recurrence, nothing across loops
    clusters = re.findall(r'^\s*color="#888888" fontsize=10 label="?([\w.]+)"? style=rounded',
                          source, re.M)
    assert "enc" in clusters and "dec" in clusters and "attention" in clusters
    assert "alpha[t]" in source and "h[t]" in source and "z[t]" in source
    # H stacks the encoder's 3 states: its leading axis is the encoder's steps, not the decoder's 4
    assert "stack(axis=0) · (T(enc), 2, 8)" in source


def test_folded_drawing_does_not_grow_with_the_sequence():
    def shape_of(source: str) -> tuple:
        return (source.count(" -> "), len(re.findall(r"^\s*n\d+ \[", source, re.M)))

    assert shape_of(two_loop_dot(3)) == shape_of(two_loop_dot(9))


def test_heat_map_svg_and_table():
    m = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5]])
    svg = heatmap_svg(m, ["t=1 a", "t=2 <eos>"], ["s=1", "s=2", "s=3"], 'alpha "x" & y')
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    cells = [r for r in root.iter(f"{ns}rect") if r.get("class") == "cell"]
    assert len(cells) == 6
    assert cells[0].find(f"{ns}title").text == "t=1 a · s=1: 0.9"
    labels = [t.text for t in root.iter(f"{ns}text") if t.get("class") == "row"]
    assert labels == ["t=1 a", "t=2 <eos>"]
    assert cells[0].get("fill") != cells[2].get("fill")
    table = heat_table(m, ["a", "b"], ["1", "2", "3"], "weights")
    assert table.row_count == 2 and len(table.columns) == 4
    with pytest.raises(ValueError, match="2 row labels and 2 column labels"):
        heatmap_svg(m, ["a", "b"], ["1", "2"], "t")
    with pytest.raises(ValueError, match="NaN"):
        heat_table(np.array([[np.nan]]), ["a"], ["b"], "t")


def test_cli_attention_inspect_trace_render(tmp_path, capsys):
    out = tmp_path / "att.svg"
    assert main(["attention", "--steps", "4", "--iters", "30", "--hidden", "8",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "source :" in text and "decoded:" in text and "alpha(t, s)" in text
    ET.parse(out)
    assert main(["attention", "rnn"]) == 2
    assert "computes no attention weights; architectures that do: seq2seq-attention" in \
        capsys.readouterr().err
    assert main(["inspect", "seq2seq-attention", "--steps", "4"]) == 0
    text = capsys.readouterr().out
    assert "enc 4" in text and "dec 5" in text
    assert main(["trace", "seq2seq", "--steps", "3"]) == 0
    text = capsys.readouterr().out
    assert "enc 1" in text and "dec 4" in text and "parts add up" in text
    svg = tmp_path / "s.svg"
    assert main(["render", "seq2seq-attention", "--steps", "3", "--view", "folded", "--grads",
                 "-o", str(svg)]) == 0
    texts = [t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert "alpha[t]" in texts and "z[t]" in texts


def test_training_clearly_beats_the_baseline_and_reports_greedy_decoding():
    from tinygrad_rnn.training import TrainConfig, train

    result = train(TrainConfig("seq2seq-attention", task="reverse", steps=4, iters=150,
                               batch=32, hidden=16, lr=0.02, eval_every=150))
    assert result.test["loss"] < 0.3 * result.baseline
    assert result.test["accuracy"] > 0.8
    assert set(result.free_running) == {"loss", "accuracy", "sequence_accuracy"}
    # a sequence right under teacher forcing is right under greedy decoding, and back
    assert result.free_running["sequence_accuracy"] == result.test["sequence_accuracy"]


def test_tensor_inputs_stay_integer_tokens():
    task, model = tiny("seq2seq")
    batch = task.sample(2, 3, rng=np.random.default_rng(0))
    run = run_on(model, task, batch)
    x1 = run.states[0].parents  # the embedding lookup of the first source token
    assert all(isinstance(p, Tensor) for p in x1)
