"""Benchmark: catalog training throughput, `train` as shipped against a PyTorch cell loop
(issue 14, target 2).

engine: tinygrad_rnn.training.train(TrainConfig(arch, task="adding", ...)), the catalog's rnn,
lstm and gru as shipped, wall time of the whole call (model built, test batch drawn, the
training loop with clipping and Adam, evaluation every eval_every iterations and at the end).
torch: the same loop by hand in PyTorch eager, the same sizes: nn.RNNCell / nn.LSTMCell /
nn.GRUCell stepped over time, an nn.Linear head on h(T), MSE on the adding target, Adam (same
lr), clip_grad_norm_, evaluation on a 256-sequence test batch under no_grad at the same
iterations; batches from the same task sampler (numpy), so data cost is the same.

Contestants alternate (engine rnn, torch RNNCell, engine lstm, ...) for `--rounds` rounds;
the figure is the median it/s over the rounds and its spread (min-max), by process CPU time
(what a shared machine's load disturbs least: every contestant is single-threaded) and by
wall time. One BLAS/torch thread.

Usage: python bench/bench_train.py [--iters 200] [--rounds 5] [--archs rnn,lstm,gru]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_engine as harness  # noqa: E402  (one thread, OpenBLAS env, malloc, before numpy)

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from tinygrad_rnn.tasks import get_task  # noqa: E402
from tinygrad_rnn.training import TrainConfig, train  # noqa: E402

torch = harness.torch

SIZES = dict(task="adding", steps=50, hidden=64, batch=64, clip_norm=1.0, lr=1e-2,
             eval_every=50, eval_batch=256)
CELLS = {"rnn": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}


def engine_run(arch: str, iters: int, seed: int = 0) -> tuple:
    """(wall, CPU) seconds of one `train` call (everything it does)."""
    config = TrainConfig(arch, iters=iters, seed=seed, **SIZES)
    start, cpu = time.perf_counter(), time.process_time()
    train(config)
    return time.perf_counter() - start, time.process_time() - cpu


def torch_run(arch: str, iters: int, seed: int = 0) -> tuple:
    """(wall, CPU) seconds of the same training loop written by hand with a PyTorch cell."""
    start, cpu = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    task = get_task("adding")
    steps, hidden = SIZES["steps"], SIZES["hidden"]
    cell = getattr(torch.nn, CELLS[arch])(task.input_size, hidden)
    head = torch.nn.Linear(hidden, task.output_size)
    params = list(cell.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=SIZES["lr"])
    rng = np.random.default_rng(seed)
    test = task.sample(SIZES["eval_batch"], steps, rng=np.random.default_rng(seed + 1_000_003),
                       split="test")
    test_x, test_y = torch.from_numpy(test.x), torch.from_numpy(test.y)

    def forward(x):
        h = torch.zeros(x.shape[1], hidden)
        state = (h, torch.zeros_like(h)) if arch == "lstm" else h
        for t in range(x.shape[0]):
            state = cell(x[t], state)
        return head(state[0] if arch == "lstm" else state)

    for it in range(1, iters + 1):
        batch = task.sample(SIZES["batch"], steps, rng=rng)
        x, y = torch.from_numpy(batch.x), torch.from_numpy(batch.y)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(forward(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, SIZES["clip_norm"])
        opt.step()
        loss.item()
        if it % SIZES["eval_every"] == 0 or it == iters:
            with torch.no_grad():
                torch.nn.functional.mse_loss(forward(test_x), test_y).item()
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--archs", default="rnn,lstm,gru")
    parser.add_argument("--keep-openblas-env", action="store_true")
    parser.add_argument("--default-malloc", action="store_true")
    args = parser.parse_args(argv)
    archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    for a in archs:
        if a not in CELLS:
            parser.error(f"unknown arch {a!r}; choose from {', '.join(CELLS)}")
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
          f"BLAS: {harness.blas_info()}, 1 thread; load average {os.getloadavg()[0]:.1f}")
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in SIZES.items())
    print(f"train ARCH {flags} --iters {args.iters}"
          f" (adam); {args.rounds} alternating rounds; median it/s [min-max]\n")
    for arch in archs:  # warm-up (imports, PyTorch's first-call set-up), not timed
        engine_run(arch, 2)
        if torch is not None:
            torch_run(arch, 2)
    samples: dict = {}
    for _ in range(args.rounds):
        for arch in archs:
            runs = [("engine", engine_run)] + ([("torch", torch_run)] if torch is not None else [])
            for who, fn in runs:
                wall, cpu = fn(arch, args.iters)
                samples.setdefault((who, arch, "wall"), []).append(args.iters / wall)
                samples.setdefault((who, arch, "cpu"), []).append(args.iters / cpu)
    for clock in ("cpu", "wall"):
        print(f"it/s by {'process CPU time' if clock == 'cpu' else 'wall time'}:")
        for arch in archs:
            eng = samples[("engine", arch, clock)]
            line = (f"  {arch:<5} engine {statistics.median(eng):6.1f} it/s "
                    f"[{min(eng):.1f}-{max(eng):.1f}]")
            if torch is not None:
                ref = samples[("torch", arch, clock)]
                ratio = statistics.median(eng) / statistics.median(ref)
                line += (f"   torch {CELLS[arch]:<8} {statistics.median(ref):6.1f} it/s "
                         f"[{min(ref):.1f}-{max(ref):.1f}]   engine/torch {ratio:.2f} "
                         f"({'met' if ratio >= 1 else 'NOT met'})")
            print(line)


if __name__ == "__main__":
    main()
