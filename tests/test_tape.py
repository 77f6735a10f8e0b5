"""Tape replay: the replayed forward and backward give a fresh step's numbers to the last bit."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_rnn import Tensor, optim
from tinygrad_rnn.nn import Linear, LSTMCell
from tinygrad_rnn.tape import Tape, TapeError

T, B, D, H, C = 6, 3, 4, 5, 3


class Net:
    """An LSTM cell unrolled over T steps with a linear head and cross-entropy at every step."""

    def __init__(self, dtype):
        self.cell, self.head = LSTMCell(D, H), Linear(H, C)
        for p in self.parameters():
            p.data = p.data.astype(dtype)

    def parameters(self):
        return self.cell.parameters() + self.head.parameters()

    def loss(self, x: Tensor, onehot: Tensor) -> Tensor:
        state, total = None, None
        for t in range(T):
            state = self.cell(x[t], state)
            picked = (self.head(state[0]).log_softmax(-1) * onehot[t]).sum()
            total = picked if total is None else total + picked
        return total * (-1.0 / (T * B))


def _batch(rng, dtype):
    x = Tensor(rng.normal(size=(T, B, D)).astype(dtype))
    y = Tensor(np.eye(C, dtype=dtype)[rng.integers(0, C, size=(T, B))])
    return x, y


def _grads(params):
    return [p.grad.copy() for p in params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_replay_equals_a_fresh_step_to_the_last_bit(dtype):
    rng = np.random.default_rng(0)
    twin_a, twin_b = Net(dtype), Net(dtype)
    for a, b in zip(twin_a.parameters(), twin_b.parameters()):
        b.data = a.data.copy()
    tape = Tape(twin_b.loss, *_batch(rng, dtype))
    opt_a, opt_b = optim.Adam(twin_a.parameters(), lr=0.05), optim.Adam(twin_b.parameters(),
                                                                      lr=0.05)
    for _ in range(4):  # new batches, and parameters moved in place by Adam between steps
        x, y = _batch(rng, dtype)
        opt_a.zero_grad()
        opt_b.zero_grad()
        fresh = twin_a.loss(x, y)
        fresh.backward()
        replayed = tape.replay(x, y)
        assert replayed == float(fresh.item())
        for ga, gb in zip(_grads(twin_a.parameters()), _grads(twin_b.parameters())):
            assert ga.dtype == gb.dtype and np.array_equal(ga, gb)
        opt_a.step()
        opt_b.step()
    for a, b in zip(twin_a.parameters(), twin_b.parameters()):
        assert np.array_equal(a.data, b.data)


def test_replay_refuses_changed_shapes_and_dtypes():
    rng = np.random.default_rng(1)
    net = Net(np.float64)
    x, y = _batch(rng, np.float64)
    tape = Tape(net.loss, x, y)
    with pytest.raises(TapeError, match=r"input 0 has shape \(6, 2, 4\).*recorded with "
                                         r"\(6, 3, 4\)"):
        tape.replay(Tensor(np.zeros((T, 2, D))), y)
    with pytest.raises(TapeError, match="float32"):
        tape.replay(Tensor(x.data.astype(np.float32)), y)
    with pytest.raises(TapeError, match="recorded with 2 inputs, got 1"):
        tape.replay(x)


def test_an_op_whose_shape_changes_is_caught():
    # a shape that no input check sees: a parameter replaced by one of another size
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    x = Tensor(np.ones((4, 3)))
    tape = Tape(lambda x: (x @ w).sum(), x)
    assert tape.replay(x) == 24.0
    w.data = np.ones((3, 5))
    with pytest.raises(TapeError, match=r"op matmul made shape \(4, 5\), recorded \(4, 2\)"):
        tape.replay(x)


def test_hooks_are_refused_when_recording():
    w = Tensor(np.ones(3), requires_grad=True)

    def loss(x):
        y = x * w
        y.register_hook(lambda g: g)
        return y.sum()

    with pytest.raises(TapeError, match="hook"):
        Tape(loss, Tensor(np.ones(3)))


def test_verify_passes_a_static_program_and_catches_a_frozen_constant():
    rng = np.random.default_rng(2)
    net = Net(np.float64)
    tape = Tape(net.loss, *_batch(rng, np.float64))
    tape.verify(*_batch(rng, np.float64))  # the LSTM program is static: no error
    assert all(p.grad is None for p in net.parameters())  # verify leaves .grad as it was

    w = Tensor(np.ones(4), requires_grad=True)

    def value_dependent(x):  # a mask made from x's values enters as a constant: frozen on tape
        mask = Tensor((x.data == x.data.max()).astype(np.float64))
        return (x * w * mask).sum()

    x0 = Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    tape = Tape(value_dependent, x0)
    tape.verify(x0)  # on the recorded input both agree
    with pytest.raises(TapeError, match="froze"):
        tape.verify(Tensor(np.array([4.0, 3.0, 2.0, 1.0])))
