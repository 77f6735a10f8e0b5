"""Issue 13: random compositions of ops (hypothesis), each checked by gradcheck and against
PyTorch (skipped cleanly without torch; mandatory under REQUIRE_TORCH=1)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from conftest import require_torch
from tinygrad_rnn import Tensor

FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# name -> (engine, torch) on a (2, 3) operand; every one keeps the shape (2, 3) and is smooth on
# the values drawn (log and sqrt see a positive argument, division a denominator away from 0)
UNARY = {
    "tanh": (lambda a: a.tanh(), lambda t, a: t.tanh(a)),
    "sigmoid": (lambda a: a.sigmoid(), lambda t, a: t.sigmoid(a)),
    "exp": (lambda a: (a * 0.5).exp(), lambda t, a: t.exp(a * 0.5)),
    "log": (lambda a: (a * a + 1.0).log(), lambda t, a: t.log(a * a + 1.0)),
    "sqrt": (lambda a: (a * a + 0.5).sqrt(), lambda t, a: t.sqrt(a * a + 0.5)),
    "softplus": (lambda a: a.softplus(), lambda t, a: t.nn.functional.softplus(a)),
    "neg": (lambda a: -a, lambda t, a: -a),
    "softmax": (lambda a: a.softmax(axis=1), lambda t, a: t.softmax(a, dim=1)),
    "log_softmax": (lambda a: a.log_softmax(axis=0), lambda t, a: t.log_softmax(a, dim=0)),
    "transpose2": (lambda a: a.transpose(0, 1).transpose(0, 1),
                   lambda t, a: a.transpose(0, 1).transpose(0, 1)),
    "rowmean": (lambda a: a - a.mean(axis=1, keepdims=True),
                lambda t, a: a - a.mean(dim=1, keepdim=True)),
    "colmax": (lambda a: a * a.max(axis=0, keepdims=True),
               lambda t, a: a * a.amax(dim=0, keepdim=True)),
    "square": (lambda a: a ** 2, lambda t, a: a ** 2),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda t, a, b: a + b),
    "sub": (lambda a, b: a - b, lambda t, a, b: a - b),
    "mul": (lambda a, b: a * b, lambda t, a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1.0), lambda t, a, b: a / (b * b + 1.0)),
    "matmul": (lambda a, b: a @ b.transpose(0, 1) @ b * 0.3,
               lambda t, a, b: a @ b.transpose(0, 1) @ b * 0.3),
    "where": (lambda a, b: tg.where(a > b, a, b * 2.0), lambda t, a, b: t.where(a > b, a, b * 2.0)),
}

program = st.lists(st.one_of(st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
                             st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)),
                                       st.integers(0, 8))),
                   min_size=1, max_size=6)


def run(steps, leaves, unary, binary, *lib):
    """The composition: each step takes the running value and (binary) an earlier value."""
    values = list(leaves)
    x = values[0]
    for step in steps:
        if step[0] == "u":
            x = unary[step[1]][1](*lib, x) if lib else unary[step[1]][0](x)
        else:
            other = values[step[2] % len(values)]
            x = binary[step[1]][1](*lib, x, other) if lib else binary[step[1]][0](x, other)
        values.append(x)
    return (x * x).sum()


def draws(seed: int) -> list:
    rng = np.random.default_rng(seed)
    # values away from ties (max, where) by construction: distinct, spread by 0.05 at least
    return [(rng.permutation(6).reshape(2, 3) * 0.3 - 0.8 + 0.01 * k) for k in range(2)]


@FAST
@given(steps=program, seed=st.integers(0, 2 ** 16))
def test_random_compositions_pass_gradcheck(steps, seed):
    arrays = draws(seed)
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    assert tg.gradcheck(lambda *xs: run(steps, xs, UNARY, BINARY), *leaves, eps=1e-6,
                        atol=1e-6, rtol=1e-4)


@FAST
@given(steps=program, seed=st.integers(0, 2 ** 16))
def test_random_compositions_match_pytorch(steps, seed):
    torch = require_torch()
    arrays = draws(seed)
    leaves = [Tensor(a, requires_grad=True) for a in arrays]
    out = run(steps, leaves, UNARY, BINARY)
    out.backward()
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = run(steps, refs, UNARY, BINARY, torch)
    ref.backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for leaf, r in zip(leaves, refs):
        expected = np.zeros_like(leaf.data) if r.grad is None else r.grad.numpy()
        got = np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)
