"""Next-character prediction on a small public-domain text shipped with the package."""

from __future__ import annotations

import os
import re
import stat
from importlib import resources

import numpy as np

from .base import SequenceBatch, SequenceTask

_TEXT_CACHE: dict = {}


MAX_TEXT_BYTES = 4 * 1024 * 1024  # a text of one's own: a regular file up to this size


def shipped_texts() -> list:
    """The names of the texts in tinygrad_rnn/tasks/data/."""
    data = resources.files(__package__).joinpath("data")
    return sorted(entry.name for entry in data.iterdir() if entry.name.endswith(".txt"))


def load_text(name: str = "alice.txt") -> str:
    """The text of tasks/data/<name> (or of a regular UTF-8 file of at most MAX_TEXT_BYTES),
    lower-cased, runs of whitespace made single spaces."""
    if name not in _TEXT_CACHE:
        if name in shipped_texts():
            raw = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
        else:
            raw = _read_own_text(name)
        _TEXT_CACHE[name] = re.sub(r"\s+", " ", raw.lower()).strip()
    return _TEXT_CACHE[name]


def _read_own_text(name: str) -> str:
    shipped = ", ".join(shipped_texts())
    try:
        info = os.stat(name)
    except (OSError, ValueError):
        raise ValueError(f"task 'nextchar': text={name!r} is neither a shipped text ({shipped}) "
                         f"nor a readable file") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"task 'nextchar': text={name!r} is not a regular file (shipped texts: "
                         f"{shipped})")
    if info.st_size > MAX_TEXT_BYTES:
        raise ValueError(f"task 'nextchar': text={name!r} has {info.st_size} bytes, more than "
                         f"the {MAX_TEXT_BYTES} a text may have")
    with open(name, "rb") as handle:
        raw = handle.read(MAX_TEXT_BYTES + 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"task 'nextchar': text={name!r} is not UTF-8 text ({error})") from None
    if len(set(text)) < 2:
        raise ValueError(f"task 'nextchar': text={name!r} needs at least two distinct "
                         f"characters")
    return text


class NextCharTask(SequenceTask):
    """Predict the next character of Lewis Carroll's "Alice" (chapter I, public domain).

    x(t) is the one-hot t-th character of a random window, y(t) the character after it.
    The first 90% of the text is for training, the last 10% held out (split="test").
    The trivial baseline is the entropy of the character frequencies (a unigram model).
    """

    name = "nextchar"
    summary = "next-character prediction on a small public-domain text (Alice, chapter I)"
    default_steps = 25
    min_steps = 1
    options = {"text": ("alice.txt", "a shipped text (tinygrad_rnn/tasks/data/) or a regular "
                                     "UTF-8 file of at most 4 MiB")}

    def __init__(self, **options):
        super().__init__(**options)
        text = load_text(self.settings["text"])
        self.vocab = sorted(set(text))
        index = {ch: i for i, ch in enumerate(self.vocab)}
        self.codes = np.array([index[ch] for ch in text], dtype=np.int64)
        self.split_at = int(len(self.codes) * 0.9)
        self.input_size = self.output_size = len(self.vocab)

    def check_steps(self, steps):
        super().check_steps(steps)
        longest = len(self.codes) - self.split_at - 1
        if steps > longest:
            raise ValueError(f"task 'nextchar': steps={steps} is longer than the held-out part "
                             f"of the text allows (at most {longest})")

    def decode(self, codes) -> str:
        return "".join(self.vocab[int(i)] for i in np.asarray(codes).reshape(-1))

    def _generate(self, batch, steps, rng, split):
        lo, hi = (0, self.split_at) if split == "train" else (self.split_at, len(self.codes))
        starts = rng.integers(lo, hi - steps, size=batch)
        windows = np.stack([self.codes[s:s + steps + 1] for s in starts], axis=1)  # (T+1, B)
        x = np.eye(len(self.vocab), dtype=np.float32)[windows[:-1]]
        return SequenceBatch(x=x, y=windows[1:].copy())
