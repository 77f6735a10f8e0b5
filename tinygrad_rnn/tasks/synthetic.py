"""Synthetic tasks: adding problem, delayed recall, parity, sum of sines, look-ahead tagging."""

from __future__ import annotations

import numpy as np

from .base import SequenceBatch, SequenceTask


def _one_hot(indices: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n, dtype=np.float32)[indices]


class AddingTask(SequenceTask):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked numbers.

    x(t) = (value ~ U(0, 1), marker); one marker in each half of the sequence. The target,
    given after the last step, is the sum of the two marked values. Predicting 1.0 scores
    about 1/6 (the variance of the sum).
    """

    name = "adding"
    summary = "sum the two marked numbers of a long sequence (one answer at the end)"
    classify = False
    per_step = False
    default_steps = 50
    min_steps = 2
    input_size = 2
    output_size = 1

    def _generate(self, batch, steps, rng, split):
        values = rng.uniform(0.0, 1.0, size=(steps, batch))
        half = steps // 2
        first = rng.integers(0, half, size=batch)
        second = rng.integers(half, steps, size=batch)
        marker = np.zeros((steps, batch))
        cols = np.arange(batch)
        marker[first, cols] = 1.0
        marker[second, cols] = 1.0
        x = np.stack([values, marker], axis=-1).astype(np.float32)
        y = (values[first, cols] + values[second, cols])[:, None].astype(np.float32)
        return SequenceBatch(x=x, y=y)


class CopyTask(SequenceTask):
    """Delayed recall: at step t, output the symbol seen at step t - delay.

    Steps t <= delay have nothing to recall and are left out of the loss (mask), so the
    trivial baseline is log(symbols). A long delay is the long-term dependency of 10.7.
    """

    name = "copy"
    summary = "delayed recall: output the symbol seen `delay` steps earlier"
    default_steps = 20
    min_steps = 2
    options = {"delay": (0, "how many steps back the symbol to recall lies (0: half of T)"),
               "symbols": (4, "alphabet size")}

    def __init__(self, **options):
        super().__init__(**options)
        if self.settings["delay"] < 0:
            raise ValueError(f"task 'copy': delay must be >= 1 (or 0 for half of T), "
                             f"got {self.settings['delay']}")
        if self.settings["symbols"] < 2:
            raise ValueError(f"task 'copy': symbols must be >= 2, got {self.settings['symbols']}")
        self.input_size = self.output_size = self.settings["symbols"]

    def delay(self, steps: int) -> int:
        return self.settings["delay"] or max(1, steps // 2)

    def check_steps(self, steps):
        super().check_steps(steps)
        if steps <= self.delay(steps):
            raise ValueError(f"task 'copy' with delay={self.delay(steps)} needs steps > "
                             f"delay, got steps={steps}")

    def _generate(self, batch, steps, rng, split):
        delay, k = self.delay(steps), self.settings["symbols"]
        symbols = rng.integers(0, k, size=(steps, batch))
        y = np.zeros((steps, batch), dtype=np.int64)
        y[delay:] = symbols[:-delay]
        mask = np.arange(1, steps + 1) > delay
        return SequenceBatch(x=_one_hot(symbols, k), y=y, mask=mask)


class ParityTask(SequenceTask):
    """Running parity: y(t) = x(1) xor ... xor x(t) for random bits x.

    Needs one bit of memory carried forward exactly; with output feedback,
    y(t) = y(t-1) xor x(t), so the previous target is the perfect hint.
    """

    name = "parity"
    summary = "running parity of a bit stream (a target at every step)"
    default_steps = 10
    input_size = 1
    output_size = 2

    def _generate(self, batch, steps, rng, split):
        bits = rng.integers(0, 2, size=(steps, batch))
        y = np.cumsum(bits, axis=0) % 2
        return SequenceBatch(x=bits[..., None].astype(np.float32), y=y.astype(np.int64))


class SineTask(SequenceTask):
    """Generate y(t) = sum_k a_k sin(2 pi t / P_k) from the amplitudes a (the context vector).

    The context a ~ U(-1, 1)^K is given once (batch.context); x(t) repeats it at every step so
    that an ordinary sequence model can also be trained on it.
    """

    name = "sine"
    summary = "generate a sum of sines from a fixed vector of amplitudes (context)"
    classify = False
    has_context = True
    default_steps = 20
    options = {"periods": ("6,15", "comma-separated periods P_k of the sines (in steps)")}
    output_size = 1

    def __init__(self, **options):
        super().__init__(**options)
        try:
            self.periods = [float(p) for p in str(self.settings["periods"]).split(",")]
        except ValueError:
            raise ValueError(f"task 'sine': periods must be numbers separated by commas, got "
                             f"{self.settings['periods']!r}") from None
        if not self.periods or min(self.periods) <= 0:
            raise ValueError(f"task 'sine': periods must be positive, got {self.periods}")
        self.input_size = len(self.periods)

    def _generate(self, batch, steps, rng, split):
        amplitudes = rng.uniform(-1.0, 1.0, size=(batch, len(self.periods)))
        t = np.arange(1, steps + 1)[:, None]
        waves = np.sin(2 * np.pi * t / np.asarray(self.periods)[None, :])  # (T, K)
        y = (waves @ amplitudes.T)[..., None]  # (T, B, 1)
        x = np.broadcast_to(amplitudes, (steps,) + amplitudes.shape)
        return SequenceBatch(x=np.array(x, dtype=np.float32), y=y.astype(np.float32),
                     context=amplitudes.astype(np.float32))


class TaggingTask(SequenceTask):
    """Tag each step with "the next symbol equals this one": the label needs the future.

    x(t) are random bits (one-hot); y(t) = [x(t) == x(t+1)], with x(T+1) = 0. A net that reads
    only the past cannot beat log 2 (except at the last step); a bidirectional one can.
    """

    name = "tagging"
    summary = "tag each step by whether the next symbol repeats it (needs future context)"
    default_steps = 10
    input_size = 2
    output_size = 2

    def _generate(self, batch, steps, rng, split):
        bits = rng.integers(0, 2, size=(steps, batch))
        following = np.concatenate([bits[1:], np.zeros((1, batch), dtype=bits.dtype)])
        y = (bits == following).astype(np.int64)
        return SequenceBatch(x=_one_hot(bits, 2), y=y)
