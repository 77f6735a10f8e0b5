"""What every task shares (options, sampling, the batch type it makes), and the sequence tasks'
batch, loss, metrics and trivial baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from .. import init
from ..autograd import scope
from ..tensor import Tensor, stack


def as_bool(value) -> bool:
    """A flag given as a bool or as text ("1", "true", "yes", "on" / "0", "false", "no", "off")."""
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return bool(value)


class UnknownTaskError(ValueError):
    """A task name that is not in TASKS; the message lists the available ones."""


@dataclass
class SequenceBatch:
    """One batch of a sequence task: an input x(t) at every step, targets per step or at the end.

    Shapes: x (T, B, D) float32; y (T, B) int class labels or (T, B, C) float targets for a
    task with targets at every step, (B,) or (B, C) for one target at the end; mask (T,) bool,
    the steps whose targets count; context (B, K) or None, the fixed vector a generation task
    is conditioned on.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray | None = None
    context: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def size(self) -> int:
        return self.x.shape[1]


Batch = SequenceBatch  # the name of the one batch type there was at first


class Task:
    """Base class of every task. Subclasses set the class attributes and write `_generate`,
    `loss`, `metrics` and `baseline` for the batch type they make.

    batch_type: the batch class `sample` returns; a model declares the one it consumes
    (`consumes`) and the catalog pairs a model only with tasks of that type.
    """

    name = ""
    summary = ""
    batch_type: type = SequenceBatch
    classify = True
    default_steps = 20
    min_steps = 1
    options: dict = {}  # option name -> (default, help)
    input_size = 1
    output_size = 1

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(f"task {self.name!r} has no option {unknown[0]!r} "
                             f"(its options: {known})")
        self.settings = {key: default for key, (default, _) in self.options.items()}
        for key, value in options.items():
            default = self.options[key][0]
            try:
                value = as_bool(value) if isinstance(default, bool) else type(default)(value)
            except (TypeError, ValueError):
                raise ValueError(f"task {self.name!r}: option {key}={value!r} is not a "
                                 f"{type(default).__name__}") from None
            self.settings[key] = value

    def check_steps(self, steps: int) -> None:
        """Raise ValueError when this task cannot be posed with `steps` steps."""
        if not isinstance(steps, (int, np.integer)) or steps < self.min_steps:
            raise ValueError(f"task {self.name!r} needs steps >= {self.min_steps}, got {steps!r}")

    def sample(self, batch: int, steps: int | None = None, rng: np.random.Generator | None = None,
               split: str = "train") -> Batch:
        """A fresh batch; rng defaults to the engine's generator (see manual_seed).

        split="test" draws held-out data (for the text task, from a part of the text that
        training never sees; synthetic tasks simply draw new sequences).
        """
        steps = self.default_steps if steps is None else steps
        self.check_steps(steps)
        if not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"task {self.name!r}: batch must be a positive int, got {batch!r}")
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return self._generate(int(batch), int(steps), init.rng() if rng is None else rng, split)

    def _generate(self, batch: int, steps: int, rng: np.random.Generator, split: str):
        raise NotImplementedError

    def loss(self, outputs: list, batch, reduction: str = "mean") -> tuple:
        """(loss, per-step losses or None) for a model's outputs on a batch of this task."""
        raise NotImplementedError(f"task {self.name!r} must define loss")

    def metrics(self, outputs: list, batch) -> dict:
        """Held-out figures: {"loss": ...} and, for classification, "accuracy"."""
        raise NotImplementedError(f"task {self.name!r} must define metrics")

    def baseline(self, batch) -> float:
        """The loss of the best prediction that ignores the inputs."""
        raise NotImplementedError(f"task {self.name!r} must define baseline")


class SequenceTask(Task):
    """A task on SequenceBatch: inputs x (T, B, D), targets at every step or one at the end.

    classify: targets are class indices scored by cross-entropy (else reals scored by MSE).
    per_step: a target at every (masked-in) step; else one target after the last step.
    has_context: each sequence comes with a fixed vector (Batch.context) to condition on.
    """

    batch_type = SequenceBatch
    per_step = True
    has_context = False

    # ------------------------------------------------------------------------------- scoring

    def _step_loss(self, out: Tensor, target: np.ndarray) -> Tensor:
        if self.classify:
            return F.cross_entropy(out, target)
        return F.mse_loss(out, target.astype(out.dtype))

    def loss(self, outputs: list, batch: Batch, t0: int = 0,
             reduction: str = "mean") -> tuple[Tensor | None, list | None]:
        """(loss, per-step losses L(t)) for a model's outputs.

        outputs: for a per-step task, the outputs o(t0+1) ... o(t0+n), each (B, C); for a
        task with one target, [o(T)]. Each L(t) is a mean over the batch, made inside
        `scope("loss", step=t)`. reduction "sum" gives the book's L = sum_t L(t), "mean" divides
        by the number of counted steps. Returns (None, []) when no step in range counts.
        """
        if not self.per_step:
            if len(outputs) != 1:
                raise ValueError(f"task {self.name!r} has one target at the end; expected one "
                                 f"output, got {len(outputs)}")
            with scope("loss", step=batch.steps):
                total = self._step_loss(outputs[0], batch.y)
            return total.named("L"), None
        step_losses = []
        for i, out in enumerate(outputs):
            t = t0 + i + 1
            if batch.mask is not None and not batch.mask[t - 1]:
                continue
            with scope("loss", step=t):
                step_losses.append(self._step_loss(out, batch.y[t - 1]).named(f"L[{t}]"))
        if not step_losses:
            return None, []
        stacked = stack(step_losses)  # also for one step: L stays a node of its own
        total = stacked.sum() if reduction == "sum" else stacked.mean()
        return total.named("L"), step_losses

    def counted(self, batch: Batch) -> np.ndarray:
        """The targets that count in the loss: (N,) labels or (N, C) values."""
        if not self.per_step:
            return batch.y
        steps = np.arange(batch.steps) if batch.mask is None else np.flatnonzero(batch.mask)
        return batch.y[steps].reshape((-1,) + batch.y.shape[2:])

    def baseline(self, batch: Batch) -> float:
        """The loss of the best constant prediction on this batch (ignores the inputs).

        Classes: the entropy of the label distribution; reals: the variance about the mean.
        """
        targets = self.counted(batch)
        if self.classify:
            counts = np.bincount(targets.reshape(-1), minlength=self.output_size)
            p = counts[counts > 0] / counts.sum()
            return float(-(p * np.log(p)).sum())
        targets = targets.reshape(len(targets), -1).astype(np.float64)
        return float(((targets - targets.mean(axis=0)) ** 2).mean())

    def metrics(self, outputs: list, batch: Batch) -> dict:
        """{"loss": ...} plus "accuracy" for a classification task, on the counted targets."""
        loss, _ = self.loss(outputs, batch)
        result = {"loss": float(loss.item())}
        if self.classify:
            if self.per_step:
                steps = np.arange(batch.steps) if batch.mask is None else np.flatnonzero(batch.mask)
                pred = np.stack([outputs[t].data.argmax(-1) for t in steps])
                result["accuracy"] = float((pred == batch.y[steps]).mean())
            else:
                result["accuracy"] = float((outputs[0].data.argmax(-1) == batch.y).mean())
        return result

    def feedback(self, batch: Batch, dtype=np.float32) -> np.ndarray:
        """y(t) as the vector fed back by an output-feedback net: one-hot for classes.

        Shapes: -> (T, B, C); zeros at the steps the mask leaves out.
        """
        if not self.per_step:
            raise ValueError(f"task {self.name!r} has no target at every step to feed back")
        if self.classify:
            out = np.eye(self.output_size, dtype=dtype)[batch.y]
        else:
            out = batch.y.astype(dtype)
        if batch.mask is not None:
            out = out * batch.mask[:, None, None]
        return out
