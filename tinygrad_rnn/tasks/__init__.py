"""Built-in sequence tasks: seeded synthetic data and one small text, no downloads.

    from tinygrad_rnn.tasks import TASKS, get_task
    task = get_task("adding")
    batch = task.sample(batch=32, steps=50, rng=np.random.default_rng(0))

A task declares the batch type it makes (`batch_type`): a SequenceBatch (time-major inputs
`x` (T, B, D), targets at every step or one at the end) or a PairBatch (a source and a target
sequence of another length, for encoder-decoders), a TreeBatch (a binary tree per example, for
the tree-recursive net) or a StoryBatch (sentences of a story and a question about it, for a
memory network). Every task computes its own loss from a
model's outputs (so every architecture is scored the same way) and knows its trivial baseline:
the loss of the best prediction that ignores the inputs.
"""

from __future__ import annotations

from .base import Batch, SequenceBatch, SequenceTask, Task, UnknownTaskError
from .bits import CopyBitsTask
from .pairs import PairBatch, PairTask, ReverseTask, SortTask
from .mackey_glass import MackeyGlassTask
from .stories import BabiTask, StoryBatch
from .synthetic import AddingTask, CopyTask, ParityTask, SineTask, TaggingTask
from .text import NextCharTask
from .trees import (ExpressionTask, FirstLastTask, Tree, TreeBatch, TreeTask, balanced_tree,
                    check_tree)

TASKS: dict = {}
for _cls in (AddingTask, CopyTask, ParityTask, NextCharTask, SineTask, TaggingTask, ReverseTask,
             SortTask, MackeyGlassTask, FirstLastTask, ExpressionTask, BabiTask, CopyBitsTask):
    TASKS[_cls.name] = _cls


def get_task(name: str, **options) -> Task:
    """A fresh task instance by name; options (e.g. delay=20) go to its constructor."""
    if name not in TASKS:
        raise UnknownTaskError(f"unknown task {name!r}; available: {', '.join(TASKS)}")
    return TASKS[name](**options)


__all__ = ["TASKS", "get_task", "Task", "SequenceTask", "PairTask", "Batch", "SequenceBatch",
           "PairBatch", "UnknownTaskError", "ReverseTask", "SortTask", "AddingTask", "CopyTask",
           "ParityTask", "NextCharTask", "SineTask", "TaggingTask", "MackeyGlassTask",
           "Tree", "TreeBatch", "TreeTask", "balanced_tree", "check_tree", "ExpressionTask",
           "FirstLastTask", "StoryBatch", "BabiTask", "CopyBitsTask"]
