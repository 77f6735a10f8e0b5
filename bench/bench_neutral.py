"""Benchmark: ONE program text run by the engine and by PyTorch eager, and hand numpy doing the
same per-step work (issue 14, target 1).

The program (`rnn_program`, `lstm_program` below) is written once against the methods both
engines share (`@`, `+`, `*`, `.tanh()`, `.sigmoid()`, `.log_softmax(-1)`, `.sum()`, slicing);
the only thing that differs is the tensor each backend makes from numpy (`lib.tensor`,
`lib.param`). At every step: a = x(t) @ U + h @ W + b, h = tanh(a) (LSTM: gates from the same
affine map), o = h @ V + c, log_softmax, multiply by the one-hot target, sum; the loss is minus
the total over T * B. Nothing is batched across steps, for anyone: the hand-written numpy does
exactly these per-step matmuls forward and backward (`numpy_rnn`, `numpy_lstm`). "tape" is the
engine's same program recorded once on a `tinygrad_rnn.tape.Tape` and replayed (same bits).

One training step = that forward, full BPTT, every parameter's gradient (no optimizer); float32,
one BLAS thread, the contestants interleaved (round-robin repetitions), medians and the spread
(min-max of the per-repetition samples) in ms. Gradients of numpy and torch are checked against
the engine's before timing.

Usage: python bench/bench_neutral.py [--reps N] [--workloads rnn,lstm,tiny] [--keep-openblas-env]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# bench_engine sets one BLAS thread, drops this machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE pin
# (unless --keep-openblas-env) and pins malloc's thresholds, all before numpy loads
import bench_engine as harness  # noqa: E402

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_rnn import Tensor  # noqa: E402
from tinygrad_rnn.nn import Parameter  # noqa: E402

torch = harness.torch

WORKLOADS = {  # name: (kind, T, B, D, H, C)
    "rnn": ("rnn", 50, 32, 64, 128, 64),
    "lstm": ("lstm", 50, 32, 64, 128, 64),
    "tiny": ("rnn", 20, 1, 16, 16, 16),
}


# ---------------------------------------------------------------- the program, written once


def rnn_program(p, xs, onehots, h0):
    """The tanh RNN: p holds U (D, H), W (H, H), b (H,), V (H, C), c (C,)."""
    h, total = h0, None
    for x, y in zip(xs, onehots):
        h = (x @ p.U + h @ p.W + p.b).tanh()
        picked = ((h @ p.V + p.c).log_softmax(-1) * y).sum()
        total = picked if total is None else total + picked
    return total * (-1.0 / (len(xs) * h0.shape[0]))


def lstm_program(p, xs, onehots, h0):
    """The LSTM (gates i, f, g, o): U (D, 4H), W (H, 4H), b (4H,), V (H, C), c (C,)."""
    H = h0.shape[1]
    h = c = h0
    total = None
    for x, y in zip(xs, onehots):
        gates = x @ p.U + h @ p.W + p.b
        i = gates[:, :H].sigmoid()
        f = gates[:, H:2 * H].sigmoid()
        g = gates[:, 2 * H:3 * H].tanh()
        o = gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        picked = ((h @ p.V + p.c).log_softmax(-1) * y).sum()
        total = picked if total is None else total + picked
    return total * (-1.0 / (len(xs) * h0.shape[0]))


PROGRAMS = {"rnn": rnn_program, "lstm": lstm_program}


def make_problem(kind: str, T: int, B: int, D: int, H: int, C: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    G = 4 if kind == "lstm" else 1
    k = 1 / np.sqrt(H)

    def uniform(*shape):
        return rng.uniform(-k, k, size=shape).astype(np.float32)

    params = {"U": uniform(D, G * H), "W": uniform(H, G * H), "b": uniform(G * H),
              "V": uniform(H, C), "c": uniform(C)}
    X = rng.normal(size=(T, B, D)).astype(np.float32)
    Y = np.eye(C, dtype=np.float32)[rng.integers(0, C, size=(T, B))]
    return params, X, Y


def make_taped(kind, params, X, Y):
    """The engine's program recorded once on a Tape (tinygrad_rnn.tape), then replayed."""
    from tinygrad_rnn.tape import Tape

    program = PROGRAMS[kind]
    p = SimpleNamespace(**{k: Parameter(v.copy()) for k, v in params.items()})
    T = X.shape[0]
    inputs = [Tensor(X[t]) for t in range(T)] + [Tensor(Y[t]) for t in range(T)]
    h0 = Tensor(np.zeros((X.shape[1], params["W"].shape[0]), dtype=np.float32))
    tape = Tape(lambda *a: program(p, a[:T], a[T:], h0), *inputs)

    def step():
        for name in params:
            getattr(p, name).grad = None
        tape.replay(*inputs)
        return {name: getattr(p, name).grad for name in params}

    return step


def make_backend(kind, params, X, Y, lib):
    """A step() for the program on one backend: lib.param / lib.tensor make its tensors."""
    program = PROGRAMS[kind]
    p = SimpleNamespace(**{k: lib.param(v.copy()) for k, v in params.items()})
    xs = [lib.tensor(X[t]) for t in range(X.shape[0])]  # the inputs, as given: no grad
    ys = [lib.tensor(Y[t]) for t in range(Y.shape[0])]
    h0 = lib.tensor(np.zeros((X.shape[1], params["W"].shape[0]), dtype=np.float32))

    def step():
        for name in params:
            getattr(p, name).grad = None
        program(p, xs, ys, h0).backward()
        return {name: lib.numpy(getattr(p, name).grad) for name in params}

    return step


ENGINE = SimpleNamespace(param=Parameter, tensor=Tensor, numpy=lambda g: g)
TORCH = None if torch is None else SimpleNamespace(
    param=lambda a: torch.tensor(a, requires_grad=True), tensor=torch.from_numpy,
    numpy=lambda g: g.numpy())


# ---------------------------------------------------- hand numpy: the same per-step graph


def _log_softmax(o):
    shifted = o - o.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def numpy_rnn(params, X, Y):
    U, W, b, V, c = (params[k] for k in "UWbVc")
    T, B, _ = X.shape
    scale = -1.0 / (T * B)
    hs = [np.zeros((B, W.shape[0]), dtype=np.float32)]
    lsm = []
    for t in range(T):
        hs.append(np.tanh(X[t] @ U + hs[-1] @ W + b))
        lsm.append(_log_softmax(hs[-1] @ V + c))
    g = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(T)):
        gy = Y[t] * np.float32(scale)  # d loss / d log_softmax
        do = gy - np.exp(lsm[t]) * gy.sum(axis=-1, keepdims=True)
        g["V"] += hs[t + 1].T @ do
        g["c"] += do.sum(axis=0)
        da = (do @ V.T + dh_next) * (1 - hs[t + 1] * hs[t + 1])
        g["U"] += X[t].T @ da
        g["W"] += hs[t].T @ da
        g["b"] += da.sum(axis=0)
        dh_next = da @ W.T
    return g


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm(params, X, Y):
    U, W, b, V, c_out = (params[k] for k in "UWbVc")
    T, B, _ = X.shape
    H = W.shape[0]
    scale = -1.0 / (T * B)
    hs = [np.zeros((B, H), dtype=np.float32)]
    cs = [hs[0]]
    saved = []
    for t in range(T):
        gates = X[t] @ U + hs[-1] @ W + b
        i, f = _sigmoid(gates[:, :H]), _sigmoid(gates[:, H:2 * H])
        g, o = np.tanh(gates[:, 2 * H:3 * H]), _sigmoid(gates[:, 3 * H:])
        cs.append(f * cs[-1] + i * g)
        tc = np.tanh(cs[-1])
        hs.append(o * tc)
        saved.append((i, f, g, o, tc, _log_softmax(hs[-1] @ V + c_out)))
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros((B, H), dtype=np.float32)
    dc_next = np.zeros((B, H), dtype=np.float32)
    for t in reversed(range(T)):
        i, f, g, o, tc, lsm = saved[t]
        gy = Y[t] * np.float32(scale)
        do = gy - np.exp(lsm) * gy.sum(axis=-1, keepdims=True)
        grads["V"] += hs[t + 1].T @ do
        grads["c"] += do.sum(axis=0)
        dh = do @ V.T + dh_next
        dc = dh * o * (1 - tc * tc) + dc_next
        dgates = np.concatenate([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        grads["U"] += X[t].T @ dgates
        grads["W"] += hs[t].T @ dgates
        grads["b"] += dgates.sum(axis=0)
        dh_next = dgates @ W.T
        dc_next = dc * f
    return grads


NUMPY = {"rnn": numpy_rnn, "lstm": numpy_lstm}


# ------------------------------------------------------------------------------ harness


def time_interleaved(contestants: dict, reps: int, inner: int) -> dict:
    """Per (contestant, clock): the per-call seconds of each repetition by wall time and by
    process CPU time (what a shared machine's load disturbs least), contestants taking turns."""
    samples = {}
    for _ in range(reps):
        for name, fn in contestants.items():
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(inner):
                fn()
            samples.setdefault((name, "wall"), []).append((time.perf_counter() - start) / inner)
            samples.setdefault((name, "cpu"), []).append((time.process_time() - cpu) / inner)
    return samples


def peak_bytes(fn) -> int:
    """Peak bytes traced while fn() runs (numpy reports its arrays to tracemalloc), the result
    dropped; what the call holds at its high-water mark: the record, saved arrays, gradients."""
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def memory(name: str) -> dict:
    kind, T, B, D, H, C = WORKLOADS[name]
    params, X, Y = make_problem(kind, T, B, D, H, C)
    out = {"engine": peak_bytes(make_backend(kind, params, X, Y, ENGINE)),
           "numpy": peak_bytes(lambda: NUMPY[kind](params, X, Y))}
    # (PyTorch allocates outside Python's allocator: tracemalloc cannot see it, so no figure)
    return out


def run(name: str, reps: int) -> dict:
    kind, T, B, D, H, C = WORKLOADS[name]
    params, X, Y = make_problem(kind, T, B, D, H, C)
    contestants = {"engine": make_backend(kind, params, X, Y, ENGINE),
                   "numpy": lambda: NUMPY[kind](params, X, Y),
                   "tape": make_taped(kind, params, X, Y)}
    if TORCH is not None:
        contestants["torch"] = make_backend(kind, params, X, Y, TORCH)
    reference = contestants["engine"]()
    for other, fn in contestants.items():
        if other != "engine":
            harness.check_grads(other, fn(), reference, name)
    for fn in contestants.values():
        fn()
    start = time.perf_counter()
    contestants["engine"]()
    inner = max(1, int(0.02 / (time.perf_counter() - start)))
    return time_interleaved(contestants, reps, inner)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--workloads", default="rnn,lstm,tiny")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--default-malloc", action="store_true")
    parser.add_argument("--memory", action="store_true",
                        help="peak traced memory of one training step instead of timings")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            parser.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"BLAS: {harness.blas_info()}, 1 thread")
    dropped = ", ".join(f"{k}={v}" for k, v in harness._BLAS_ENV_DROPPED.items())
    print(f"OpenBLAS env: {'unset for this run: ' + dropped if dropped else 'as inherited'}; "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.memory:
        for name in names:
            peaks = memory(name)
            print(f"{name}: peak traced memory of one step: engine {peaks['engine'] / 2**20:.2f} "
                  f"MiB, hand numpy {peaks['numpy'] / 2**20:.2f} MiB, engine/numpy "
                  f"{peaks['engine'] / peaks['numpy']:.2f}")
        return
    print(f"{args.reps} interleaved repetitions; median ms per training step [min-max], by "
          f"process CPU time and by wall time\n")
    for name in names:
        samples = run(name, args.reps)
        kind, T, B, D, H, C = WORKLOADS[name]
        print(f"{name} ({kind} T={T} B={B} D={D} H={H} C={C})")
        for clock in ("cpu", "wall"):
            med = {who: statistics.median(v) for (who, c), v in samples.items() if c == clock}
            cells = []
            for who, m in med.items():
                v = samples[(who, clock)]
                cells.append(f"{who} {m * 1e3:.3f} ms [{min(v) * 1e3:.3f}-{max(v) * 1e3:.3f}]")
            verdict = (f"engine/numpy {med['engine'] / med['numpy']:.2f}, "
                       f"tape/numpy {med['tape'] / med['numpy']:.2f}")
            if "torch" in med:
                verdict += (f", engine/torch {med['engine'] / med['torch']:.2f} "
                            f"({'faster' if med['engine'] < med['torch'] else 'NOT faster'}), "
                            f"tape/torch {med['tape'] / med['torch']:.2f}")
            print(f"  {clock:<4}  " + "; ".join(cells) + f"\n        {verdict}")
        print()


if __name__ == "__main__":
    main()
