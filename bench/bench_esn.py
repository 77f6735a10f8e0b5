"""Echo state network on Mackey-Glass: this engine's `esn` against ReservoirPy, side by side.

    bench/.venv-esn/bin/python bench/bench_esn.py          # both (ReservoirPy in its own venv)
    .venv/bin/python bench/bench_esn.py                    # the engine alone, if it is missing

ReservoirPy is never a dependency of the package. To install it for this script only:
    python3 -m venv bench/.venv-esn
    bench/.venv-esn/bin/pip install reservoirpy numpy threadpoolctl

Protocol, the same for both: the series of tinygrad_rnn.tasks.mackey_glass (tau = 17, RK4 with
dt = 0.1, scaled to [-1, 1]); train on x = s[0:2100], y = s[h:2100 + h], the first 100 steps a
washout, so 2000 training points; test on the next 1100 samples of the test split, from a
zero state, scoring the 1000 after a washout of 100. Settings: leak 0.3, spectral radius 1.25,
ridge 1e-6, units 100 and 500, horizons 1, 10 and 50; everything else each library's default
(ReservoirPy: W normal with 10 % connectivity, W_in +-1 with 10 % connectivity, no bias; here:
W normal with 90 % sparsity, W_in +-1 dense, no bias). ReservoirPy runs twice: with its
defaults, and with input_connectivity=1 (a dense W_in, as here). NRMSE: RMSE / (max - min) of
the targets (ReservoirPy's default normalisation). Build time: drawing the matrices and
rescaling W to the spectral radius (an eigenvalue problem; ReservoirPy's `initialize`, which
its `fit` would otherwise do first). Fit time: running the reservoir over the 2100 training
steps + solving the ridge regression. All timed in this process, interleaved (the order
rotates per repeat), with the same numpy, BLAS and thread count; medians are reported.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time

THREADS = os.environ.get("BENCH_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS  # the same for both libraries, set before numpy loads

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygrad_rnn import manual_seed, optim  # noqa: E402
from tinygrad_rnn.models.esn import EchoStateNetwork  # noqa: E402
from tinygrad_rnn.tasks.mackey_glass import MackeyGlassTask, nrmse  # noqa: E402
from tinygrad_rnn.training import fit_readout_gd  # noqa: E402

TRAIN, WASHOUT, TEST = 2000, 100, 1000
LEAK, RADIUS, RIDGE = 0.3, 1.25, 1e-6

try:
    import reservoirpy
    from reservoirpy.nodes import Reservoir, Ridge
except ImportError:
    reservoirpy = None


def blas_name() -> str:
    """The BLAS numpy calls, as threadpoolctl reports it (internal API, version, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i['internal_api']} {i.get('version')} ({i.get('architecture')}), "
                     f"{i['num_threads']} thread(s)" for i in blas) or "none found"


def splits(horizon: int) -> tuple:
    """(x_train, y_train, x_test, y_test) as (T, 1) float64 arrays."""
    task = MackeyGlassTask(horizon=horizon, washout=WASHOUT)
    s = task.series()
    n = WASHOUT + TRAIN
    start = task.split_range("test")[0]
    m = WASHOUT + TEST
    return (s[:n, None], s[horizon:n + horizon, None], s[start:start + m, None],
            s[start + horizon:start + m + horizon, None])


def engine_fit(units: int, seed: int, data: tuple) -> tuple:
    """(build seconds, fit seconds, test NRMSE, model, training states) of this engine's esn."""
    x, y, x_test, y_test = data
    begin = time.perf_counter()
    model = EchoStateNetwork(1, 1, units, spectral_radius=RADIUS, leak=LEAK, ridge=RIDGE,
                             seed=seed)
    built = time.perf_counter()
    states = model.reservoir_states(x[:, None, :])[WASHOUT:, 0]
    model.fit_ridge(states, y[WASHOUT:])
    done = time.perf_counter()
    return built - begin, done - built, _engine_nrmse(model, x_test, y_test), model, states


def _engine_nrmse(model, x_test, y_test) -> float:
    test_states = model.reservoir_states(x_test[:, None, :])[WASHOUT:, 0]
    pred = test_states @ model.V.data.T.astype(np.float64) + model.c.data
    return nrmse(pred, y_test[WASHOUT:])


def reservoirpy_fit(units: int, seed: int, data: tuple, dense: bool = False) -> tuple:
    """(build seconds, fit seconds, test NRMSE) of ReservoirPy's Reservoir >> Ridge."""
    x, y, x_test, y_test = data
    begin = time.perf_counter()
    extra = {"input_connectivity": 1.0} if dense else {}
    reservoir = Reservoir(units, lr=LEAK, sr=RADIUS, seed=seed, **extra)
    model = reservoir >> Ridge(ridge=RIDGE)
    model.initialize(x, y)
    built = time.perf_counter()
    model.fit(x, y, warmup=WASHOUT)
    done = time.perf_counter()
    reservoir.reset()  # the test run starts from a zero state, as the engine's
    pred = model.run(x_test)
    return built - begin, done - built, nrmse(pred[WASHOUT:], y_test[WASHOUT:])


def gd_nrmse(model, states, data, iters: int, lr: float) -> float:
    """Test NRMSE after refitting the same model's readout by Adam (the engine's autograd)."""
    manual_seed(0)
    model.V.data[...] = 0.0
    model.c.data[...] = 0.0
    opt = optim.Adam(model.parameters(), lr=lr)
    fit_readout_gd(model, states, data[1][WASHOUT:], opt, iters)
    return _engine_nrmse(model, data[2], data[3])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed fits per setting")
    parser.add_argument("--seeds", type=int, default=3, help="reservoir draws per setting")
    parser.add_argument("--units", default="100,500")
    parser.add_argument("--horizons", default="1,10,50")
    parser.add_argument("--gd-iters", type=int, default=3000,
                        help="Adam steps of the gradient-descent readout (0: skip it)")
    parser.add_argument("--gd-lr", type=float, default=1e-2)
    args = parser.parse_args(argv)
    units = [int(u) for u in args.units.split(",")]
    horizons = [int(h) for h in args.horizons.split(",")]
    print(f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}, "
          f"BLAS: {blas_name()} (BENCH_THREADS={THREADS})")
    if reservoirpy is None:
        print("reservoirpy is NOT installed in this Python: timing the engine alone. To "
              "compare, install it in a separate venv (never into the package's):\n"
              "  python3 -m venv bench/.venv-esn && bench/.venv-esn/bin/pip install "
              "reservoirpy numpy threadpoolctl\n  bench/.venv-esn/bin/python bench/bench_esn.py")
    else:
        print(f"reservoirpy {reservoirpy.__version__}")
    print(f"{TRAIN} training points after a washout of {WASHOUT}; test NRMSE over {TEST} "
          f"points; median over {args.seeds} reservoir seeds x {args.repeats} repeats")
    names = ["engine"] + (["ReservoirPy", "ReservoirPy dense W_in"] if reservoirpy else [])
    header = ["units", "h"]
    for name in names:
        header += [f"{name} NRMSE", f"{name} build s", f"{name} fit s"]
    if args.gd_iters:
        header += [f"seed 0: engine gd NRMSE ({args.gd_iters} Adam steps) vs ridge"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in units:
        for h in horizons:
            data = splits(h)
            figures = {name: {"build": [], "fit": [], "nrmse": []} for name in names}
            kept = None
            for seed in range(args.seeds):
                for r in range(args.repeats):
                    shift = (seed * args.repeats + r) % len(names)
                    for name in names[shift:] + names[:shift]:
                        if name == "engine":
                            build, fit, error, model, states = engine_fit(n, seed, data)
                            if kept is None:
                                kept = (model, states, error)
                        else:
                            build, fit, error = reservoirpy_fit(n, seed, data,
                                                                dense=name != "ReservoirPy")
                        figures[name]["build"].append(build)
                        figures[name]["fit"].append(fit)
                        if r == 0:  # the same seed gives the same error every repeat
                            figures[name]["nrmse"].append(error)
            row = [str(n), str(h)]
            for name in names:
                f = figures[name]
                row += [f"{statistics.median(f['nrmse']):.1e}",
                        f"{statistics.median(f['build']):.3f}",
                        f"{statistics.median(f['fit']):.3f}"]
            if args.gd_iters:
                gd = gd_nrmse(kept[0], kept[1], data, args.gd_iters, args.gd_lr)
                row.append(f"{gd:.1e} vs {kept[2]:.1e}")
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
