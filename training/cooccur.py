"""Stage: count a corpus's word co-occurrences into a counts folder (:mod:`training.counts`).

Rules (the counts artifact's, so that counts add up): every pair of tokens at most
``window`` apart in one document adds its ticks to X_ij (1, or scale // distance with
``weighting="distance"``); every token keeps its place in the window, however rare
(no vocabulary is applied when counting); windows never cross documents; a word
next to itself (the diagonal) is dropped; only the upper triangle (column > row) is
kept, rows in the counts' word order.

How, in memory bounded by ``memory_bytes`` (:func:`plan_memory`) whatever the corpus:

    documents ─encode→ token ids on disk, counts per type ─word_order→ rows
      ─chunk by chunk, numba→ pairs of the most frequent words into a dense int64
        block (their pairs are most of the mass, GloVe's trick); every other pair as
        a packed key (row, column, distance) ─radix sort, sum→ a sorted run
      ─SortedRuns→ runs held, merged, spilled to disk beyond the budget
      ─row range by row range, with the dense block's rows→ CountsWriter

:func:`count_documents` is the stage. :func:`budget`, :func:`count_encoded` and
:func:`count_cooccurrences` keep the previous interface (a vocabulary given first,
words outside it removed before windowing, X returned as a symmetric float64 CSR
matrix) on the same machinery, for :mod:`training.pmi` until it trains from counts.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from wordlens.training.counts import CountsWriter, pair_ticks, ticks_scale, word_order
from wordlens.training.encode import EncodedCorpus, encode_corpus
from wordlens.training.sorted_runs import Run, SortedRuns, key_bits, radix_sort_keys

log = logging.getLogger(__name__)

__all__ = [
    "ChunkCounter",
    "MemoryPlan",
    "budget",
    "count_cooccurrences",
    "count_documents",
    "count_encoded",
    "count_upper",
    "plan_memory",
]

# Worst-case bytes per token of a chunk: ``window`` packed keys and as many spare
# keys for the radix sort (16 · window), the chunk's run if no pair repeats
# (16 · window), its ids, rows and document lengths (16).
_BYTES_PER_WINDOW_SLOT = 32
_BYTES_PER_TOKEN = 16
_MIN_CHUNK_TOKENS = 1000


@dataclass(frozen=True)
class MemoryPlan:
    """How counting splits its memory budget.

    dense_words : d, the most frequent words whose pairs go to the dense block, its
        upper triangle packed: int64 (d · (d − 1) / 2,), 4 · d · (d − 1) bytes.
    chunk_tokens : tokens counted at a time, (32 · window + 16) bytes each at worst.
    run_bytes : the sorted runs' budget (:class:`training.sorted_runs.SortedRuns`).
    """

    dense_words: int
    chunk_tokens: int
    run_bytes: int

    @property
    def dense_bytes(self) -> int:
        return 4 * self.dense_words * max(self.dense_words - 1, 0)


def plan_memory(memory_bytes: int, window: int, vocabulary: int | None = None) -> MemoryPlan:
    """A quarter of ``memory_bytes`` for the dense block, a quarter for a chunk, the
    rest for the sorted runs (at least a quarter). With ``vocabulary`` known, the
    dense block is at most V words and what it leaves goes to the runs."""
    if memory_bytes < 1:
        raise ValueError(f"memory_bytes must be positive, got {memory_bytes}")
    quarter = memory_bytes // 4
    dense_words = (1 + math.isqrt(1 + quarter)) // 2  # 4·d·(d − 1) ≤ quarter
    if vocabulary is not None:
        dense_words = min(dense_words, vocabulary)
    per_token = _BYTES_PER_WINDOW_SLOT * window + _BYTES_PER_TOKEN
    chunk_tokens = max(_MIN_CHUNK_TOKENS, quarter // per_token)
    dense_bytes = 4 * dense_words * max(dense_words - 1, 0)
    run_bytes = max(memory_bytes - dense_bytes - chunk_tokens * per_token, quarter)
    return MemoryPlan(int(dense_words), int(chunk_tokens), int(run_bytes))


def _packed_bases(size: int) -> np.ndarray:
    """int64 (size,): cell (i, j), i < j < size, of a packed upper triangle sits at
    base[i] + j (row i holds size − 1 − i cells, after those of the rows above)."""
    rows = np.arange(size, dtype=np.int64)
    return rows * (size - 1) - rows * (rows - 1) // 2 - rows - 1


@njit(cache=True, nogil=True)
def _count_chunk(ids, lengths, ticks_at, dense, bases, column_bits, distance_bits, events):
    """Add the pairs of one chunk of documents; returns how many events were written.

    ids : int32 (n,) rows of the tokens, documents end to end; lengths int32 (docs,).
    ticks_at : int64 (window + 1,) the ticks of a pair at distance d.
    dense, bases : the packed upper triangle (:func:`_packed_bases`) of the pairs
        (low, high) of rows both below size = len(bases), low < high.
    events : uint64 (≥ n · window,) out: each other pair as
        ((low << column_bits | high) << distance_bits) | (distance − 1).
    """
    window = ticks_at.shape[0] - 1
    size = bases.shape[0]
    distance_mask = np.uint64((1 << distance_bits) - 1)
    written = 0
    start = 0
    for document in range(lengths.shape[0]):
        end = start + lengths[document]
        for t in range(start, end):
            i = ids[t]
            for u in range(t + 1, min(end, t + window + 1)):
                j = ids[u]
                if i == j:
                    continue
                low, high = (i, j) if i < j else (j, i)
                if high < size:
                    dense[bases[low] + high] += ticks_at[u - t]
                else:
                    pair = (np.uint64(low) << np.uint64(column_bits)) | np.uint64(high)
                    events[written] = (pair << np.uint64(distance_bits)) | (
                        np.uint64(u - t - 1) & distance_mask
                    )
                    written += 1
        start = end
    return written


@njit(cache=True, nogil=True)
def _sum_events(events, column_bits, distance_bits, ticks_at):
    """Sorted events → a run: keys uint64 (row << 32 | column) and summed ticks."""
    n = events.shape[0]
    distinct = 0
    for e in range(n):
        if e == 0 or (events[e] >> np.uint64(distance_bits)) != (
            events[e - 1] >> np.uint64(distance_bits)
        ):
            distinct += 1
    keys = np.empty(distinct, dtype=np.uint64)
    ticks = np.zeros(distinct, dtype=np.int64)
    column_mask = np.uint64((1 << column_bits) - 1)
    distance_mask = np.uint64((1 << distance_bits) - 1)
    at = -1
    for e in range(n):
        event = events[e]
        pair = event >> np.uint64(distance_bits)
        if e == 0 or pair != (events[e - 1] >> np.uint64(distance_bits)):
            at += 1
            keys[at] = ((pair >> np.uint64(column_bits)) << np.uint64(32)) | (pair & column_mask)
        ticks[at] += ticks_at[np.intp(event & distance_mask) + 1]
    return keys, ticks


@njit(cache=True, nogil=True)
def _dense_row_cells(dense, bases):
    size = bases.shape[0]
    cells = np.zeros(size, dtype=np.int64)
    for i in range(size):
        for j in range(i + 1, size):
            if dense[bases[i] + j] != 0:
                cells[i] += 1
    return cells


@njit(cache=True, nogil=True)
def _dense_cells(dense, bases, start, end):
    """The non-zero cells of dense rows [start, end) as a run."""
    size = bases.shape[0]
    count = 0
    for i in range(start, end):
        for j in range(i + 1, size):
            if dense[bases[i] + j] != 0:
                count += 1
    keys = np.empty(count, dtype=np.uint64)
    ticks = np.empty(count, dtype=np.int64)
    at = 0
    for i in range(start, end):
        for j in range(i + 1, size):
            if dense[bases[i] + j] != 0:
                keys[at] = (np.uint64(i) << np.uint64(32)) | np.uint64(j)
                ticks[at] = dense[bases[i] + j]
                at += 1
    return keys, ticks


class _DenseCells:
    """The dense block's cells as a :class:`training.sorted_runs.CellSource`."""

    def __init__(self, dense: np.ndarray, bases: np.ndarray):
        self.dense, self.bases = dense, bases

    def row_cells(self) -> np.ndarray:
        return _dense_row_cells(self.dense, self.bases)

    def cells(self, start: int, end: int) -> Run:
        size = len(self.bases)
        return _dense_cells(self.dense, self.bases, min(start, size), min(end, size))


class ChunkCounter:
    """Counts chunks of documents given as rows 0..V − 1: pairs of the ``dense_words``
    first rows into :attr:`dense`, every other pair returned per chunk as a run.

    ``events`` counts the pairs that went to runs, ``tokens`` the tokens counted.
    """

    def __init__(self, vocabulary: int, window: int, weighting: str, dense_words: int):
        self.vocabulary = int(vocabulary)
        self.window = int(window)
        self.ticks_at = pair_ticks(window, weighting)
        size = min(int(dense_words), self.vocabulary)
        self.dense_words = size
        # Packed, since X is symmetric: half the bytes of a square block.
        self.dense = np.zeros(size * (size - 1) // 2, dtype=np.int64)
        self.bases = _packed_bases(size)
        self.column_bits = key_bits(self.vocabulary)
        self.distance_bits = key_bits(window) if weighting == "distance" else 0
        if 2 * self.column_bits + self.distance_bits > 64:
            raise ValueError(f"{vocabulary:,} words are too many to pack a pair in 64 bits")
        self._events = np.empty(0, dtype=np.uint64)
        self._spare = np.empty(0, dtype=np.uint64)
        self.events = 0
        self.tokens = 0

    def count(self, ids: np.ndarray, lengths: np.ndarray) -> Run:
        """Count one chunk: ``ids`` int32 (n,) rows of its tokens, documents end to
        end, ``lengths`` int (documents,). Returns the run of its pairs outside the
        dense block (keys strictly increasing)."""
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        if lengths.sum() != len(ids):
            raise ValueError(f"document lengths add up to {lengths.sum()}, not {len(ids)}")
        if len(ids) and (ids.min() < 0 or ids.max() >= self.vocabulary):
            raise ValueError(f"token rows must lie in 0..{self.vocabulary - 1}")
        needed = len(ids) * self.window
        if len(self._events) < needed:
            # Reused between chunks: fresh buffers would be faulted in every time.
            self._events = self._spare = np.empty(0, dtype=np.uint64)
            self._events = np.empty(needed, dtype=np.uint64)
            self._spare = np.empty(needed, dtype=np.uint64)
        written = _count_chunk(
            ids,
            lengths,
            self.ticks_at,
            self.dense,
            self.bases,
            self.column_bits,
            self.distance_bits,
            self._events,
        )
        events = self._events[:written]
        radix_sort_keys(events, self._spare, 2 * self.column_bits + self.distance_bits)
        self.events += written
        self.tokens += len(ids)
        return _sum_events(events, self.column_bits, self.distance_bits, self.ticks_at)

    def release_buffers(self) -> None:
        """Free the chunk buffers (the dense block stays)."""
        self._events = self._spare = np.empty(0, dtype=np.uint64)

    def dense_cells(self) -> _DenseCells:
        return _DenseCells(self.dense, self.bases)


def _counted_blocks(
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    vocabulary: int,
    window: int,
    weighting: str,
    plan: MemoryPlan,
    scratch: Path,
    figures: dict[str, Any],
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
    """Count ``chunks`` (rows int32, document lengths) and yield the rows' cells as
    :meth:`SortedRuns.blocks` does; ``figures`` gets the counters' figures."""
    counter = ChunkCounter(vocabulary, window, weighting, plan.dense_words)
    started = time.perf_counter()
    with SortedRuns(vocabulary, plan.run_bytes, scratch) as runs:
        for number, (ids, lengths) in enumerate(chunks, start=1):
            runs.add(*counter.count(ids, lengths))
            figures["chunks"] = number
            if progress is not None:
                progress(len(lengths))
        counter.release_buffers()
        counted = time.perf_counter()
        figures.update(
            dense_words=counter.dense_words,
            run_pairs=counter.events,
            count_seconds=round(counted - started, 3),
        )
        yield from runs.blocks(extra=counter.dense_cells())
        figures.update(runs.figures, merge_seconds=round(time.perf_counter() - counted, 3))


def count_documents(
    documents: Iterable[list[str]],
    *,
    window: int,
    weighting: str,
    memory_bytes: int,
    out: str | Path,
    tokenizer_spec: Mapping[str, Any],
    corpus_description: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    scratch: str | Path,
    progress: Callable[[str, int], None] | None = None,
) -> Path:
    """Count tokenised ``documents`` into a counts folder published at ``out``.

    Parameters
    ----------
    documents : an iterable of token lists, read once.
    window, weighting : as :func:`training.counts.ticks_scale` takes them.
    memory_bytes : the working memory to stay near (:func:`plan_memory`); beyond it
        only the table of distinct tokens (V strings) and a few (V,) arrays.
    tokenizer_spec : the tokenizer's ``spec``, recorded.
    corpus_description : this corpus's entry of the manifest's ``corpus.sources``
        (path, fingerprint, files, skipped_lines, a byte range…), or a function
        returning it, called once the documents were read (a ``Corpus`` knows its
        statistics only then). Its ``documents`` and ``tokens`` are set here.
    scratch : a folder for temporary files (about 4 bytes a token, and the spilled
        runs), removed from it at the end.
    progress : called with ("read", documents) per chunk read, then ("count",
        documents) per chunk counted.

    Returns the folder's path. Its manifest's ``figures`` record the stages' seconds,
    the memory plan and what the sorted runs did (merges, spills, ranges).
    """
    started = time.perf_counter()
    ticks_scale(window, weighting)  # refuse bad settings before reading anything
    plan = plan_memory(memory_bytes, window)
    Path(scratch).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="count-", dir=scratch))
    try:
        read = None if progress is None else (lambda documents: progress("read", documents))
        encoded = encode_corpus(documents, work, plan.chunk_tokens, read)
        source = dict(corpus_description() if callable(corpus_description) else corpus_description)
        tokens = int(encoded.counts.sum())
        source.update(documents=encoded.documents, tokens=tokens)
        order = word_order(encoded.types, encoded.counts)
        rows = np.empty(len(order), dtype=np.int32)
        rows[order] = np.arange(len(order), dtype=np.int32)
        words = list(map(encoded.types.__getitem__, order.tolist()))
        plan = plan_memory(memory_bytes, window, len(words))
        figures: dict[str, Any] = {
            "memory_bytes": int(memory_bytes),
            **asdict(plan),
            "read_seconds": round(time.perf_counter() - started, 3),
        }
        counted = None if progress is None else (lambda documents: progress("count", documents))
        chunks = ((rows[ids], lengths) for ids, lengths in encoded.iter_id_chunks())
        with CountsWriter(
            out,
            words=words,
            counts=encoded.counts[order],
            window=window,
            weighting=weighting,
            tokenizer=tokenizer_spec,
            corpus={"sources": [source], "documents": encoded.documents, "tokens": tokens},
        ) as writer:
            for _, _, indptr, columns, ticks in _counted_blocks(
                chunks, len(words), window, weighting, plan, work, figures, counted
            ):
                writer.append(indptr, columns, ticks)
            figures["seconds"] = round(time.perf_counter() - started, 3)
            writer.figures.update(figures)
        log.info(
            "counts: %s tokens, %s words, %s cells in %.1f s (%d runs spilled)",
            f"{tokens:,}",
            f"{len(words):,}",
            f"{writer.cells:,}",
            figures["seconds"],
            figures["spilled_runs"],
        )
        return writer.path
    finally:
        shutil.rmtree(work, ignore_errors=True)


# The previous interface, on the machinery above -------------------------------------


def budget(memory_bytes: int, window: int) -> dict[str, int]:
    """:func:`plan_memory` as the keyword arguments of :func:`count_cooccurrences`
    (``max_partial_pairs``: the runs' budget in cells of 16 bytes)."""
    plan = plan_memory(memory_bytes, window)
    return {
        "dense_words": plan.dense_words,
        "chunk_tokens": plan.chunk_tokens,
        "max_partial_pairs": plan.run_bytes // 16,
    }


def _without_unknown(rows: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tokens outside the vocabulary (row −1) removed, documents' lengths shortened."""
    kept = rows >= 0
    numbers = np.repeat(np.arange(len(lengths)), lengths)
    return rows[kept], np.bincount(numbers[kept], minlength=len(lengths))


def count_upper(
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
    vocabulary: int,
    window: int,
    weighting: str,
    scratch: str | Path,
    dense_words: int = 4096,
    max_partial_pairs: int = 20_000_000,
    progress=None,
) -> sp.csr_matrix:
    """The upper triangle of X (V, V) of ``chunks`` (rows int32 below ``vocabulary``,
    document lengths) in memory: an int64 CSR matrix of ticks (X × the weighting's
    scale), sorted indices. Tokens of row −1 are removed before windowing. Spilled
    runs go to a temporary folder in ``scratch``."""
    chunks = (_without_unknown(rows, lengths) for rows, lengths in chunks)
    plan = MemoryPlan(min(dense_words, vocabulary), 0, max(16 * max_partial_pairs, 1))
    figures: dict[str, Any] = {}
    pointers, columns, values = [np.zeros(1, dtype=np.int64)], [], []
    with tempfile.TemporaryDirectory(prefix=".counts-", dir=scratch) as work:
        for _, _, indptr, block_columns, ticks in _counted_blocks(
            chunks, vocabulary, window, weighting, plan, Path(work), figures, progress
        ):
            pointers.append(indptr[1:] + pointers[-1][-1])
            columns.append(block_columns)
            values.append(ticks)
    log.info(
        "co-occurrences: %s pairs outside the dense block, %d runs spilled",
        f"{figures.get('run_pairs', 0):,}",
        figures.get("spilled_runs", 0),
    )
    return sp.csr_matrix(
        (
            np.concatenate(values or [np.zeros(0, dtype=np.int64)]),
            np.concatenate(columns or [np.zeros(0, dtype=np.int32)]),
            np.concatenate(pointers),
        ),
        shape=(vocabulary, vocabulary),
    )


def count_encoded(
    encoded: EncodedCorpus,
    index: dict[str, int],
    window: int,
    weighting: str,
    dense_words: int = 4096,
    max_partial_pairs: int = 20_000_000,
    progress=None,
) -> sp.csr_matrix:
    """X (V, V) over vocabulary ``index`` of a corpus encoded by
    :func:`training.encode.encode_corpus`, as a symmetric float64 CSR matrix, zero
    diagonal, sorted indices. Words outside ``index`` are removed before windowing
    (the previous rule). ``progress`` is called with each chunk's documents."""
    rows = encoded.rows(index)
    chunks = ((rows[ids], lengths) for ids, lengths in encoded.iter_id_chunks())
    upper = count_upper(
        chunks,
        len(index),
        window,
        weighting,
        encoded.directory,
        dense_words,
        max_partial_pairs,
        progress,
    )
    upper = upper.astype(np.float64) / ticks_scale(window, weighting)
    full = (upper + upper.T).tocsr()
    full.sort_indices()
    return full


def count_cooccurrences(
    documents: Iterable[list[str]],
    index: dict[str, int],
    window: int,
    weighting: str,
    chunk_tokens: int = 1_000_000,
    dense_words: int = 4096,
    max_partial_pairs: int = 20_000_000,
    progress=None,
) -> sp.csr_matrix:
    """:func:`count_encoded` of tokenised ``documents``, encoded into a temporary
    directory first."""
    ticks_scale(window, weighting)
    with tempfile.TemporaryDirectory(prefix=".wordlens-cooccur-") as scratch:
        encoded = encode_corpus(documents, scratch, chunk_tokens)
        return count_encoded(
            encoded, index, window, weighting, dense_words, max_partial_pairs, progress
        )
