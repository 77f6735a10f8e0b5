"""tree-rnn: what batching different trees costs, level by level against per tree.

    python bench/bench_trees.py            # about a minute
    python bench/bench_trees.py --reps 3   # quicker

One training step (forward, backward) of tree-rnn (tanh, H = 32) on the same batch, three ways:
  level     every node of equal height of every tree in one computation (schedule="level");
  per tree  node by node, the examples of one tree shape together (schedule="node": with
            trees that all differ, one tree at a time inside one graph);
  one by one  a separate forward and backward for each tree (batches of one).
Median milliseconds over the repetitions, interleaved. Gradients are checked equal first.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from tinygrad_rnn import manual_seed  # noqa: E402
from tinygrad_rnn.models import get_arch, run_on  # noqa: E402
from tinygrad_rnn.tasks import TreeBatch, get_task  # noqa: E402


def _step(model, task, batch) -> dict:
    model.zero_grad()
    loss, _ = task.loss(run_on(model, task, batch).outputs, batch, reduction="sum")
    loss.backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def _one_by_one(model, task, batch) -> dict:
    total = None
    for b, tree in enumerate(batch.trees):
        grads = _step(model, task, TreeBatch([tree], batch.y[b:b + 1], batch.vocab_size))
        total = grads if total is None else {k: total[k] + grads[k] for k in total}
    return total


def workload(task_name: str, steps: int, batch_size: int, reps: int) -> list:
    task = get_task(task_name)
    batch = task.sample(batch_size, steps, rng=np.random.default_rng(0))
    models = {}
    for schedule in ("level", "node"):
        manual_seed(0)
        models[schedule] = get_arch("tree-rnn").build(task, hidden=32, schedule=schedule)
    ways = {"level": lambda: _step(models["level"], task, batch),
            "per tree": lambda: _step(models["node"], task, batch)}
    if isinstance(batch, TreeBatch):
        ways["one by one"] = lambda: _one_by_one(models["level"], task, batch)
    reference = None
    for name, run in ways.items():
        grads = run()
        if reference is None:
            reference = grads
        for key in reference:
            np.testing.assert_allclose(grads[key], reference[key], rtol=1e-4, atol=1e-6,
                                       err_msg=f"{name}: {key}")
    times = {name: [] for name in ways}
    for _ in range(reps):
        for name, run in ways.items():
            begin = time.perf_counter()
            run()
            times[name].append(1000 * (time.perf_counter() - begin))
    shapes = len({t.shape_key() for t in batch.trees}) if isinstance(batch, TreeBatch) else 1
    rows = []
    level = statistics.median(times["level"])
    for name, values in times.items():
        ms = statistics.median(values)
        rows.append(f"| {task_name} T={steps} B={batch_size} ({shapes} tree shapes) | {name} "
                    f"| {ms:.1f} | {ms / level:.1f}x |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)
    print("| batch | schedule | ms per step | vs level |")
    print("|---|---|---|---|")
    for spec in (("expression", 8, 32), ("first-last", 64, 32)):
        for row in workload(*spec, args.reps):
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
