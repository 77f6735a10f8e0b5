"""The Mackey-Glass series: predict a chaotic time series h steps ahead (reservoir computing).

The series solves the delay differential equation (Mackey & Glass 1977)

    dx/dt = a x(t - tau) / (1 + x(t - tau)^n) - b x(t),   a = 0.2, b = 0.1, n = 10,

chaotic for tau = 17. How it is integrated here: classical fourth-order Runge-Kutta with step
dt = 0.1 (tau / dt = 170 steps of history), the delayed value at the half step taken as the mean
of its two grid neighbours; constant history x(t) = 1.2 for t <= 0; the first 1000 time units
are a warm-up, dropped so the series is on its attractor; then one sample per time unit
(every 10th step). The kept samples are scaled to [-1, 1] by their min and max.
The first 2/3 of the samples are the training split, the rest the test split.
"""

from __future__ import annotations

import functools

import numpy as np

from .base import SequenceBatch, SequenceTask

A, B, N = 0.2, 0.1, 10
DT = 0.1  # the integrator's step; one sample per 1 / DT steps
WARMUP = 1000.0  # time units dropped before the first sample
X0 = 1.2
TRAIN_FRACTION = 2 / 3


def _rate(x: float, x_tau: float) -> float:
    return A * x_tau / (1.0 + x_tau ** N) - B * x


@functools.lru_cache(maxsize=8)
def mackey_glass(samples: int, tau: float = 17.0) -> np.ndarray:
    """`samples` values of the Mackey-Glass series, one per time unit, scaled to [-1, 1].

    Integrated by RK4 (dt = 0.1) from the constant history 1.2 after a warm-up of 1000 time
    units (see the module docstring). Shapes: -> (samples,) float64; read-only (it is cached).
    """
    per_unit = int(round(1 / DT))
    lag = int(round(tau / DT))
    if lag < 1 or abs(lag * DT - tau) > 1e-9:
        raise ValueError(f"task 'mackey-glass': tau must be a positive multiple of {DT}, "
                         f"got {tau}")
    skip = int(WARMUP * per_unit)
    total = skip + samples * per_unit
    x = np.empty(total + 1 + lag)
    x[:lag + 1] = X0  # x[i] is x(t = (i - lag) dt): the history t <= 0 first
    for i in range(lag, lag + total):
        xt, d0, d1 = x[i], x[i - lag], x[i - lag + 1]
        d_half = 0.5 * (d0 + d1)
        k1 = _rate(xt, d0)
        k2 = _rate(xt + 0.5 * DT * k1, d_half)
        k3 = _rate(xt + 0.5 * DT * k2, d_half)
        k4 = _rate(xt + DT * k3, d1)
        x[i + 1] = xt + DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    kept = x[lag + skip + per_unit::per_unit][:samples]
    lo, hi = kept.min(), kept.max()
    series = 2.0 * (kept - lo) / (hi - lo) - 1.0
    series.setflags(write=False)
    return series


def nrmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean square error divided by the targets' range (max - min), as ReservoirPy's
    default `nrmse`."""
    target = np.asarray(target, dtype=np.float64)
    rmse = np.sqrt(np.mean((np.asarray(pred, dtype=np.float64) - target) ** 2))
    return float(rmse / (target.max() - target.min()))


class MackeyGlassTask(SequenceTask):
    """Predict the Mackey-Glass series `horizon` steps ahead: y(t) = s(t + h) from x(t) = s(t).

    Each sequence is a window of the series (random start, within its split); the first
    `washout` steps of a window only warm the state up and are left out of the loss (mask;
    by default 100 steps, a fifth of the window when it is shorter than 500).
    Shapes: x (T, B, 1), y (T, B, 1) float32.
    """

    name = "mackey-glass"
    summary = "predict the chaotic Mackey-Glass series h steps ahead (tau = 17)"
    classify = False
    per_step = True
    default_steps = 600
    min_steps = 2
    input_size = 1
    output_size = 1
    options = {"horizon": (1, "how many steps ahead to predict"),
               "tau": (17.0, "the delay of the differential equation"),
               "washout": (-1, "steps at the start of each window left out of the loss "
                               "(-1: 100, or a fifth of a window shorter than 500 steps)"),
               "samples": (8000, "length of the whole series (2/3 train, 1/3 test)")}

    def __init__(self, **options):
        super().__init__(**options)
        s = self.settings
        if s["horizon"] < 1:
            raise ValueError(f"task 'mackey-glass': horizon must be >= 1, got {s['horizon']}")
        if s["washout"] < -1:
            raise ValueError(f"task 'mackey-glass': washout must be >= 0 (or -1: automatic), "
                             f"got {s['washout']}")
        if not s["tau"] > 0:
            raise ValueError(f"task 'mackey-glass': tau must be > 0, got {s['tau']}")
        if s["samples"] < 3:
            raise ValueError(f"task 'mackey-glass': samples must be >= 3, got {s['samples']}")

    @property
    def horizon(self) -> int:
        return self.settings["horizon"]

    def washout(self, steps: int) -> int:
        """The steps of a window of `steps` that only warm the state up."""
        if self.settings["washout"] >= 0:
            return self.settings["washout"]
        return min(100, steps // 5)

    def split_range(self, split: str) -> tuple[int, int]:
        """[start, stop) of the split's samples in the series."""
        cut = int(self.settings["samples"] * TRAIN_FRACTION)
        return (0, cut) if split == "train" else (cut, self.settings["samples"])

    def check_steps(self, steps: int) -> None:
        super().check_steps(steps)
        if steps <= self.washout(steps):
            raise ValueError(f"task 'mackey-glass': a window of steps={steps} is too short for "
                             f"the washout of {self.washout(steps)} steps (needs steps > "
                             f"washout)")
        shortest = min(stop - start for start, stop in (self.split_range("train"),
                                                        self.split_range("test")))
        if steps + self.horizon > shortest:
            raise ValueError(f"task 'mackey-glass': horizon={self.horizon} plus steps={steps} "
                             f"is longer than the series split ({shortest} samples; "
                             f"samples={self.settings['samples']}, 2/3 train, 1/3 test)")

    def series(self) -> np.ndarray:
        """The whole normalised series. Shapes: -> (samples,) float64."""
        return mackey_glass(self.settings["samples"], self.settings["tau"])

    def window(self, start: int, steps: int, split: str = "train") -> SequenceBatch:
        """One fixed window (batch of 1) starting `start` samples into the split."""
        self.check_steps(steps)
        first, stop = self.split_range(split)
        if start < 0 or first + start + steps + self.horizon > stop:
            raise ValueError(f"task 'mackey-glass': a window of {steps} steps at start={start} "
                             f"(horizon {self.horizon}) does not fit the {split} split of "
                             f"{stop - first} samples")
        return self._windows(np.array([first + start]), steps)

    def _windows(self, starts: np.ndarray, steps: int) -> SequenceBatch:
        s = self.series()
        idx = starts[None, :] + np.arange(steps)[:, None]  # (T, B)
        x = s[idx][..., None].astype(np.float32)
        y = s[idx + self.horizon][..., None].astype(np.float32)
        mask = np.arange(steps) >= self.washout(steps)
        return SequenceBatch(x=x, y=y, mask=mask)

    def _generate(self, batch, steps, rng, split):
        first, stop = self.split_range(split)
        starts = rng.integers(first, stop - steps - self.horizon + 1, size=batch)
        return self._windows(starts, steps)

    def metrics(self, outputs: list, batch: SequenceBatch) -> dict:
        """{"loss": MSE, "nrmse": RMSE / range of the targets} over the counted steps."""
        result = super().metrics(outputs, batch)
        steps = np.flatnonzero(batch.mask)
        pred = np.stack([outputs[t].data for t in steps])
        result["nrmse"] = nrmse(pred, batch.y[steps])
        return result
