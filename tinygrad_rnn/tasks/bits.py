"""The copy task of the neural Turing machine paper (Graves et al. 2014, 4.1): read a sequence
of random bit vectors, then write it back after a delimiter."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from .base import SequenceBatch, SequenceTask


class CopyBitsTask(SequenceTask):
    """Copy L random `width`-bit vectors: x(1..L) the vectors, x(L+1) the delimiter (its own
    input channel), then L blank steps in which the targets are the vectors again.

    `steps` is the sequence length T, as for every task; it holds copies of up to
    L_max = (T - 1) // 2 vectors (T = 17: copies of 8). Training batches draw one L from
    min_length ... L_max each; held-out batches (split="test") use L = L_max, so a model
    trained with --steps 17 is tested on longer copies by sampling with steps=33 (L = 16).
    The steps after the copy (when 2L + 1 < T) are blank and not scored. Targets are bits,
    scored per bit by binary cross-entropy on the logits; only the L copy steps count (mask).
    metrics add bits_wrong: the wrong bits per sequence (a logit > 0 reads as 1).
    """

    name = "copy-bits"
    summary = "copy a sequence of random bit vectors after a delimiter (the NTM copy task)"
    classify = False
    per_step = True
    default_steps = 17
    min_steps = 3
    options = {"width": (8, "bits per vector"), "min_length": (1, "shortest training copy")}

    def __init__(self, **options):
        super().__init__(**options)
        if self.settings["width"] < 1:
            raise ValueError(f"task 'copy-bits': width must be >= 1, got "
                             f"{self.settings['width']}")

    @property
    def input_size(self) -> int:
        return self.settings["width"] + 1

    @property
    def output_size(self) -> int:
        return self.settings["width"]

    @staticmethod
    def longest(steps: int) -> int:
        """L_max: the longest copy that fits in T = steps steps."""
        return (steps - 1) // 2

    def check_steps(self, steps: int) -> None:
        super().check_steps(steps)
        low = self.settings["min_length"]
        if low < 1 or low > self.longest(steps):
            raise ValueError(f"task 'copy-bits': min_length must be in 1..{self.longest(steps)} "
                             f"(the longest copy that fits in T={steps} steps), got {low}")

    def _generate(self, batch, steps, rng, split):
        most = self.longest(steps)
        length = most if split == "test" else int(rng.integers(self.settings["min_length"],
                                                               most + 1))
        width = self.settings["width"]
        bits = rng.integers(0, 2, size=(length, batch, width)).astype(np.float32)
        T = steps
        x = np.zeros((T, batch, width + 1), np.float32)
        x[:length, :, :width] = bits
        x[length, :, width] = 1.0  # the delimiter
        y = np.zeros((T, batch, width), np.float32)
        y[length + 1:2 * length + 1] = bits
        mask = np.zeros(T, bool)
        mask[length + 1:2 * length + 1] = True
        return SequenceBatch(x=x, y=y, mask=mask)

    def _step_loss(self, out: Tensor, target: np.ndarray) -> Tensor:
        return F.binary_cross_entropy_with_logits(out, target.astype(out.dtype))

    def baseline(self, batch: SequenceBatch) -> float:
        """The mean binary entropy of each bit position: the best input-blind constant."""
        p = self.counted(batch).astype(np.float64).mean(axis=0).clip(1e-12, 1 - 1e-12)
        return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).mean())

    def metrics(self, outputs: list, batch: SequenceBatch) -> dict:
        """loss, bits_wrong (per sequence, summed over the copy) and accuracy (per bit)."""
        loss, _ = self.loss(outputs, batch)
        steps = np.flatnonzero(batch.mask)
        pred = np.stack([outputs[t].data > 0 for t in steps])
        wrong = pred != (batch.y[steps] > 0.5)
        return {"loss": float(loss.item()),
                "bits_wrong": float(wrong.sum(axis=(0, 2)).mean()),
                "accuracy": float(1.0 - wrong.mean())}
