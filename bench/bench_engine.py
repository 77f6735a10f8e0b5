"""Benchmark: one training step of small recurrent nets, the engine against hand numpy and PyTorch.

One step = forward over the whole sequence, softmax cross-entropy at every step, full BPTT,
the gradients of all parameters (no optimizer), float32, one BLAS thread. Contestants, timed
interleaved (round-robin repetitions) so that machine noise hits them all alike:

    engine         model code written from the library's public ops, as the catalog's models are:
                   a per-step loop for the recurrence; input projection and output head batched
    numpy/step     hand-written numpy forward + BPTT, one step at a time
    numpy/batched  hand-written numpy batching every time-independent matmul across steps
                   (the limit for any numpy engine); the ratios are given against this one
    torch          PyTorch eager built from the same primitives as the engine (when importable)
    tape           the engine's model code recorded once on a tinygrad_rnn.tape.Tape, replayed

Workloads (issue 2): W1 vanilla tanh RNN and W2 LSTM (T=50, B=32, D=64, H=128, 64 classes),
W4 tiny tanh RNN (T=20, B=1, D=16, H=16, 16 classes: pure per-op overhead).

Usage: python bench/bench_engine.py [--quick] [--workloads W1,W2,W4] [--reps N]
       [--keep-openblas-env] [--default-malloc]
"""

from __future__ import annotations

import os
import sys

# One BLAS thread for every contestant, set before numpy (or torch) loads its BLAS.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
# This machine pins OpenBLAS to its Haswell kernels (OPENBLAS_CORETYPE) because old OpenBLAS
# builds misbehave on the CPU; numpy's current OpenBLAS runs fine on its own pick (SkylakeX here,
# ~1.8x faster sgemm). Unsetting both here affects this process alone, never the tests.
_KEEP_BLAS_ENV = "--keep-openblas-env" in sys.argv
_BLAS_ENV_DROPPED = {}
if not _KEEP_BLAS_ENV:
    for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if _var in os.environ:
            _BLAS_ENV_DROPPED[_var] = os.environ.pop(_var)

import ctypes  # noqa: E402

# glibc's malloc hands big arrays back to the OS (mmap threshold, heap trim) and faults fresh
# pages in again on the next step, depending on the heap's history: the engine's step measured
# 4.0 or 7.7 ms (W1) with the same code. Pinning both thresholds, for every contestant alike,
# measures the code instead of the allocator's mood; --default-malloc keeps glibc's defaults.
_PIN_MALLOC = "--default-malloc" not in sys.argv
_MALLOC_PINNED = False
if _PIN_MALLOC and sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL("libc.so.6")
        _M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
        _MALLOC_PINNED = bool(_libc.mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024)
                              and _libc.mallopt(_M_TRIM_THRESHOLD, 512 * 1024 * 1024))
    except OSError:  # not glibc
        pass

import argparse  # noqa: E402
import glob  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

try:
    import resource
except ImportError:  # not on POSIX: no page-fault counts
    resource = None

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_rnn  # noqa: E402
from tinygrad_rnn import Tensor, stack  # noqa: E402
from tinygrad_rnn import functional as F  # noqa: E402

try:
    from tinygrad_rnn.nn import Parameter
except ImportError:  # nn not there yet: a Parameter is a Tensor that requires grad
    def Parameter(data):  # noqa: N802
        return Tensor(data, requires_grad=True)

try:
    import torch
    import torch.nn.functional as torch_F

    torch.set_num_threads(1)
except ImportError:
    torch = None


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "rnn" or "lstm"
    T: int
    B: int
    D: int
    H: int
    C: int


WORKLOADS = {
    "W1": Workload("W1", "rnn", T=50, B=32, D=64, H=128, C=64),
    "W2": Workload("W2", "lstm", T=50, B=32, D=64, H=128, C=64),
    "W4": Workload("W4", "rnn", T=20, B=1, D=16, H=16, C=16),
}


def make_problem(w: Workload, seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """float32 parameters (PyTorch's names and shapes), inputs X (T, B, D), targets Y (T, B)."""
    rng = np.random.default_rng(seed)

    def uniform(bound, *shape):
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    gates = 4 if w.kind == "lstm" else 1
    k = 1 / np.sqrt(w.H)
    params = {
        "U": uniform(k, gates * w.H, w.D),   # input -> hidden (weight_ih)
        "W": uniform(k, gates * w.H, w.H),   # hidden -> hidden (weight_hh)
        "b": uniform(k, gates * w.H),        # bias_ih
        "b2": uniform(k, gates * w.H),       # bias_hh
        "V": uniform(k, w.C, w.H),           # hidden -> output
        "c": uniform(k, w.C),
    }
    X = rng.normal(size=(w.T, w.B, w.D)).astype(np.float32)
    Y = rng.integers(0, w.C, size=(w.T, w.B))
    return params, X, Y


# ------------------------------------------------------------------------------------ the engine


def engine_rnn(p: dict, X: Tensor, Y: Tensor) -> Tensor:
    """h(t) = tanh(b + W h(t-1) + U x(t)), o(t) = c + V h(t) (DL book 10.8-10.10)."""
    T, B, D = X.shape
    H = p["W"].shape[0]
    # the input projection of every step at once; PyTorch-style bias_ih + bias_hh summed once
    xw = (X.reshape(T * B, D) @ p["U"].T + (p["b"] + p["b2"])).reshape(T, B, H)
    W_T = p["W"].T
    h = Tensor(np.zeros((B, H), dtype=np.float32))
    hs = []
    for t in range(T):
        h = (xw[t] + h @ W_T).tanh()
        hs.append(h)
    logits = stack(hs) @ p["V"].T + p["c"]
    return F.cross_entropy(logits, Y)


def engine_lstm(p: dict, X: Tensor, Y: Tensor) -> Tensor:
    """An LSTM with PyTorch's gate order i, f, g, o, and a linear head at every step."""
    T, B, D = X.shape
    H = p["W"].shape[1]
    xw = (X.reshape(T * B, D) @ p["U"].T + (p["b"] + p["b2"])).reshape(T, B, 4 * H)
    W_T = p["W"].T
    h = Tensor(np.zeros((B, H), dtype=np.float32))
    c = Tensor(np.zeros((B, H), dtype=np.float32))
    hs = []
    for t in range(T):
        gates = xw[t] + h @ W_T
        i = gates[:, :H].sigmoid()
        f = gates[:, H:2 * H].sigmoid()
        g = gates[:, 2 * H:3 * H].tanh()
        o = gates[:, 3 * H:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        hs.append(h)
    logits = stack(hs) @ p["V"].T + p["c"]
    return F.cross_entropy(logits, Y)


def make_engine(w: Workload, params: dict, X: np.ndarray, Y: np.ndarray):
    p = {name: Parameter(value.copy()) for name, value in params.items()}
    X_t, Y_t = Tensor(X), Tensor(Y)
    model = engine_lstm if w.kind == "lstm" else engine_rnn

    def step():
        for param in p.values():
            param.grad = None
        loss = model(p, X_t, Y_t)
        loss.backward()
        return {name: param.grad for name, param in p.items()}

    def record():
        return model(p, X_t, Y_t)

    return step, record


def make_taped(w: Workload, params: dict, X: np.ndarray, Y: np.ndarray):
    """The engine's model code recorded once on a tinygrad_rnn.tape.Tape, then replayed."""
    from tinygrad_rnn.tape import Tape

    p = {name: Parameter(value.copy()) for name, value in params.items()}
    X_t, Y_t = Tensor(X), Tensor(Y)
    model = engine_lstm if w.kind == "lstm" else engine_rnn
    tape = Tape(lambda x, y: model(p, x, y), X_t, Y_t)

    def step():
        for param in p.values():
            param.grad = None
        tape.replay(X_t, Y_t)
        return {name: param.grad for name, param in p.items()}

    return step


def count_nodes(root: Tensor) -> tuple[int, int]:
    """(recorded op nodes, all nodes incl. leaves and constants) reachable from root."""
    seen = {root.id}
    stack_ = [root]
    ops_ = 0
    while stack_:
        node = stack_.pop()
        ops_ += node.op is not None
        for parent in node.parents:
            if parent.id not in seen:
                seen.add(parent.id)
                stack_.append(parent)
    return ops_, len(seen)


# ------------------------------------------------------------------------------ hand-written numpy


def _softmax_ce_grad(logits: np.ndarray, y: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over n targets and its gradient wrt logits (rows = targets)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    z = e.sum(axis=-1, keepdims=True)
    rows = np.arange(len(y))
    loss = -(shifted[rows, y] - np.log(z[:, 0])).sum() / n
    d = e / z
    d[rows, y] -= 1
    d /= n
    return loss, d


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def numpy_rnn_per_step(p: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """Forward and BPTT one step at a time, every matmul per step."""
    U, W, b, V, c = p["U"], p["W"], p["b"] + p["b2"], p["V"], p["c"]
    T, B, _ = X.shape
    n = T * B
    hs = [np.zeros((B, W.shape[0]), dtype=np.float32)]
    douts = []
    for t in range(T):
        hs.append(np.tanh(X[t] @ U.T + hs[-1] @ W.T + b))
        _, d = _softmax_ce_grad(hs[-1] @ V.T + c, Y[t], n)
        douts.append(d)
    g = {k: np.zeros_like(v) for k, v in p.items()}
    dh_next = np.zeros_like(hs[0])
    for t in reversed(range(T)):
        do = douts[t]
        g["V"] += do.T @ hs[t + 1]
        g["c"] += do.sum(axis=0)
        da = (do @ V + dh_next) * (1 - hs[t + 1] * hs[t + 1])
        g["U"] += da.T @ X[t]
        g["W"] += da.T @ hs[t]
        g["b"] += da.sum(axis=0)
        dh_next = da @ W
    g["b2"] = g["b"].copy()
    return g


def numpy_rnn_batched(p: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """Only the recurrence runs per step; every time-independent matmul covers all steps."""
    U, W, b, V, c = p["U"], p["W"], p["b"] + p["b2"], p["V"], p["c"]
    T, B, D = X.shape
    H = W.shape[0]
    xw = (X.reshape(T * B, D) @ U.T + b).reshape(T, B, H)
    hs = np.zeros((T + 1, B, H), dtype=np.float32)  # hs[0] = h(0)
    W_T = W.T
    for t in range(T):
        hs[t + 1] = np.tanh(xw[t] + hs[t] @ W_T)
    h_all = hs[1:].reshape(T * B, H)
    _, do = _softmax_ce_grad(h_all @ V.T + c, Y.reshape(-1), T * B)
    dh_out = (do @ V).reshape(T, B, H)
    da = np.empty((T, B, H), dtype=np.float32)
    dh_next = np.zeros((B, H), dtype=np.float32)
    for t in reversed(range(T)):
        da[t] = (dh_out[t] + dh_next) * (1 - hs[t + 1] * hs[t + 1])
        dh_next = da[t] @ W
    da2 = da.reshape(T * B, H)
    gb = da2.sum(axis=0)
    return {"U": da2.T @ X.reshape(T * B, D), "W": da2.T @ hs[:-1].reshape(T * B, H),
            "b": gb, "b2": gb.copy(), "V": do.T @ h_all, "c": do.sum(axis=0)}


def numpy_lstm_per_step(p: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """LSTM (gates i, f, g, o) forward and BPTT one step at a time."""
    U, W, b, V, c_out = p["U"], p["W"], p["b"] + p["b2"], p["V"], p["c"]
    T, B, _ = X.shape
    H = W.shape[1]
    n = T * B
    hs = [np.zeros((B, H), dtype=np.float32)]
    cs = [np.zeros((B, H), dtype=np.float32)]
    saved = []
    for t in range(T):
        gates = X[t] @ U.T + hs[-1] @ W.T + b
        i, f = _sigmoid(gates[:, :H]), _sigmoid(gates[:, H:2 * H])
        g, o = np.tanh(gates[:, 2 * H:3 * H]), _sigmoid(gates[:, 3 * H:])
        cs.append(f * cs[-1] + i * g)
        tc = np.tanh(cs[-1])
        hs.append(o * tc)
        _, d = _softmax_ce_grad(hs[-1] @ V.T + c_out, Y[t], n)
        saved.append((i, f, g, o, tc, d))
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    dh_next = np.zeros((B, H), dtype=np.float32)
    dc_next = np.zeros((B, H), dtype=np.float32)
    for t in reversed(range(T)):
        i, f, g, o, tc, do = saved[t]
        grads["V"] += do.T @ hs[t + 1]
        grads["c"] += do.sum(axis=0)
        dh = do @ V + dh_next
        dc = dh * o * (1 - tc * tc) + dc_next
        dgates = np.concatenate([dc * g * i * (1 - i), dc * cs[t] * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
        grads["U"] += dgates.T @ X[t]
        grads["W"] += dgates.T @ hs[t]
        grads["b"] += dgates.sum(axis=0)
        dh_next = dgates @ W
        dc_next = dc * f
    grads["b2"] = grads["b"].copy()
    return grads


def numpy_lstm_batched(p: dict, X: np.ndarray, Y: np.ndarray) -> dict:
    """LSTM with the input projection, head and weight gradients batched over all steps."""
    U, W, b, V, c_out = p["U"], p["W"], p["b"] + p["b2"], p["V"], p["c"]
    T, B, D = X.shape
    H = W.shape[1]
    xw = (X.reshape(T * B, D) @ U.T + b).reshape(T, B, 4 * H)
    hs = np.zeros((T + 1, B, H), dtype=np.float32)
    cs = np.zeros((T + 1, B, H), dtype=np.float32)
    acts = np.empty((T, B, 4 * H), dtype=np.float32)  # i, f, g, o after their nonlinearity
    tcs = np.empty((T, B, H), dtype=np.float32)
    W_T = W.T
    for t in range(T):
        gates = xw[t] + hs[t] @ W_T
        a = acts[t]
        a[:, :2 * H] = _sigmoid(gates[:, :2 * H])
        a[:, 2 * H:3 * H] = np.tanh(gates[:, 2 * H:3 * H])
        a[:, 3 * H:] = _sigmoid(gates[:, 3 * H:])
        cs[t + 1] = a[:, H:2 * H] * cs[t] + a[:, :H] * a[:, 2 * H:3 * H]
        tcs[t] = np.tanh(cs[t + 1])
        hs[t + 1] = a[:, 3 * H:] * tcs[t]
    h_all = hs[1:].reshape(T * B, H)
    _, do = _softmax_ce_grad(h_all @ V.T + c_out, Y.reshape(-1), T * B)
    dh_out = (do @ V).reshape(T, B, H)
    dgates = np.empty((T, B, 4 * H), dtype=np.float32)
    dh_next = np.zeros((B, H), dtype=np.float32)
    dc_next = np.zeros((B, H), dtype=np.float32)
    for t in reversed(range(T)):
        a, tc = acts[t], tcs[t]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh = dh_out[t] + dh_next
        dc = dh * o * (1 - tc * tc) + dc_next
        dg = dgates[t]
        dg[:, :H] = dc * g * i * (1 - i)
        dg[:, H:2 * H] = dc * cs[t] * f * (1 - f)
        dg[:, 2 * H:3 * H] = dc * i * (1 - g * g)
        dg[:, 3 * H:] = dh * tc * o * (1 - o)
        dh_next = dg @ W
        dc_next = dc * f
    dg2 = dgates.reshape(T * B, 4 * H)
    gb = dg2.sum(axis=0)
    return {"U": dg2.T @ X.reshape(T * B, D), "W": dg2.T @ hs[:-1].reshape(T * B, H),
            "b": gb, "b2": gb.copy(), "V": do.T @ h_all, "c": do.sum(axis=0)}


def make_numpy(w: Workload, params: dict, X: np.ndarray, Y: np.ndarray, batched: bool):
    if w.kind == "lstm":
        fn = numpy_lstm_batched if batched else numpy_lstm_per_step
    else:
        fn = numpy_rnn_batched if batched else numpy_rnn_per_step
    return lambda: fn(params, X, Y)


# ----------------------------------------------------------------------------------- PyTorch eager


def make_torch(w: Workload, params: dict, X: np.ndarray, Y: np.ndarray):
    """The engine's model code, line for line, in PyTorch eager."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    X_t, Y_t = torch.from_numpy(X), torch.from_numpy(Y).long()
    T, B, D = X.shape

    def rnn():
        H = p["W"].shape[0]
        xw = (X_t.reshape(T * B, D) @ p["U"].T + (p["b"] + p["b2"])).reshape(T, B, H)
        W_T = p["W"].T
        h = torch.zeros(B, H)
        hs = []
        for t in range(T):
            h = (xw[t] + h @ W_T).tanh()
            hs.append(h)
        return torch_F.cross_entropy((torch.stack(hs) @ p["V"].T + p["c"]).reshape(T * B, -1),
                                     Y_t.reshape(-1))

    def lstm():
        H = p["W"].shape[1]
        xw = (X_t.reshape(T * B, D) @ p["U"].T + (p["b"] + p["b2"])).reshape(T, B, 4 * H)
        W_T = p["W"].T
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        hs = []
        for t in range(T):
            gates = xw[t] + h @ W_T
            i = gates[:, :H].sigmoid()
            f = gates[:, H:2 * H].sigmoid()
            g = gates[:, 2 * H:3 * H].tanh()
            o = gates[:, 3 * H:].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            hs.append(h)
        return torch_F.cross_entropy((torch.stack(hs) @ p["V"].T + p["c"]).reshape(T * B, -1),
                                     Y_t.reshape(-1))

    model = lstm if w.kind == "lstm" else rnn

    def step():
        for param in p.values():
            param.grad = None
        model().backward()
        return {k: v.grad.numpy() for k, v in p.items()}

    return step


# ------------------------------------------------------------------------------------ the harness


def check_grads(name: str, got: dict, want: dict, workload: str) -> None:
    """got's gradients equal the engine's (want) to float32 accuracy, or AssertionError."""
    for key, ref in want.items():
        scale = float(np.abs(ref).max()) or 1.0
        np.testing.assert_allclose(got[key], ref, rtol=1e-3, atol=1e-4 * scale,
                                   err_msg=f"{workload}: {name} gradient of {key} differs "
                                           f"from the engine's")


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt if resource is not None else 0


def time_round_robin(contestants: dict, reps: int, inner: int) -> tuple[dict, dict]:
    """Median seconds per call of each contestant, the contestants taking turns each repetition,
    and the minor page faults per call (fresh memory from the OS, see the malloc note on top)."""
    samples = {name: [] for name in contestants}
    faults = dict.fromkeys(contestants, 0)
    for _ in range(reps):
        for name, fn in contestants.items():
            faults_before = _minor_faults()
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
            faults[name] += _minor_faults() - faults_before
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return medians, {name: count / (reps * inner) for name, count in faults.items()}


def blas_info() -> str:
    """OpenBLAS's config and the kernel it actually runs (read from numpy's bundled library)."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                  "libscipy_openblas*"))
    for path in libs:
        lib = ctypes.CDLL(path)
        for suffix in ("64_", ""):
            corename = getattr(lib, f"scipy_openblas_get_corename{suffix}", None)
            config = getattr(lib, f"scipy_openblas_get_config{suffix}", None)
            if corename is not None and config is not None:
                corename.restype = config.restype = ctypes.c_char_p
                return f"{config().decode()} (kernel in use: {corename().decode()})"
    return "unknown (not numpy's bundled scipy-openblas)"


def run_workload(w: Workload, reps: int) -> dict:
    params, X, Y = make_problem(w)
    engine_step, engine_record = make_engine(w, params, X, Y)
    contestants = {
        "engine": engine_step,
        "numpy/step": make_numpy(w, params, X, Y, batched=False),
        "numpy/batched": make_numpy(w, params, X, Y, batched=True),
        "tape": make_taped(w, params, X, Y),
    }
    if torch is not None:
        contestants["torch"] = make_torch(w, params, X, Y)

    reference = engine_step()
    for name, fn in contestants.items():
        if name != "engine":
            check_grads(name, fn(), reference, w.name)

    ops_, nodes = count_nodes(engine_record())
    # warm up, then size the inner loop so one sample of the engine lasts ~20 ms
    for fn in contestants.values():
        fn()
    start = time.perf_counter()
    engine_step()
    inner = max(1, int(0.02 / (time.perf_counter() - start)))
    medians, faults = time_round_robin(contestants, reps, inner)
    return {"medians": medians, "faults": faults, "ops_per_step": ops_ / w.T,
            "nodes_per_step": nodes / w.T, "inner": inner}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--workloads", default="W1,W2,W4", help="comma-separated, e.g. W1,W4")
    parser.add_argument("--reps", type=int, default=None, help="round-robin repetitions")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as the shell sets them")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc thresholds alone (timings swing with the heap)")
    args = parser.parse_args(argv)
    names = [n.strip().upper() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(WORKLOADS)}")
    reps = args.reps or (5 if args.quick else 21)

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch is not None else 'not installed'}, "
          f"tinygrad_rnn {getattr(tinygrad_rnn, '__version__', '?')}")
    print(f"BLAS: {blas_info()}, 1 thread")
    dropped = ", ".join(f"{k}={v}" for k, v in _BLAS_ENV_DROPPED.items())
    print(f"OpenBLAS env: {'unset for this run: ' + dropped if dropped else 'as inherited'}")
    pinned = "mmap/trim thresholds pinned (32 MiB / 512 MiB)"
    print(f"malloc: {pinned if _MALLOC_PINNED else 'glibc defaults'}")
    print(f"repetitions: {reps} round-robin, median ms per training step\n")

    columns = ["engine", "tape", "numpy/step", "numpy/batched", "torch"]
    header = f"{'workload':<10}" + "".join(f"{c:>15}" for c in columns) + f"{'ops/step':>10}"
    print(header)
    print("-" * len(header))
    results = {}
    for name in names:
        w = WORKLOADS[name]
        result = run_workload(w, reps)
        results[name] = result
        med = result["medians"]
        base = med["numpy/batched"]
        cells = []
        for c in columns:
            cells.append(f"{med[c] * 1e3:9.3f} ms" if c in med else f"{'skipped':>12}")
        print(f"{name:<10}" + "".join(f"{c:>15}" for c in cells)
              + f"{result['ops_per_step']:>10.1f}")
        ratios = [f"{med[c] / base:13.2f}x" if c in med else f"{'-':>14}" for c in columns]
        print(f"{'  ratio':<10}" + "".join(f"{r:>15}" for r in ratios))
        faults = [f"{result['faults'][c]:14.0f}" if c in med else f"{'-':>14}" for c in columns]
        print(f"{'  faults':<10}" + "".join(f"{f:>15}" for f in faults))
    print("\nratio = median / median of numpy/batched in the same interleaved run; "
          "faults = minor page faults per step")
    for name, result in results.items():
        med = result["medians"]
        target = 8.0 if name == "W4" else 1.5
        engine_ratio = med["engine"] / med["numpy/batched"]
        verdict = f"engine {engine_ratio:.2f}x numpy/batched (target <= {target}x: " \
                  f"{'met' if engine_ratio <= target else 'NOT met'}), tape " \
                  f"{med['tape'] / med['numpy/batched']:.2f}x"
        if "torch" in med:
            faster = med["engine"] < med["torch"]
            verdict += f"; engine/torch {med['engine'] / med['torch']:.2f} " \
                       f"({'faster' if faster else 'NOT faster'})"
        print(f"{name}: {verdict}; {result['ops_per_step']:.1f} recorded ops/step, "
              f"{result['nodes_per_step']:.1f} nodes/step incl. leaves")


if __name__ == "__main__":
    main()
