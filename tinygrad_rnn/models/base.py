"""What every catalog model shares: the forward contract (Run), options, state detaching."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import init
from ..autograd import ShapeError
from ..nn import Module, Parameter
from ..tensor import Tensor


@dataclass
class Run:
    """What a model's forward returns.

    outputs: o(t) per step (each (B, C)) for emit="every", [o(T)] for emit="last", [] for
    emit="none"; states: h(t0+1) ... h(t0+n) (each named "h[t]"); state: the final recurrent
    state in whatever form the model carries it (pass it back as `state=` to continue).
    """

    outputs: list
    states: list
    state: object = None
    extra: dict = field(default_factory=dict)


def detach_state(state):
    """The same state with every Tensor detached (truncated BPTT cuts the graph here)."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    if isinstance(state, list):
        return [detach_state(s) for s in state]
    return state


def uniform_param(shape: tuple, fan: int) -> Parameter:
    """A Parameter ~ U(-1/sqrt(fan), 1/sqrt(fan)), PyTorch's default for cells and Linear."""
    return Parameter(init.uniform(shape, 1 / math.sqrt(fan)))


class SequenceModel(Module):
    """Base class of the catalog's models.

    Subclasses write `forward(x, state=None, t0=0, emit="every", **inputs) -> Run`, running
    steps t = t0+1 ... t0+T each inside `scope(self.scope_name, step=t)`.
    Class attributes say which tasks fit: `emits` (what outputs it can make), `needs_context`,
    `truncatable` (can the unroll be cut into chunks for truncated BPTT).
    """

    scope_name = "rnn"
    emits = ("every", "last")
    needs_context = False
    truncatable = True
    options: dict = {}  # option name -> (default, help)

    def __init__(self, input_size: int, output_size: int, hidden_size: int):
        super().__init__()
        for what, n in (("input_size", input_size), ("output_size", output_size),
                        ("hidden_size", hidden_size)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{type(self).__name__}: {what} must be a positive int, "
                                 f"got {n!r}")
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size

    @property
    def recurrent_weight(self) -> Tensor | None:
        """The hidden-to-hidden matrix (for the spectral radius); None when there is none."""
        return getattr(self, "W", None)

    def _check_x(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: x must be a Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}(input_size={self.input_size}) got x with "
                             f"shape {x.shape}; expected (T, B, {self.input_size})")

    def _check_emit(self, emit: str) -> None:
        if emit not in self.emits and emit != "none":
            raise ValueError(f"{type(self).__name__} cannot emit {emit!r}; it emits "
                             f"{' or '.join(self.emits)}")

    def _zeros(self, batch: int, size: int | None = None, dtype=None) -> Tensor:
        dtype = self.parameters()[0].dtype if dtype is None else dtype
        return Tensor(np.zeros((batch, self.hidden_size if size is None else size), dtype=dtype))

    @staticmethod
    def _emit_here(emit: str, i: int, n: int) -> bool:
        return emit == "every" or (emit == "last" and i == n - 1)
