"""The catalog's registry: architectures by name, which tasks fit each, a small graph of each.

The CLI's list, inspect, render, trace and train all read ARCHS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..init import manual_seed
from ..tensor import Tensor
from ..tasks import TASKS, SequenceBatch, Task, get_task
from ..tasks.base import as_bool
from .base import Run, SequenceModel


class UnknownArchError(ValueError):
    """An architecture name that is not in ARCHS; the message lists the available ones."""


class IncompatibleError(ValueError):
    """An architecture and a task that cannot be paired; the message says why."""


@dataclass(frozen=True)
class Arch:
    """One catalog entry: a name, a one-line summary, and how to build the model."""

    name: str
    summary: str
    family: str
    default_task: str
    model: type
    reference: str = ""

    @property
    def options(self) -> dict:
        """Option name -> (default, help), given to build(...) as keywords."""
        return dict(self.model.options)

    @property
    def scope(self) -> str:
        return self.model.scope_name

    def incompatibility(self, task: Task) -> str | None:
        """Why this architecture cannot run `task`, or None when it can."""
        model = self.model
        if not issubclass(task.batch_type, model.consumes):
            return (f"{self.name} reads {_batch_text(model.consumes)}, but task {task.name!r} "
                    f"makes {_batch_text(task.batch_type)}")
        if not issubclass(task.batch_type, SequenceBatch):
            return None
        if task.per_step and "every" not in model.emits:
            return (f"{self.name} makes one output at the end, but task {task.name!r} needs an "
                    f"output at every step")
        if not task.per_step and "last" not in model.emits:
            return (f"{self.name} makes an output at every step from its targets, but task "
                    f"{task.name!r} has only one target at the end")
        if model.readout_only and task.classify:
            return (f"{self.name} fits a linear readout to real-valued targets, but task "
                    f"{task.name!r} has class labels")
        if model.needs_context and not task.has_context:
            return (f"{self.name} is conditioned on a context vector, but task {task.name!r} "
                    f"has none")
        return None

    def compatible_tasks(self) -> list:
        from ..tasks import TASKS

        return [name for name in TASKS if self.incompatibility(TASKS[name]()) is None]

    def check_task(self, task: Task) -> None:
        reason = self.incompatibility(task)
        if reason is not None:
            raise IncompatibleError(f"{reason}; tasks that fit {self.name}: "
                                    f"{', '.join(self.compatible_tasks())}")

    def build(self, task: Task, hidden: int = 16, **options) -> SequenceModel:
        """A fresh model sized for `task` (weights from the engine's generator)."""
        self.check_task(task)
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(f"architecture {self.name!r} has no option {unknown[0]!r} "
                             f"(its options: {known})")
        if not isinstance(hidden, (int, np.integer)) or isinstance(hidden, bool) or hidden < 1:
            raise ValueError(f"hidden size must be a positive int, got {hidden!r}")
        settings = {}
        for key, value in options.items():
            default = self.options[key][0]
            try:
                settings[key] = type(default)(value) if not isinstance(default, bool) \
                    else as_bool(value)
            except (TypeError, ValueError):
                raise ValueError(f"architecture {self.name!r}: option {key}={value!r} is not a "
                                 f"{type(default).__name__}") from None
        if self.model.feeds_back and issubclass(task.batch_type, SequenceBatch):
            settings["classify"] = task.classify  # what it feeds back depends on the targets
        return self.model(task.input_size, task.output_size, hidden, **settings)


def _batch_text(batch_type) -> str:
    """'sequence batches' for SequenceBatch, 'pair batches' for PairBatch, ... (a tuple of
    batch types: 'tree batches or sequence batches')."""
    if isinstance(batch_type, tuple):
        return " or ".join(_batch_text(t) for t in batch_type)
    name = batch_type.__name__.removesuffix("Batch")
    return f"{name.lower()} batches"


ARCHS: dict = {}


def register(arch: Arch) -> Arch:
    """Add an architecture to the catalog (in order); other model families call this."""
    if arch.name in ARCHS:
        raise ValueError(f"architecture {arch.name!r} is already registered")
    ARCHS[arch.name] = arch
    return arch


def get_arch(name: str) -> Arch:
    """The catalog entry called `name`; UnknownArchError lists the names when there is none."""
    if name not in ARCHS:
        raise UnknownArchError(f"unknown architecture {name!r}; available: {', '.join(ARCHS)}")
    return ARCHS[name]


@dataclass
class GraphSample:
    """A recorded forward pass of a small seeded instance (backward not run)."""

    model: SequenceModel
    loss: Tensor
    states: list
    step_losses: list | None
    recurrent_weight: Tensor | None
    arch: Arch
    task: Task | None = None
    run: Run | None = field(default=None, repr=False)


def model_inputs(model: SequenceModel, task: Task, batch, teacher: bool = True) -> dict:
    """The keyword inputs a model's forward takes besides x: the context, the teacher's y."""
    inputs = {}
    if task.has_context and batch.context is not None:
        inputs["context"] = Tensor(batch.context.astype(model.parameters()[0].dtype))
    if model.feeds_back and teacher:
        inputs["teacher"] = task.feedback(batch, dtype=model.parameters()[0].dtype)
    return inputs


def run_on(model, task: Task, batch, teacher: bool = True, x: Tensor | None = None) -> Run:
    """One forward pass of `model` on a batch of `task` (of the batch type both agree on).

    A sequence model reads x (default: batch.x in the model's dtype) and emits what the task
    scores; any other model reads its whole batch (`run_batch`). teacher=False: a model that
    feeds back its outputs runs free (its own outputs instead of the true ones).
    """
    if isinstance(batch, SequenceBatch):
        emit = "every" if task.per_step else "last"
        if x is None:
            x = Tensor(batch.x.astype(model.parameters()[0].dtype))
        return model(x, emit=emit, **model_inputs(model, task, batch, teacher=teacher))
    return model.run_batch(batch, teacher=teacher)


def build_graph(name: str, steps: int = 5, batch: int = 2, seed: int = 0, task: str | None = None,
                hidden: int = 8, **options) -> GraphSample:
    """Build a seeded small instance on its default task's data and run the forward pass.

    The loss is the book's L = sum_t L(t) (one L at the end for a one-output task); the graph
    is recorded and backward is NOT run. A task with variable lengths is sampled at the full
    length `steps` (its option `fixed`), so the graph shows the architecture, not the padding.
    """
    arch = get_arch(name)
    manual_seed(seed)
    name = task or arch.default_task
    the_task = get_task(name, **({"fixed": True} if "fixed" in TASKS[name].options else {}))
    model = arch.build(the_task, hidden=hidden, **options)
    data = the_task.sample(batch, steps, rng=np.random.default_rng(seed))
    run = run_on(model, the_task, data)
    loss, step_losses = the_task.loss(run.outputs, data, reduction="sum")
    return GraphSample(model=model, loss=loss, states=run.states, step_losses=step_losses,
                       recurrent_weight=model.recurrent_weight, arch=arch, task=the_task, run=run)
