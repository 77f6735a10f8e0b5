"""Gated recurrent nets (DL book, 10.10): LSTM and GRU unrolled from nn.LSTMCell / nn.GRUCell.

The cells name their gates (i, f, g, o; r, z, n), so the gates show in the unrolled graph.
"""

from __future__ import annotations

from ..nn import GRUCell, Linear, LSTMCell
from ..tensor import Tensor
from .base import BookSteps, SequenceModel, Step


class _GatedRNN(SequenceModel):
    """A gated cell (class attribute `cell_type`) unrolled over time, read out by a Linear head."""

    cell_type: type  # LSTMCell or GRUCell, set by the subclass

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16):
        super().__init__(input_size, output_size, hidden_size)
        self.cell = self.cell_type(input_size, hidden_size)
        self.head = Linear(hidden_size, output_size)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.cell.weight_hh

    def output(self, h: Tensor, t: int) -> Tensor:
        return self.head(h).named(f"o[{t}]")


class LSTM(_GatedRNN):
    """An LSTMCell unrolled over time with a linear read-out o(t) = head(h(t)).

    Shapes: x (T, B, D) -> o(t) (B, C); state (h, c), each (B, H).
    """

    scope_name = "lstm"
    cell_type = LSTMCell

    def initial_state(self, batch: int, **inputs) -> tuple:
        return self._zeros(batch).named("h[0]"), self._zeros(batch).named("c[0]")

    def step(self, x: BookSteps, state: tuple, t: int, **inputs) -> Step:
        h_prev, c_prev = state
        h, c = self.cell(x(t), (h_prev, c_prev))
        h.named(f"h[{t}]")
        c.named(f"c[{t}]")
        return Step(h, (h, c))


class GRU(_GatedRNN):
    """A GRUCell (PyTorch's variant) unrolled over time with a linear read-out.

    Shapes: x (T, B, D) -> o(t) (B, C); state h (B, H).
    """

    scope_name = "gru"
    cell_type = GRUCell

    def step(self, x: BookSteps, h_prev: Tensor, t: int, **inputs) -> Step:
        h = self.cell(x(t), h_prev).named(f"h[{t}]")
        return Step(h, h)
