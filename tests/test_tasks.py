"""The built-in tasks: seeded data, correct targets, baselines, held-out splits, bad sizes."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, manual_seed
from tinygrad_rnn.tasks import TASKS, PairBatch, SequenceBatch, UnknownTaskError, get_task
from tinygrad_rnn.tasks.pairs import BOS, EOS, PAD
from tinygrad_rnn.tasks.text import load_text

SEQUENCE_TASKS = [name for name, cls in TASKS.items() if cls.batch_type is SequenceBatch]
PAIR_TASKS = [name for name, cls in TASKS.items() if cls.batch_type is PairBatch]


def test_every_task_makes_the_batch_type_it_declares():
    for name in TASKS:
        task = get_task(name)
        assert isinstance(task.sample(2, 6, rng=np.random.default_rng(0)), task.batch_type)
    assert PAIR_TASKS == ["reverse", "sort"]


@pytest.mark.parametrize("name", PAIR_TASKS)
def test_pair_batches_are_padded_and_seeded(name):
    task = get_task(name)
    a = task.sample(6, 7, rng=np.random.default_rng(3))
    b = task.sample(6, 7, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.source, b.source)
    np.testing.assert_array_equal(a.target, b.target)
    S, B = a.source.shape
    assert S == a.source_lengths.max() <= 7 and B == 6 and a.source_lengths.min() >= 1
    for k in range(B):
        n = a.source_lengths[k]
        src = a.source[:n, k]
        assert (src >= 3).all() and (a.source[n:, k] == PAD).all()
        expected = src[::-1] if name == "reverse" else np.sort(src)
        np.testing.assert_array_equal(a.target[:n, k], expected)
        assert a.target[n, k] == EOS and (a.target[n + 1:, k] == PAD).all()
        assert a.target_in[0, k] == BOS
        np.testing.assert_array_equal(a.target_in[1:n + 1, k], expected)  # shifted right
        np.testing.assert_array_equal(a.target_mask[:, k], np.arange(a.target_steps) <= n)
    fixed = get_task(name, fixed=True).sample(4, 5, rng=np.random.default_rng(0))
    assert (fixed.source_lengths == 5).all() and fixed.target_steps == 6
    assert get_task(name, fixed="false").settings["fixed"] is False  # a CLI string option
    with pytest.raises(ValueError, match="min_length"):
        get_task(name, min_length=9).sample(2, 5)


@pytest.mark.parametrize("name", SEQUENCE_TASKS)
def test_shapes_and_seeding(name):
    task = get_task(name)
    a = task.sample(5, 12, rng=np.random.default_rng(7))
    b = task.sample(5, 12, rng=np.random.default_rng(7))
    c = task.sample(5, 12, rng=np.random.default_rng(8))
    assert a.x.shape == (12, 5, task.input_size) and a.x.dtype == np.float32
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    if task.per_step:
        assert a.y.shape[:2] == (12, 5)
    else:
        assert a.y.shape[0] == 5
    if task.classify:
        assert a.y.dtype.kind == "i" and a.y.min() >= 0 and a.y.max() < task.output_size
    assert (a.context is not None) == task.has_context


def test_engine_generator_seeds_tasks_by_default():
    task = get_task("parity")
    manual_seed(11)
    a = task.sample(3, 5)
    manual_seed(11)
    b = task.sample(3, 5)
    np.testing.assert_array_equal(a.x, b.x)


def test_adding_target_is_the_sum_of_the_marked_values():
    batch = get_task("adding").sample(64, 30, rng=np.random.default_rng(0))
    values, marker = batch.x[..., 0], batch.x[..., 1]
    assert (marker.sum(0) == 2).all()
    assert (marker[:15].sum(0) == 1).all()  # one marker in each half
    np.testing.assert_allclose(batch.y[:, 0], (values * marker).sum(0), rtol=1e-6)
    big = get_task("adding").sample(4000, 20, rng=np.random.default_rng(1))
    assert abs(get_task("adding").baseline(big) - 1 / 6) < 0.01


def test_copy_recalls_the_symbol_delay_steps_back():
    task = get_task("copy", delay=3, symbols=5)
    batch = task.sample(4, 10, rng=np.random.default_rng(0))
    symbols = batch.x.argmax(-1)
    np.testing.assert_array_equal(batch.y[3:], symbols[:-3])
    np.testing.assert_array_equal(batch.mask, np.arange(1, 11) > 3)
    assert get_task("copy").delay(20) == 10  # the default delay is half of T


def test_parity_and_tagging_labels():
    batch = get_task("parity").sample(3, 8, rng=np.random.default_rng(0))
    bits = batch.x[..., 0].astype(int)
    np.testing.assert_array_equal(batch.y, np.cumsum(bits, 0) % 2)
    tags = get_task("tagging").sample(3, 8, rng=np.random.default_rng(0))
    sym = tags.x.argmax(-1)
    np.testing.assert_array_equal(tags.y[:-1], (sym[:-1] == sym[1:]).astype(int))
    np.testing.assert_array_equal(tags.y[-1], (sym[-1] == 0).astype(int))


def test_sine_is_the_sum_of_sines_of_the_context():
    task = get_task("sine", periods="4,10")
    batch = task.sample(3, 12, rng=np.random.default_rng(0))
    t = np.arange(1, 13)
    expected = batch.context[:, 0] * np.sin(2 * np.pi * t / 4)[:, None] + \
        batch.context[:, 1] * np.sin(2 * np.pi * t / 10)[:, None]
    np.testing.assert_allclose(batch.y[..., 0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(batch.x[5], batch.context)


def test_nextchar_text_is_package_data_with_a_held_out_part():
    text = load_text()
    assert "alice" in text and len(text) > 3000
    task = get_task("nextchar")
    batch = task.sample(4, 16, rng=np.random.default_rng(0), split="test")
    window = task.decode(batch.x[:, 0].argmax(-1)) + task.decode(batch.y[-1, 0])
    assert window in text[task.split_at:]
    train = task.sample(4, 16, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(train.y[:-1], train.x[1:].argmax(-1))
    assert 2.0 < task.baseline(task.sample(512, 50, rng=np.random.default_rng(0))) < 3.5


def test_loss_mean_and_sum_and_mask():
    task = get_task("copy", delay=2, symbols=3)
    batch = task.sample(2, 5, rng=np.random.default_rng(0))
    outputs = [Tensor(np.zeros((2, 3), dtype=np.float32)) for _ in range(5)]
    mean, steps = task.loss(outputs, batch)
    total, _ = task.loss(outputs, batch, reduction="sum")
    assert len(steps) == 3 and [L.step for L in steps] == [3, 4, 5]
    assert np.isclose(mean.item(), np.log(3)) and np.isclose(total.item(), 3 * np.log(3))


def test_feedback_vectors_are_one_hot_targets():
    task = get_task("parity")
    batch = task.sample(2, 4, rng=np.random.default_rng(0))
    fb = task.feedback(batch)
    np.testing.assert_array_equal(fb.argmax(-1), batch.y)
    with pytest.raises(ValueError, match="no target at every step"):
        get_task("adding").feedback(get_task("adding").sample(2, 4))


def test_bad_names_and_sizes():
    with pytest.raises(UnknownTaskError, match="available: adding"):
        get_task("sorting")
    with pytest.raises(ValueError, match="no option 'delay'"):
        get_task("parity", delay=3)
    with pytest.raises(ValueError, match="needs steps > delay"):
        get_task("copy", delay=5).sample(2, 5)
    with pytest.raises(ValueError, match="steps >= 2"):
        get_task("adding").sample(2, 1)
    with pytest.raises(ValueError, match="batch"):
        get_task("parity").sample(0, 5)
    with pytest.raises(ValueError, match="longer than"):
        get_task("nextchar").sample(2, 100000)
    with pytest.raises(ValueError, match="periods"):
        get_task("sine", periods="a,b")


def test_a_single_step_loss_keeps_its_own_name():
    from tinygrad_rnn.models import build_graph

    sample = build_graph("rnn", steps=1)
    assert sample.step_losses[0].name == "L[1]" and sample.loss.name == "L"
    assert sample.loss is not sample.step_losses[0]
