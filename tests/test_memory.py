"""Explicit memory: the memory network on bAbI-like stories, the NTM on copy-bits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_rnn import Tensor, gradcheck, manual_seed
from tinygrad_rnn.models import build_graph, get_arch, run_on
from tinygrad_rnn.models.memory import NTM, MemoryNetwork, cosine_similarity, position_weights
from tinygrad_rnn.tasks import get_task
from tinygrad_rnn.tasks.stories import VOCAB, StoryBatch, make_batch
from viz import draw, heat_table, heatmap_svg


def _memnet(hops=2, position=False, memory=6, hidden=4, dtype=np.float64):
    manual_seed(0)
    task = get_task("babi-like", facts=2)
    model = get_arch("memory-network").build(task, hidden=hidden, hops=hops, memory=memory,
                                             position=position).to(dtype)
    return task, model


def _story():
    return make_batch([["mary went to the kitchen", "john picked up the apple",
                        "john moved to the garden"], ["sandra travelled to the office"]],
                      ["where is the apple", "where is sandra"], ["garden", "office"],
                      [[1, 2], [0, 0]])


# ---------------------------------------------------------------------------------- the tasks

def test_babi_stories_answer_from_their_supporting_facts():
    for facts in (1, 2):
        task = get_task("babi-like", facts=facts)
        batch = task.sample(20, 6, rng=np.random.default_rng(3))
        assert batch.supporting.shape == (20, facts) and batch.steps <= 6
        for k in range(20):
            sentences, query, answer = task.text(batch, k)
            last = sentences[batch.supporting[k, -1]]
            assert last.endswith(answer) and answer in VOCAB
            subject = query.split()[-1]
            assert subject in sentences[batch.supporting[k, 0]].split()
            # the supporting move is the subject's (or the holder's) last one
            holder = last.split()[0]
            later = sentences[batch.supporting[k, -1] + 1:]
            assert not any(s.startswith(holder) and "to the" in s for s in later)


def test_babi_is_seeded_and_unknown_words_are_named():
    task = get_task("babi-like")
    a = task.sample(4, 5, rng=np.random.default_rng(1))
    b = task.sample(4, 5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.story, b.story)
    with pytest.raises(ValueError, match="query word 'bob' is not in the vocabulary"):
        make_batch([["mary went to the kitchen"]], ["where is bob"], ["kitchen"], [[0]])
    with pytest.raises(ValueError, match="facts=2 needs stories of at least 2"):
        get_task("babi-like", facts=2).sample(2, 1)


def test_copy_bits_layout_and_baseline():
    task = get_task("copy-bits")
    batch = task.sample(3, 9, rng=np.random.default_rng(0), split="test")  # L = 4
    assert batch.x.shape == (9, 3, 9) and batch.y.shape == (9, 3, 8)
    np.testing.assert_array_equal(batch.y[5:9], batch.x[:4, :, :8])
    assert batch.x[4, :, 8].tolist() == [1, 1, 1]
    assert batch.mask.tolist() == [False] * 5 + [True] * 4
    assert abs(task.baseline(task.sample(500, 9)) - np.log(2)) < 0.01
    perfect = [Tensor(np.where(y > 0.5, 9.0, -9.0)) for y in batch.y]
    assert task.metrics(perfect, batch)["bits_wrong"] == 0
    wrong_one = [p.data.copy() for p in perfect]
    wrong_one[6][0, 0] *= -1
    assert task.metrics([Tensor(w) for w in wrong_one], batch)["bits_wrong"] == pytest.approx(1 / 3)


# ------------------------------------------------------------------------- the memory network

def test_memory_network_attention_sums_to_one_over_the_story():
    _, model = _memnet(hops=3)
    run = model.run_batch(_story())
    p = run.extra["attention"]  # (K, S, B)
    assert p.shape == (3, 3, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert (p[:, 1:, 1] == 0).all()  # story 1 has one sentence: the empty slots get nothing
    assert run.outputs[0].shape == (2, len(VOCAB))


@pytest.mark.parametrize("position", [False, True])
def test_memory_network_gradcheck_float64(position):
    _, model = _memnet(hops=2, position=position)
    batch = _story()
    task = get_task("babi-like", facts=2)

    def loss(*params):
        return task.loss(model.run_batch(batch).outputs, batch)[0]

    assert gradcheck(loss, *model.parameters())


def test_position_encoding_weights_follow_the_paper():
    weights = position_weights(np.array([2]), 3, 2)[0]  # J = 2 words, W = 3 slots, d = 2
    # l(j, k) = (1 - j/J) - (k/d)(1 - 2j/J)
    expected = [[(1 - 1 / 2) - (1 / 2) * 0, (1 - 1 / 2) - 1 * 0], [-(1 / 2) * -1, -1 * -1],
                [0, 0]]
    np.testing.assert_allclose(weights, expected)


def test_memory_network_hops_run_on_a_hop_axis_and_fold_into_a_loop():
    sample = build_graph("memory-network", steps=4, hops=3)
    assert [u.name for u in sample.states] == ["u[2]", "u[3]", "u[4]"]
    assert [(u.step, u.axis) for u in sample.states] == [(1, "hop"), (2, "hop"), (3, "hop")]
    assert {u.loop.axis for u in sample.states} == {"hop"}
    folded = draw(sample.loss, view="folded").source
    delays = re.findall(r'label="delay (-?\d+)\\n(\d+) steps?"', folded)
    assert delays and {d for d, _ in delays} == {"1"}
    smaller = build_graph("memory-network", steps=4, hops=2)
    two = draw(smaller.loss, view="folded").source
    # one hop drawn, however many ran: a third hop adds only its own embedding's two
    # parameters (adjacent tying: every hop has its C^k), one edge each
    extra = len(sample.model.parameters()) - len(smaller.model.parameters())
    assert extra == 2 and folded.count("->") == two.count("->") + extra


def test_memory_network_bad_input_is_one_clear_error_each():
    _, model = _memnet(memory=2)
    with pytest.raises(ValueError, match="story 0 has 3 sentences, more than the memory's 2"):
        model.run_batch(_story())
    batch = _story()
    batch.query[0, 2] = len(VOCAB) + 3
    with pytest.raises(ValueError, match=f"query holds word id {len(VOCAB) + 3}, outside the "
                                         f"vocabulary 0..{len(VOCAB) - 1}"):
        _memnet()[1].run_batch(batch)
    with pytest.raises(ValueError, match="memory size must be >= 1 slot, got 0"):
        MemoryNetwork(len(VOCAB), len(VOCAB), 4, memory=0)
    with pytest.raises(TypeError, match="reads a StoryBatch"):
        _memnet()[1].run_batch(get_task("reverse").sample(2, 3))


# -------------------------------------------------------------------- the neural Turing machine

def _ntm(dtype=np.float64, **options):
    manual_seed(0)
    settings = dict(memory=5, width=3, shifts=1)
    settings.update(options)
    return NTM(4, 3, 4, **settings).to(dtype)


def test_ntm_weightings_sum_to_one_and_start_on_slot_zero():
    task = get_task("copy-bits", width=3)
    model = _ntm(memory=6)
    run = run_on(model, task, task.sample(2, 7, rng=np.random.default_rng(0)))
    for key in ("read_weights", "write_weights"):
        w = run.extra[key]
        assert w.shape == (7, 2, 6) and (w >= 0).all()
        np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)
    h, c, memory, w_read, w_write, r = model.initial_state(2)
    assert w_read.data[:, 0].tolist() == [1.0, 1.0] and memory.shape == (2, 6, 3)


def test_ntm_shift_moves_a_sharp_weighting_one_slot():
    model = _ntm(memory=5, width=2)
    B, N, M = 1, 5, 2
    memory = Tensor(np.ones((B, N, M)))
    w_prev = Tensor(np.eye(N)[[1]])
    # g = 0 keeps w_prev; all shift mass on +1; gamma ~ 1
    params = np.concatenate([np.zeros(M), [0.0, -50.0, -50.0], [-50.0, -50.0, 50.0]])[None]
    w = model.address(Tensor(params), memory, w_prev).data
    np.testing.assert_allclose(w, np.eye(N)[[2]], atol=1e-7)  # 1e-8: the sharpening epsilon


def test_cosine_similarity_matches_numpy():
    rng = np.random.default_rng(0)
    memory, key = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 3))
    expected = np.einsum("bnm,bm->bn", memory, key) / (
        np.linalg.norm(memory, axis=2) * np.linalg.norm(key, axis=1)[:, None])
    np.testing.assert_allclose(cosine_similarity(Tensor(memory), Tensor(key)).data, expected,
                               rtol=1e-6)


def test_ntm_gradcheck_float64_through_memory_and_heads():
    task = get_task("copy-bits", width=3)
    model = _ntm()
    batch = task.sample(2, 5, rng=np.random.default_rng(2), split="test")
    x = Tensor(batch.x.astype(np.float64), requires_grad=True)

    def loss(x, *params):
        return task.loss(model(x).outputs, batch)[0]

    assert gradcheck(loss, x, *model.parameters())


def test_ntm_truncated_bptt_detaches_memory_and_weightings():
    from tinygrad_rnn.models import detach_state

    task = get_task("copy-bits", width=3)
    model = _ntm()
    x = Tensor(task.sample(2, 5, rng=np.random.default_rng(0)).x.astype(np.float64))
    state = detach_state(model(x[:3]).state)
    assert all(s.is_leaf and not s.requires_grad for s in state)
    run = model(x[3:], state=state, t0=3)
    run.outputs[-1].sum().backward()
    assert all(s.grad is None for s in state)


def test_ntm_bad_input_is_one_clear_error_each():
    with pytest.raises(ValueError, match="memory size must be >= 1 slot, got 0"):
        NTM(4, 3, 4, memory=0)
    with pytest.raises(ValueError, match=r"shift range -2..2 \(5 shifts\) is larger than the "
                                         r"memory of 4 slots"):
        NTM(4, 3, 4, memory=4, shifts=2)
    with pytest.raises(ValueError, match="min_length must be in 1..2"):
        get_task("copy-bits", min_length=3).sample(2, 5)


# ---------------------------------------------------------------------------------- heat maps

def test_memory_heat_maps_render_as_svg_and_rich(tmp_path):
    from rich.console import Console

    _, model = _memnet(hops=2)
    p = model.run_batch(_story()).extra["attention"][:, :, 0]
    path = tmp_path / "memory.svg"
    heatmap_svg(p, ["hop 1", "hop 2"], ["1", "2", "3"], "p(k, i)", path)
    root = ET.parse(path).getroot()
    assert len([e for e in root.iter() if e.get("class") == "cell"]) == 6
    console = Console(record=True, width=80)
    console.print(heat_table(p, ["hop 1", "hop 2"], ["1", "2", "3"], "p(k, i)"))
    assert "hop 2" in console.export_text()


def test_story_batch_is_the_memory_network_batch_type():
    arch = get_arch("memory-network")
    assert arch.model.consumes is StoryBatch
    assert "story batches" in arch.incompatibility(get_task("parity"))
    assert get_arch("lstm").incompatibility(get_task("babi-like")) is not None
    assert get_arch("lstm").incompatibility(get_task("copy-bits")) is None


def test_cli_attention_shows_memory_weights(tmp_path, capsys):
    from tinygrad_rnn.cli import main

    out = tmp_path / "mem.svg"
    assert main(["attention", "memory-network", "--steps", "4", "--iters", "0", "--hidden", "8",
                 "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "question: where is" in text and "p(k, i)" in text and "hop 3" in text
    assert len([e for e in ET.parse(out).getroot().iter() if e.get("class") == "cell"]) % 3 == 0
    assert main(["attention", "ntm", "--steps", "5", "--iters", "0", "--hidden", "8",
                 "-o", str(tmp_path / "ntm.svg")]) == 0
    text = capsys.readouterr().out
    assert "copy of 2 vectors of 8 bits" in text and "write weighting" in text
    for head in ("write", "read"):
        cells = [e for e in ET.parse(tmp_path / f"ntm-{head}-weights.svg").getroot().iter()
                 if e.get("class") == "cell"]
        assert len(cells) == 32 * 5  # every slot at every step


def test_linear_start_attends_without_softmax_for_the_first_training_batches():
    from tinygrad_rnn import no_grad

    _, model = _memnet(hops=1)
    model.linear_start = 2
    batch = _story()
    with no_grad():  # evaluation does not count as a training batch
        p_eval = model.run_batch(batch).extra["attention"]
    p_first = model.run_batch(batch).extra["attention"]
    np.testing.assert_allclose(p_eval, p_first)
    assert not np.allclose(p_first[:, :3, 0].sum(), 1.0)  # raw scores, no softmax
    assert (p_first[:, 1:, 1] == 0).all()  # empty slots still get nothing
    model.run_batch(batch)
    p_after = model.run_batch(batch).extra["attention"]
    np.testing.assert_allclose(p_after.sum(axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="linear_start must be an int >= 0"):
        MemoryNetwork(len(VOCAB), len(VOCAB), 4, linear_start=-1)
