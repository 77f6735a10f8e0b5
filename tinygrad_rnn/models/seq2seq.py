"""Encoder-decoder nets (DL book 10.4): a fixed context C, or attention over every encoder state.

Both read a PairBatch: the encoder loop (scope "enc", steps s = 1..n_x) reads the source, the
decoder loop (scope "dec", steps t = 1..n_y) writes the target. Two loops of their own, so the
explorer folds each into its own circuit and never mistakes step t of one for step t of the
other. Teacher forcing in training (the decoder reads the true y(t-1)); greedy decoding at
evaluation (it reads its own argmax).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..autograd import scope
from ..nn import Embedding, GRUCell, Linear, LSTMCell
from ..tasks.pairs import PairBatch, as_tensor_tokens, check_pairs
from ..tensor import Tensor, cat, stack, where
from .base import CatalogModel, Run, Step, check_positive, uniform_param, unroll

_CELLS = {"gru": GRUCell, "lstm": LSTMCell}
_NEG = -1e9  # the score of a padded source position: exp(-1e9 - max) is exactly 0


class Seq2Seq(CatalogModel):
    """Encoder-decoder with a fixed-size context (Cho et al. 2014; Sutskever et al. 2014).

    Encoder: h(s) = cell_enc(E_x x(s), h(s-1)), s = 1..n_x; C = h(n_x) of each sequence (a padded
    step leaves the state as it is, so C is the state after the sequence's own last token).
    Decoder: z(0) = tanh(W_c C + b_c); z(t) = cell_dec([E_y y(t-1); C], z(t-1));
    o(t) = out(z(t)), with y(0) = BOS. Every target token sees the source only through C.
    Shapes: source (S, B) tokens -> o(t) (B, V) for t = 1..T.
    """

    scope_name = "seq2seq"
    consumes = PairBatch
    feeds_back = True  # teacher forcing in training, greedy decoding at evaluation
    options = {"cell": ("gru", "the recurrent cell of encoder and decoder: gru or lstm"),
               "embed": (16, "token embedding size"),
               "max_target": (64, "the longest target (decoder steps) it accepts")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 cell: str = "gru", embed: int = 16, max_target: int = 64):
        super().__init__(input_size, output_size, hidden_size)
        if cell not in _CELLS:
            raise ValueError(f"{self.scope_name}: cell must be gru or lstm, got {cell!r}")
        check_positive(self.scope_name, embed=embed, max_target=max_target)
        self.cell_kind, self.max_target = cell, max_target
        H = hidden_size
        self.src_embed = Embedding(input_size, embed)
        self.tgt_embed = Embedding(output_size, embed)
        self.encoder = _CELLS[cell](embed, H)
        self.decoder = _CELLS[cell](embed + H, H)
        self.W_c = uniform_param((H, H), H)
        self.b_c = uniform_param((H,), H)
        self.out = Linear(self._readout_size(), output_size)

    def _readout_size(self) -> int:
        return self.hidden_size

    @property
    def recurrent_weight(self) -> Tensor:
        return self.encoder.weight_hh

    # ------------------------------------------------------------------------------ the run

    def run_batch(self, batch: PairBatch, teacher: bool = True) -> Run:
        """Encode the source, decode T = batch.target_steps tokens.

        teacher=True feeds the true y(t-1) (batch.target_in); False feeds the decoder's own
        argmax (greedy decoding). Run.outputs: o(1..T); Run.states: h(1..S) then z(1..T);
        Run.extra: "encoder_states", "decoder_states" and, with attention, "attention"
        (T, S, B) array of the weights alpha(t, s).
        """
        check_pairs(batch, self.input_size, self.max_target, self.scope_name,
                    target_vocab=self.output_size)
        hs = self._encode(batch)
        outputs, zs, weights = self._decode(batch, hs, teacher)
        extra = {"encoder_states": hs, "decoder_states": zs}
        if weights:
            extra["attention"] = np.stack([w.data for w in weights])
        return Run(outputs, hs + zs, None, extra=extra)

    def _encode(self, batch: PairBatch) -> list:
        """h(1..S); a padded step s > length keeps each sequence's state unchanged."""
        S, B = batch.source.shape
        dtype = self.W_c.dtype
        with scope("enc"):
            state = self._zero_state(B, dtype, "h[0]")
        lengths = np.asarray(batch.source_lengths)

        def step(s: int, state) -> Step:
            x = self.src_embed(as_tensor_tokens(batch.source[s - 1])).named(f"x[{s}]")
            new = self.encoder(x, state)
            running = (s <= lengths)[:, None]
            if not running.all():  # only where some sequence has ended: keep its last state
                new = _keep_where(running, new, state)
            h = _hidden(new).named(f"h[{s}]")
            return Step(h, new)

        made, _ = unroll(step, state, range(1, S + 1), "enc")
        return [m.h for m in made]

    def _decode(self, batch: PairBatch, hs: list, teacher: bool) -> tuple:
        T, B = batch.target_in.shape
        with scope("dec"):
            context = self._context(hs)
            z0 = F.linear(context, self.W_c, self.b_c).tanh().named("z[0]")
            state = (z0, Tensor(np.zeros_like(z0.data), name="m[0]")) \
                if self.cell_kind == "lstm" else z0
            memory = self._memory(hs, batch)
        outputs, weights = [], []
        y_prev = [None]

        def step(t: int, state) -> Step:
            if teacher or t == 1:
                token = batch.target_in[t - 1]
            else:  # greedy: the previous output's argmax, a constant (no gradient through it)
                token = y_prev[0].data.argmax(-1)
            y = self.tgt_embed(as_tensor_tokens(token)).named(f"y[{t - 1}]")
            z_prev = _hidden(state)
            c, alpha = self._attend(memory, z_prev, t) if memory is not None else (context, None)
            new = self.decoder(cat([y, c], axis=1), state)
            z = _hidden(new).named(f"z[{t}]")
            o = self.out(self._readout(z, c)).named(f"o[{t}]")
            y_prev[0] = o
            outputs.append(o)
            if alpha is not None:
                weights.append(alpha)
            return Step(z, new, o)

        made, _ = unroll(step, state, range(1, T + 1), "dec")
        return outputs, [m.h for m in made], weights

    # ------------------------------------------------------- what attention changes (hooks)

    def _context(self, hs: list) -> Tensor:
        """C: the encoder's last state (each sequence's own, padding kept it there)."""
        return hs[-1]

    def _memory(self, hs: list, batch: PairBatch):
        """What each decoder step may look back at: nothing without attention."""
        return None

    def _attend(self, memory, z_prev: Tensor, t: int) -> tuple:
        raise NotImplementedError

    def _readout(self, z: Tensor, c: Tensor) -> Tensor:
        return z

    def _zero_state(self, batch: int, dtype, name: str):
        h = Tensor(np.zeros((batch, self.hidden_size), dtype=dtype), name=name)
        if self.cell_kind == "lstm":
            return h, Tensor(np.zeros((batch, self.hidden_size), dtype=dtype), name="c[0]")
        return h


class AttentionSeq2Seq(Seq2Seq):
    """Encoder-decoder with additive attention (Bahdanau, Cho & Bengio 2015, "Neural Machine
    Translation by Jointly Learning to Align and Translate", eq. 5-6 and appendix A).

    At decoder step t, over every encoder state h(s):
        e(t, s) = v^T tanh(W_a z(t-1) + U_a h(s)),  alpha(t, .) = softmax_s e(t, .),
        c(t) = sum_s alpha(t, s) h(s);
    z(t) = cell_dec([E_y y(t-1); c(t)], z(t-1)),  o(t) = out([z(t); c(t)]).
    Padded source positions get weight exactly 0. U_a h(s) does not depend on t and is
    computed once for all s (the paper's precomputation). z(0) = tanh(W_c h(n_x) + b_c).
    Shapes: H (S, B, H) the stacked encoder states; alpha(t) (S, B).
    """

    scope_name = "seq2seq-attention"
    attends = True
    options = dict(Seq2Seq.options, attention=(16, "size of the attention layer (W_a, U_a, v)"))

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 16,
                 cell: str = "gru", embed: int = 16, max_target: int = 64,
                 attention: int = 16):
        check_positive("seq2seq-attention", attention=attention)
        super().__init__(input_size, output_size, hidden_size, cell, embed, max_target)
        H, A = hidden_size, attention
        self.W_a = uniform_param((A, H), H)
        self.U_a = uniform_param((A, H), H)
        self.v = uniform_param((A,), A)

    def _readout_size(self) -> int:
        return 2 * self.hidden_size

    def _memory(self, hs: list, batch: PairBatch) -> tuple:
        """(H, U_a H, mask): all encoder states stacked, their keys, the real positions."""
        H = stack(hs).named("H")  # (S, B, H): every encoder step, read by every decoder step
        keys = F.linear(H, self.U_a).named("U_a H")
        S, B = batch.source.shape
        mask = np.arange(1, S + 1)[:, None] <= np.asarray(batch.source_lengths)[None, :]
        return H, keys, mask

    def _attend(self, memory: tuple, z_prev: Tensor, t: int) -> tuple:
        H, keys, mask = memory
        S, B, _ = H.shape
        with scope("attention"):
            e = ((keys + F.linear(z_prev, self.W_a)).tanh() @ self.v).named(f"e[{t}]")  # (S, B)
            if not mask.all():
                e = where(mask, e, _NEG)
            alpha = e.softmax(axis=0).named(f"alpha[{t}]")
            c = (alpha.reshape(S, B, 1) * H).sum(axis=0).named(f"c[{t}]")
        return c, alpha

    def _readout(self, z: Tensor, c: Tensor) -> Tensor:
        return cat([z, c], axis=1)


def _hidden(state) -> Tensor:
    """h of a state: the state itself (GRU) or the first of (h, c) (LSTM)."""
    return state[0] if isinstance(state, tuple) else state


def _keep_where(running: np.ndarray, new, old):
    """new where the sequence is still running, else old (elementwise on (h, c) for LSTM)."""
    if isinstance(new, tuple):
        return tuple(where(running, n, o) for n, o in zip(new, old))
    return where(running, new, old)
