"""The fused linear op: the same bits as transpose + matmul + add, clear errors, used by the cells.

Its gradcheck, Jacobian and PyTorch rows are in tests/op_cases.py (run by test_ops.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor
from tinygrad_rnn import functional as F
from tinygrad_rnn.autograd import ShapeError
from tinygrad_rnn.nn import GRUCell, Linear, LSTMCell, RNNCell


def _ops(root: Tensor) -> list:
    seen, stack, ops = {root.id}, [root], []
    while stack:
        node = stack.pop()
        if node.op:
            ops.append(node.op)
        for parent in node.parents:
            if parent.id not in seen:
                seen.add(parent.id)
                stack.append(parent)
    return ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape", [(5,), (4, 5), (3, 4, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_is_bit_identical_to_the_three_node_form(dtype, x_shape, bias):
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=x_shape), rng.normal(size=(6, 5)), rng.normal(size=(6,))]
    arrays = [a.astype(dtype) for a in arrays]
    upstream = rng.normal(size=x_shape[:-1] + (6,)).astype(dtype)

    def run(fused: bool):
        x, w, b = (Tensor(a.copy(), requires_grad=True) for a in arrays)
        if fused:
            y = F.linear(x, w, b if bias else None)
        else:
            y = x @ w.T + b if bias else x @ w.T
        (y * Tensor(upstream)).sum().backward()
        return y.data, x.grad, w.grad, (b.grad if bias else None)

    fused, plain = run(True), run(False)
    for got, want in zip(fused, plain):
        if want is None:
            assert got is None
        else:
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_linear_records_one_node_with_its_parents():
    x, w, b = Tensor(np.ones((2, 3))), Tensor(np.ones((4, 3)), requires_grad=True), \
        Tensor(np.zeros(4), requires_grad=True)
    y = F.linear(x, w, b)
    assert y.op == "linear" and y.parents == (x, w, b) and y.shape == (2, 4)
    assert F.linear(x, w).parents == (x, w)


def test_linear_bad_shapes_name_the_op_and_the_shapes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"linear: x \(2, 3\).*got weight \(4, 2\)"):
        F.linear(x, Tensor(np.ones((4, 2))))
    with pytest.raises(ShapeError, match=r"linear: bias has shape \(3,\); expected \(4,\)"):
        F.linear(x, Tensor(np.ones((4, 3))), Tensor(np.ones(3)))
    with pytest.raises(ShapeError, match="linear"):
        F.linear(Tensor(np.float64(1.0)), Tensor(np.ones((4, 3))))
    with pytest.raises(TypeError, match="linear: weight must be a Tensor"):
        F.linear(x, np.ones((4, 3)))


@pytest.mark.parametrize("cell", [RNNCell(3, 4), LSTMCell(3, 4), GRUCell(3, 4)],
                         ids=["rnn", "lstm", "gru"])
def test_cells_and_layers_record_no_transpose_per_step(cell):
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    out = cell(x)
    h = out[0] if isinstance(out, tuple) else out
    ops = _ops(Linear(4, 2)(h).sum())
    assert "transpose" not in ops and "matmul" not in ops
    assert ops.count("linear") == 3  # x W_ih^T + b_ih, h W_hh^T + b_hh, the head
