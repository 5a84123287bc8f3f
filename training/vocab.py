"""Stage: count the words of a corpus and keep the vocabulary.

Words are sorted by decreasing count, ties broken by the word itself (code-point
order), so the same corpus always gives the same row order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Vocabulary", "count_words", "build_vocabulary"]


@dataclass
class Vocabulary:
    """Kept words and their counts.

    Attributes
    ----------
    words : list of V words, most frequent first.
    counts : int64 array (V,), corpus count of each kept word.
    total_tokens : int, tokens in the corpus before any word was dropped.
    total_types : int, distinct words in the corpus before any word was dropped.
    """

    words: list[str]
    counts: np.ndarray
    total_tokens: int
    total_types: int
    _index: dict[str, int] | None = field(default=None, repr=False)

    @property
    def index(self) -> dict[str, int]:
        """word → row."""
        if self._index is None:
            self._index = {word: i for i, word in enumerate(self.words)}
        return self._index

    def __len__(self) -> int:
        return len(self.words)


def count_words(documents: Iterable[list[str]], chunk_tokens: int = 1_000_000) -> Counter:
    """Count every token of tokenised documents. ``Counter.update`` runs in C; feeding
    it about ``chunk_tokens`` tokens at a time instead of one document at a time
    saves a third of the time on short documents."""
    counter: Counter = Counter()
    chunk: list[str] = []
    for tokens in documents:
        chunk.extend(tokens)
        if len(chunk) >= chunk_tokens:
            counter.update(chunk)
            chunk = []
    counter.update(chunk)
    return counter


def build_vocabulary(
    counter: Counter, min_count: int = 5, max_vocab: int | None = None
) -> Vocabulary:
    """Keep words seen at least ``min_count`` times, at most ``max_vocab`` of them."""
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if max_vocab is not None and max_vocab < 1:
        raise ValueError(f"max_vocab must be at least 1, got {max_vocab}")
    kept = sorted(
        ((word, count) for word, count in counter.items() if count >= min_count),
        key=lambda item: (-item[1], item[0]),
    )[:max_vocab]
    if not kept:
        raise ValueError(
            f"no word occurs {min_count}+ times in the corpus "
            f"({len(counter):,} distinct words); lower min_count"
        )
    words = [word for word, _ in kept]
    counts = np.fromiter((count for _, count in kept), dtype=np.int64, count=len(kept))
    return Vocabulary(
        words=words,
        counts=counts,
        total_tokens=sum(counter.values()),
        total_types=len(counter),
    )
