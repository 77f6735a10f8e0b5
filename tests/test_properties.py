"""Property tests: shapes and values drawn by hypothesis, laws every gradient must obey."""

from __future__ import annotations

import operator

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

import tinygrad_rnn as tg
from gradtools import check_vjp
from tinygrad_rnn import Tensor, no_grad

FAST = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, tg.maximum]


def shapes(max_dims: int = 3, min_dims: int = 0):
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4)


def values(shape, low: float = -2.0, high: float = 2.0):
    return arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False,
                                                        allow_infinity=False))


def broadcast_expected(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` back to `shape` by counting where each input element was broadcast to."""
    index = np.arange(int(np.prod(shape, dtype=int))).reshape(shape)
    spread = np.broadcast_to(index, grad.shape)
    return np.bincount(spread.ravel(), weights=grad.ravel(),
                       minlength=index.size).reshape(shape)


@FAST
@given(pair=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(BINARY), seed=st.integers(0, 1000))
def test_binary_grads_have_input_shapes_and_sum_back(pair, op, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = pair.input_shapes
    a = Tensor(rng.uniform(0.5, 2.0, a_shape), requires_grad=True)
    b = Tensor(rng.uniform(-2.0, -0.5, b_shape), requires_grad=True)  # no ties, no 0 divisor
    out = op(a, b)
    assert out.shape == pair.result_shape
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    assert a.grad.dtype == b.grad.dtype == np.float64
    if op in (operator.add, operator.sub):
        sign = 1.0 if op is operator.add else -1.0
        np.testing.assert_allclose(a.grad, broadcast_expected(upstream, a_shape), rtol=1e-12)
        np.testing.assert_allclose(b.grad, sign * broadcast_expected(upstream, b_shape),
                                   rtol=1e-12, atol=1e-12)
    if op is operator.mul:
        expected = broadcast_expected(upstream * np.broadcast_to(b.data, out.shape), a_shape)
        np.testing.assert_allclose(a.grad, expected, rtol=1e-10, atol=1e-12)


@FAST
@given(shape=shapes())
def test_sum_grad_is_ones(shape):
    x = Tensor(np.random.default_rng(0).normal(size=shape), requires_grad=True)
    x.sum().backward()
    assert np.array_equal(x.grad, np.ones(shape))


@FAST
@given(shape=shapes(min_dims=1), data=st.data())
def test_mean_grad_is_one_over_count(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = Tensor(np.random.default_rng(0).normal(size=shape), requires_grad=True)
    x.mean(axis=axis).sum().backward()
    np.testing.assert_allclose(x.grad, np.full(shape, 1.0 / shape[axis]), rtol=1e-15)


@FAST
@given(data=st.data())
def test_x_times_x_plus_x_accumulates_both_paths(data):
    x_data = data.draw(values(data.draw(shapes())))
    x = Tensor(x_data, requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x_data + 1, rtol=1e-12, atol=1e-12)


@FAST
@given(data=st.data())
def test_no_grad_records_nothing(data):
    x = Tensor(data.draw(values(data.draw(shapes()), 0.5, 2.0)), requires_grad=True)
    with no_grad():
        y = ((x * 2 + 1).log().tanh() * x).sum().exp()
    assert y.parents == () and y.op is None and not y.requires_grad and y.is_leaf
    z = x * 2  # recording is back on after the block
    assert z.op == "mul" and z.parents[0] is x


@FAST
@given(shape=shapes(min_dims=1), data=st.data())
def test_reshape_and_transpose_round_trip_the_gradient(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    x_data = np.random.default_rng(1).normal(size=shape)
    x = Tensor(x_data, requires_grad=True)
    upstream = np.random.default_rng(2).normal(size=shape)
    y = x.permute(*perm).reshape(-1).reshape(*np.transpose(x_data, perm).shape)
    y.backward(np.transpose(upstream, perm))
    np.testing.assert_array_equal(x.grad, upstream)


@FAST
@given(shape=shapes(min_dims=1), data=st.data())
def test_softmax_sums_to_one_and_its_sum_has_no_gradient(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = Tensor(data.draw(values(shape, -30.0, 30.0)), requires_grad=True)
    probs = x.softmax(axis=axis)
    np.testing.assert_allclose(probs.data.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(x.log_softmax(axis=axis).data), probs.data, rtol=1e-9,
                               atol=1e-300)
    probs.sum().backward()
    np.testing.assert_allclose(x.grad, 0.0, atol=1e-12)


@FAST
@given(size=st.integers(1, 6), index=st.lists(st.integers(0, 5), min_size=1, max_size=8))
def test_getitem_gradient_counts_every_use(size, index):
    index = np.array([i % size for i in index])
    x = Tensor(np.zeros(size), requires_grad=True)
    x[index].sum().backward()
    np.testing.assert_array_equal(x.grad, np.bincount(index, minlength=size))


@FAST
@given(shape=shapes(min_dims=1, max_dims=2), seed=st.integers(0, 1000))
def test_backward_is_linear_in_the_upstream_gradient(shape, seed):
    rng = np.random.default_rng(seed)
    x_data = rng.normal(size=shape)
    g1, g2 = rng.normal(size=shape), rng.normal(size=shape)

    def grad_for(g):
        x = Tensor(x_data, requires_grad=True)
        (x.tanh() * x.sigmoid()).backward(g)
        return x.grad

    np.testing.assert_allclose(grad_for(2 * g1 - 3 * g2), 2 * grad_for(g1) - 3 * grad_for(g2),
                               rtol=1e-10, atol=1e-12)


@FAST
@given(b=st.integers(1, 3), d=st.integers(1, 4), h=st.integers(1, 4), seed=st.integers(0, 1000))
def test_a_tanh_rnn_step_passes_the_vjp_check(b, d, h, seed):
    rng = np.random.default_rng(seed)

    def step(x, h_prev, w_xh, w_hh, bias):
        return (x @ w_xh.T + h_prev @ w_hh.T + bias).tanh()

    check_vjp(step, rng.normal(size=(b, d)), rng.normal(size=(b, h)), rng.normal(size=(h, d)),
              rng.normal(size=(h, h)), rng.normal(size=(h,)), seed=seed, label="tanh rnn step")


@FAST
@given(t=st.integers(1, 4), seed=st.integers(0, 1000))
def test_an_unrolled_recurrence_with_a_loss_passes_the_vjp_check(t, seed):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, 3, size=(t, 2))

    def unroll(xs, w, u, v):
        h = Tensor(np.zeros((2, 4)))
        losses = []
        for k in range(t):
            h = (xs[k] @ u + h @ w).tanh()
            losses.append(tg.functional.cross_entropy(h @ v, targets[k]))
        return tg.stack(losses).mean()

    check_vjp(unroll, rng.normal(size=(t, 2, 3)), rng.normal(size=(4, 4)) * 0.5,
              rng.normal(size=(3, 4)), rng.normal(size=(4, 3)), seed=seed, label="unroll")
