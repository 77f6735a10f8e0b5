"""Next-character prediction on a small public-domain text shipped with the package."""

from __future__ import annotations

import re
from importlib import resources

import numpy as np

from .base import SequenceBatch, SequenceTask

_TEXT_CACHE: dict = {}


def load_text(name: str = "alice.txt") -> str:
    """The text of tasks/data/<name>, lower-cased, runs of whitespace made single spaces."""
    if name not in _TEXT_CACHE:
        raw = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
        _TEXT_CACHE[name] = re.sub(r"\s+", " ", raw.lower()).strip()
    return _TEXT_CACHE[name]


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
    options = {"text": ("alice.txt", "a file in tinygrad_rnn/tasks/data/")}

    def __init__(self, **options):
        super().__init__(**options)
        try:
            text = load_text(self.settings["text"])
        except FileNotFoundError:
            raise ValueError(f"task 'nextchar': no text {self.settings['text']!r} in "
                             f"tinygrad_rnn/tasks/data/") from None
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
