"""Sequence-to-sequence tasks: a source sequence in, a target sequence of another length out.

Tokens are integers; 0, 1 and 2 are the specials PAD, BOS and EOS, the symbols are 3 ... V-1.
Every task makes a PairBatch and scores a decoder's outputs o(1) ... o(T), one per target token.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..autograd import scope
from ..tensor import Tensor, stack
from .base import Task

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")


@dataclass
class PairBatch:
    """One batch of (source, target) pairs whose lengths differ, time-major and padded.

    Shapes: source (S, B) int tokens, PAD after each sequence's end; source_lengths (B,) int,
    each >= 1; target_in (T, B): BOS then the target tokens (what teacher forcing feeds the
    decoder); target (T, B): the target tokens then EOS, PAD after it; target_mask (T, B) bool,
    the positions that count (the tokens and the EOS).
    """

    source: np.ndarray
    source_lengths: np.ndarray
    target_in: np.ndarray
    target: np.ndarray
    target_mask: np.ndarray

    @property
    def steps(self) -> int:
        """S, the longest source in the batch (the encoder's number of steps)."""
        return self.source.shape[0]

    @property
    def target_steps(self) -> int:
        """T, the decoder's number of steps (the longest target plus its EOS)."""
        return self.target.shape[0]

    @property
    def size(self) -> int:
        return self.source.shape[1]


def token_text(token: int) -> str:
    """How a token is shown: <pad> <bos> <eos> for the specials, then a, b, ..., z, s26, ..."""
    token = int(token)
    if token < len(SPECIALS):
        return SPECIALS[token]
    k = token - len(SPECIALS)
    return chr(ord("a") + k) if k < 26 else f"s{k}"


def pad_pairs(sources: list, targets: list) -> PairBatch:
    """Pad lists of token arrays into a PairBatch (targets get BOS in front and EOS behind)."""
    B = len(sources)
    S = max(len(s) for s in sources)
    T = max(len(t) for t in targets) + 1
    source = np.full((S, B), PAD, np.int64)
    target_in = np.full((T, B), PAD, np.int64)
    target = np.full((T, B), PAD, np.int64)
    mask = np.zeros((T, B), bool)
    for b, (src, tgt) in enumerate(zip(sources, targets)):
        source[:len(src), b] = src
        target_in[0, b] = BOS
        target_in[1:len(tgt) + 1, b] = tgt
        target[:len(tgt), b] = tgt
        target[len(tgt), b] = EOS
        mask[:len(tgt) + 1, b] = True
    lengths = np.array([len(s) for s in sources], np.int64)
    return PairBatch(source, lengths, target_in, target, mask)


class PairTask(Task):
    """Base of the seq2seq tasks: token vocabularies, per-token cross-entropy, accuracy.

    `steps` is the longest source length n_x; each source's length is drawn from
    min_length ... steps (option `fixed`: every source exactly `steps` long). Subclasses
    write `_target(source, rng)`.
    """

    batch_type = PairBatch
    classify = True
    default_steps = 8
    min_steps = 1
    symbols = 8
    options = {"min_length": (1, "shortest source sequence"),
               "fixed": (False, "every source exactly --steps long")}

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + self.symbols

    @property
    def input_size(self) -> int:
        return self.vocab_size

    @property
    def output_size(self) -> int:
        return self.vocab_size

    def check_steps(self, steps: int) -> None:
        super().check_steps(steps)
        low = self.settings["min_length"]
        if low < 1 or low > steps:
            raise ValueError(f"task {self.name!r}: min_length must be in 1..steps ({steps}), "
                             f"got {low}")

    def _generate(self, batch: int, steps: int, rng: np.random.Generator,
                  split: str) -> PairBatch:
        low = steps if self.settings["fixed"] else self.settings["min_length"]
        lengths = rng.integers(low, steps + 1, size=batch)
        first = len(SPECIALS)
        sources = [rng.integers(first, self.vocab_size, size=n) for n in lengths]
        return pad_pairs(sources, [self._target(s, rng) for s in sources])

    def _target(self, source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def loss(self, outputs: list, batch: PairBatch, reduction: str = "mean") -> tuple:
        """(loss, per-step losses L[t]) of the decoder's outputs o(1..T), each (B, V).

        L[t] is the cross-entropy at target position t summed over the sequences where it
        counts, divided by the batch size (padding adds nothing). "sum" gives the book's
        L = sum_t L[t]; "mean" the mean over every counted token.
        """
        if reduction not in ("mean", "sum"):
            raise ValueError(f"task {self.name!r}: reduction must be mean or sum, "
                             f"got {reduction!r}")
        if len(outputs) != batch.target_steps:
            raise ValueError(f"task {self.name!r}: expected {batch.target_steps} decoder outputs "
                             f"(one per target token), got {len(outputs)}")
        B = batch.size
        step_losses = []
        for t, out in enumerate(outputs, start=1):
            keep = batch.target_mask[t - 1]
            if not keep.any():
                continue
            with scope("loss", step=t):
                each = F.cross_entropy(out, batch.target[t - 1], reduction="none")
                # a padded position weighs 0: a constant per sequence, no gradient through it
                weight = keep.astype(out.dtype) / B
                step_losses.append((each * weight).sum().named(f"L[{t}]"))
        total = stack(step_losses).sum()
        if reduction == "mean":
            total = total * (B / float(batch.target_mask.sum()))
        return total.named("L"), step_losses

    def metrics(self, outputs: list, batch: PairBatch) -> dict:
        """loss, accuracy (over counted tokens, EOS included) and sequence_accuracy (every
        token of a target right)."""
        loss, _ = self.loss(outputs, batch)
        pred = np.stack([o.data.argmax(-1) for o in outputs])
        right = (pred == batch.target) | ~batch.target_mask
        return {"loss": float(loss.item()),
                "accuracy": float(right[batch.target_mask].mean()),
                "sequence_accuracy": float(right.all(axis=0).mean())}

    def baseline(self, batch: PairBatch) -> float:
        """The entropy of the target tokens' distribution: the best input-blind constant."""
        counts = np.bincount(batch.target[batch.target_mask], minlength=self.vocab_size)
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())


class ReverseTask(PairTask):
    """Write the source backwards: 3 7 5 -> 5 7 3 <eos> (every output token depends on an input
    token at the other end of the source: a long path for a fixed-context decoder)."""

    name = "reverse"
    summary = "write a random token sequence backwards (source lengths min_length..T)"

    def _target(self, source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return source[::-1].copy()


class SortTask(PairTask):
    """Sort the source tokens: 7 3 5 3 -> 3 3 5 7 <eos> (needs the whole source before the first
    output token)."""

    name = "sort"
    summary = "sort a random token sequence (source lengths min_length..T)"

    def _target(self, source: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.sort(source)


def check_pairs(batch: PairBatch, vocab_size: int, max_target: int, who: str,
                target_vocab: int | None = None) -> None:
    """Raise ValueError naming the value at fault: an empty source, a token outside the
    vocabulary, a target longer than the model's maximum, misshapen arrays."""
    if not isinstance(batch, PairBatch):
        raise TypeError(f"{who} reads a PairBatch (source, target pairs), got "
                        f"{type(batch).__name__}")
    S, B = np.shape(batch.source) if np.ndim(batch.source) == 2 else (None, None)
    if S is None or S == 0 or B == 0:
        raise ValueError(f"{who}: source must be a non-empty (S, B) token array, got shape "
                         f"{np.shape(batch.source)}")
    for what in ("target_in", "target", "target_mask"):
        shape = np.shape(getattr(batch, what))
        if len(shape) != 2 or shape[1] != B or shape != np.shape(batch.target):
            raise ValueError(f"{who}: {what} has shape {shape}; expected (T, {B}) like target "
                             f"{np.shape(batch.target)}")
    lengths = np.asarray(batch.source_lengths)
    if lengths.shape != (B,):
        raise ValueError(f"{who}: source_lengths has shape {lengths.shape}; expected ({B},)")
    empty = np.flatnonzero(lengths < 1)
    if empty.size:
        raise ValueError(f"{who}: source sequence {int(empty[0])} is empty (length "
                         f"{int(lengths[empty[0]])}); every source needs at least one token")
    if lengths.max() > S:
        raise ValueError(f"{who}: source_lengths says {int(lengths.max())} tokens but source has "
                         f"only {S} steps")
    T = batch.target.shape[0]
    if T > max_target:
        raise ValueError(f"{who}: the target has {T} steps, more than the model's maximum "
                         f"max_target={max_target}")
    vocabularies = {"source": vocab_size, "target_in": target_vocab or vocab_size,
                    "target": target_vocab or vocab_size}
    for what, size in vocabularies.items():
        tokens = np.asarray(getattr(batch, what))
        if tokens.dtype.kind not in "iu":
            raise ValueError(f"{who}: {what} must hold integer tokens, got dtype {tokens.dtype}")
        bad = np.flatnonzero((tokens < 0) | (tokens >= size))
        if bad.size:
            value = int(tokens.reshape(-1)[bad[0]])
            raise ValueError(f"{who}: {what} holds token {value}, outside the vocabulary "
                             f"0..{size - 1}")


def as_tensor_tokens(tokens: np.ndarray) -> Tensor:
    """Integer tokens as a constant Tensor (indices for an Embedding)."""
    return Tensor(np.asarray(tokens, np.int64))
