"""Run the chapter's comparisons from the catalog and write the results table (docs/RESULTS.md).

    python scripts/compare.py                 # the full comparison (minutes to hours on 2 cores)
    python scripts/compare.py --quick --out /tmp/RESULTS.md   # a smoke run, seconds

Within a comparison every model gets the same budget (iterations, batch, hidden size) and the
same optimiser settings; the metric is the held-out loss as mean ± sd over the seeds, next to
the trivial baseline. Claims are checked against the numbers and written as holding or not.
"""

from __future__ import annotations

import os

# one BLAS thread, set before numpy loads: small per-step matmuls run faster without threads
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import pathlib
import platform
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygrad_rnn.models import build_graph  # noqa: E402
from tinygrad_rnn.training import TrainConfig, train  # noqa: E402


def comparisons(quick: bool) -> list[dict]:
    """The comparisons of issue 5; quick shrinks T and the budgets, nothing else."""
    def size(full, small):
        return small if quick else full

    shared = dict(batch=size(64, 16), hidden=size(64, 8), lr=1e-2, optimizer="adam")
    return [
        {"title": "Adding problem (predicting 1.0 scores about 0.167)",
         "claim": "LSTM and GRU solve it (test MSE < 0.01); the tanh RNN stays near the baseline",
         "task": "adding", "steps": size(50, 10), "iters": size(3000, 20),
         "archs": ["lstm", "gru", "rnn"], "settings": dict(shared, clip_norm=1.0),
         "check": lambda m: m["lstm"] < 0.01 and m["gru"] < 0.01 and m["rnn"] > 0.1},
        {"title": "Long delay: delayed recall",
         "claim": "leaky, skip and multiscale units beat the vanilla RNN on a long delay",
         "task": "copy", "task_options": {"delay": size(20, 4)}, "steps": size(40, 8),
         "iters": size(1500, 20),
         "archs": ["rnn", "leaky-rnn", "skip-rnn", "multiscale-rnn"],
         "arch_options": {"skip-rnn": {"delay": size(20, 4)}},
         "settings": dict(shared, clip_norm=1.0),
         "check": lambda m: all(m[a] < m["rnn"] for a in ("leaky-rnn", "skip-rnn",
                                                          "multiscale-rnn"))},
        {"title": "Tagging that needs the future",
         "claim": "the bidirectional RNN beats a one-directional RNN",
         "task": "tagging", "steps": size(20, 6), "iters": size(500, 20),
         "archs": ["birnn", "rnn"], "settings": shared,
         "check": lambda m: m["birnn"] < 0.5 * m["rnn"]},
        {"title": "Output feedback: teacher forced vs free running (sine generation)",
         "claim": "the free-running error is higher than the teacher-forced one (training "
                  "and test inputs differ)",
         "task": "sine", "steps": size(20, 6), "iters": size(1000, 20),
         "archs": ["rnn-output-feedback"], "settings": shared, "free_running": True,
         "check": lambda m: m["rnn-output-feedback (free running)"] >
         m["rnn-output-feedback"]},
    ]


def run_comparison(spec: dict, seeds: list[int]) -> tuple[list[dict], bool | None]:
    rows, means = [], {}
    for arch in spec["archs"]:
        losses, free, free_accs, accs, seconds, baselines = [], [], [], [], [], []
        for seed in seeds:
            config = TrainConfig(arch, task=spec["task"], steps=spec["steps"],
                                 iters=spec["iters"], seed=seed,
                                 eval_every=spec["iters"],
                                 task_options=spec.get("task_options", {}),
                                 arch_options=spec.get("arch_options", {}).get(arch, {}),
                                 **spec["settings"])
            result = train(config)
            losses.append(result.test["loss"])
            accs.append(result.test.get("accuracy"))
            baselines.append(result.baseline)
            seconds.append(result.seconds)
            if result.free_running is not None:
                free.append(result.free_running["loss"])
                free_accs.append(result.free_running.get("accuracy"))
            print(f"  {arch} seed {seed}: {result.test['loss']:.4f} "
                  f"(baseline {result.baseline:.4f}, {result.seconds:.2f}s)", flush=True)
        rows.append(_row(arch, spec, losses, accs, baselines, seconds))
        means[arch] = statistics.mean(losses)
        if free:
            rows.append(_row(f"{arch} (free running)", spec, free, free_accs, baselines,
                             seconds))
            means[f"{arch} (free running)"] = statistics.mean(free)
    try:
        holds = bool(spec["check"](means))
    except KeyError:
        holds = None
    return rows, holds


def _mean_sd(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def _row(arch, spec, losses, accs, baselines, seconds) -> dict:
    return {"arch": arch, "task": spec["task"], "T": spec["steps"], "iters": spec["iters"],
            "loss": _mean_sd(losses), "accuracy": _mean_sd(accs),
            "baseline": f"{statistics.mean(baselines):.4f}",
            "seconds": f"{statistics.mean(seconds):.2f}"}


def gradient_norms(steps: int, archs: list[str]) -> list[dict]:
    """||dL(T)/dh_t|| for a loss at the last step only, on one shared long sequence."""
    rows = []
    marks = sorted({1, max(1, steps // 4), max(1, steps // 2), max(1, 3 * steps // 4), steps})
    for arch in archs:
        sample = build_graph(arch, steps=steps, batch=8, seed=0, task="copy", hidden=32)
        if sample.step_losses:
            loss = sample.step_losses[-1]  # the last step's loss: how far back does it reach?
        else:
            loss = sample.loss
        for h in sample.states:
            h.retain_grad()
        loss.backward()
        norms = {t: float(np.linalg.norm(sample.states[t - 1].grad))
                 if sample.states[t - 1].grad is not None else 0.0 for t in marks}
        rows.append({"arch": arch, **{f"t={t}": f"{v:.2e}" for t, v in norms.items()}})
    return rows


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per model (at least 3)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "RESULTS.md"))
    args = parser.parse_args(argv)
    if args.seeds < 3:
        parser.error("--seeds must be at least 3 (mean ± sd over seeds)")
    seeds = list(range(args.seeds))
    begin = time.perf_counter()
    parts = ["# Results", "",
             f"Written by `scripts/compare.py{' --quick' if args.quick else ''}` on "
             f"{platform.machine()} ({platform.processor() or 'cpu'}), Python "
             f"{platform.python_version()}, numpy {np.__version__}; {len(seeds)} seeds per "
             f"model. Loss: held-out, mean ± sd over seeds (MSE for adding, cross-entropy "
             f"otherwise); baseline: the best constant prediction. Seconds: one run.", ""]
    if args.quick:
        parts += ["**Quick run: tiny sizes and budgets, the numbers mean nothing.**", ""]
    for spec in comparisons(args.quick):
        print(spec["title"], flush=True)
        rows, holds = run_comparison(spec, seeds)
        verdict = {True: "holds", False: "does NOT hold", None: "not checked"}[holds]
        settings = ", ".join(f"{k}={v}" for k, v in spec["settings"].items())
        parts += [f"## {spec['title']}", "", f"Claim: {spec['claim']} — **{verdict}** here.",
                  "", f"Same for every model: {settings}.", "", markdown_table(rows), ""]
    steps = 16 if args.quick else 100
    parts += ["## Per-step gradient norms", "",
              f"||dL(T)/dh_t|| on delayed recall, T = {steps}, H = 32, untrained, seed 0 "
              f"(the loss of the last step only).", "",
              markdown_table(gradient_norms(steps, ["rnn", "leaky-rnn", "skip-rnn", "lstm"])), ""]
    parts.append(f"Total time: {time.perf_counter() - begin:.0f} s.")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if not args.quick:
        update_readme("\n".join(parts[2:]))
    return 0


def update_readme(body: str) -> None:
    """Put the results between the README's results markers (the tables a user reads first)."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start not in text or end not in text:
        print(f"README.md has no {start} ... {end} block; left it alone")
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    body = body.replace("\n## ", "\n#### ")  # nest the comparisons under the README's section
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
    print(f"updated {readme}")


if __name__ == "__main__":
    raise SystemExit(main())
