"""What every catalog model shares: the unroll loop, its hooks, the Run it returns, detaching."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple

import numpy as np

from .. import functional as F
from .. import init
from ..autograd import ShapeError, scope
from ..nn import Module, Parameter
from ..tasks import SequenceBatch
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


class Step(NamedTuple):
    """What one step t of an unroll gives back to the loop.

    h: h(t), named "h[t]" (what GraphSample.states and the viz follow); state: everything
    step t+1 needs (h(t) itself, (h, c), the last d states, ...); o: o(t) when the step had to
    make it itself (output feedback), else None and the loop asks `output(h, t)` when emitting.
    """

    h: Tensor
    state: object
    o: Tensor | None = None


class BookSteps:
    """A time-major sequence read with the book's step numbers: seq(t) is the input of step t.

    A chunk that starts after step t0 holds steps t0+1 ... t0+T, so seq(t) is row t - t0 - 1.
    Each call records an index node, so a step calls x(t) where its math reads x(t).
    """

    def __init__(self, seq, t0: int):
        self.seq, self.t0 = seq, t0

    def __call__(self, t: int):
        return self.seq[t - self.t0 - 1]


def unroll(step_fn: Callable, state, steps: Iterable[int], scope_name: str,
           axis: str = "time") -> tuple[list, object]:
    """Run one loop: `step_fn(t, state) -> Step` for each t of `steps`, in that order, each
    inside `scope(scope_name, step=t, axis=axis)`, the state of one step handed to the next.

    Returns (the Steps in the order they ran, the final state). Every recurrence of the
    catalog is one or more calls: a chain runs range(t0 + 1, t0 + T + 1); the backward
    direction of a bidirectional net runs the same steps reversed; an encoder-decoder runs an
    encoder loop, then a decoder loop in its own scope (a loop of its own for the explorer).
    """
    made = []
    for t in steps:
        with scope(scope_name, step=t, axis=axis):
            result = step_fn(t, state)
        made.append(result)
        state = result.state
    return made, state


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


def check_positive(who: str, **sizes) -> None:
    """Raise ValueError naming the first size that is not a positive int."""
    for what, n in sizes.items():
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{who}: {what} must be a positive int, got {n!r}")


class CatalogModel(Module):
    """What the catalog, training and the CLI read off every architecture, as class data.

    consumes: the batch type (or tuple of types) it reads; the catalog pairs it only with tasks
    that make one. feeds_back: teacher forced in training, so evaluation also runs it free
    (greedy decoding). truncatable: its unroll can be cut into chunks (truncated BPTT).
    attends: its Run.extra holds weights `tinygrad-rnn attention` can show. readout_only: only
    a linear readout of fixed states is fitted (training.train_readout, no BPTT; real-valued
    targets only). options: name ->
    (default, help), given to the constructor. A model that does not read SequenceBatch
    implements `run_batch(batch, teacher=True) -> Run`.
    """

    scope_name = ""
    consumes: type | tuple = SequenceBatch
    feeds_back = False
    truncatable = False
    attends = False
    readout_only = False
    options: dict = {}

    def __init__(self, input_size: int, output_size: int, hidden_size: int):
        super().__init__()
        check_positive(self.scope_name or type(self).__name__, input_size=input_size,
                       output_size=output_size, hidden_size=hidden_size)
        self.input_size, self.output_size, self.hidden_size = input_size, output_size, hidden_size

    @property
    def recurrent_weight(self) -> Tensor | None:
        """The hidden-to-hidden matrix (for the spectral radius); None when there is none."""
        return None


class SequenceModel(CatalogModel):
    """Base class of the catalog's models: the unroll lives here, the math in the subclasses.

    `forward` runs steps t = t0+1 ... t0+T, each inside `scope(self.scope_name, step=t)`.
    A subclass writes only its own math, as hooks:
      initial_state(batch, **inputs) -> the state before step 1, e.g. h(0) (made once, in the
          model's scope without a step tag);
      step(x, state, t, **inputs) -> Step(h(t), the state for step t+1), where x(t) reads the
          input of step t (see BookSteps);
      output(h, t) -> o(t); the default is the book's o(t) = c + V h(t) (eq. 10.10);
      check_inputs(x, state, t0, **inputs) for the inputs beyond x (context, teacher).
    `inputs` are forward's extra keywords (context=, teacher=); a hook ignores the ones it
    does not read. Class attributes say which tasks fit: `emits` (what outputs it can make;
    the first is forward's default), `needs_context`, `truncatable` (can the unroll be cut
    into chunks for truncated BPTT).
    """

    scope_name = "rnn"
    emits = ("every", "last")
    needs_context = False
    truncatable = True

    @property
    def recurrent_weight(self) -> Tensor | None:
        """The hidden-to-hidden matrix (for the spectral radius); None when there is none."""
        return getattr(self, "W", None)

    def forward(self, x: Tensor, state=None, t0: int = 0, emit: str | None = None,
                **inputs) -> Run:
        """Unroll steps t0+1 ... t0+T from `state` (None: initial_state) and read out o(t).

        emit: "every" (an o(t) per step), "last" (only o(T)) or "none"; None means the first
        of `emits`. Shapes: x (T, B, D) -> Run (see Run).
        """
        self._check_x(x)
        emit = self._check_emit(emit)
        self.check_inputs(x, state, t0, **inputs)
        T = x.shape[0]
        if state is None:
            with scope(self.scope_name):
                state = self.initial_state(x.shape[1], **inputs)
        x_at = BookSteps(x, t0)

        def one_step(t: int, state) -> Step:
            made = self.step(x_at, state, t, **inputs)
            if made.o is None and self._emit_here(emit, t - t0 - 1, T):
                made = made._replace(o=self.output(made.h, t))
            return made

        made, state = unroll(one_step, state, range(t0 + 1, t0 + T + 1), self.scope_name)
        outputs = [m.o for i, m in enumerate(made) if self._emit_here(emit, i, T)]
        return Run(outputs, [m.h for m in made], state)

    def check_inputs(self, x: Tensor, state, t0: int, **inputs) -> None:
        """Raise when the inputs beyond x are missing or misshapen (none by default)."""

    def initial_state(self, batch: int, **inputs):
        """The state before step 1, for a batch of `batch` sequences: h(0) = 0 by default."""
        return self._zeros(batch).named("h[0]")

    def step(self, x: BookSteps, state, t: int, **inputs) -> Step:
        """One step t of the recurrence: x(t) and the carried state -> Step(h(t), new state)."""
        raise NotImplementedError(f"{type(self).__name__} must define step(x, state, t)")

    def output(self, h: Tensor, t: int) -> Tensor:
        """The book's read-out o(t) = c + V h(t) (eq. 10.10). Shapes: h (B, H) -> (B, C)."""
        return F.linear(h, self.V, self.c).named(f"o[{t}]")  # c + V h(t), one node

    def _check_x(self, x: Tensor) -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: x must be a Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}(input_size={self.input_size}) got x with "
                             f"shape {x.shape}; expected (T, B, {self.input_size})")

    def _check_emit(self, emit: str | None) -> str:
        """The emit to use: None means the first of `emits`."""
        emit = self.emits[0] if emit is None else emit
        if emit not in self.emits and emit != "none":
            raise ValueError(f"{type(self).__name__} cannot emit {emit!r}; it emits "
                             f"{' or '.join(self.emits)}")
        return emit

    def _zeros(self, batch: int, size: int | None = None, dtype=None) -> Tensor:
        dtype = self.parameters()[0].dtype if dtype is None else dtype
        return Tensor(np.zeros((batch, self.hidden_size if size is None else size), dtype=dtype))

    @staticmethod
    def _emit_here(emit: str, i: int, n: int) -> bool:
        return emit == "every" or (emit == "last" and i == n - 1)
