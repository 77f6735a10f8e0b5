"""The command line: list · inspect · render · trace · train · demo (the front door: uses viz)."""

from __future__ import annotations

import argparse
import os
import sys


class CLIError(Exception):
    """A runtime problem reported as one line on stderr with exit code 1."""


class UsageError(Exception):
    """Bad usage found after parsing (unknown architecture, ...): one line, exit code 2."""


def _console(args):
    """A rich Console that honours --no-color, NO_COLOR and pipes (no colour codes, no redraws)."""
    from rich.console import Console

    no_color = getattr(args, "no_color", False) or bool(os.environ.get("NO_COLOR"))  # set and
    # not empty, as no-color.org says
    # color_system=None also drops bold and dim: --no-color means plain text
    return Console(no_color=no_color, color_system=None if no_color else "auto",
                   highlight=False, soft_wrap=False)


def _add_common(p: argparse.ArgumentParser, default=False) -> None:
    p.add_argument("--no-color", action="store_true", default=default,
                   help="no colour codes in the output")
    p.add_argument("--debug", action="store_true", default=default,
                   help="show the traceback on errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-rnn",
        description="Build, draw, trace and train the recurrent nets of the Deep Learning "
                    "book's chapter 10.")
    _add_common(parser)  # `tinygrad-rnn --no-color list` works as well as `list --no-color`
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (register, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_common(p, default=argparse.SUPPRESS)  # absent: keep the main parser's value
        register(p)
        p.set_defaults(parser=p)
    return parser


# Each command registers its arguments and names the function that runs it (p.set_defaults(run=)).
# The command functions live with the feature they show; see the functions below.


def _register_list(p):
    p.set_defaults(run=cmd_list)


def cmd_list(args) -> int:
    """The architecture catalog, one line each: name, family, default task, summary."""
    from rich.markup import escape

    from tinygrad_rnn import models

    console = _console(args)
    width = max(len(name) for name in models.ARCHS)
    for arch in models.ARCHS.values():
        console.print(f"[bold]{escape(arch.name.ljust(width))}[/bold]  {escape(arch.summary)}"
                      f"  [dim](task {escape(arch.default_task)})[/dim]", soft_wrap=True)
    return 0


def _arch_and_steps(args, command: str):
    """Check ARCH and --steps (for ARCH's default task) as usage errors (exit 2) before any work."""
    from tinygrad_rnn import models, tasks

    if args.steps < 1:
        raise UsageError(f"{command}: --steps must be at least 1, got {args.steps}")
    try:
        arch = models.get_arch(args.arch)
        tasks.get_task(arch.default_task).check_steps(args.steps)
    except ValueError as error:  # an unknown name, or too few steps for the task
        raise UsageError(f"{command}: {error}") from None
    return models


def _register_inspect(p):
    p.add_argument("arch", metavar="ARCH", help="architecture name (see `tinygrad-rnn list`)")
    p.add_argument("--steps", type=int, default=8, metavar="T", help="sequence length T")
    p.set_defaults(run=cmd_inspect)


def cmd_inspect(args) -> int:
    """Graph statistics of a catalog architecture: nodes, parameters, depth, path lengths."""
    from rich.table import Table

    from viz import analysis, to_networkx

    models = _arch_and_steps(args, "inspect")
    sample = models.build_graph(args.arch, steps=args.steps)
    graph = to_networkx(sample.loss, stats=False)
    figures = analysis.summary(graph)
    console = _console(args)
    table = Table(title=f"{args.arch}, T = {args.steps}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("nodes", str(figures["nodes"]))
    table.add_row("edges", str(figures["edges"]))
    table.add_row("parameters", f"{figures['parameters']} tensors, "
                                f"{figures['parameter_elements']} numbers")
    table.add_row("node kinds", ", ".join(f"{k} {v}" for k, v in figures["kinds"].items()))
    table.add_row("steps", str(figures["steps"]))
    table.add_row("depth (longest path input -> loss)", str(figures["depth"]))
    console.print(table)
    if analysis.node_loops(graph):  # a tree: its nodes, and its leaves against a chain's
        _inspect_tree(console, graph, sample, args.steps)
        return 0
    rows = analysis.step_statistics(graph, analysis.states_of(graph, sample.states))
    if rows:
        several = len({row["loop"] for row in rows}) > 1
        steps = Table(title="shortest path from each step's state to the loss")
        for column in ("t", "state", "nodes made", "path length"):
            steps.add_column(column, justify="right" if column != "state" else "left")
        shown = rows if len(rows) <= 12 else rows[:6] + [None] + rows[-6:]
        for row in shown:
            if row is None:
                steps.add_row("…", f"{len(rows) - 12} more steps", "", "")
                continue
            distance = "-" if row["distance"] is None else str(row["distance"])
            t = f"{row['loop']} {row['step']}" if several else str(row["step"])
            steps.add_row(t, row["state"] or "-", str(row["nodes"]), distance)
        console.print(steps)
    return 0


def _inspect_tree(console, graph, sample, steps: int) -> None:
    """The tree's nodes (depth, child slot, path to the loss), then how far its leaves are from
    the loss next to the chain RNN's steps on the same task and T."""
    from rich.table import Table

    from tinygrad_rnn import models
    from viz import analysis, to_networkx

    rows = analysis.tree_statistics(graph)
    nodes = Table(title="tree nodes: depth from the root, child slot, shortest path to the loss")
    for column in ("node", "kind", "depth", "slot", "state", "path length"):
        nodes.add_column(column, justify="left" if column in ("kind", "slot", "state")
                         else "right")
    shown = rows if len(rows) <= 16 else rows[:8] + [None] + rows[-8:]
    for row in shown:
        if row is None:
            nodes.add_row("…", f"{len(rows) - 16} more nodes", "", "", "", "")
            continue
        kind = "leaf" if row["leaf"] is not None else "node"
        distance = "-" if row["distance"] is None else str(row["distance"])
        nodes.add_row(str(row["step"]), kind, str(row["depth"]), row["slot"] or "root",
                      row["state"] or "-", distance)
    console.print(nodes)
    chain = models.build_graph("rnn", steps=steps, task=sample.task.name)
    figures = {"tree-rnn (balanced tree)": analysis.leaf_paths(graph),
               "rnn (chain)": analysis.leaf_paths(to_networkx(chain.loss, stats=False))}
    table = Table(title=f"inputs to the loss, T = {steps}: tree depth ceil(log2 T) vs chain "
                        f"length T")
    for column in ("net", "levels", "depth of graph", "first input -> loss",
                   "longest input -> loss", "shortest input -> loss"):
        table.add_column(column, justify="left" if column == "net" else "right")
    for name, f in figures.items():
        levels = f["tree_depth"] if f["tree_depth"] is not None else f["inputs"]
        table.add_row(name, str(levels), str(f["depth"]), str(f["first"]), str(f["longest"]),
                      str(f["shortest"]))
    console.print(table)


DEFAULT_MAX_STEPS = 8  # an unrolled drawing keeps 4 first and 4 last steps; dot stays fast


def _register_render(p):
    p.add_argument("arch", metavar="ARCH", help="architecture name (see `tinygrad-rnn list`)")
    p.add_argument("--steps", type=int, default=5, metavar="T", help="sequence length T")
    p.add_argument("--view", choices=("unrolled", "folded"), default="unrolled",
                   help="the graph as it ran, or each step drawn once with delay loops")
    p.add_argument("--grads", action="store_true", help="colour every node by its gradient norm")
    p.add_argument("--values", action="store_true", help="show data | grad of small tensors")
    p.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS, metavar="K",
                   help=f"unrolled: elide the middle steps beyond K (default "
                        f"{DEFAULT_MAX_STEPS}; 0 draws every step)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="output file, format by suffix: .svg .png .pdf .dot (default ARCH.svg)")
    p.set_defaults(run=cmd_render)


def cmd_render(args) -> int:
    """Draw a catalog architecture's graph to a file through graphviz and print its path."""
    import pathlib

    from viz import render
    from viz.dot import FORMATS

    models = _arch_and_steps(args, "render")
    if args.max_steps < 0:
        raise UsageError(f"render: --max-steps must be 0 (every step) or more, "
                         f"got {args.max_steps}")
    if args.output is not None and not args.output.strip():
        raise UsageError("render: -o needs a file name, got an empty one")
    path = pathlib.Path(args.output if args.output else f"{args.arch}.svg")
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"render: cannot tell the format of {str(path)!r}; "
                         f"end it with one of {', '.join(FORMATS)}")
    sample = models.build_graph(args.arch, steps=args.steps)
    written = render(sample.loss, path, view=args.view, grads=args.grads, values=args.values,
                     max_steps=args.max_steps or None)
    print(written.resolve())
    return 0


def _register_trace(p):
    p.add_argument("arch", metavar="ARCH", help="architecture name (see `tinygrad-rnn list`)")
    p.add_argument("--steps", type=int, default=8, metavar="T", help="sequence length T")
    p.add_argument("--ops", action="store_true",
                   help="trace backward node by node instead of per time step")
    p.add_argument("--all", action="store_true", help="with --ops: every row, no summary")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--last-step", action="store_true",
                   help="restrict the loss to the last step: ||dL(T)/dh_t||")
    p.add_argument("--clip", type=float, default=None, metavar="MAX_NORM",
                   help="clip the parameter gradients and show the norm before and after")
    p.set_defaults(run=cmd_trace)


def cmd_trace(args) -> int:
    """BPTT gradient trace of a catalog architecture (viz.bptt_report / viz.trace_backward)."""
    import io
    import json

    from rich.console import Console

    from viz import analysis, to_networkx
    from viz.console import bptt_report, jsonable, op_counts, trace_backward

    models = _arch_and_steps(args, "trace")
    if args.clip is not None and not args.clip > 0:
        raise UsageError(f"trace: --clip must be positive, got {args.clip}")
    sample = models.build_graph(args.arch, steps=args.steps)
    console = Console(file=io.StringIO()) if args.json else _console(args)
    head = {"schema": 1, "arch": args.arch, "T": args.steps}
    if args.ops:
        rows = trace_backward(sample.loss, console=console, show_all=args.all)
        if args.json:
            print(json.dumps(jsonable({**head, "kind": "ops", "rows": rows,
                                       "op_counts": op_counts(rows)})))
        return 0
    if not sample.states:
        raise CLIError(f"trace: {args.arch} has no per-step hidden states to report; "
                       f"try --ops for the node-by-node trace")
    if not any(h.requires_grad for h in sample.states):
        return _trace_fixed_states(args, sample, console)
    graph = to_networkx(sample.loss, stats=False)
    tree = bool(analysis.node_loops(graph))
    states = _tree_order(graph, sample.states) if tree else sample.states
    report = bptt_report(sample.loss, states, params=sample.model, console=console,
                         last_step_only=args.last_step, recurrent_weight=sample.recurrent_weight,
                         clip=args.clip, print_report=not args.json)
    depths = None
    if tree:  # the tree analogue of the per-step norms: per depth, the root at 0
        norms = {(h.loop and (h.loop.axis, tuple(h.loop.scope)), h.step): row.total
                 for h, row in zip(states, report.steps)}
        depths = analysis.norms_by_depth(graph, norms)
        if not args.json:
            _print_depths(console, depths)
    if args.json:
        extra = {} if depths is None else {"depths": depths}
        print(json.dumps(jsonable({**report.to_dict(), "arch": args.arch, "T": args.steps,
                                   **extra})))
    return 0


def _trace_fixed_states(args, sample, console) -> int:
    """The trace of a net whose states need no gradient (an echo state network's reservoir).

    Backward runs and stops at the readout: no state requires grad, so dL/dh(t) is never
    computed and nothing reaches the reservoir's fixed matrices.
    """
    import json

    from rich.table import Table

    from viz.graph import norm

    sample.loss.backward()
    rows = [{"tensor": name, "kind": "parameter", "trained": True,
             "grad_norm": norm(param.grad)} for name, param in sample.model.named_parameters()]
    rows += [{"tensor": name, "kind": "buffer", "trained": False, "grad_norm": None}
             for name, _ in sample.model.named_buffers()]
    states = [h.name or f"h[{t}]" for t, h in enumerate(sample.states, 1)]
    trained = ", ".join(row["tensor"] for row in rows if row["trained"])
    fixed = ", ".join(row["tensor"] for row in rows if not row["trained"]) or "none"
    why = (f"No gradient flows into the reservoir of {args.arch}: its matrices ({fixed}) are "
           f"fixed buffers and the input needs no gradient, so no state h(t) requires grad. "
           f"Backward starts at the loss and stops at the readout o(t) = c + V h(t): only "
           f"{trained} get gradients; dL/dh(t) is never computed, so there is no "
           f"back-propagation through time to trace (the readout is fitted by ridge "
           f"regression, a linear least-squares problem on the states).")
    if args.json:
        print(json.dumps({"schema": 1, "arch": args.arch, "T": args.steps, "kind": "fixed",
                          "states_require_grad": False, "explanation": why,
                          "states": states, "tensors": rows}))
        return 0
    console.print(why, markup=False)
    table = Table(title=f"{args.arch}, T = {args.steps}: gradients after backward")
    for column in ("tensor", "kind", "trained", "‖grad‖"):
        table.add_column(column, justify="right" if column == "‖grad‖" else "left")
    for row in rows:
        grad = "no gradient (fixed)" if row["grad_norm"] is None else f"{row['grad_norm']:.3e}"
        table.add_row(row["tensor"], row["kind"], "yes" if row["trained"] else "no", grad)
    for name in states:
        table.add_row(name, "state", "no", "not computed (requires_grad False)")
    console.print(table)
    return 0


def _tree_order(graph, states: list) -> list:
    """A tree's states leaves first and the root last (deepest first, left to right), so the
    trace reads like a chain's: from the inputs to the state the loss reads."""
    from viz import analysis

    place = {}
    for loop in analysis.node_loops(graph):
        for step, figures in analysis.tree_nodes(graph, loop).items():
            place[figures["state"]] = (-figures["depth"], len(place))
    return sorted(states, key=lambda h: place.get(h.id, (1, 0)))


def _print_depths(console, depths: list) -> None:
    from rich.table import Table

    table = Table(title="gradient norm ‖dL/dh‖ per tree depth (0: the root)", title_justify="left")
    for column in ("depth", "nodes", "leaves", "min", "mean", "max"):
        table.add_column(column, justify="right")
    for row in depths:
        table.add_row(str(row["depth"]), str(row["nodes"]), str(row["leaves"]),
                      f"{row['min']:.3g}", f"{row['mean']:.3g}", f"{row['max']:.3g}")
    console.print(table)


def _register_train(p):
    p.add_argument("arch", metavar="ARCH", help="architecture name (see `tinygrad-rnn list`)")
    p.add_argument("--task", default=None, metavar="TASK",
                   help="adding, copy, parity, nextchar, sine, tagging, mackey-glass, reverse, "
                        "sort, first-last or expression (default: the architecture's own)")
    p.add_argument("--steps", type=int, default=None, metavar="T",
                   help="sequence length T (default: the task's)")
    p.add_argument("--iters", type=int, default=300, metavar="N", help="training iterations")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of weights and data")
    p.add_argument("--batch", type=int, default=32, metavar="B", help="batch size")
    p.add_argument("--hidden", type=int, default=32, metavar="H", help="hidden units")
    p.add_argument("--lr", type=float, default=1e-2, help="learning rate")
    p.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    p.add_argument("--bptt", type=int, default=None, metavar="K",
                   help="truncated BPTT: chunks of K steps, state carried across them detached")
    p.add_argument("--clip-norm", type=float, default=None, metavar="MAX",
                   help="clip the gradients' joint L2 norm to MAX")
    p.add_argument("--clip-value", type=float, default=None, metavar="V",
                   help="clip every gradient element into [-V, V]")
    p.add_argument("--flow-reg", type=float, default=0.0, metavar="LAMBDA",
                   help="information-flow regularizer (Pascanu et al. 2013) with weight "
                        "LAMBDA; vanilla rnn only")
    p.add_argument("--eval-every", type=int, default=50, metavar="N",
                   help="measure the held-out loss every N iterations")
    p.add_argument("--option", "-O", action="append", default=[], metavar="KEY=VALUE",
                   help="an architecture or task option, e.g. -O mode=initial; prefix "
                        "arch. or task. when both have it (-O task.delay=20); repeatable")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress, only the results")
    p.add_argument("--save", default=None, metavar="PATH",
                   help="write a checkpoint (.npz: weights, optimizer, generators) at the end")
    p.add_argument("--load", default=None, metavar="PATH",
                   help="resume from a --save checkpoint (same settings, a larger --iters)")
    p.set_defaults(run=cmd_train)


def _train_config(args):
    """Turn the arguments into a TrainConfig, routing each -O to the architecture or the task."""
    from tinygrad_rnn import models, tasks
    from tinygrad_rnn.training import TrainConfig

    try:
        arch = models.get_arch(args.arch)
        task_name = args.task or arch.default_task
        task_options = tasks.TASKS[task_name].options if task_name in tasks.TASKS else {}
    except models.UnknownArchError as error:
        raise UsageError(str(error)) from None
    arch_options, task_opts = {}, {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"train: --option wants KEY=VALUE, got {item!r}")
        where, dot, bare = key.partition(".")
        if dot and where in ("arch", "task"):  # arch.delay / task.delay when both have one
            key = bare
        else:
            where = "arch" if key in arch.options else "task"
        if where == "arch" and key in arch.options:
            arch_options[key] = value
        elif where == "task" and key in task_options:
            task_opts[key] = value
        else:
            known = ", ".join([f"arch.{k}" if k in task_options else k for k in arch.options]
                              + [f"task.{k}" if k in arch.options else k
                                 for k in task_options]) or "none"
            raise UsageError(f"train: no option {key!r} for {arch.name} on task {task_name} "
                             f"(options: {known})")
    return TrainConfig(arch=args.arch, task=args.task, steps=args.steps, iters=args.iters,
                       batch=args.batch, hidden=args.hidden, lr=args.lr,
                       optimizer=args.optimizer, momentum=args.momentum, bptt=args.bptt,
                       clip_norm=args.clip_norm, clip_value=args.clip_value,
                       flow_reg=args.flow_reg, seed=args.seed,
                       eval_every=args.eval_every, arch_options=arch_options,
                       task_options=task_opts)


_TRAIN_FLAGS = {"iters": "--iters", "batch": "--batch", "hidden": "--hidden", "lr": "--lr",
                "momentum": "--momentum", "seed": "--seed", "bptt": "--bptt",
                "eval_every": "--eval-every", "clip_norm": "--clip-norm",
                "clip_value": "--clip-value", "optimizer": "--optimizer"}


def cmd_train(args) -> int:
    """Train a catalog architecture on a built-in task; held-out loss against the baseline."""
    import json

    from tinygrad_rnn import training

    config = _train_config(args)
    try:
        prepared = training.prepare(config)  # every bad name, pair or size: a usage error
    except ValueError as error:
        message = str(error)
        field = message.split(" ", 1)[0]
        if field in _TRAIN_FLAGS:  # "seed must be ..." -> "--seed must be ..."
            message = _TRAIN_FLAGS[field] + message[len(field):]
        raise UsageError(f"train: {message}") from None
    from viz.console import TrainDisplay, jsonable

    task_name = config.task or training.get_arch(config.arch).default_task
    display = TrainDisplay(config.iters, _console(args), quiet=args.quiet, json_mode=args.json,
                           title=f"{config.arch} on {task_name}")

    def progress(it, total, loss, metrics, clip):
        display.update(it, loss, clip=clip)

    for flag, path in (("--save", args.save), ("--load", args.load)):
        if path is not None and not path.strip():
            raise UsageError(f"train: {flag} needs a file name, got an empty one")
    import warnings

    import numpy as np

    try:
        # a diverging run is reported once, as an error; numpy's overflow warnings (with source
        # paths) would only repeat it
        with display, warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = training.train(config, on_progress=progress, prepared=prepared,
                                    save=args.save, load=args.load)
    except MemoryError:
        raise RuntimeError(f"train: --steps {prepared[1]} with --batch {config.batch} needs "
                           f"more memory than this machine has; use fewer steps or a smaller "
                           f"batch") from None
    if args.json:
        print(json.dumps(jsonable({**result.to_dict(), "kind": "train"})))
        return 0
    figures = {"arch": config.arch, "task": result.task, "T": result.steps,
               "parameters": result.parameters, "held-out loss": result.test["loss"],
               "baseline (constant prediction)": result.baseline,
               "loss / baseline": result.test["loss"] / result.baseline
               if result.baseline > 0 else None}
    if "accuracy" in result.test:
        figures["held-out accuracy"] = result.test["accuracy"]
    if "nrmse" in result.test:
        figures["held-out NRMSE (RMSE / range)"] = result.test["nrmse"]
    if result.free_running is not None:
        figures["held-out loss, teacher forced"] = result.test["loss"]
        figures["held-out loss, free running"] = result.free_running["loss"]
        if "accuracy" in result.free_running:
            figures["accuracy, free running"] = result.free_running["accuracy"]
    figures["seconds"] = round(result.seconds, 2)
    display.results(figures)
    return 0


def _register_demo(p):
    p.add_argument("--out", default="tinygrad-rnn-demo", metavar="DIR",
                   help="folder for the drawings (default: ./tinygrad-rnn-demo)")
    p.add_argument("--iters", type=int, default=300, metavar="N",
                   help="training iterations of the last part")
    p.set_defaults(run=cmd_demo)


def _demo_steps(out: str, iters: int) -> list:
    """The tour, as the commands a learner can type afterwards, each with what to notice."""
    return [
        ("The catalog: every architecture of the chapter", ["list"]),
        ("The textbook RNN's graph, measured with networkx", ["inspect", "rnn", "--steps", "8"]),
        ("Unrolled through time: one cluster per step, U, W, V, b, c drawn once",
         ["render", "rnn", "--steps", "4", "-o", f"{out}/rnn-unrolled.svg"]),
        ("Folded back into the circuit: the delay loop is the black square",
         ["render", "rnn", "--steps", "4", "--view", "folded", "-o", f"{out}/rnn-folded.svg"]),
        ("An LSTM folded, with every node's gradient norm on the drawing",
         ["render", "lstm", "--steps", "6", "--view", "folded", "--grads",
          "-o", f"{out}/lstm-folded-grads.svg"]),
        ("BPTT in the tanh RNN: how ‖dL(T)/dh(t)‖ shrinks going back in time",
         ["trace", "rnn", "--steps", "16", "--last-step"]),
        ("The same for an untrained LSTM: compare the mean decay factor per step",
         ["trace", "lstm", "--steps", "16", "--last-step"]),
        ("Training a GRU on the adding problem (predicting 1.0 scores about 0.167)",
         ["train", "gru", "--task", "adding", "--steps", "20", "--iters", str(iters),
          "--clip-norm", "1"]),
        ("Encoder-decoder with attention reversing a sequence: alpha(t, s) runs down the "
         "anti-diagonal",
         ["attention", "seq2seq-attention", "--steps", "6", "--iters", str(iters),
          "-o", f"{out}/seq2seq-attention-heatmap.svg"]),
    ]


def cmd_demo(args) -> int:
    """The tour: the catalog, drawings, BPTT traces and a short training run on built-in data."""
    import pathlib

    if args.iters < 1:
        raise UsageError(f"demo: --iters must be at least 1, got {args.iters}")
    pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    console = _console(args)
    parser = build_parser()
    steps = _demo_steps(args.out, args.iters)
    for k, (title, argv) in enumerate(steps, 1):
        console.rule(f"[bold]{k}/{len(steps)}  {title}", align="left")
        console.print(f"$ tinygrad-rnn {' '.join(argv)}", style="cyan", markup=False)
        sub_args = parser.parse_args(argv + (["--no-color"] if args.no_color else []))
        code = sub_args.run(sub_args) or 0
        if code:
            return code
    console.rule("[bold]done", align="left")
    console.print(f"The drawings are in {pathlib.Path(args.out).resolve()}: open the .svg files "
                  f"in a browser (hover a node for its op, shape, values and gradient).",
                  markup=False)
    return 0


def _register_attention(p):
    p.add_argument("arch", metavar="ARCH", nargs="?", default="seq2seq-attention",
                   help="an architecture that attends: seq2seq-attention (the default), "
                        "memory-network or ntm")
    p.add_argument("--task", default=None, metavar="TASK", help="a pair task: reverse or sort "
                                                                 "(default: the architecture's)")
    p.add_argument("--steps", type=int, default=8, metavar="T",
                   help="source length of the example shown")
    p.add_argument("--iters", type=int, default=300, metavar="N",
                   help="training iterations before looking (0: untrained weights)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of weights and data")
    p.add_argument("--hidden", type=int, default=32, metavar="H", help="hidden units")
    p.add_argument("--example", type=int, default=0, metavar="K",
                   help="which sequence of the held-out batch to show")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the SVG heat map (default ARCH-attention.svg)")
    p.set_defaults(run=cmd_attention)


def cmd_attention(args) -> int:
    """Train briefly, decode a held-out source greedily, show the attention weights alpha(t, s)
    as a heat table (decoder step x encoder step) and write them as an SVG heat map."""
    import numpy as np

    from tinygrad_rnn import training
    from tinygrad_rnn.autograd import no_grad
    from tinygrad_rnn.models import run_on
    from tinygrad_rnn.tasks import PairBatch
    from tinygrad_rnn.tasks.pairs import token_text
    from viz.heatmap import heat_table, heatmap_svg

    for flag, value, least in (("--steps", args.steps, 1), ("--iters", args.iters, 0),
                               ("--hidden", args.hidden, 1), ("--example", args.example, 0)):
        if value < least:
            raise UsageError(f"attention: {flag} must be at least {least}, got {value}")
    if args.output == "":
        raise UsageError("attention: -o needs a file name")
    config = training.TrainConfig(arch=args.arch, task=args.task, steps=args.steps,
                                  iters=max(args.iters, 1), hidden=args.hidden, seed=args.seed,
                                  eval_every=max(args.iters, 1), eval_batch=8)
    try:
        task, steps, model = training.prepare(config)
    except ValueError as error:
        raise UsageError(f"attention: {error}") from None
    if not model.attends:
        from tinygrad_rnn import models

        attending = [n for n, a in models.ARCHS.items() if a.model.attends]
        raise UsageError(f"attention: {args.arch} computes no attention weights; "
                         f"architectures that do: {', '.join(attending)}")
    if args.iters:
        training.train(config, prepared=(task, steps, model))
    batch = task.sample(args.example + 1, steps, rng=np.random.default_rng(args.seed + 7),
                        split="test")
    with no_grad():
        run = run_on(model, task, batch, teacher=False)
    if not isinstance(batch, PairBatch):  # memory-network or ntm: weights over memory slots
        return _show_memory(args, task, model, batch, run)
    k = args.example
    n_src = int(batch.source_lengths[k])
    n_out = int(batch.target_mask[:, k].sum())
    weights = run.extra["attention"][:n_out, :n_src, k]  # (decoder step t, encoder step s)
    decoded = [int(o.data[k].argmax()) for o in run.outputs[:n_out]]
    source = [token_text(x) for x in batch.source[:n_src, k]]
    rows = [f"t={t} {token_text(y)}" for t, y in enumerate(decoded, start=1)]
    cols = [f"s={s} {x}" for s, x in enumerate(source, start=1)]
    trained = f"after {args.iters} iterations" if args.iters else "untrained"
    title = f"{args.arch} on {task.name}: alpha(t, s), {trained}"
    console = _console(args)
    console.print(f"source : {' '.join(source)}")
    console.print(f"target : {' '.join(token_text(x) for x in batch.target[:n_out, k])}")
    console.print(f"decoded: {' '.join(token_text(x) for x in decoded)} (greedy)")
    console.print(heat_table(weights, rows, cols, title))
    path = args.output or f"{args.arch}-attention.svg"
    heatmap_svg(weights, rows, cols, title, path, row_title="decoder step t (output token)",
                col_title="encoder step s (source token)")
    console.print(f"wrote {path}")
    return 0


def _show_memory(args, task, model, batch, run) -> int:
    """The heat maps of an explicit-memory model: the memory network's p(k, i) (hop x story
    sentence), or the NTM's write and read weightings (time step x memory slot)."""
    import numpy as np

    from viz.heatmap import heat_table, heatmap_svg

    console = _console(args)
    k = args.example
    trained = f"after {args.iters} iterations" if args.iters else "untrained"
    maps = []
    if "attention" in run.extra:  # the memory network: one row per hop
        sentences, query, answer = task.text(batch, k)
        said = task.vocab[int(run.outputs[0].data[k].argmax())]
        support = {int(s) for s in batch.supporting[k]}
        rows = [f"{i + 1}{'*' if i in support else ''} {s}" for i, s in enumerate(sentences)]
        cols = [f"hop {h}" for h in range(1, run.extra["attention"].shape[0] + 1)]
        console.print(f"question: {query}?  answer: {answer}  model: {said}  (* supporting fact)")
        maps.append(("attention", run.extra["attention"][:, :len(sentences), k].T, rows, cols,
                     f"{args.arch} on {task.name}: p(k, i), {trained}", "sentence i of the story",
                     "hop k"))
    else:  # the NTM, drawn as in Graves et al. 2014 fig. 6: slots down, time across
        width = task.output_size
        length = int(batch.mask.sum())
        cols = [f"{t} " + ("in" if t <= length else "delim" if t == length + 1 else
                           "out" if t <= 2 * length + 1 else "-")
                for t in range(1, batch.steps + 1)]
        rows = [f"slot {i}" for i in range(run.extra["read_weights"].shape[-1])]
        wrong = task.metrics(run.outputs, batch)["bits_wrong"]
        console.print(f"copy of {length} vectors of {width} bits: {wrong:.0f} bits wrong")
        for head in ("write", "read"):
            maps.append((f"{head}-weights", run.extra[f"{head}_weights"][:, k].T, rows, cols,
                         f"{args.arch} on {task.name}: {head} weighting w(i, t), {trained}",
                         "memory slot i", "time step t"))
    stem = args.output[:-4] if args.output and args.output.endswith(".svg") else args.output
    for name, matrix, rows, cols, title, row_title, col_title in maps:
        used = np.flatnonzero(matrix.max(axis=1) > 0.05)  # the terminal shows the slots in use
        if "attention" in run.extra or len(used) == len(rows):
            console.print(heat_table(matrix, rows, cols, title))
        else:
            console.print(heat_table(matrix[used], [rows[i] for i in used], cols,
                                     f"{title}; the {len(used)} of {len(rows)} slots with a "
                                     f"weight > 0.05 (all in the SVG)"))
        path = f"{stem or args.arch}-{name}.svg" if len(maps) > 1 or not args.output \
            else args.output
        heatmap_svg(matrix, rows, cols, title, path, row_title=row_title, col_title=col_title)
        console.print(f"wrote {path}")
    return 0


COMMANDS = {
    "list": (_register_list, "the architecture catalog, one line each"),
    "inspect": (_register_inspect, "graph statistics: nodes, parameters, depth, path lengths"),
    "render": (_register_render, "draw the graph (unrolled or folded) to svg, png, pdf or dot"),
    "trace": (_register_trace, "BPTT gradient trace per time step (--ops: node by node)"),
    "train": (_register_train, "train an architecture on a built-in task (held-out loss vs "
                               "baseline)"),
    "attention": (_register_attention, "show the weights a model attends with (encoder-decoder "
                                       "attention, memory addressing): a heat table and an SVG "
                                       "heat map"),
    "demo": (_register_demo, "the tour: catalog, drawings, BPTT traces and training, "
                             "on built-in data"),
}


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except UsageError as error:
        if args.debug:
            raise
        command_parser = getattr(args, "parser", parser)
        command_parser.print_usage(sys.stderr)
        message = str(error).removeprefix(f"{args.command}: ")  # the prog already names it
        print(f"{command_parser.prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygrad-rnn: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the front door turns every failure into one line
        if args.debug:
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"tinygrad-rnn: error: {message}", file=sys.stderr)
        return 1
