"""optim and clipping: five steps equal to PyTorch's to 1e-10."""

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import Tensor, optim

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.01)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=3e-3, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=5e-3, momentum=0.9)),
    ("RMSprop", dict(lr=5e-3, centered=True)),
    ("RMSprop", dict(lr=2e-3, alpha=0.8, momentum=0.5, centered=True, weight_decay=0.01)),
]


def _problem(rng):
    return rng.normal(size=(4, 3)), rng.normal(size=(3,)), rng.normal(size=(5, 4))


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_five_steps_match_pytorch(torch, name, kwargs):
    w0, b0, x = _problem(np.random.default_rng(0))
    w, b = Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    wt = torch.tensor(w0.copy(), requires_grad=True)
    bt = torch.tensor(b0.copy(), requires_grad=True)
    opt = getattr(optim, name)([w, b], **kwargs)
    opt_ref = getattr(torch.optim, name)([wt, bt], **kwargs)
    for _ in range(5):
        opt.zero_grad()
        ((Tensor(x) @ w + b).tanh() ** 2).sum().backward()
        opt.step()
        opt_ref.zero_grad()
        ((torch.tensor(x) @ wt + bt).tanh() ** 2).sum().backward()
        opt_ref.step()
    np.testing.assert_allclose(w.data, wt.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(b.data, bt.detach().numpy(), rtol=0, atol=1e-10)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_pytorch(torch, max_norm):
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    params = [Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    ref = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, r, g in zip(params, ref, grads):
        p.grad, r.grad = g.copy(), torch.tensor(g)
    total = tg.clip_grad_norm_(params, max_norm)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm)
    assert abs(total - total_ref.item()) < 1e-12
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.grad, r.grad.numpy(), rtol=0, atol=1e-12)


def test_clip_grad_norm_returns_norm_before_clipping():
    p = Tensor(np.zeros(2), requires_grad=True)
    p.grad = np.array([3.0, 4.0])
    assert tg.clip_grad_norm_([p], 1.0) == pytest.approx(5.0)
    assert np.linalg.norm(p.grad) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_value():
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = np.array([-2.0, 0.5, 3.0])
    tg.clip_grad_value_([p], 1.0)
    assert np.array_equal(p.grad, [-1.0, 0.5, 1.0])


def test_clipping_does_not_corrupt_shared_gradients():
    # x + y hands both leaves the same gradient array; clipping one must not scale the other
    x, y = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    (x + y).sum().backward()
    tg.clip_grad_norm_([x], 0.1)
    assert np.array_equal(y.grad, [1.0, 1.0])


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="expected Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        tg.clip_grad_norm_([Tensor(np.zeros(1), requires_grad=True)], 0)


@pytest.mark.parametrize("name,value", [("alpha", -0.1), ("eps", float("nan")),
                                        ("momentum", -1.0), ("weight_decay", -0.5)])
def test_rmsprop_rejects_negative_settings(name, value):
    with pytest.raises(ValueError, match=f"RMSprop: {name} must be >= 0"):
        optim.RMSprop([Tensor(np.zeros(2), requires_grad=True)], **{name: value})
