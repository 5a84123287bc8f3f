"""Stage: merge counts folders into the counts of their corpora together.

Counts add up: for one window, weighting and tokenizer, the word counts and every
cell X_ij of two corpora sum to those of their concatenation (the counts keep every
token and hold exact integer ticks, :mod:`training.counts`). So
``merge_counts([count(A), count(B)])`` equals ``count(A + B)`` file for file.

How, in memory bounded by ``memory_bytes``: the words' union gets the summed counts
and the counts' word order; each input is read a block of rows at a time, its cells
moved to the new rows and columns (each (row, column) turned so column > row),
radix-sorted into a run; the runs are summed by :class:`training.sorted_runs.
SortedRuns` (held, merged, spilled beyond the budget) and written row range by row
range.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from wordlens.training.counts import Counts, CountsWriter, load_counts, word_order
from wordlens.training.sorted_runs import SortedRuns, sort_cells

log = logging.getLogger(__name__)

__all__ = ["merge_counts"]

# Bytes per cell of an input block while it becomes a run: its columns and ticks
# read (12), the new keys (8), the radix sort's spare keys and ticks (16), and room.
_BLOCK_BYTES_PER_CELL = 48


@njit(cache=True, nogil=True)
def _moved_keys(indptr, columns, first_row, new_row):
    """uint64 keys (cells,) of a block of rows ``first_row``.. (CSR ``indptr``,
    ``columns``) moved to the rows ``new_row`` gives, each turned to column > row."""
    keys = np.empty(columns.shape[0], dtype=np.uint64)
    for local in range(indptr.shape[0] - 1):
        row = new_row[first_row + local]
        for k in range(indptr[local], indptr[local + 1]):
            column = new_row[columns[k]]
            low, high = (row, column) if row < column else (column, row)
            keys[k] = (np.uint64(low) << np.uint64(32)) | np.uint64(high)
    return keys


def _same_settings(inputs: Sequence[Counts]) -> None:
    """Refuse counts made with another window, weighting or tokenizer than the first."""
    first = inputs[0]
    for other in inputs[1:]:
        for name in ("window", "weighting", "tokenizer"):
            if getattr(other, name) != getattr(first, name):
                raise ValueError(
                    f"cannot merge counts of different {name}s: {first.path.name} has "
                    f"{getattr(first, name)!r}, {other.path.name} has {getattr(other, name)!r}"
                )


def _union(inputs: Sequence[Counts]) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """(the words of all inputs in the counts' order, their summed counts int64 (V,),
    per input: int64 (V_k,) its rows' new rows)."""
    union = list(dict.fromkeys(itertools.chain.from_iterable(c.words for c in inputs)))
    position = dict(zip(union, itertools.count()))  # built in C, not word by word
    places = [
        np.fromiter(map(position.__getitem__, counts.words), dtype=np.int64, count=len(counts))
        for counts in inputs
    ]
    totals = np.zeros(len(union), dtype=np.int64)
    for counts, place in zip(inputs, places, strict=True):
        totals[place] += counts.counts  # a word appears once per input
    order = word_order(union, totals)
    new_row = np.empty(len(union), dtype=np.int64)
    new_row[order] = np.arange(len(union), dtype=np.int64)
    words = list(map(union.__getitem__, order.tolist()))
    return words, totals[order], [new_row[place] for place in places]


def merge_counts(
    inputs: Sequence[Counts | str | os.PathLike],
    out: str | os.PathLike,
    memory_bytes: int,
    scratch: str | os.PathLike,
) -> Path:
    """Merge counts folders (or opened :class:`Counts`) into one published at ``out``.

    Refuses inputs of different window, weighting or tokenizer (ValueError). The
    corpus sources are concatenated in the order given and their documents and
    tokens summed; the data files do not depend on that order. ``memory_bytes``
    bounds the working memory (a quarter for reading input blocks, the rest for the
    sorted runs) beyond the words' table; ``scratch`` holds spilled runs, removed at
    the end. Returns the folder's path; its manifest's ``figures`` tell what the
    merge did.
    """
    started = time.perf_counter()
    counts = [item if isinstance(item, Counts) else load_counts(item) for item in inputs]
    if not counts:
        raise ValueError("nothing to merge: no counts given")
    _same_settings(counts)
    words, totals, new_rows = _union(counts)
    sources = [source for c in counts for source in c.corpus.get("sources", [])]
    corpus = {
        "sources": sources,
        "documents": sum(int(c.corpus.get("documents", 0)) for c in counts),
        "tokens": sum(int(c.corpus.get("tokens", 0)) for c in counts),
    }
    block_cells = max(memory_bytes // 4 // _BLOCK_BYTES_PER_CELL, 1)
    figures: dict[str, Any] = {"memory_bytes": int(memory_bytes), "inputs": len(counts)}
    Path(scratch).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="merge-", dir=scratch))
    try:
        first = counts[0]
        with (
            SortedRuns(len(words), memory_bytes - memory_bytes // 4, work) as runs,
            CountsWriter(
                out,
                words=words,
                counts=totals,
                window=first.window,
                weighting=first.weighting,
                tokenizer=first.tokenizer,
                corpus=corpus,
            ) as writer,
        ):
            for source, new_row in zip(counts, new_rows, strict=True):
                for start, _, block in source.row_blocks(block_cells):
                    keys = _moved_keys(block.indptr, block.indices, start, new_row)
                    runs.add(*sort_cells(keys, block.data, len(words)))
            read = time.perf_counter()
            for _, _, indptr, columns, ticks in runs.blocks():
                writer.append(indptr, columns, ticks)
            figures.update(
                runs.figures,
                read_seconds=round(read - started, 3),
                merge_seconds=round(time.perf_counter() - read, 3),
                seconds=round(time.perf_counter() - started, 3),
            )
            writer.figures.update(figures)
        log.info(
            "merged %d counts: %s words, %s cells in %.1f s",
            len(counts),
            f"{len(words):,}",
            f"{writer.cells:,}",
            figures["seconds"],
        )
        return writer.path
    finally:
        shutil.rmtree(work, ignore_errors=True)
