"""Gradient test tools: the full Jacobian against central differences, and the cheap VJP check.

`check_jacobian(f, *xs)` builds the whole Jacobian twice, row by row from backward and column
by column from central differences, so use it on small shapes (every op in OPS).
`check_vjp(f, *xs)` compares <v, J u> (one directional central difference) with <J^T v, u>
(one backward) for random u, v: a whole cell or model costs the same as one op (the idea in
HIPS/autograd's test_util.py). Both work in float64 and take f(*Tensors) -> Tensor.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinygrad_rnn import Tensor, no_grad


def _as_float64(xs: tuple) -> list:
    arrays = []
    for i, x in enumerate(xs):
        array = np.array(x.data if isinstance(x, Tensor) else x, dtype=None)
        if array.dtype != np.float64:
            raise TypeError(f"gradtools: input {i} has dtype {array.dtype}; the checks run in "
                            f"float64 (central differences in float32 are too coarse)")
        arrays.append(array)
    return arrays


def _forward(f: Callable, arrays: list, requires_grad: bool) -> tuple:
    tensors = [Tensor(a.copy(), requires_grad=requires_grad) for a in arrays]
    out = f(*tensors)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradtools: f must return a Tensor, got {type(out).__name__}")
    return tensors, out


def _evaluate(f: Callable, arrays: list) -> np.ndarray:
    with no_grad():
        return np.array(_forward(f, arrays, False)[1].data, dtype=np.float64)


def _where(label: str, i: int, x_index: tuple, out_index: tuple | None = None) -> str:
    place = f"{label}: input {i}, element {x_index}"
    return place if out_index is None else f"{place}, output element {out_index}"


def analytic_jacobian(f: Callable, arrays: list) -> list:
    """One (out.size, x.size) matrix per input, one backward per output element."""
    tensors, out = _forward(f, arrays, True)
    jacobians = [np.zeros((out.size, a.size)) for a in arrays]
    if not out.requires_grad:
        return jacobians
    for k in range(out.size):
        for t in tensors:
            t.grad = None
        seed = np.zeros(out.size)
        seed[k] = 1.0
        out.backward(seed.reshape(out.shape), retain_graph=True)
        for jac, t in zip(jacobians, tensors):
            if t.grad is not None:
                if t.grad.shape != t.shape or t.grad.dtype != t.dtype:
                    raise AssertionError(f"gradient of shape {t.grad.shape} dtype {t.grad.dtype} "
                                         f"for an input of shape {t.shape} dtype {t.dtype}")
                jac[k] = t.grad.reshape(-1)
    return jacobians


def numeric_jacobian(f: Callable, arrays: list, eps: float = 1e-6) -> list:
    """One (out.size, x.size) matrix per input, two forward passes per input element."""
    jacobians = []
    for i, a in enumerate(arrays):
        columns = []
        for j in range(a.size):
            shifted = [b.copy() for b in arrays]
            shifted[i].reshape(-1)[j] += eps
            plus = _evaluate(f, shifted)
            shifted[i].reshape(-1)[j] -= 2 * eps
            minus = _evaluate(f, shifted)
            columns.append(((plus - minus) / (2 * eps)).reshape(-1))
        out_size = columns[0].size if columns else _evaluate(f, arrays).size
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((out_size, 0)))
    return jacobians


def check_jacobian(f: Callable, *xs, eps: float = 1e-6, atol: float = 1e-6,
                   rtol: float = 1e-5, label: str = "f") -> None:
    """Assert that backward's full Jacobian equals the central-difference one, element by element.

    The message names `label`, the input, its element, the output element, both values.
    """
    arrays = _as_float64(xs)
    out_shape = _evaluate(f, arrays).shape
    analytic = analytic_jacobian(f, arrays)
    numeric = numeric_jacobian(f, arrays, eps)
    for i, (a, n, x) in enumerate(zip(analytic, numeric, arrays)):
        bad = ~(np.abs(a - n) <= atol + rtol * np.abs(n))
        if bad.any():
            k, j = np.argwhere(bad)[0]
            x_index = tuple(int(v) for v in np.unravel_index(j, x.shape))
            out_index = tuple(int(v) for v in np.unravel_index(k, out_shape))
            raise AssertionError(f"{_where(label, i, x_index, out_index)}: Jacobian entry "
                                 f"expected {n[k, j]:.12g} (central differences), received "
                                 f"{a[k, j]:.12g} (backward); {int(bad.sum())} entries differ")


def check_vjp(f: Callable, *xs, eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8,
              seed: int = 0, label: str = "f") -> None:
    """Assert <v, J u> == <J^T v, u> for random directions u (inputs) and v (output)."""
    arrays = _as_float64(xs)
    rng = np.random.default_rng(seed)
    us = [rng.standard_normal(a.shape) for a in arrays]
    tensors, out = _forward(f, arrays, True)
    v = rng.standard_normal(out.shape)
    out.backward(v)
    jtv_u = sum(float((t.grad * u).sum()) for t, u in zip(tensors, us) if t.grad is not None)
    plus = _evaluate(f, [a + eps * u for a, u in zip(arrays, us)])
    minus = _evaluate(f, [a - eps * u for a, u in zip(arrays, us)])
    v_ju = float((v * (plus - minus) / (2 * eps)).sum())
    if not abs(jtv_u - v_ju) <= atol + rtol * abs(v_ju):
        raise AssertionError(f"{label}: <v, J u> expected {v_ju:.12g} (central differences), "
                             f"received <J^T v, u> = {jtv_u:.12g} (backward)")
