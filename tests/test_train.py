"""Training: every architecture learns an easy setting; truncated BPTT; clipping; the CLI."""

import json

import numpy as np
import pytest

from tinygrad_rnn import Tensor, manual_seed
from tinygrad_rnn.cli import main
from tinygrad_rnn.models import ARCHS, get_arch
from tinygrad_rnn.models.base import detach_state
from tinygrad_rnn.training import TrainConfig, bptt_backward, train
from tinygrad_rnn.tasks import get_task

# an easy setting per architecture: (task, T, iterations, architecture options)
EASY = {
    "rnn": ("parity", 6, 150, {}),
    "rnn-output-feedback": ("parity", 6, 150, {}),
    "rnn-seq2one": ("adding", 4, 300, {}),
    "context-rnn": ("sine", 10, 150, {}),
    "deep-rnn": ("parity", 6, 150, {}),
    "skip-rnn": ("copy", 6, 150, {}),
    "leaky-rnn": ("copy", 6, 150, {}),
    "multiscale-rnn": ("copy", 6, 150, {}),
    "lstm": ("adding", 6, 150, {}),
    "gru": ("adding", 6, 150, {}),
    "birnn": ("tagging", 6, 150, {}),
    "seq2seq": ("reverse", 4, 150, {}),
    "seq2seq-attention": ("reverse", 4, 150, {}),
    "esn": ("mackey-glass", 200, 1, {}),  # ridge regression: one closed-form fit
    "tree-rnn": ("first-last", 6, 150, {}),
    "memory-network": ("babi-like", 6, 150, {}),
    "ntm": ("copy-bits", 5, 150, {"memory": 8}),
}


def test_every_architecture_has_an_easy_setting():
    assert list(EASY) == list(ARCHS)


@pytest.mark.parametrize("name", list(ARCHS))
def test_held_out_loss_falls_below_half_the_baseline(name):
    task, steps, iters, options = EASY[name]
    result = train(TrainConfig(name, task=task, steps=steps, iters=iters, batch=32, hidden=16,
                               lr=0.02, eval_every=iters, arch_options=options, seed=0))
    assert result.test["loss"] < 0.5 * result.baseline, (result.test, result.baseline)
    assert result.history[-1]["iter"] == iters


def test_output_feedback_reports_teacher_forced_and_free_running():
    result = train(TrainConfig("rnn-output-feedback", task="parity", steps=6, iters=40,
                               hidden=8, eval_every=20))
    assert set(result.free_running) == {"loss", "accuracy"}
    assert "free_running_loss" in result.history[-1]
    doc = result.to_dict()
    assert doc["schema"] == 1 and doc["free_running"] == result.free_running
    json.dumps(doc)


def test_training_is_seeded():
    config = TrainConfig("gru", task="adding", steps=5, iters=20, hidden=8, eval_every=10)
    a, b = train(config), train(config)
    assert a.test == b.test and a.history == b.history
    c = train(TrainConfig("gru", task="adding", steps=5, iters=20, hidden=8, eval_every=10,
                          seed=1))
    assert c.test != a.test


def test_truncated_bptt_cuts_the_gradient_but_carries_the_state():
    task = get_task("adding")
    manual_seed(0)
    model = get_arch("rnn").build(task, hidden=6)
    batch = task.sample(3, 8, rng=np.random.default_rng(0))
    # full BPTT: the answer at the end reaches every input
    x_full = Tensor(batch.x, requires_grad=True)
    full_loss = bptt_backward(model, task, batch, None, x=x_full)
    assert (np.abs(x_full.grad).sum(axis=(1, 2)) > 0).all()
    model.zero_grad()
    # chunks of 3 steps: only the last chunk (steps 7-8) is reached from the loss at T = 8
    x_cut = Tensor(batch.x, requires_grad=True)
    cut_loss = bptt_backward(model, task, batch, 3, x=x_cut)
    per_step = np.abs(x_cut.grad).sum(axis=(1, 2))
    assert (per_step[:6] == 0).all() and (per_step[6:] > 0).all()
    # ... while the state's values carried across: the same loss as without truncation
    assert np.isclose(cut_loss, full_loss, rtol=1e-6)


def test_truncated_state_values_match_the_full_unroll():
    task = get_task("copy", delay=2)
    model = get_arch("lstm").build(task, hidden=5)
    x = Tensor(task.sample(2, 9, rng=np.random.default_rng(0)).x)
    full = model(x)
    first = model(x[0:4])
    second = model(x[4:9], state=detach_state(first.state), t0=4)
    for a, b in zip(full.states[4:], second.states):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6)
    assert [h.step for h in second.states] == [5, 6, 7, 8, 9]
    carried = detach_state(first.state)
    assert not carried[0].parents and not carried[0].requires_grad  # cut from the graph
    np.testing.assert_array_equal(carried[0].data, first.state[0].data)  # values kept


def test_truncated_bptt_per_step_task_trains_and_clipping_runs():
    result = train(TrainConfig("rnn", task="parity", steps=8, iters=100, hidden=16, lr=0.02,
                               bptt=2, clip_norm=1.0, clip_value=0.5, eval_every=100))
    assert result.test["loss"] < result.baseline
    sgd = train(TrainConfig("rnn", task="parity", steps=4, iters=5, hidden=4,
                            optimizer="sgd", momentum=0.9, lr=0.1, eval_every=5))
    assert np.isfinite(sgd.test["loss"])


def test_cannot_truncate_a_bidirectional_net():
    with pytest.raises(ValueError, match="whole sequence"):
        train(TrainConfig("birnn", steps=6, iters=1, bptt=2))


@pytest.mark.parametrize("argv, message", [
    (["train", "transformer"], "available: rnn"),
    (["train", "rnn", "--task", "sorting"], "available: adding"),
    (["train", "rnn-seq2one", "--task", "parity"], "tasks that fit rnn-seq2one: adding"),
    (["train", "context-rnn", "--task", "copy"], "tasks that fit context-rnn: sine"),
    (["train", "rnn", "--steps", "0"], "steps >= 1"),
    (["train", "rnn", "--hidden", "-3"], "hidden must be"),
    (["train", "rnn", "--iters", "0"], "iters must be"),
    (["train", "rnn", "--lr", "-1"], "lr must be"),
    (["train", "rnn", "--bptt", "0"], "bptt must be"),
    (["train", "birnn", "--bptt", "2"], "truncated BPTT"),
    (["train", "rnn", "-O", "delay=3"], "no option 'delay'"),
    (["train", "skip-rnn", "-O", "task.delay=30", "--steps", "10"], "needs steps > delay"),
])
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("tinygrad-rnn train: error:")
    assert not any("Traceback" in line for line in err)


def test_cli_train_json(capsys):
    assert main(["train", "rnn-output-feedback", "--steps", "5", "--iters", "6", "--hidden",
                 "4", "--eval-every", "3", "--json", "-O", "feedback=probs"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1 and doc["kind"] == "train" and doc["arch"] == "rnn-output-feedback"
    assert doc["config"]["arch_options"] == {"feedback": "probs"}
    assert doc["free_running"]["loss"] > 0 and len(doc["history"]) == 2


def test_cli_train_quiet_prints_results(capsys):
    assert main(["train", "skip-rnn", "--steps", "6", "--iters", "3", "--hidden", "4",
                 "--quiet", "--no-color", "-O", "task.delay=2", "-O", "delay=2",
                 "--clip-norm", "1"]) == 0
    out = capsys.readouterr().out
    assert "held-out loss" in out and "baseline" in out and "iter 1/" not in out
