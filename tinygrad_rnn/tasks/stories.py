"""Question answering over a story (bAbI-like, Weston et al. 2015): seeded generated stories of
people moving between rooms and picking things up, one question each, a one-word answer.

    task = get_task("babi-like", facts=2)
    batch = task.sample(32, steps=10)     # stories of 2..10 sentences
    task.text(batch, 0)                   # the first story, its question and answer as words

Words are integers: 0 is PAD, the rest index `VOCAB`. A story is a (S, B, W) array of
sentences (W words each, PAD after the sentence's end, PAD rows after the story's end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..autograd import scope
from .base import Task

PAD = 0
PEOPLE = ("mary", "john", "sandra", "daniel")
PLACES = ("kitchen", "garden", "hallway", "bathroom", "office", "bedroom")
THINGS = ("football", "apple", "milk")
MOVES = (("went", "to", "the"), ("moved", "to", "the"), ("journeyed", "to", "the"),
         ("travelled", "to", "the"))
TAKES = (("picked", "up", "the"), ("got", "the"), ("grabbed", "the"))
VOCAB = ("<pad>",) + tuple(sorted({"where", "is", "the", *PEOPLE, *PLACES, *THINGS,
                                   *(w for verb in MOVES + TAKES for w in verb)}))
WORD_ID = {word: i for i, word in enumerate(VOCAB)}
WORDS = 5  # the longest sentence: "john picked up the football"


@dataclass
class StoryBatch:
    """One batch of stories, each with a question and a one-word answer.

    Shapes: story (S, B, W) int word ids (sentence s of story b is story[s, b], PAD-padded;
    the rows after a story's end are all PAD); story_lengths (B,) int, each >= 1; query (B, W)
    int word ids; answer (B,) int word id; supporting (B, F) int, the sentence indices
    (0-based) of the F facts the answer rests on, in the order a reader needs them.
    """

    story: np.ndarray
    story_lengths: np.ndarray
    query: np.ndarray
    answer: np.ndarray
    supporting: np.ndarray

    @property
    def steps(self) -> int:
        """S, the longest story in the batch (in sentences)."""
        return self.story.shape[0]

    @property
    def size(self) -> int:
        return self.story.shape[1]


def encode(sentence: str | tuple, who: str = "babi-like", what: str = "story word") -> list:
    """Word ids of a sentence (text or a tuple of words); an unknown word is a ValueError."""
    words = sentence.replace("?", " ").replace(".", " ").split() \
        if isinstance(sentence, str) else list(sentence)
    ids = []
    for word in words:
        if word.lower() not in WORD_ID:
            raise ValueError(f"{who}: {what} {word!r} is not in the vocabulary of "
                             f"{len(VOCAB) - 1} words ({', '.join(VOCAB[1:])})")
        ids.append(WORD_ID[word.lower()])
    return ids


def words_text(ids) -> str:
    """'mary went to the kitchen' for a row of word ids (PAD dropped)."""
    return " ".join(VOCAB[int(i)] for i in ids if int(i) != PAD)


def make_batch(stories: list, queries: list, answers: list, supporting: list) -> StoryBatch:
    """Pad lists of stories (each a list of sentences, each text or words) into a StoryBatch."""
    B = len(stories)
    S = max(len(s) for s in stories)
    story = np.full((S, B, WORDS), PAD, np.int64)
    query = np.full((B, WORDS), PAD, np.int64)
    for b, sentences in enumerate(stories):
        for s, sentence in enumerate(sentences):
            ids = encode(sentence)
            if len(ids) > WORDS:
                raise ValueError(f"babi-like: sentence {sentence!r} has {len(ids)} words, more "
                                 f"than {WORDS}")
            story[s, b, :len(ids)] = ids
        ids = encode(queries[b], what="query word")
        if len(ids) > WORDS:
            raise ValueError(f"babi-like: query {queries[b]!r} has {len(ids)} words, more than "
                             f"{WORDS}")
        query[b, :len(ids)] = ids
    answer = np.array([encode((a,), what="answer")[0] for a in answers], np.int64)
    lengths = np.array([len(s) for s in stories], np.int64)
    return StoryBatch(story, lengths, query, answer, np.asarray(supporting, np.int64))


class BabiTask(Task):
    """bAbI-like stories (Weston et al. 2015, tasks 1 and 2), generated from a seed.

    facts=1 ("single supporting fact"): people move around; "where is mary?" is answered by
    mary's last move. facts=2 ("two supporting facts"): people also pick things up; "where is
    the football?" needs the sentence where someone picked it up and that person's last move.
    `steps` is the longest story (in sentences); each story's length is drawn from
    min_length ... steps (2 ... for facts=2). The answer is one word, scored over the whole
    vocabulary by cross-entropy.
    """

    name = "babi-like"
    summary = "answer 'where is X?' from a generated story (1 or 2 supporting facts)"
    batch_type = StoryBatch
    classify = True
    default_steps = 10
    min_steps = 1
    options = {"facts": (1, "supporting facts per question: 1 (where is a person) or 2 (where "
                            "is a thing someone picked up)"),
               "min_length": (1, "shortest story, in sentences"),
               "fixed": (False, "every story exactly --steps sentences long")}
    input_size = len(VOCAB)
    output_size = len(VOCAB)

    def __init__(self, **options):
        super().__init__(**options)
        if self.settings["facts"] not in (1, 2):
            raise ValueError(f"task 'babi-like': facts must be 1 or 2, got "
                             f"{self.settings['facts']}")

    @property
    def vocab(self) -> tuple:
        return VOCAB

    def check_steps(self, steps: int) -> None:
        super().check_steps(steps)
        least = self.settings["facts"]
        if steps < least:
            raise ValueError(f"task 'babi-like' with facts={least} needs stories of at least "
                             f"{least} sentences (--steps >= {least}), got {steps}")
        low = self.settings["min_length"]
        if low < 1 or low > steps:
            raise ValueError(f"task 'babi-like': min_length must be in 1..steps ({steps}), "
                             f"got {low}")

    def _generate(self, batch: int, steps: int, rng: np.random.Generator,
                  split: str) -> StoryBatch:
        low = max(self.settings["min_length"], self.settings["facts"])
        stories, queries, answers, supports = [], [], [], []
        for _ in range(batch):
            n = steps if self.settings["fixed"] else int(rng.integers(low, steps + 1))
            make = self._one_fact if self.settings["facts"] == 1 else self._two_facts
            story, query, answer, support = make(n, rng)
            stories.append(story)
            queries.append(query)
            answers.append(answer)
            supports.append(support)
        return make_batch(stories, queries, answers, supports)

    @staticmethod
    def _move(rng) -> tuple:
        person = PEOPLE[rng.integers(len(PEOPLE))]
        place = PLACES[rng.integers(len(PLACES))]
        return person, place, (person, *MOVES[rng.integers(len(MOVES))], place)

    def _one_fact(self, n: int, rng) -> tuple:
        story, last = [], {}
        for s in range(n):
            person, place, sentence = self._move(rng)
            story.append(sentence)
            last[person] = (s, place)
        person = sorted(last)[rng.integers(len(last))]
        s, place = last[person]
        return story, ("where", "is", person), place, [s]

    def _two_facts(self, n: int, rng) -> tuple:
        """Moves and pick-ups (each thing picked up once) until one thing's holder has moved."""
        while True:
            story, last, held = [], {}, {}
            for s in range(n):
                free = [t for t in THINGS if t not in held]
                if free and rng.random() < 0.3:
                    person = PEOPLE[rng.integers(len(PEOPLE))]
                    thing = free[rng.integers(len(free))]
                    story.append((person, *TAKES[rng.integers(len(TAKES))], thing))
                    held[thing] = (s, person)
                else:
                    person, place, sentence = self._move(rng)
                    story.append(sentence)
                    last[person] = (s, place)
            answerable = [t for t in sorted(held) if held[t][1] in last]
            if answerable:
                break
        thing = answerable[rng.integers(len(answerable))]
        took, person = held[thing]
        moved, place = last[person]
        return story, ("where", "is", "the", thing), place, [took, moved]

    # ----------------------------------------------------------------------------- scoring

    def loss(self, outputs: list, batch: StoryBatch, reduction: str = "mean") -> tuple:
        """(cross-entropy of the answer, None): outputs is [logits (B, V)]."""
        if len(outputs) != 1:
            raise ValueError(f"task 'babi-like' has one answer per story; expected one output, "
                             f"got {len(outputs)}")
        with scope("loss"):
            total = F.cross_entropy(outputs[0], batch.answer, reduction=reduction)
        return total.named("L"), None

    def metrics(self, outputs: list, batch: StoryBatch) -> dict:
        loss, _ = self.loss(outputs, batch)
        right = outputs[0].data.argmax(-1) == batch.answer
        return {"loss": float(loss.item()), "accuracy": float(right.mean())}

    def baseline(self, batch: StoryBatch) -> float:
        """The entropy of the answers' distribution: the best story-blind constant."""
        counts = np.bincount(batch.answer, minlength=len(VOCAB))
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())

    def text(self, batch: StoryBatch, k: int = 0) -> tuple:
        """(sentences, query, answer) of story k of a batch, as words."""
        n = int(batch.story_lengths[k])
        return ([words_text(batch.story[s, k]) for s in range(n)], words_text(batch.query[k]),
                VOCAB[int(batch.answer[k])])


def check_stories(batch: StoryBatch, vocab_size: int, memory: int, who: str) -> None:
    """Raise ValueError naming the value at fault: a story longer than the memory, a word id
    outside the vocabulary, an empty story, misshapen arrays."""
    if not isinstance(batch, StoryBatch):
        raise TypeError(f"{who} reads a StoryBatch (stories and questions), got "
                        f"{type(batch).__name__}")
    story = np.asarray(batch.story)
    if story.ndim != 3 or 0 in story.shape:
        raise ValueError(f"{who}: story must be a non-empty (S, B, W) array of word ids, got "
                         f"shape {story.shape}")
    S, B, W = story.shape
    for what, shape in (("query", (B, W)), ("answer", (B,)), ("story_lengths", (B,))):
        if np.shape(getattr(batch, what)) != shape:
            raise ValueError(f"{who}: {what} has shape {np.shape(getattr(batch, what))}; "
                             f"expected {shape} for a story of shape {story.shape}")
    lengths = np.asarray(batch.story_lengths)
    if lengths.min() < 1 or lengths.max() > S:
        b = int(np.flatnonzero((lengths < 1) | (lengths > S))[0])
        raise ValueError(f"{who}: story {b} has length {int(lengths[b])}; each story needs "
                         f"1..{S} sentences")
    if lengths.max() > memory:
        b = int(lengths.argmax())
        raise ValueError(f"{who}: story {b} has {int(lengths[b])} sentences, more than the "
                         f"memory's {memory} slots (build the model with memory >= "
                         f"{int(lengths.max())})")
    for what in ("story", "query", "answer"):
        ids = np.asarray(getattr(batch, what))
        if ids.dtype.kind not in "iu":
            raise ValueError(f"{who}: {what} must hold integer word ids, got dtype {ids.dtype}")
        bad = np.flatnonzero((ids < 0) | (ids >= vocab_size))
        if bad.size:
            raise ValueError(f"{who}: {what} holds word id {int(ids.reshape(-1)[bad[0]])}, "
                             f"outside the vocabulary 0..{vocab_size - 1}")
