"""The tanh recurrent nets of chapter 10 in the book's notation: a(t), h(t), o(t); U, W, V, b, c.

SequenceModel.forward runs the unroll: step t (1-based, as the book) inside
`scope(<scope_name>, step=t)`, states named "h[t]", the initial state h[0] without a step.
Each class here writes only its own math: initial_state, step and, where it differs, output.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import init
from ..autograd import ShapeError, scope
from ..nn import Linear, Module, ModuleList, Parameter, RNNCell
from ..tensor import Tensor, cat
from .base import BookSteps, Run, SequenceModel, Step, uniform_param, unroll


class BookRNN(SequenceModel):
    """Hidden-to-hidden recurrence with an output at every step (DL book, 10.2, eq. 10.8-10.11).

    a(t) = b + W h(t-1) + U x(t),  h(t) = tanh(a(t)),  o(t) = c + V h(t).
    Shapes: x (T, B, D) -> o(t) (B, C); U (H, D), W (H, H), V (C, H), b (H,), c (C,).
    """

    scope_name = "rnn"

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16):
        super().__init__(input_size, output_size, hidden_size)
        H = hidden_size
        self.U = uniform_param((H, input_size), H)
        self.W = uniform_param((H, H), H)
        self.b = uniform_param((H,), H)
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    def step(self, x: BookSteps, h_prev: Tensor, t: int, **inputs) -> Step:
        """h(t) from h(t-1) and x(t). Shapes: x(t) (B, D), h_prev (B, H) -> (B, H)."""
        x_t = x(t)
        a = (F.linear(h_prev, self.W, self.b) + F.linear(x_t, self.U)).named(f"a[{t}]")
        h = a.tanh().named(f"h[{t}]")
        return Step(h, h)

    def flow_penalty(self, states: list, grads: list) -> Tensor:
        """Pascanu et al. (2013)'s regularizer, which keeps back-propagated gradients' norms.

        Omega = sum_t mean_b (||g(t) dh(t)/dh(t-1)|| / ||g(t)|| - 1)^2 over the states h(t)
        whose predecessor is a state (t >= 2), with g(t) = dL/dh(t) (one row per sequence)
        held constant, as in the paper (eq. 9). Here dh(t)/dh(t-1) = diag(1 - h(t)^2) W,
        so g(t) dh(t)/dh(t-1) = (g(t) * (1 - h(t)^2)) W. Rows with g(t) = 0 are left out.
        Shapes: states and grads are lists of (B, H), h(t) as Tensors, g(t) as arrays.
        """
        if type(self).step is not BookRNN.step:
            raise ValueError(f"flow_reg: the information-flow regularizer is written for the "
                             f"vanilla rnn's transition h(t) = tanh(b + W h(t-1) + U x(t)); "
                             f"{self.scope_name} has another")
        if len(states) != len(grads):
            raise ValueError(f"flow_penalty: {len(states)} states but {len(grads)} gradients")
        total = None
        for h, g in zip(states, grads):
            if h.step is None or h.step < 2 or g is None:
                continue
            g = np.asarray(g, dtype=h.dtype)
            g_norm = np.sqrt((g.astype(np.float64) ** 2).sum(axis=1))
            counted = g_norm > 0
            if not counted.any():
                continue
            inverse = np.where(counted, 1.0 / np.where(counted, g_norm, 1.0), 0.0)
            back = (g * (1.0 - h * h)) @ self.W  # g(t) dh(t)/dh(t-1), (B, H)
            # the tiny term keeps sqrt differentiable where a row of `back` is exactly 0
            ratio = ((back * back).sum(axis=1) + 1e-30).sqrt() * inverse.astype(h.dtype)
            term = ((ratio - 1.0) ** 2 * counted.astype(h.dtype)).sum() * (1.0 / counted.sum())
            total = term if total is None else total + term
        if total is None:
            return Tensor(np.zeros((), dtype=self.W.dtype))
        return total.named("flow_penalty")


class Seq2OneRNN(BookRNN):
    """Reads the whole sequence, then one output o(T) = c + V h(T) (DL book, 10.2, fig. 10.5)."""

    scope_name = "rnn-seq2one"
    emits = ("last",)


class OutputFeedbackRNN(SequenceModel):
    """The only recurrence runs from the previous output to the hidden units (DL book, fig. 10.4).

    h(t) = tanh(b + W y(t-1) + U x(t)),  o(t) = c + V h(t).
    Teacher forcing (`teacher=` the true y(t) as vectors) feeds the true y(t-1): the steps are
    decoupled and can be trained in parallel. Without `teacher`, it runs free: it feeds back its
    own output (one-hot argmax, the softmax probabilities, or a sample; for real-valued targets
    the output itself). Shapes: x (T, B, D), teacher (T, B, C); U (H, D), W (H, C), V (C, H).
    """

    scope_name = "rnn-output-feedback"
    emits = ("every",)
    feeds_back = True
    options = {"feedback": ("argmax", "what free-running feeds back for classes: argmax, probs "
                                      "or sample")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 feedback: str = "argmax", classify: bool = True):
        super().__init__(input_size, output_size, hidden_size)
        if feedback not in ("argmax", "probs", "sample"):
            raise ValueError(f"rnn-output-feedback: feedback must be argmax, probs or sample, "
                             f"got {feedback!r}")
        self.feedback, self.classify = feedback, classify
        H = hidden_size
        self.U = uniform_param((H, input_size), H)
        self.W = uniform_param((H, output_size), H)
        self.b = uniform_param((H,), H)
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    @property
    def recurrent_weight(self) -> None:
        return None  # no hidden-to-hidden matrix: W maps outputs (C) to hidden units (H)

    def _fed_back(self, o: Tensor, t: int) -> Tensor:
        """What free-running feeds into step t+1: the model's own output at step t."""
        if not self.classify:
            return o
        if self.feedback == "probs":
            return o.softmax(-1).named(f"y_hat[{t}]")
        if self.feedback == "argmax":
            choice = o.data.argmax(-1)
        else:
            p = np.exp(o.data - o.data.max(-1, keepdims=True))
            p = p / p.sum(-1, keepdims=True)
            u = init.rng().random((p.shape[0], 1))
            choice = np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)
        # a discrete choice has no gradient: it enters the graph as a constant
        return Tensor(np.eye(self.output_size, dtype=o.dtype)[choice], name=f"y_hat[{t}]")

    def forward(self, x: Tensor, state: Tensor | None = None, t0: int = 0,
                emit: str | None = None, teacher: np.ndarray | None = None, **inputs) -> Run:
        """The shared unroll, with teacher (T, B, C) read in the book's steps like x."""
        if teacher is None:
            return super().forward(x, state, t0, emit, **inputs)
        run = super().forward(x, state, t0, emit, teacher=BookSteps(teacher, t0), **inputs)
        # the state carried into a next chunk: the last true y
        T = x.shape[0]
        run.state = Tensor(np.asarray(teacher[T - 1], dtype=self.V.dtype), name=f"y[{t0 + T}]")
        return run

    def check_inputs(self, x: Tensor, state, t0: int, teacher: BookSteps | None = None,
                     **inputs) -> None:
        T, B = x.shape[0], x.shape[1]
        if teacher is not None and np.shape(teacher.seq) != (T, B, self.output_size):
            raise ShapeError(f"rnn-output-feedback: teacher has shape {np.shape(teacher.seq)}; "
                             f"expected (T, B, C) = {(T, B, self.output_size)}")

    def initial_state(self, batch: int, **inputs) -> Tensor:
        return self._zeros(batch, self.output_size).named("y[0]")

    def step(self, x: BookSteps, y_prev: Tensor, t: int, teacher: BookSteps | None = None,
             **inputs) -> Step:
        """h(t), o(t) and the y(t) that step t+1 reads (the true one, or o(t) fed back)."""
        if teacher is not None and t - 1 > teacher.t0:  # (a chunk's first step carries y(t-1))
            # the true y(t-1) is an input of step t, like x(t): no link to step t-1
            y_prev = Tensor(np.asarray(teacher(t - 1), dtype=self.V.dtype), name=f"y[{t - 1}]")
        a = (F.linear(y_prev, self.W, self.b) + F.linear(x(t), self.U)).named(f"a[{t}]")
        h = a.tanh().named(f"h[{t}]")
        o = self.output(h, t)
        if teacher is not None:
            return Step(h, y_prev, o)  # step t+1 reads the true y(t) from the teacher instead
        return Step(h, self._fed_back(o, t), o)


class ContextRNN(SequenceModel):
    """A sequence generated from one fixed vector x (DL book, 10.2.4, fig. 10.9).

    mode "input": x is an extra input at every step, a(t) = b + W h(t-1) + R x;
    mode "initial": x sets the initial state, h(0) = tanh(P x), and a(t) = b + W h(t-1);
    mode "both": both. o(t) = c + V h(t). Shapes: context (B, K); R, P (H, K).
    """

    scope_name = "context-rnn"
    emits = ("every",)
    needs_context = True
    options = {"mode": ("input", "how the context enters: input (every step), initial (h(0)) "
                                 "or both")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 mode: str = "input"):
        super().__init__(input_size, output_size, hidden_size)
        if mode not in ("input", "initial", "both"):
            raise ValueError(f"context-rnn: mode must be input, initial or both, got {mode!r}")
        self.mode = mode
        H, K = hidden_size, input_size
        self.W = uniform_param((H, H), H)
        self.b = uniform_param((H,), H)
        self.R = uniform_param((H, K), H) if mode in ("input", "both") else None
        self.P = uniform_param((H, K), K) if mode in ("initial", "both") else None
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    def check_inputs(self, x: Tensor, state, t0: int, context: Tensor | None = None,
                     **inputs) -> None:
        if context is None:
            raise ValueError("context-rnn: forward needs context= (B, K), the vector that "
                             "conditions the sequence")
        if context.shape != (x.shape[1], self.input_size):
            raise ShapeError(f"context-rnn: context has shape {context.shape}; expected "
                             f"(B, K) = {(x.shape[1], self.input_size)}")

    def initial_state(self, batch: int, context: Tensor | None = None, **inputs) -> Tensor:
        if self.P is not None:
            return F.linear(context, self.P).tanh().named("h[0]")
        return self._zeros(batch).named("h[0]")

    def step(self, x: BookSteps, h_prev: Tensor, t: int, context: Tensor | None = None,
             **inputs) -> Step:
        a = F.linear(h_prev, self.W, self.b)  # x(t) is not read: the context stands in for it
        if self.R is not None:
            a = a + F.linear(context, self.R)
        h = a.named(f"a[{t}]").tanh().named(f"h[{t}]")
        return Step(h, h)


class _DeepLayer(Module):
    """One layer of a deep RNN: a(t) = b + W m(t) + U z(t), h(t) = tanh(a(t)).

    m(t) = h(t-1), or with a deep transition m(t) = tanh(b_m + W_m h(t-1)) (an MLP between
    steps, DL book 10.5, fig. 10.13b). z(t) is the layer's input (x or the layer below's h).
    """

    def __init__(self, input_size: int, hidden_size: int, deep_transition: bool):
        super().__init__()
        H = hidden_size
        self.U = uniform_param((H, input_size), H)
        self.W = uniform_param((H, H), H)
        self.b = uniform_param((H,), H)
        self.W_m = uniform_param((H, H), H) if deep_transition else None
        self.b_m = uniform_param((H,), H) if deep_transition else None

    def forward(self, z: Tensor, h_prev: Tensor, t: int) -> Tensor:
        m = h_prev if self.W_m is None else F.linear(h_prev, self.W_m, self.b_m).tanh()
        a = F.linear(m, self.W, self.b) + F.linear(z, self.U)
        return a.named(f"a[{t}]").tanh().named(f"h[{t}]")


class DeepRNN(SequenceModel):
    """Stacked recurrent layers, optionally with deeper input, transition and output MLPs.

    DL book 10.5, fig. 10.13: (a) layers stacked, h_l(t) reads h_{l-1}(t); (b) an MLP in the
    input-to-hidden, hidden-to-hidden and hidden-to-output transforms. Shapes: x (T, B, D).
    """

    scope_name = "deep-rnn"
    options = {"layers": (2, "number of stacked recurrent layers"),
               "deep_input": (False, "an MLP layer between x(t) and the first recurrent layer"),
               "deep_transition": (False, "an MLP layer between h(t-1) and h(t)"),
               "deep_output": (False, "an MLP layer between the top h(t) and o(t)")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 layers: int = 2, deep_input: bool = False, deep_transition: bool = False,
                 deep_output: bool = False):
        super().__init__(input_size, output_size, hidden_size)
        if not isinstance(layers, (int, np.integer)) or layers < 1:
            raise ValueError(f"deep-rnn: layers must be a positive int, got {layers!r}")
        H = hidden_size
        self.input_mlp = Linear(input_size, H) if deep_input else None
        first = H if deep_input else input_size
        self.layers = ModuleList([_DeepLayer(first if i == 0 else H, H, deep_transition)
                                  for i in range(layers)])
        self.output_mlp = Linear(H, H) if deep_output else None
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.layers[0].W

    def initial_state(self, batch: int, **inputs) -> list:
        return [self._zeros(batch).named("h[0]") for _ in self.layers]

    def step(self, x: BookSteps, hs_prev: list, t: int, **inputs) -> Step:
        """Layer l reads its own h_l(t-1) and the layer below's h_{l-1}(t) (x(t) for l = 0)."""
        z = x(t) if self.input_mlp is None else self.input_mlp(x(t)).tanh()
        hs = []
        for layer, h_prev in zip(self.layers, hs_prev):
            z = layer(z, h_prev, t)
            hs.append(z)
        return Step(z, hs)

    def output(self, h: Tensor, t: int) -> Tensor:
        top = h if self.output_mlp is None else self.output_mlp(h).tanh()
        return super().output(top, t)


class SkipRNN(BookRNN):
    """Skip connections through time: h(t) also receives h(t-d) (DL book 10.9.1).

    a(t) = b + W h(t-1) + W_skip h(t-d) + U x(t) for t >= d (h(0) is the first source),
    so gradients can cross d steps in one hop. Shapes as BookRNN; W_skip (H, H).
    """

    scope_name = "skip-rnn"
    options = {"delay": (4, "the skip connection's delay d (>= 2)")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16, delay: int = 4):
        super().__init__(input_size, output_size, hidden_size)
        if not isinstance(delay, (int, np.integer)) or delay < 2:
            raise ValueError(f"skip-rnn: delay must be an int >= 2, got {delay!r}")
        self.delay = int(delay)
        self.W_skip = uniform_param((hidden_size, hidden_size), hidden_size)

    def initial_state(self, batch: int, **inputs) -> list:
        # the state is the last d states, oldest first: history[0] is h(t-d) once d of them exist
        return [self._zeros(batch).named("h[0]")]

    def step(self, x: BookSteps, history: list, t: int, **inputs) -> Step:
        a = F.linear(history[-1], self.W, self.b) + F.linear(x(t), self.U)
        if len(history) == self.delay:
            a = a + F.linear(history[0], self.W_skip)
        h = a.named(f"a[{t}]").tanh().named(f"h[{t}]")
        return Step(h, (list(history) + [h])[-self.delay:])


class LeakyRNN(BookRNN):
    """Leaky units: a running average of a tanh RNN's proposal (DL book 10.9.2).

    v(t) = tanh(b + W h(t-1) + U x(t)),  h(t) = alpha * h(t-1) + (1 - alpha) * v(t),
    alpha per unit: one fixed value for all, a fixed spread of time scales tau from 1 to max_tau
    (alpha = 1 - 1/tau, geometric spacing), or learned: alpha = sigmoid(alpha_logit), a
    Parameter that starts at the spread (clipped into [0.05, 0.95]). Shapes as BookRNN;
    alpha (H,).
    """

    scope_name = "leaky-rnn"
    options = {"alpha": ("spread", "a number in [0, 1) for every unit, spread, or learned"),
               "max_tau": (32.0, "the slowest unit's time scale when alpha=spread")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 alpha: str = "spread", max_tau: float = 32.0):
        super().__init__(input_size, output_size, hidden_size)
        self.alpha_logit = None
        if str(alpha) in ("spread", "learned"):
            if not max_tau >= 1:
                raise ValueError(f"leaky-rnn: max_tau must be >= 1, got {max_tau!r}")
            tau = np.geomspace(1.0, max_tau, hidden_size)
            self.alpha = (1.0 - 1.0 / tau).astype(np.float32)
            if str(alpha) == "learned":
                start = np.clip(self.alpha, 0.05, 0.95)
                self.alpha_logit = Parameter(np.log(start / (1.0 - start)).astype(np.float32))
        else:
            try:
                value = float(alpha)
            except ValueError:
                raise ValueError(f"leaky-rnn: alpha must be a number in [0, 1), 'spread' or "
                                 f"'learned', "
                                 f"got {alpha!r}") from None
            if not 0.0 <= value < 1.0:
                raise ValueError(f"leaky-rnn: alpha must be in [0, 1), got {value}")
            self.alpha = np.full(hidden_size, value, dtype=np.float32)

    def step(self, x: BookSteps, h_prev: Tensor, t: int, **inputs) -> Step:
        x_t = x(t)
        v = (F.linear(h_prev, self.W, self.b) + F.linear(x_t, self.U)).tanh().named(f"v[{t}]")
        alpha = self.alpha if self.alpha_logit is None else self.alpha_logit.sigmoid()
        # the self-connection alpha * h(t-1) is linear: with alpha near 1 gradients pass unshrunk
        h = (alpha * h_prev + (1.0 - alpha) * v).named(f"h[{t}]")
        return Step(h, h)


class _Group(Module):
    """One time scale of a multiscale RNN: its units' U (H_k, D), W (H_k, H), b (H_k,)."""

    def __init__(self, input_size: int, size: int, hidden_size: int):
        super().__init__()
        self.U = uniform_param((size, input_size), hidden_size)
        self.W = uniform_param((size, hidden_size), hidden_size)
        self.b = uniform_param((size,), hidden_size)

    def forward(self, x_t: Tensor, h_prev: Tensor, name: str) -> Tensor:
        return (F.linear(h_prev, self.W, self.b) + F.linear(x_t, self.U)).tanh().named(name)


class MultiscaleRNN(SequenceModel):
    """Units at several time scales: group k updates only every 2^k steps (DL book 10.9.3).

    The length-one connections of the slow groups are removed: group k reads the groups' latest
    values, which for itself were made 2^k steps earlier, so the graph holds edges of length
    2^k (El Hihi & Bengio 1996; Koutnik et al. 2014). In between it keeps its value.
    h(t) = [h_0(t), h_1(t), ...] feeds the output o(t) = c + V h(t).
    """

    scope_name = "multiscale-rnn"
    options = {"scales": (3, "number of groups; group k updates every 2^k steps")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 scales: int = 3):
        super().__init__(input_size, output_size, hidden_size)
        if not isinstance(scales, (int, np.integer)) or not 1 <= scales <= hidden_size:
            raise ValueError(f"multiscale-rnn: scales must be an int in [1, hidden_size="
                             f"{hidden_size}], got {scales!r}")
        base, extra = divmod(hidden_size, scales)
        self.sizes = [base + (1 if k < extra else 0) for k in range(scales)]
        self.periods = [2 ** k for k in range(scales)]
        self.groups = ModuleList([_Group(input_size, n, hidden_size) for n in self.sizes])
        self.V = uniform_param((output_size, hidden_size), hidden_size)
        self.c = uniform_param((output_size,), hidden_size)

    @property
    def recurrent_weight(self) -> None:
        return None  # each group has its own rows W_k (H_k, H), read at a different period

    def initial_state(self, batch: int, **inputs) -> list:
        return [self._zeros(batch, n).named(f"h{k}[0]") for k, n in enumerate(self.sizes)]

    def step(self, x: BookSteps, groups: list, t: int, **inputs) -> Step:
        # group k's own last value was made 2^k steps ago: the longer connection
        latest = cat(groups, axis=1) if len(groups) > 1 else groups[0]
        updated = list(groups)
        for k, group in enumerate(self.groups):
            if t % self.periods[k] == 0:
                updated[k] = group(x(t), latest, f"h{k}[{t}]")
        h = (cat(updated, axis=1) if len(updated) > 1 else updated[0] * 1.0).named(f"h[{t}]")
        return Step(h, updated)


class BiRNN(SequenceModel):
    """A bidirectional RNN (DL book 10.3, fig. 10.11): h runs forward, g backward in time.

    h(t) = RNNCell_f(x(t), h(t-1)), g(t) = RNNCell_b(x(t), g(t+1)), o(t) = head([h(t); g(t)]).
    The backward direction needs the whole sequence, so it cannot be truncated into chunks.
    """

    scope_name = "birnn"
    truncatable = False

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16):
        super().__init__(input_size, output_size, hidden_size)
        self.fwd = RNNCell(input_size, hidden_size)
        self.bwd = RNNCell(input_size, hidden_size)
        self.head = Linear(2 * hidden_size, output_size)

    @property
    def recurrent_weight(self) -> Tensor:
        return self.fwd.weight_hh

    def forward(self, x: Tensor, state=None, t0: int = 0, emit: str | None = None,
                **inputs) -> Run:
        """Its own unroll: all forward steps, then all backward steps, then the outputs."""
        self._check_x(x)
        emit = self._check_emit(emit)
        if state is not None or t0:
            raise ValueError("birnn: the backward direction needs the whole sequence; it cannot "
                             "continue from a carried state (no truncated BPTT)")
        T, B = x.shape[0], x.shape[1]
        with scope(self.scope_name):
            h = self._zeros(B).named("h[0]")
            g = self._zeros(B).named("g[T+1]")  # not g[6]: the drawing must not depend on T
        steps = range(1, T + 1)
        # one loop (the birnn scope) run forward, then backward: g(t) reads g(t+1), delay -1
        forward, _ = unroll(lambda t, h: _as_step(self.fwd(x[t - 1], h).named(f"h[{t}]")),
                            h, steps, self.scope_name)
        backward, _ = unroll(lambda t, g: _as_step(self.bwd(x[t - 1], g).named(f"g[{t}]")),
                             g, reversed(steps), self.scope_name)
        hs, gs = [m.h for m in forward], [m.h for m in reversed(backward)]

        def read_out(t: int, _) -> Step:
            o = self.head(cat([hs[t - 1], gs[t - 1]], axis=1)).named(f"o[{t}]")
            return Step(hs[t - 1], None, o)

        emitted = [t for t in steps if self._emit_here(emit, t - 1, T)]
        outputs = [m.o for m in unroll(read_out, None, emitted, self.scope_name)[0]]
        return Run(outputs, hs, None, extra={"backward_states": gs})


def _as_step(h: Tensor) -> Step:
    """A step whose state is its hidden state alone."""
    return Step(h, h)
