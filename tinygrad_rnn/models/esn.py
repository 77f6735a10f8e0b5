"""Echo state network: a fixed random reservoir, only the linear readout is trained.

DL book 10.8 (Jaeger 2001; Lukosevicius 2012, "A practical guide to applying echo state
networks"). The reservoir's matrices are buffers (never in parameters(), drawn as constants);
the readout o(t) = c + V h(t) is fitted in closed form by ridge regression (default), or by the
engine's gradient descent (readout=gd).
"""

from __future__ import annotations

import numpy as np

from .. import init
from ..tensor import Tensor
from .base import BookSteps, SequenceModel, Step, uniform_param


class EchoStateNetwork(SequenceModel):
    """A leaky-integrator echo state network (Jaeger 2001; Lukosevicius 2012, eq. 2-4).

    h(t) = (1 - leak) h(t-1) + leak tanh(W_in x(t) + W h(t-1) + b_res),  o(t) = c + V h(t).
    W (H, H): normal, a `sparsity` fraction of its entries zeroed, rescaled so that its
    spectral radius (largest |eigenvalue|) is `spectral_radius`; W_in (H, D) dense, each entry
    +s or -s with equal probability (s the input scaling; on Mackey-Glass with 500 units this
    measured NRMSE 5e-4 at h = 1, against 4e-3 with W_in ~ U(-s, s)); b_res (H,) ~ U(-bias,
    bias). W, W_in, b_res are buffers: fixed, never trained, so no gradient flows into the
    reservoir. V (C, H), c (C,) are the trained readout.
    Shapes: x (T, B, D) -> o(t) (B, C).
    """

    scope_name = "esn"
    readout_only = True  # the reservoir is fixed: one fit of V, c (training.train_readout)
    emits = ("every",)
    options = {
        "spectral_radius": (1.25, "the reservoir matrix W's largest |eigenvalue| (> 0)"),
        "leak": (0.3, "leak rate in (0, 1]: 1 is a plain tanh reservoir"),
        "input_scaling": (1.0, "s: each entry of W_in is +s or -s"),
        "sparsity": (0.9, "fraction of W's entries that are zero, in [0, 1)"),
        "bias": (0.0, "reservoir bias b_res ~ U(-bias, bias)"),
        "seed": (-1, "seed of the reservoir (-1: the engine's generator, see manual_seed)"),
        "ridge": (1e-6, "ridge regression's penalty on V (readout=ridge)"),
        "readout": ("ridge", "how the readout is trained: ridge (closed form) or gd "
                             "(the engine's gradient descent)"),
    }

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 100,
                 spectral_radius: float = 1.25, leak: float = 0.3, input_scaling: float = 1.0,
                 sparsity: float = 0.9, bias: float = 0.0, seed: int = -1, ridge: float = 1e-6,
                 readout: str = "ridge"):
        super().__init__(input_size, output_size, hidden_size)
        _check_settings(spectral_radius, leak, input_scaling, sparsity, bias, ridge, readout)
        self.spectral_radius, self.leak = float(spectral_radius), float(leak)
        self.ridge, self.readout = float(ridge), readout
        rng = init.rng() if seed is None or seed < 0 else np.random.default_rng(seed)
        H = hidden_size
        self.register_buffer("W", _reservoir_matrix(H, spectral_radius, sparsity, rng))
        signs = rng.integers(0, 2, size=(H, input_size)) * 2 - 1
        self.register_buffer("W_in", (input_scaling * signs).astype(np.float32))
        self.register_buffer("b_res", rng.uniform(-bias, bias, size=H).astype(np.float32))
        self.V = uniform_param((output_size, H), H)
        self.c = uniform_param((output_size,), H)

    def step(self, x: BookSteps, h_prev: Tensor, t: int, **inputs) -> Step:
        """h(t) from h(t-1) and x(t). Shapes: x(t) (B, D), h_prev (B, H) -> (B, H)."""
        pre = (x(t) @ self.W_in.T + h_prev @ self.W.T + self.b_res).named(f"a[{t}]")
        h = ((1.0 - self.leak) * h_prev + self.leak * pre.tanh()).named(f"h[{t}]")
        return Step(h, h)

    def reservoir_states(self, x: np.ndarray) -> np.ndarray:
        """Run the reservoir over x from h(0) = 0: the states h(1) ... h(T), no graph.

        The same recurrence as step(), on plain arrays: the reservoir is never trained, so
        nothing needs recording, and the input term W_in x(t) + b_res is one matmul for all
        steps. (A test checks it against the recorded forward.) Shapes: x (T, B, D) ->
        (T, B, H), in the model's dtype.
        """
        dtype = self.V.dtype
        x = np.asarray(x, dtype=dtype)
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"esn.reservoir_states: x has shape {x.shape}; expected "
                             f"(T, B, {self.input_size})")
        drive = x @ self.W_in.data.T.astype(dtype) + self.b_res.data.astype(dtype)  # (T, B, H)
        W_t = np.ascontiguousarray(self.W.data.T, dtype=dtype)
        keep, leak = dtype.type(1.0 - self.leak), dtype.type(self.leak)
        states = np.empty(drive.shape, dtype=dtype)
        h = np.zeros(drive.shape[1:], dtype=dtype)
        for t in range(len(drive)):
            h = keep * h + leak * np.tanh(drive[t] + h @ W_t)
            states[t] = h
        return states

    def fit_ridge(self, states: np.ndarray, targets: np.ndarray) -> None:
        """Set V, c to the ridge regression of targets on states, in closed form.

        [V c] = Y^T X (X^T X + ridge * I')^-1 with X = [states 1] and I' the identity without
        its last entry (the intercept c is not penalised); solved in float64.
        Shapes: states (N, H), targets (N, C).
        """
        X = np.asarray(states, dtype=np.float64)
        Y = np.asarray(targets, dtype=np.float64)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[1] != \
                self.hidden_size or Y.shape[1] != self.output_size:
            raise ValueError(f"esn.fit_ridge: states {X.shape} and targets {Y.shape} must be "
                             f"(N, {self.hidden_size}) and (N, {self.output_size})")
        if X.shape[0] == 0:
            raise ValueError("esn.fit_ridge: no states to fit (is everything in the washout?)")
        mean_x, mean_y = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = X - mean_x, Y - mean_y  # centring = an unpenalised intercept
        gram = Xc.T @ Xc
        gram[np.diag_indices_from(gram)] += self.ridge
        V = np.linalg.solve(gram, Xc.T @ Yc).T  # (C, H)
        self.V.data = V.astype(self.V.dtype)
        self.c.data = (mean_y - V @ mean_x).astype(self.c.dtype)

    def extra_repr(self) -> str:
        return (f"H={self.hidden_size}, spectral_radius={self.spectral_radius}, "
                f"leak={self.leak}, readout={self.readout}")


def _check_settings(spectral_radius, leak, input_scaling, sparsity, bias, ridge, readout):
    if not spectral_radius > 0:
        raise ValueError(f"esn: spectral_radius must be > 0, got {spectral_radius}")
    if not 0 < leak <= 1:
        raise ValueError(f"esn: leak must be in (0, 1], got {leak}")
    if not 0 <= sparsity < 1:
        raise ValueError(f"esn: sparsity must be in [0, 1), got {sparsity}")
    if not input_scaling > 0:
        raise ValueError(f"esn: input_scaling must be > 0, got {input_scaling}")
    if not bias >= 0:
        raise ValueError(f"esn: bias must be >= 0, got {bias}")
    if not ridge >= 0:
        raise ValueError(f"esn: ridge must be >= 0, got {ridge}")
    if readout not in ("ridge", "gd"):
        raise ValueError(f"esn: readout must be ridge or gd, got {readout!r}")


def _reservoir_matrix(H: int, spectral_radius: float, sparsity: float,
                      rng: np.random.Generator) -> np.ndarray:
    """A sparse normal (H, H) matrix rescaled to the given spectral radius (float32)."""
    W = rng.standard_normal((H, H))
    W[rng.random((H, H)) < sparsity] = 0.0
    radius = float(np.max(np.abs(np.linalg.eigvals(W))))
    if radius < 1e-12:
        raise ValueError(f"esn: the reservoir W ({H} units, sparsity {sparsity}) came out "
                         f"nilpotent (spectral radius 0), so it cannot be rescaled to "
                         f"{spectral_radius}; use more units or a lower sparsity")
    return (W * (spectral_radius / radius)).astype(np.float32)
