"""Cut a corpus into byte-range shards that can be read and counted independently.

A shard is a byte range [start, stop) of one corpus file, cut at line starts, so that
the shards of a corpus, in order, hold exactly its lines: the same documents, bad
lines and tokens as reading the whole corpus with :class:`corpus.Corpus`. A ``.gz``
file cannot be entered in the middle: it is one shard, [0, its size).

Shards are planned from file sizes and a few bytes read at each cut (a cut moves
forward to the next line start), never by reading the corpus through.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wordlens.corpus.reader import (
    ReadStats,
    corpus_files,
    iter_range_documents,
    next_line_start,
)
from wordlens.corpus.tokenizers import Tokenizer

__all__ = ["ByteRange", "ShardCorpus", "split_corpus"]


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, stop) of the corpus file ``path`` (a ``str``, so that it pickles
    and prints the same on every machine that shares the path)."""

    path: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


def _file_ranges(file: Path, shard_bytes: int) -> list[ByteRange]:
    size = file.stat().st_size
    if file.name.endswith(".gz") or size == 0:
        return [ByteRange(str(file), 0, size)]
    ranges = []
    with open(file, "rb") as stream:
        start = 0
        while start < size:
            # At least shard_bytes each (but the last), so a cut inside a long line
            # moves past it instead of leaving a run of empty ranges behind.
            stop = min(size, next_line_start(stream, start + shard_bytes))
            ranges.append(ByteRange(str(file), start, stop))
            start = stop
    return ranges


def split_corpus(path: str | os.PathLike, shard_bytes: int) -> list[ByteRange]:
    """The shards of a corpus path (a file or a folder of them), in corpus order.

    Each uncompressed file is cut into ranges of about ``shard_bytes`` bytes (at
    least that, up to the end of the line the cut falls in; the last range of a file
    may be shorter); each ``.gz`` file is one range. Raises
    :class:`corpus.CorpusError` for a missing, empty or unsupported corpus path.
    """
    if shard_bytes < 1:
        raise ValueError(f"shard size must be a positive number of bytes, got {shard_bytes}")
    return [shard for file in corpus_files(path) for shard in _file_ranges(file, shard_bytes)]


class ShardCorpus:
    """The tokenised documents (``list[str]`` each) of one shard, restartable like
    :class:`corpus.Corpus`, with the same bad-line rules and statistics."""

    def __init__(self, shard: ByteRange, tokenizer: Tokenizer, text_field: str = "text"):
        self.shard = shard
        self.tokenizer = tokenizer
        self.text_field = text_field
        self._stats: ReadStats | None = None

    def __iter__(self) -> Iterator[list[str]]:
        stats = ReadStats()
        shard = self.shard
        for document in iter_range_documents(
            shard.path, shard.start, shard.stop, self.text_field, stats
        ):
            yield self.tokenizer(document)
        self._stats = stats

    @property
    def stats(self) -> ReadStats:
        """What the most recent complete pass saw."""
        if self._stats is None:
            raise RuntimeError(f"{self.shard} has not been read through yet")
        return self._stats

    def describe(self) -> dict[str, Any]:
        """The shard's entry in a counts manifest's corpus ``sources``, after a
        complete pass (the counter adds the tokens it counted)."""
        stats = self.stats
        return {
            "path": self.shard.path,
            "start": self.shard.start,
            "stop": self.shard.stop,
            "fingerprint": stats.fingerprint,
            "files": stats.files,
            "documents": stats.documents,
            "skipped_lines": stats.skipped_lines,
        }
