"""The information-flow regularizer (Pascanu et al. 2013): value, exact gradient, training."""

import numpy as np
import pytest

from tinygrad_rnn import Tensor, gradcheck, manual_seed
from tinygrad_rnn.cli import main
from tinygrad_rnn.models import get_arch
from tinygrad_rnn.tasks import get_task
from tinygrad_rnn.training import TrainConfig, flow_backward, prepare, train

T, B, H = 5, 3, 4


def _model_and_grads(seed=0):
    manual_seed(seed)
    task = get_task("adding")
    model = get_arch("rnn").build(task, hidden=H).to(np.float64)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.normal(size=(T, B, task.input_size)))
    grads = [rng.normal(size=(B, H)) for _ in range(T)]
    return model, x, grads


def _by_hand(model, x, grads) -> float:
    """The paper's sum_t (||g(t) dh(t)/dh(t-1)|| / ||g(t)|| - 1)^2 with the Jacobian built
    explicitly per sequence, mean over the batch."""
    U, W, b = model.U.data, model.W.data, model.b.data
    h = np.zeros((B, H))
    total = 0.0
    for t in range(1, T + 1):
        h = np.tanh(b + h @ W.T + x.data[t - 1] @ U.T)
        if t < 2:
            continue
        for i in range(B):
            jacobian = np.diag(1 - h[i] ** 2) @ W  # dh(t)/dh(t-1)
            g = grads[t - 1][i]
            total += (np.linalg.norm(g @ jacobian) / np.linalg.norm(g) - 1) ** 2 / B
    return total


def test_penalty_matches_the_papers_formula():
    model, x, grads = _model_and_grads()
    run = model(x)
    value = model.flow_penalty(run.states, grads).item()
    assert value == pytest.approx(_by_hand(model, x, grads), rel=1e-10)


def test_penalty_gradient_is_exact_with_the_gradients_held_constant():
    model, x, grads = _model_and_grads(seed=1)

    def penalty(U, W, b):  # gradcheck perturbs the parameters in place; g(t) stays fixed
        return model.flow_penalty(model(x).states, grads)

    assert gradcheck(penalty, model.U, model.W, model.b)


def test_flow_backward_adds_lambda_times_the_penalty_gradient():
    model, x, _ = _model_and_grads(seed=2)
    y = np.random.default_rng(2).normal(size=(B, 1))

    def loss_of(run):
        return ((run.outputs[0] - y) ** 2).mean()

    run = model(x, emit="last")
    flow_backward(model, run.states, loss_of(run), 0.7)
    combined = model.W.grad.copy()
    model.zero_grad()
    run = model(x, emit="last")
    for h in run.states:
        h.retain_grad()
    loss_of(run).backward(retain_graph=True)
    grads = [h.grad.copy() for h in run.states]
    task_grad = model.W.grad.copy()
    model.zero_grad()
    model.flow_penalty(run.states, grads).backward()
    assert np.allclose(combined, task_grad + 0.7 * model.W.grad, rtol=1e-10, atol=1e-12)
    assert not np.allclose(combined, task_grad)  # the penalty did contribute


def test_flow_reg_changes_training_and_is_seeded():
    base = TrainConfig("rnn", task="adding", steps=12, iters=15, batch=8, hidden=8,
                       eval_every=15, clip_norm=1.0)
    plain = train(base)
    regular = train(TrainConfig(**{**base.__dict__, "flow_reg": 2.0}))
    again = train(TrainConfig(**{**base.__dict__, "flow_reg": 2.0}))
    assert regular.test["loss"] != plain.test["loss"]
    assert regular.test["loss"] == again.test["loss"]


def test_flow_reg_only_for_the_vanilla_transition():
    for arch in ("lstm", "leaky-rnn"):
        with pytest.raises(ValueError, match="flow_reg"):
            prepare(TrainConfig(arch, task="adding", flow_reg=1.0))
    with pytest.raises(ValueError, match="flow_reg must be a number >= 0"):
        prepare(TrainConfig("rnn", flow_reg=-1.0))


def test_cli_flow_reg(capsys):
    assert main(["train", "rnn", "--task", "adding", "--steps", "6", "--iters", "3",
                 "--flow-reg", "1", "-q", "--no-color"]) == 0
    assert main(["train", "gru", "--flow-reg", "1", "--iters", "2", "-q"]) == 2
    assert "flow_reg" in capsys.readouterr().err
