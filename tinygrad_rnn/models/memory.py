"""Explicit memory (DL book 10.12): an end-to-end memory network and a neural Turing machine.

Both read and write a memory by soft addressing: a softmax over slots, so every slot gets a
weight (they sum to 1) and the gradient reaches every slot. The memory network's hops run as
a loop on the "hop" axis (scope "mem", step k = 1..K), so the folded drawing shows one hop and
a hop loop; the NTM is a recurrent net whose state carries the memory matrix and the heads'
weightings from one time step to the next.
"""

from __future__ import annotations

import numpy as np

from .. import init
from ..autograd import ShapeError, is_grad_enabled, scope
from ..nn import Embedding, Linear, LSTMCell, Module, ModuleList, Parameter
from ..tasks.stories import PAD, StoryBatch, check_stories
from ..tensor import Tensor, cat, where
from .base import CatalogModel, Run, SequenceModel, Step, check_positive, unroll

_NEG = -1e9  # the score of an empty memory slot: its softmax weight is exactly 0
_EPS = 1e-8  # keeps sqrt and the sharpening's power away from 0 (finite gradients)


def position_weights(lengths: np.ndarray, W: int, d: int) -> np.ndarray:
    """Position encoding l(j, k) = (1 - j/J) - (k/d)(1 - 2j/J) of Sukhbaatar et al. 2015 (4.1),
    j = 1..J the word's position in its sentence of J words, k = 1..d; 0 on padding.

    Shapes: lengths (...) the words per sentence -> (..., W, d).
    """
    J = np.maximum(lengths, 1)[..., None, None].astype(np.float64)
    j = np.arange(1, W + 1)[:, None]
    k = np.arange(1, d + 1)[None, :]
    weights = (1 - j / J) - (k / d) * (1 - 2 * j / J)
    return np.where(j <= J, weights, 0.0)


class _HopEmbedding(Module):
    """One embedding of the memory network: words (V, d) and a temporal encoding (memory, d)."""

    def __init__(self, vocab: int, d: int, memory: int):
        super().__init__()
        self.words = Embedding(vocab, d)
        self.words.weight.data[...] = init.normal((vocab, d), 0.1)  # N(0, 0.1) as the paper
        self.time = Parameter(init.normal((memory, d), 0.1))


class MemoryNetwork(CatalogModel):
    """End-to-end memory network (Sukhbaatar, Szlam, Weston & Fergus 2015, "End-To-End Memory
    Networks"), adjacent weight tying (section 2.2).

    Sentence i of the story is embedded twice per hop, as a key m_i = sum_j l_j A^k x_ij +
    T_A^k(i) and a value c_i = sum_j l_j C^k x_ij + T_C^k(i) (bag of words: l_j = 1; position
    encoding: l_j as `position_weights`; T(i) a learned vector for "i sentences before the
    question"). The query is u^1 = sum_j l_j B q_j. Hop k (k = 1..K):
        p^k = softmax_i(u^k . m_i),   o^k = sum_i p^k_i c_i,   u^(k+1) = u^k + o^k,
    and the answer is a = softmax(W u^(K+1)). Adjacent tying: A^(k+1) = C^k, B = A^1 and
    W^T = C^K, so K hops use K + 1 embeddings. Empty slots (after a story's end) get p = 0.
    linear_start=N (section 4.2): the first N batches run with grad mode on (training) use
    p^k = the scores u^k . m_i without the softmax, which keeps training out of the local
    minimum where the hops never learn to chain; after that (and at evaluation from then on)
    the softmax is back. Evaluation during the linear phase runs linear too.
    Shapes: story (S, B, W) word ids, S <= memory -> logits (B, V); p^k (S, B).
    """

    scope_name = "memory-network"
    consumes = StoryBatch
    attends = True  # `tinygrad-rnn attention memory-network` shows p(k, i)
    options = {"hops": (3, "attention hops over the memory (K)"),
               "memory": (16, "memory slots: the longest story it accepts, in sentences"),
               "position": (False, "position encoding of the words in a sentence (else bag of "
                                   "words)"),
               "linear_start": (0, "the first N training batches attend without the softmax "
                                   "(the paper's linear start)")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 20, hops: int = 3,
                 memory: int = 16, position: bool = False, linear_start: int = 0):
        super().__init__(input_size, output_size, hidden_size)
        who = self.scope_name
        check_positive(who, hops=hops)
        if not isinstance(memory, (int, np.integer)) or isinstance(memory, bool) or memory < 1:
            raise ValueError(f"{who}: memory size must be >= 1 slot, got {memory!r}")
        if input_size != output_size:
            raise ValueError(f"{who}: the answer is a word (W^T = C^K), so input_size and "
                             f"output_size must both be the vocabulary size, got {input_size} "
                             f"and {output_size}")
        if not isinstance(linear_start, (int, np.integer)) or linear_start < 0:
            raise ValueError(f"{who}: linear_start must be an int >= 0 (training batches), got "
                             f"{linear_start!r}")
        self.hops, self.memory, self.position = hops, memory, bool(position)
        self.linear_start, self.batches_seen = int(linear_start), 0
        self.embeddings = ModuleList([_HopEmbedding(input_size, hidden_size, memory)
                                      for _ in range(hops + 1)])

    def run_batch(self, batch: StoryBatch, teacher: bool = True) -> Run:
        """Answer each story's question. Run.outputs: [logits (B, V)]; Run.states: u^2 ...
        u^(K+1); Run.extra["attention"]: (K, S, B) array of p^k_i."""
        check_stories(batch, self.input_size, self.memory, self.scope_name)
        S, B, W = batch.story.shape
        lengths = np.asarray(batch.story_lengths)
        filled = np.arange(S)[:, None] < lengths[None, :]  # (S, B): the slots holding a sentence
        ago = np.where(filled, lengths[None, :] - 1 - np.arange(S)[:, None], 0)  # T(i)'s index
        dtype = self.embeddings[0].time.dtype
        linear = self.batches_seen < self.linear_start
        if is_grad_enabled():  # a training batch: counts towards the end of the linear start
            self.batches_seen += 1
        words = self._word_weights(batch.story, dtype)  # (S, B, W, 1) or (S, B, W, d)
        with scope("query"):
            u = self._bag(self.embeddings[0].words, batch.query, self._word_weights(
                batch.query, dtype)).named("u[1]")
        with scope("memory"):
            keys = self._slots(self.embeddings[0], batch.story, words, ago).named("m")
        weights = []

        def hop(k: int, state) -> Step:
            u, keys = state
            values = self._slots(self.embeddings[k], batch.story, words, ago).named(f"c[{k}]")
            score = (keys * u.reshape(1, B, self.hidden_size)).sum(axis=2)  # u^k . m_i: (S, B)
            if linear:  # linear start (section 4.2): the scores themselves, 0 on empty slots
                p = (where(filled, score, 0.0) if not filled.all() else score * 1.0)
                p = p.named(f"p[{k}]")
            else:
                if not filled.all():
                    score = where(filled, score, _NEG)
                p = score.softmax(axis=0).named(f"p[{k}]")
            o = (p.reshape(S, B, 1) * values).sum(axis=0).named(f"o[{k}]")
            u_next = (u + o).named(f"u[{k + 1}]")
            weights.append(p)
            return Step(u_next, (u_next, values))  # adjacent tying: C^k is the next hop's A

        made, (u, _) = unroll(hop, (u, keys), range(1, self.hops + 1), "mem", axis="hop")
        with scope("answer"):
            logits = (u @ self.embeddings[self.hops].words.weight.T).named("a")
        return Run([logits], [m.h for m in made], None,
                   extra={"attention": np.stack([p.data for p in weights])})

    def _word_weights(self, ids: np.ndarray, dtype) -> np.ndarray:
        """l_j per word: 1 on words, 0 on padding (bag of words), or the position encoding."""
        real = (ids != PAD).astype(dtype)[..., None]
        if not self.position:
            return real
        return position_weights(real.sum(axis=-2)[..., 0], ids.shape[-1],
                                self.hidden_size).astype(dtype) * real

    @staticmethod
    def _bag(embedding: Embedding, ids: np.ndarray, weights: np.ndarray) -> Tensor:
        """sum_j l_j E x_j over the last axis of ids: (..., W) -> (..., d)."""
        return (embedding(Tensor(ids)) * weights).sum(axis=-2)

    def _slots(self, emb: _HopEmbedding, story: np.ndarray, words: np.ndarray,
               ago: np.ndarray) -> Tensor:
        """Every sentence embedded as a memory slot plus its temporal encoding: (S, B, d)."""
        return self._bag(emb.words, story, words) + emb.time[ago]


class NTM(SequenceModel):
    """A small neural Turing machine (Graves, Wayne & Danihelka 2014, "Neural Turing Machines"):
    an LSTM controller, one write head and one read head on an N x M memory.

    Step t: (h, c) = LSTM([x(t); r(t-1)], (h, c)); each head reads its parameters from h and
    addresses the memory (section 3.3):
        content   w_c(i) = softmax_i(beta K(k, M(i))),  K the cosine similarity, beta >= 0
        interpolate  w_g = g w_c + (1 - g) w(t-1),        g in (0, 1)
        shift     w~(i) = sum_j w_g(j) s(i - j mod N),    s a softmax over shifts -R..R
        sharpen   w(i) = w~(i)^gamma / sum_j w~(j)^gamma, gamma >= 1.
    The write head erases and adds: M(i) <- M(i) (1 - w(i) e) + w(i) a (section 3.2); the
    read head then reads r(t) = sum_i w(i) M(i) from the new memory; o(t) = out([h; r(t)]).
    The state (h, c, M, w_read, w_write, r) carries everything, so truncated BPTT detaches
    the memory and the weightings too. The weightings start on slot 0, the memory at 1e-6.
    Shapes: x (T, B, D) -> o(t) (B, C); memory (B, N, M); weightings (B, N).
    """

    scope_name = "ntm"
    emits = ("every",)
    attends = True  # `tinygrad-rnn attention ntm` shows the read and write weightings
    options = {"memory": (32, "memory slots N"), "width": (8, "slot width M"),
               "shifts": (1, "shift range R: the heads move by -R..R slots per step")}

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 32,
                 memory: int = 32, width: int = 8, shifts: int = 1):
        super().__init__(input_size, output_size, hidden_size)
        if not isinstance(memory, (int, np.integer)) or isinstance(memory, bool) or memory < 1:
            raise ValueError(f"ntm: memory size must be >= 1 slot, got {memory!r}")
        check_positive("ntm", width=width)
        if not isinstance(shifts, (int, np.integer)) or isinstance(shifts, bool) or shifts < 0:
            raise ValueError(f"ntm: shifts must be an int >= 0, got {shifts!r}")
        if 2 * shifts + 1 > memory:
            raise ValueError(f"ntm: shift range -{shifts}..{shifts} ({2 * shifts + 1} shifts) is "
                             f"larger than the memory of {memory} slots; use shifts <= "
                             f"{(memory - 1) // 2}")
        self.slots, self.width, self.shifts = memory, width, shifts
        H, M, n_shift = hidden_size, width, 2 * shifts + 1
        self.controller = LSTMCell(input_size + M, H)
        self.read_head = Linear(H, M + 3 + n_shift)  # key, beta, g, gamma, shift
        self.write_head = Linear(H, 3 * M + 3 + n_shift)  # the same, then erase and add
        self.out = Linear(H + M, output_size)
        # index[d, i] = i - shift_d mod N: w_g[:, index] holds w_g rolled by each shift
        self._shift_index = (np.arange(memory)[None, :]
                             - np.arange(-shifts, shifts + 1)[:, None]) % memory
        self._weightings: list = []

    @property
    def recurrent_weight(self) -> Tensor:
        return self.controller.weight_hh

    def forward(self, x: Tensor, state=None, t0: int = 0, emit: str | None = None,
                **inputs) -> Run:
        """As SequenceModel.forward; Run.extra also holds "read_weights" and "write_weights",
        (T, B, N) arrays of each step's weightings (what the heat maps show)."""
        self._weightings = []
        run = super().forward(x, state=state, t0=t0, emit=emit, **inputs)
        run.extra = {"read_weights": np.stack([r for r, _ in self._weightings]),
                     "write_weights": np.stack([w for _, w in self._weightings])}
        return run

    def initial_state(self, batch: int, **inputs) -> tuple:
        dtype = self.out.weight.dtype
        N, M, H = self.slots, self.width, self.hidden_size
        start = np.zeros((batch, N), dtype)
        start[:, 0] = 1.0
        return (Tensor(np.zeros((batch, H), dtype), name="h[0]"),
                Tensor(np.zeros((batch, H), dtype), name="c[0]"),
                Tensor(np.full((batch, N, M), 1e-6, dtype), name="M[0]"),
                Tensor(start, name="w_read[0]"), Tensor(start.copy(), name="w_write[0]"),
                Tensor(np.zeros((batch, M), dtype), name="r[0]"))

    def step(self, x, state, t: int, **inputs) -> Step:
        h, c, memory, w_read, w_write, r = state
        M = self.width
        h, c = self.controller(cat([x(t), r], axis=1), (h, c))
        h = h.named(f"h[{t}]")
        with scope("write"):
            params = self.write_head(h)
            w_write = self.address(params[:, :-2 * M], memory, w_write).named(f"w_write[{t}]")
            erase = params[:, -2 * M:-M].sigmoid()
            add = params[:, -M:].tanh()
            w = w_write.reshape(*w_write.shape, 1)  # (B, N, 1)
            memory = (memory * (1 - w * erase.reshape(-1, 1, M))
                      + w * add.reshape(-1, 1, M)).named(f"M[{t}]")
        with scope("read"):
            w_read = self.address(self.read_head(h), memory, w_read).named(f"w_read[{t}]")
            r = (w_read.reshape(*w_read.shape, 1) * memory).sum(axis=1).named(f"r[{t}]")
        o = self.out(cat([h, r], axis=1)).named(f"o[{t}]")
        self._weightings.append((w_read.data, w_write.data))
        return Step(h, (h, c, memory, w_read, w_write, r), o)

    def address(self, params: Tensor, memory: Tensor, w_prev: Tensor) -> Tensor:
        """One head's weighting from its parameters [key, beta, g, gamma, shift logits]
        (section 3.3, eq. 5-9). Shapes: params (B, M + 3 + 2R + 1), memory (B, N, M),
        w_prev (B, N) -> (B, N), each row summing to 1."""
        B, N, M = memory.shape
        if params.shape != (B, M + 3 + len(self._shift_index)) or w_prev.shape != (B, N):
            raise ShapeError(f"ntm.address: params {params.shape}, memory {memory.shape} and "
                             f"w_prev {w_prev.shape} need params (B, M + 3 + 2R + 1) and w_prev "
                             f"(B, N)")
        key = params[:, :M]
        beta = params[:, M:M + 1].softplus()
        g = params[:, M + 1:M + 2].sigmoid()
        gamma = 1 + params[:, M + 2:M + 3].softplus()
        shift = params[:, M + 3:].softmax(axis=1)  # (B, 2R + 1)
        similarity = cosine_similarity(memory, key)
        w_content = (beta * similarity).softmax(axis=1)
        w_gated = g * w_content + (1 - g) * w_prev
        rolled = w_gated[:, self._shift_index]  # (B, 2R + 1, N): w_gated(i - shift)
        w_shifted = (shift.reshape(B, -1, 1) * rolled).sum(axis=1)
        sharp = (w_shifted + _EPS) ** gamma
        return sharp / sharp.sum(axis=1, keepdims=True)


def cosine_similarity(memory: Tensor, key: Tensor) -> Tensor:
    """K(k, M(i)) = k . M(i) / (|k| |M(i)|), with the norms kept above 0 by a small epsilon.

    Shapes: memory (B, N, M), key (B, M) -> (B, N).
    """
    B, N, M = memory.shape
    dot = (memory @ key.reshape(B, M, 1)).reshape(B, N)
    memory_norm = ((memory * memory).sum(axis=2) + _EPS).sqrt()
    key_norm = ((key * key).sum(axis=1, keepdims=True) + _EPS).sqrt()
    return dot / (memory_norm * key_norm)


__all__ = ["MemoryNetwork", "NTM", "cosine_similarity", "position_weights"]
