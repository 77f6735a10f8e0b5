"""Training a catalog model on a task: full or truncated BPTT, clipping, Adam or SGD, seeded.

    from tinygrad_rnn.training import TrainConfig, train
    result = train(TrainConfig("lstm", task="adding", steps=20, iters=200))
    print(result.test["loss"], result.baseline)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import checkpoint, init, optim
from .autograd import no_grad
from .init import manual_seed
from .models import get_arch, model_inputs, run_on
from .models.base import SequenceModel, detach_state
from .models.esn import EchoStateNetwork
from .tasks import Batch, SequenceBatch, Task, get_task
from .tensor import Tensor

SCHEMA = 1


@dataclass
class TrainConfig:
    """Everything a training run depends on (the same config and seed give the same numbers)."""

    arch: str
    task: str | None = None  # None: the architecture's default task
    steps: int | None = None  # sequence length T; None: the task's default
    iters: int = 300
    batch: int = 32
    hidden: int = 32
    lr: float = 1e-2
    optimizer: str = "adam"
    momentum: float = 0.0
    bptt: int | None = None  # truncated BPTT chunk length K; None: full BPTT
    clip_norm: float | None = None
    clip_value: float | None = None
    flow_reg: float = 0.0  # lambda of the information-flow regularizer (vanilla rnn only)
    seed: int = 0
    eval_every: int = 50
    eval_batch: int = 256
    arch_options: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a run measured: held-out metrics, the trivial baseline, the loss curve, the time."""

    config: TrainConfig
    task: str
    steps: int
    baseline: float
    test: dict
    free_running: dict | None
    history: list
    seconds: float
    parameters: int

    def to_dict(self) -> dict:
        """JSON-ready, with "schema": 1."""
        return {"schema": SCHEMA, "arch": self.config.arch, "task": self.task,
                "steps": self.steps, "config": asdict(self.config), "baseline": self.baseline,
                "test": self.test, "free_running": self.free_running, "history": self.history,
                "seconds": round(self.seconds, 3), "parameters": self.parameters}


def _check_config(config: TrainConfig) -> None:
    checks = [("iters", config.iters, 1), ("batch", config.batch, 1), ("hidden", config.hidden, 1),
              ("eval_every", config.eval_every, 1), ("eval_batch", config.eval_batch, 1)]
    for what, value, least in checks:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise ValueError(f"{what} must be an int >= {least}, got {value!r}")
    for what, value in (("lr", config.lr), ("momentum", config.momentum)):
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    if not isinstance(config.seed, (int, np.integer)) or config.seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {config.seed!r}")
    if config.bptt is not None and (not isinstance(config.bptt, (int, np.integer))
                                    or config.bptt < 1):
        raise ValueError(f"bptt must be an int >= 1 (the chunk length), got {config.bptt!r}")
    if not config.lr > 0:
        raise ValueError(f"lr must be a positive number, got {config.lr!r}")
    for what in ("clip_norm", "clip_value"):
        value = getattr(config, what)
        if value is not None and not value > 0:
            raise ValueError(f"{what} must be > 0, got {value!r}")
    if not (isinstance(config.flow_reg, (int, float)) and config.flow_reg >= 0
            and np.isfinite(config.flow_reg)):
        raise ValueError(f"flow_reg must be a number >= 0, got {config.flow_reg!r}")
    if config.optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be adam or sgd, got {config.optimizer!r}")


def _slice_inputs(inputs: dict, start: int, stop: int) -> dict:
    """The per-step inputs (the teacher's y) of one chunk; the context is the same throughout."""
    return {key: (value[start:stop] if key == "teacher" else value)
            for key, value in inputs.items()}


def _counted(task: Task, batch: Batch, start: int, stop: int) -> int:
    if not task.per_step:
        return int(stop == batch.steps)
    if batch.mask is None:
        return stop - start
    return int(batch.mask[start:stop].sum())


def bptt_backward(model: SequenceModel, task: Task, batch: Batch, bptt: int | None = None,
                  x: Tensor | None = None, flow_reg: float = 0.0) -> float:
    """Forward and backward over one batch, accumulating gradients; returns the mean loss.

    bptt=K cuts the unroll into chunks of K steps: the state's values carry from one chunk to
    the next, but it is detached, so no gradient crosses a chunk boundary (truncated BPTT).
    Each chunk's summed loss is divided by the number of counted targets in the whole
    sequence, so with K >= T this is exactly full BPTT on the mean loss.
    x: the inputs as a Tensor (default: batch.x), e.g. one that requires grad to inspect.
    flow_reg=lambda > 0 adds lambda times the information-flow penalty of each chunk's states
    (see flow_backward); the returned loss is the task's alone.
    """
    if bptt is not None and not model.truncatable and bptt < batch.steps:
        raise ValueError(f"{model.scope_name} cannot be trained with truncated BPTT: it needs the "
                         f"whole sequence at once")
    T = batch.steps
    k = T if bptt is None else min(bptt, T)
    x = Tensor(batch.x.astype(model.parameters()[0].dtype)) if x is None else x
    inputs = model_inputs(model, task, batch)
    total_targets = _counted(task, batch, 0, T)
    state, total = None, 0.0
    for start in range(0, T, k):
        stop = min(T, start + k)
        counted = _counted(task, batch, start, stop)
        emit = "every" if task.per_step else ("last" if stop == T else "none")
        chunk_x = x if (start, stop) == (0, T) else x[start:stop]
        if counted:
            run = model(chunk_x, state=state, t0=start, emit=emit,
                        **_slice_inputs(inputs, start, stop))
            loss, _ = task.loss(run.outputs, batch, t0=start, reduction="sum")
            scaled = loss * (1.0 / total_targets)
            if flow_reg:
                flow_backward(model, run.states, scaled, flow_reg)
            else:
                scaled.backward()
            total += float(scaled.item())
        else:
            with no_grad():  # nothing to learn from here: only the state's values go on
                run = model(chunk_x, state=state, t0=start, emit="none",
                            **_slice_inputs(inputs, start, stop))
        state = detach_state(run.state)
    return total


def flow_backward(model: SequenceModel, states: list, loss: Tensor, flow_reg: float) -> float:
    """Backward of loss + flow_reg * Omega, Omega the flow penalty of Pascanu et al. (2013).

    Two passes, as the paper's dL/dh(t) is a constant of the penalty: the first backward (graph
    kept) gives the loss's gradients and g(t) = dL/dh(t); the second adds the gradient of
    flow_reg * Omega(h, W; g) with g held fixed. Returns Omega's value.
    """
    for h in states:
        h.retain_grad()
    loss.backward(retain_graph=True)
    grads = [None if h.grad is None else np.array(h.grad) for h in states]
    penalty = model.flow_penalty(states, grads)
    if penalty.requires_grad:
        (penalty * flow_reg).backward()
    return float(penalty.item())


def batch_backward(model, task: Task, batch, bptt: int | None = None,
                   flow_reg: float = 0.0) -> float:
    """Forward and backward over one batch of any type, accumulating gradients; the mean loss.

    A sequence batch goes through bptt_backward (full or truncated BPTT, the flow penalty when
    flow_reg > 0); any other batch is one forward of the whole batch, teacher forced where the
    model feeds back its outputs.
    """
    if isinstance(batch, SequenceBatch):
        return bptt_backward(model, task, batch, bptt, flow_reg=flow_reg)
    loss, _ = task.loss(run_on(model, task, batch).outputs, batch)
    loss.backward()
    return float(loss.item())


def evaluate(model, task: Task, batch, teacher: bool = True) -> dict:
    """Held-out metrics without recording a graph (teacher=False: a model that feeds back its
    outputs runs free, on its own outputs: greedy decoding for an encoder-decoder)."""
    with no_grad():
        return task.metrics(run_on(model, task, batch, teacher=teacher).outputs, batch)


def make_optimizer(config: TrainConfig, params: list):
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr)
    return optim.SGD(params, lr=config.lr, momentum=config.momentum)


def prepare(config: TrainConfig) -> tuple:
    """Check the config and build (task, steps, model); every bad input raises ValueError.

    The architecture and task names raise UnknownArchError / UnknownTaskError (ValueErrors),
    an unfit pair IncompatibleError, all with messages listing what is available.
    """
    _check_config(config)
    arch = get_arch(config.arch)
    task = get_task(config.task or arch.default_task, **config.task_options)
    arch.check_task(task)
    steps = task.default_steps if config.steps is None else config.steps
    task.check_steps(steps)
    manual_seed(config.seed)
    model = arch.build(task, hidden=config.hidden, **config.arch_options)
    if config.bptt is not None and not issubclass(task.batch_type, SequenceBatch):
        raise ValueError(f"truncated BPTT (--bptt) cuts one sequence into chunks; task "
                         f"{task.name!r} makes {task.batch_type.__name__}es, train {arch.name} "
                         f"without --bptt")
    if config.flow_reg:
        if not hasattr(model, "flow_penalty"):
            raise ValueError(f"flow_reg: {arch.name} has no information-flow penalty (it is "
                             f"written for the vanilla rnn)")
        model.flow_penalty([], [])  # raises when the model's transition is not the vanilla one
    if config.bptt is not None and not model.truncatable and config.bptt < steps:
        raise ValueError(f"{arch.name} cannot be trained with truncated BPTT (--bptt): it needs "
                         f"the whole sequence at once")
    return task, steps, model


_RESUMABLE = ("iters",)  # what may differ between a checkpoint's run and the resumed one


def _save_run(path: str, config, it: int, model, opt, train_rng, history, test, free) -> None:
    checkpoint.save({"kind": "train", "config": asdict(config), "iteration": it,
                     "model": model.state_dict(), "optimizer": opt.state_dict(),
                     "train_rng": train_rng.bit_generator.state,
                     "engine_rng": init.rng().bit_generator.state,
                     "history": history, "test": test, "free_running": free}, path)


def _resume(path: str, config, model, opt, train_rng) -> tuple:
    """Load a train checkpoint into model, optimizer and generators: (iteration, history, ...)."""
    state = checkpoint.load(path)
    if not isinstance(state, dict) or state.get("kind") != "train":
        raise checkpoint.CheckpointError(f"load: {path} is a checkpoint, but not of a training "
                                         f"run (saved by tinygrad_rnn.save, not train --save)")
    saved, wanted = state["config"], asdict(config)
    differ = [k for k in wanted if k not in _RESUMABLE and saved.get(k) != wanted[k]]
    if differ:
        raise ValueError(f"--load {path}: the checkpoint was trained with "
                         + ", ".join(f"{k}={saved.get(k)!r}" for k in differ)
                         + "; this run asks for " + ", ".join(f"{k}={wanted[k]!r}" for k in differ)
                         + " (resume with the same settings; only --iters may change)")
    it = state["iteration"]
    if it >= config.iters:
        raise ValueError(f"--load {path}: the checkpoint is at iteration {it}; --iters "
                         f"{config.iters} leaves nothing to train (give more than {it})")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    train_rng.bit_generator.state = state["train_rng"]
    init.rng().bit_generator.state = state["engine_rng"]
    # the saved run's closing evaluation is not one an uninterrupted run makes
    history = [row for row in state["history"] if row["iter"] % config.eval_every == 0]
    return it, history, state["test"], state["free_running"]


def train(config: TrainConfig, on_progress: Callable | None = None,
          prepared: tuple | None = None, save: str | None = None,
          load: str | None = None) -> TrainResult:
    """Train config.arch on its task and measure the held-out loss against the baseline.

    on_progress(iteration, iters, train_loss, test_metrics_or_None, clip) is called after every
    iteration (test metrics at every eval_every-th and the last; clip = (norm before, after)
    when clipping by norm, else None). prepared: what prepare(config) returned, if the caller
    has already checked the config with it. load: a checkpoint written by save= to resume from
    (same config but iters: the run goes on to the same numbers as one without a break);
    save: where to write the run's checkpoint at its end.
    """
    task, steps, model = prepared if prepared is not None else prepare(config)
    if model.readout_only:
        return train_readout(config, task, steps, model, on_progress)
    params = model.parameters()
    opt = make_optimizer(config, params)
    train_rng = np.random.default_rng(config.seed)
    test_batch = task.sample(config.eval_batch, steps, rng=np.random.default_rng(
        config.seed + 1_000_003), split="test")
    baseline = task.baseline(test_batch)
    feedback = model.feeds_back
    history, test, free = [], {}, None
    start = 0
    if load is not None:
        start, history, test, free = _resume(load, config, model, opt, train_rng)
    begin = time.perf_counter()
    for it in range(start + 1, config.iters + 1):
        batch = task.sample(config.batch, steps, rng=train_rng)
        opt.zero_grad()
        loss = batch_backward(model, task, batch, config.bptt, flow_reg=config.flow_reg)
        if config.clip_value is not None:
            optim.clip_grad_value_(params, config.clip_value)
        clip = None
        if config.clip_norm is not None:
            before = optim.clip_grad_norm_(params, config.clip_norm)
            clip = (before, min(before, config.clip_norm))
        opt.step()
        if not np.isfinite(loss):
            raise FloatingPointError(f"training diverged at iteration {it}: the loss is {loss}; "
                                     f"try a smaller --lr or --clip-norm 1")
        metrics = None
        if it % config.eval_every == 0 or it == config.iters:
            metrics = evaluate(model, task, test_batch)
            test = metrics
            row = {"iter": it, "train_loss": loss, "test_loss": metrics["loss"]}
            if feedback:
                free = evaluate(model, task, test_batch, teacher=False)
                row["free_running_loss"] = free["loss"]
            history.append(row)
        if on_progress is not None:
            on_progress(it, config.iters, loss, metrics, clip)
    seconds = time.perf_counter() - begin
    if save is not None:
        _save_run(save, config, config.iters, model, opt, train_rng, history, test, free)
    return TrainResult(config=config, task=task.name, steps=steps, baseline=baseline, test=test,
                       free_running=free, history=history, seconds=seconds,
                       parameters=int(sum(p.size for p in params)))


# ------------------------------------------------------------------ echo state networks (readout)


def train_readout(config: TrainConfig, task: Task, steps: int, model: EchoStateNetwork,
                  on_progress: Callable | None = None) -> TrainResult:
    """Fit an echo state network's readout on one batch of config.batch sequences.

    The reservoir runs once over the batch (no graph: it is never trained); its states at the
    counted (masked-in) steps are the regressors. readout=ridge solves the ridge regression in
    closed form (one "iteration"); readout=gd runs config.iters full-batch steps of the
    optimiser on the readout's mean squared error, through the engine's autograd.
    """
    if not task.per_step or task.classify:  # prepare() has said so already for the CLI
        raise ValueError(f"esn fits a linear readout to real targets at every step; task "
                         f"{task.name!r} is not one")
    rng = np.random.default_rng(config.seed)
    test_batch = task.sample(config.eval_batch, steps, rng=np.random.default_rng(
        config.seed + 1_000_003), split="test")
    baseline = task.baseline(test_batch)
    begin = time.perf_counter()
    batch = task.sample(config.batch, steps, rng=rng)
    counted = np.arange(batch.steps) if batch.mask is None else np.flatnonzero(batch.mask)
    states = model.reservoir_states(batch.x)[counted].reshape(-1, model.hidden_size)
    targets = batch.y[counted].reshape(len(states), -1)
    history = []
    if model.readout == "ridge":
        model.fit_ridge(states, targets)
        iters = 1
        train_loss = _readout_loss(model, states, targets)
    else:
        iters = config.iters
        opt = make_optimizer(config, model.parameters())
        train_loss = fit_readout_gd(model, states, targets, opt, iters, on_progress)
    test = evaluate(model, task, test_batch)
    history.append({"iter": iters, "train_loss": train_loss, "test_loss": test["loss"]})
    if on_progress is not None:
        on_progress(iters, iters, train_loss, test, None)
    seconds = time.perf_counter() - begin
    return TrainResult(config=config, task=task.name, steps=steps, baseline=baseline, test=test,
                       free_running=None, history=history, seconds=seconds,
                       parameters=int(sum(p.size for p in model.parameters())))


def fit_readout_gd(model: EchoStateNetwork, states: np.ndarray, targets: np.ndarray, opt,
                   iters: int, on_progress: Callable | None = None) -> float:
    """Train the readout o = c + V h by `iters` full-batch steps of `opt` on the mean squared
    error over the given states, through the engine's autograd; returns the last loss.

    Shapes: states (N, H), targets (N, C).
    """
    X, Y = Tensor(states.astype(model.V.dtype)), targets.astype(model.V.dtype)
    train_loss = float("nan")
    for it in range(1, iters + 1):
        opt.zero_grad()
        loss = ((model.c + X @ model.V.T - Y) ** 2).mean()
        loss.backward()
        opt.step()
        train_loss = float(loss.item())
        if on_progress is not None and it < iters:
            on_progress(it, iters, train_loss, None, None)
    return train_loss


def _readout_loss(model: EchoStateNetwork, states: np.ndarray, targets: np.ndarray) -> float:
    pred = states.astype(np.float64) @ model.V.data.T.astype(np.float64) + model.c.data
    return float(np.mean((pred - targets) ** 2))
