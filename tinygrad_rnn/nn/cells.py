"""RNNCell, LSTMCell and GRUCell: one time step each, PyTorch's formulas and gate order."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init
from ..autograd import ShapeError
from ..tensor import Tensor
from .layers import _check_sizes
from .module import Module, Parameter


class _Cell(Module):
    """Shared parts: weight_ih (G*H, D), weight_hh (G*H, H), bias_ih, bias_hh, all ±1/sqrt(H)."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        _check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        rows, bound = self.gates * hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = Parameter(init.uniform((rows, input_size), bound))
        self.weight_hh = Parameter(init.uniform((rows, hidden_size), bound))
        self.bias_ih = Parameter(init.uniform((rows,), bound)) if bias else None
        self.bias_hh = Parameter(init.uniform((rows,), bound)) if bias else None

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: x must be a Tensor, got {type(x).__name__}")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}(input_size={self.input_size}) got x with "
                             f"shape {x.shape}; expected (B, {self.input_size})")

    def _zeros(self, x: Tensor) -> Tensor:
        return Tensor(np.zeros(x.shape[:-1] + (self.hidden_size,), dtype=x.dtype))

    def _check_state(self, h: Tensor, x: Tensor, what: str = "h") -> None:
        expected = x.shape[:-1] + (self.hidden_size,)
        if h.shape != expected:
            raise ShapeError(f"{type(self).__name__}(hidden_size={self.hidden_size}) got {what} "
                             f"with shape {h.shape}; expected {expected} for x {x.shape}")

    def _affine(self, x: Tensor, h: Tensor) -> tuple:
        """(x W_ih^T + b_ih, h W_hh^T + b_hh), each one "linear" node (no transpose node)."""
        return (F.linear(x, self.weight_ih, self.bias_ih),
                F.linear(h, self.weight_hh, self.bias_hh))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class RNNCell(_Cell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). Shapes: x (B, D), h (B, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        self._check_input(x)
        h = self._zeros(x) if state is None else state
        self._check_state(h, x)
        gi, gh = self._affine(x, h)
        a = gi + gh
        return a.tanh() if self.nonlinearity == "tanh" else a.relu()


class LSTMCell(_Cell):
    """Long short-term memory, gates i, f, g, o (Hochreiter & Schmidhuber 1997; PyTorch's form).

    c' = f * c + i * g,  h' = o * tanh(c'). Shapes: x (B, D), state (h, c) each (B, H).
    """

    gates = 4

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple:
        self._check_input(x)
        if state is None:
            h = c = self._zeros(x)
        else:
            if not isinstance(state, tuple) or len(state) != 2:
                raise TypeError("LSTMCell: state must be the tuple (h, c) or None")
            h, c = state
            self._check_state(h, x, "h")
            self._check_state(c, x, "c")
        gi, gh = self._affine(x, h)
        gates = gi + gh
        H = self.hidden_size
        i = gates[..., 0:H].sigmoid().named("i")  # input gate
        f = gates[..., H:2 * H].sigmoid().named("f")  # forget gate: the self-loop's weight
        g = gates[..., 2 * H:3 * H].tanh().named("g")  # candidate
        o = gates[..., 3 * H:4 * H].sigmoid().named("o")  # output gate
        c_next = (f * c + i * g).named("c")
        return (o * c_next.tanh()), c_next


class GRUCell(_Cell):
    """Gated recurrent unit, PyTorch's variant (reset applied after the matmul; Cho et al. 2014).

    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.
    Shapes: x (B, D), h (B, H).
    """

    gates = 3

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        self._check_input(x)
        h = self._zeros(x) if state is None else state
        self._check_state(h, x)
        gi, gh = self._affine(x, h)
        H = self.hidden_size
        rz = gi[..., 0:2 * H] + gh[..., 0:2 * H]  # both gates' pre-activations, one add
        r = rz[..., 0:H].sigmoid().named("r")  # reset gate
        z = rz[..., H:2 * H].sigmoid().named("z")  # update gate
        n = (gi[..., 2 * H:3 * H] + r * gh[..., 2 * H:3 * H]).tanh().named("n")
        return (1 - z) * n + z * h
