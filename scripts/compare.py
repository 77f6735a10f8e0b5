"""Run the chapter's comparisons from the catalog and write the results table (docs/RESULTS.md).

    python scripts/compare.py                 # the full comparison (minutes to hours on 2 cores)
    python scripts/compare.py --quick --out /tmp/RESULTS.md   # a smoke run, seconds
    python scripts/compare.py --trees         # only tree-rnn vs rnn at growing T (~10 min)

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

from tinygrad_rnn.init import manual_seed  # noqa: E402
from tinygrad_rnn.models import build_graph, get_arch, run_on  # noqa: E402
from tinygrad_rnn.tasks import get_task  # noqa: E402
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


TREE_CLAIMS = (
    "more gradient reaches the first leaf through the balanced tree than through the chain, at "
    "every T (the path is about log2 T levels long instead of T steps)",
    "the tree-rnn stays accurate (> 0.9) at every T, while the chain rnn falls to knowing only "
    "the last symbol (accuracy < 0.75) at the longest T")


def first_leaf_norm(arch: str, steps: int, seed: int, hidden: int, batch: int = 64) -> float:
    """||dL/dh(first leaf)|| at initialisation: h(1) of the chain, leaf 1 of the tree."""
    manual_seed(seed)
    task = get_task("first-last")
    model = get_arch(arch).build(task, hidden=hidden)
    data = task.sample(batch, steps, rng=np.random.default_rng(seed + 7))
    run = run_on(model, task, data)
    first = next(h for h in run.states if h.step == 1)
    first.retain_grad()
    loss, _ = task.loss(run.outputs, data)
    loss.backward()
    return float(np.linalg.norm(first.grad))


def tree_comparison(quick: bool, seeds: list[int]) -> list[str]:
    """tree-rnn (balanced tree) vs rnn on first-last at growing T: accuracy, first-leaf norm."""
    lengths = (4, 8) if quick else (8, 32, 128, 512)
    settings = dict(iters=20 if quick else 400, batch=16 if quick else 32,
                    hidden=8 if quick else 32, lr=1e-2, clip_norm=1.0)
    rows, acc, norm = [], {}, {}
    for T in lengths:
        for arch in ("tree-rnn", "rnn"):
            accs, norms, seconds = [], [], []
            for seed in seeds:
                result = train(TrainConfig(arch, task="first-last", steps=T, seed=seed,
                                           eval_every=settings["iters"], **settings))
                accs.append(result.test["accuracy"])
                seconds.append(result.seconds)
                norms.append(first_leaf_norm(arch, T, seed, settings["hidden"]))
                print(f"  {arch} T={T} seed {seed}: accuracy {accs[-1]:.3f}, first-leaf "
                      f"norm {norms[-1]:.2e} ({seconds[-1]:.1f}s)", flush=True)
            acc[(arch, T)] = statistics.mean(accs)
            norm[(arch, T)] = statistics.mean(norms)
            rows.append({"T": T, "arch": arch, "accuracy": _mean_sd(accs),
                         "seeds > 0.9": f"{sum(a > 0.9 for a in accs)} of {len(accs)}",
                         "‖dL/dh(first leaf)‖ at init": f"{norm[(arch, T)]:.2e}",
                         "seconds": f"{statistics.mean(seconds):.1f}"})
    longest = lengths[-1]
    holds = [all(norm[("tree-rnn", T)] > norm[("rnn", T)] for T in lengths),
             all(acc[("tree-rnn", T)] > 0.9 for T in lengths) and acc[("rnn", longest)] < 0.75]
    text = ", ".join(f"{k}={v}" for k, v in settings.items())
    parts = ["## Trees against chains: the first and the last symbol", ""]
    for claim, verdict in zip(TREE_CLAIMS, holds):
        parts += [f"Claim: {claim} — **{'holds' if verdict else 'does NOT hold'}** here.", ""]
    return parts + [
        f"Task first-last (k = 2: 4 classes, baseline log 4 = 1.386), {len(seeds)} seeds, "
        f"same for both: {text}, Adam. Accuracy: held-out, mean ± sd over seeds. Norm: "
        f"the gradient of the mean loss at the first leaf's state (h(1) of the chain), "
        f"untrained, batch 64, mean over seeds (0 means it underflowed float32).", "",
        markdown_table(rows), ""]


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
    parser.add_argument("--trees", action="store_true",
                        help="only tree-rnn vs rnn on first-last at growing T "
                             "(docs/RESULTS-trees.md)")
    parser.add_argument("--out", default=None,
                        help="the results file (default docs/RESULTS.md, with --trees "
                             "docs/RESULTS-trees.md)")
    args = parser.parse_args(argv)
    if args.seeds < 3:
        parser.error("--seeds must be at least 3 (mean ± sd over seeds)")
    seeds = list(range(args.seeds))
    if args.trees:
        return main_trees(args, seeds)
    args.out = args.out or str(ROOT / "docs" / "RESULTS.md")
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


def main_trees(args, seeds: list[int]) -> int:
    """The tree comparison alone, into its own file and its own README block."""
    begin = time.perf_counter()
    parts = ["# Results: trees against chains", "",
             f"Written by `scripts/compare.py --trees{' --quick' if args.quick else ''}` on "
             f"{platform.machine()}, Python {platform.python_version()}, numpy "
             f"{np.__version__}.", ""]
    if args.quick:
        parts += ["**Quick run: tiny sizes and budgets, the numbers mean nothing.**", ""]
    parts += tree_comparison(args.quick, seeds)
    parts.append(f"Total time: {time.perf_counter() - begin:.0f} s.")
    out = pathlib.Path(args.out or ROOT / "docs" / "RESULTS-trees.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if not args.quick:
        update_readme("\n".join(parts[4:-1]), marker="tree-results")
    return 0


def update_readme(body: str, marker: str = "results") -> None:
    """Put the results between the README's results markers (the tables a user reads first)."""
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        print(f"README.md has no {start} ... {end} block; left it alone")
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    body = ("\n" + body).replace("\n## ", "\n#### ")[1:]  # nest under the README's section
    readme.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
    print(f"updated {readme}")


if __name__ == "__main__":
    raise SystemExit(main())
