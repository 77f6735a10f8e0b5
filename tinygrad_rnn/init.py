"""The engine's random generator and the default initialisers (plain arrays, no graph)."""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Seed the engine's generator (initialisation, tasks, dropout)."""
    global _rng
    _rng = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The engine's generator, as last seeded."""
    return _rng


def uniform(shape: tuple, bound: float, dtype=np.float32) -> np.ndarray:
    """Uniform in [-bound, bound): PyTorch's default for Linear and the recurrent cells."""
    return _rng.uniform(-bound, bound, size=shape).astype(dtype)


def normal(shape: tuple, std: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Gaussian with mean 0 and standard deviation std."""
    return (_rng.standard_normal(size=shape) * std).astype(dtype)
