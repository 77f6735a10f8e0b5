"""Gated recurrent nets (DL book, 10.10): LSTM and GRU unrolled from nn.LSTMCell / nn.GRUCell.

The cells name their gates (i, f, g, o; r, z, n), so the gates show in the unrolled graph.
"""

from __future__ import annotations

from ..autograd import scope
from ..nn import GRUCell, Linear, LSTMCell
from ..tensor import Tensor
from .base import Run, SequenceModel


class LSTM(SequenceModel):
    """An LSTMCell unrolled over time with a linear read-out o(t) = head(h(t)).

    Shapes: x (T, B, D) -> o(t) (B, C); state (h, c), each (B, H).
    """

    scope_name = "lstm"

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16):
        super().__init__(input_size, output_size, hidden_size)
        self.cell = LSTMCell(input_size, hidden_size)
        self.head = Linear(hidden_size, output_size)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.cell.weight_hh

    def forward(self, x: Tensor, state: tuple | None = None, t0: int = 0,
                emit: str = "every", **inputs) -> Run:
        self._check_x(x)
        self._check_emit(emit)
        T = x.shape[0]
        if state is None:
            with scope(self.scope_name):
                state = (self._zeros(x.shape[1]).named("h[0]"),
                         self._zeros(x.shape[1]).named("c[0]"))
        h, c = state
        outputs, states = [], []
        for i in range(T):
            t = t0 + i + 1
            with scope(self.scope_name, step=t):
                h, c = self.cell(x[i], (h, c))
                h.named(f"h[{t}]")
                c.named(f"c[{t}]")
                states.append(h)
                if self._emit_here(emit, i, T):
                    outputs.append(self.head(h).named(f"o[{t}]"))
        return Run(outputs, states, (h, c))


class GRU(SequenceModel):
    """A GRUCell (PyTorch's variant) unrolled over time with a linear read-out.

    Shapes: x (T, B, D) -> o(t) (B, C); state h (B, H).
    """

    scope_name = "gru"

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16):
        super().__init__(input_size, output_size, hidden_size)
        self.cell = GRUCell(input_size, hidden_size)
        self.head = Linear(hidden_size, output_size)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.cell.weight_hh

    def forward(self, x: Tensor, state: Tensor | None = None, t0: int = 0,
                emit: str = "every", **inputs) -> Run:
        self._check_x(x)
        self._check_emit(emit)
        T = x.shape[0]
        with scope(self.scope_name):
            h = state if state is not None else self._zeros(x.shape[1]).named("h[0]")
        outputs, states = [], []
        for i in range(T):
            t = t0 + i + 1
            with scope(self.scope_name, step=t):
                h = self.cell(x[i], h).named(f"h[{t}]")
                states.append(h)
                if self._emit_here(emit, i, T):
                    outputs.append(self.head(h).named(f"o[{t}]"))
        return Run(outputs, states, h)
