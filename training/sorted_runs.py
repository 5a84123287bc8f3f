"""Sorted runs of co-occurrence cells, held under a memory budget, spilled to disk
beyond it, and merged row range by row range at the end: an external merge sort.

A cell is a key, uint64 ``row << 32 | column`` (so keys sort row-major), and its
ticks, int64 (:mod:`training.counts`). A run is two arrays (keys, ticks) of one
length, keys strictly increasing. Runs are summed when merged: equal keys add
their ticks, which are exact integers, so the result does not depend on how runs
were grouped or in which order they were merged.

:class:`SortedRuns` takes runs (one per counted chunk, or per block of a merged
input); while the runs it holds stay under half its budget it keeps them, beyond
that it merges them into one, and writes that one to its scratch folder when it
is still large (a "spill"). :meth:`SortedRuns.blocks` then merges every run (held
or spilled, plus any other sorted source of cells such as the counter's dense
block) a range of rows at a time, ranges chosen so one range's cells fit the
budget, reading spilled runs with plain reads at offsets found from a sample of
their keys. Memory is the budget plus one (V,) int64 array of cells per row, never
the number of cells.

Sorting is an LSD radix sort in numba, 11 bits a pass over keys packed to the bits
they use; it is 3× faster than ``np.sort`` here and carries the ticks along.
"""

from __future__ import annotations

import heapq
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
from numba import njit

__all__ = [
    "CellSource",
    "SortedRuns",
    "cell_keys",
    "merge_runs",
    "radix_sort_keys",
    "sort_cells",
]

ROW_SHIFT = 32
COLUMN_MASK = np.uint64(0xFFFFFFFF)
RADIX_BITS = 11
# Every SAMPLE-th key of a spilled run stays in memory, to find where a row range
# starts in its file with one read of SAMPLE keys.
SAMPLE = 4096
# Bytes per cell while merging one row range: the pieces read (16), the merged run
# (16, with the heap's intermediate runs), its columns and pointers (4 + a little).
MERGE_BYTES_PER_CELL = 48

Run = tuple[np.ndarray, np.ndarray]


class CellSource(Protocol):
    """Cells held elsewhere, merged with the runs by :meth:`SortedRuns.blocks` (the
    counter's dense block of frequent words)."""

    def row_cells(self) -> np.ndarray:
        """int64 (k,) how many cells rows 0..k − 1 hold (k ≤ V)."""
        ...

    def cells(self, start: int, end: int) -> Run:
        """The cells of rows [start, end) as a run (sorted keys, ticks)."""
        ...


def cell_keys(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """uint64 keys ``row << 32 | column`` of cells given as int arrays (n,)."""
    return (np.asarray(rows).astype(np.uint64) << np.uint64(ROW_SHIFT)) | np.asarray(
        columns
    ).astype(np.uint64)


def key_bits(values: int) -> int:
    """Bits that numbers 0..values − 1 take (at least 1)."""
    return max(int(values - 1).bit_length(), 1)


@njit(cache=True, nogil=True)
def _radix_histograms(keys, passes):
    """(passes, 2^RADIX_BITS) int64: how many keys have each digit, per pass."""
    radix = 1 << RADIX_BITS
    mask = np.uint64(radix - 1)
    histograms = np.zeros((passes, radix), dtype=np.int64)
    for i in range(keys.shape[0]):
        key = keys[i]
        for p in range(passes):
            histograms[p, np.intp((key >> np.uint64(p * RADIX_BITS)) & mask)] += 1
    return histograms


@njit(cache=True, nogil=True)
def _radix_sort_keys(keys, spare, bits):
    """Sort uint64 ``keys`` in place (only their low ``bits`` bits set); ``spare`` a
    buffer of at least as many keys."""
    n = keys.shape[0]
    passes = (bits + RADIX_BITS - 1) // RADIX_BITS
    histograms = _radix_histograms(keys, passes)
    mask = np.uint64((1 << RADIX_BITS) - 1)
    source, target = keys, spare[:n]
    swapped = False
    for p in range(passes):
        offsets = histograms[p]
        if offsets.max() == n:  # one digit for all: this pass would change nothing
            continue
        total = 0
        for bucket in range(offsets.shape[0]):
            count = offsets[bucket]
            offsets[bucket] = total
            total += count
        shift = np.uint64(p * RADIX_BITS)
        for i in range(n):
            key = source[i]
            digit = np.intp((key >> shift) & mask)
            target[offsets[digit]] = key
            offsets[digit] += 1
        source, target = target, source
        swapped = not swapped
    if swapped:
        keys[:] = source


@njit(cache=True, nogil=True)
def _radix_sort_pairs(keys, ticks, spare_keys, spare_ticks, bits):
    """Sort uint64 ``keys`` in place (low ``bits`` bits set), ``ticks`` along."""
    n = keys.shape[0]
    passes = (bits + RADIX_BITS - 1) // RADIX_BITS
    histograms = _radix_histograms(keys, passes)
    mask = np.uint64((1 << RADIX_BITS) - 1)
    source_keys, target_keys = keys, spare_keys[:n]
    source_ticks, target_ticks = ticks, spare_ticks[:n]
    swapped = False
    for p in range(passes):
        offsets = histograms[p]
        if offsets.max() == n:
            continue
        total = 0
        for bucket in range(offsets.shape[0]):
            count = offsets[bucket]
            offsets[bucket] = total
            total += count
        shift = np.uint64(p * RADIX_BITS)
        for i in range(n):
            key = source_keys[i]
            digit = np.intp((key >> shift) & mask)
            at = offsets[digit]
            target_keys[at] = key
            target_ticks[at] = source_ticks[i]
            offsets[digit] = at + 1
        source_keys, target_keys = target_keys, source_keys
        source_ticks, target_ticks = target_ticks, source_ticks
        swapped = not swapped
    if swapped:
        keys[:] = source_keys
        ticks[:] = source_ticks


def radix_sort_keys(keys: np.ndarray, spare: np.ndarray, bits: int) -> None:
    """Sort uint64 ``keys`` (n,) in place, knowing only their low ``bits`` bits may be
    set; ``spare`` uint64 (≥ n,) is overwritten."""
    if len(keys) > 1:
        _radix_sort_keys(keys, spare, bits)


@njit(cache=True, nogil=True)
def _pack(keys, column_bits):
    """row << 32 | column → row << column_bits | column, in place."""
    for i in range(keys.shape[0]):
        key = keys[i]
        keys[i] = ((key >> np.uint64(ROW_SHIFT)) << np.uint64(column_bits)) | (key & COLUMN_MASK)


@njit(cache=True, nogil=True)
def _unpack_and_sum(keys, ticks, column_bits):
    """Packed sorted keys back to row << 32 | column, equal keys' ticks summed into
    the first; returns how many distinct keys lead the arrays."""
    column_mask = np.uint64((1 << column_bits) - 1)
    written = 0
    for i in range(keys.shape[0]):
        key = keys[i]
        key = ((key >> np.uint64(column_bits)) << np.uint64(ROW_SHIFT)) | (key & column_mask)
        if written and keys[written - 1] == key:
            ticks[written - 1] += ticks[i]
        else:
            keys[written] = key
            ticks[written] = ticks[i]
            written += 1
    return written


def sort_cells(keys: np.ndarray, ticks: np.ndarray, rows: int) -> Run:
    """Cells in any order (uint64 keys and int64 ticks (n,), overwritten) as a run:
    sorted by key, equal keys' ticks summed. ``rows`` bounds rows and columns."""
    if len(keys) != len(ticks):
        raise ValueError(f"{len(keys)} keys but {len(ticks)} ticks")
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    ticks = np.ascontiguousarray(ticks, dtype=np.int64)
    column_bits = key_bits(rows)
    _pack(keys, column_bits)
    if len(keys) > 1:
        _radix_sort_pairs(keys, ticks, np.empty_like(keys), np.empty_like(ticks), 2 * column_bits)
    distinct = _unpack_and_sum(keys, ticks, column_bits)
    return keys[:distinct], ticks[:distinct]


@njit(cache=True, nogil=True)
def _union_length(keys_a, keys_b):
    """How many distinct keys two runs hold together."""
    i = j = common = 0
    while i < keys_a.shape[0] and j < keys_b.shape[0]:
        if keys_a[i] < keys_b[j]:
            i += 1
        elif keys_a[i] > keys_b[j]:
            j += 1
        else:
            common += 1
            i += 1
            j += 1
    return keys_a.shape[0] + keys_b.shape[0] - common


@njit(cache=True, nogil=True)
def _merge_into(keys_a, ticks_a, keys_b, ticks_b, keys, ticks):
    """Merge two runs into ``keys``/``ticks`` (sized by :func:`_union_length`)."""
    i = j = k = 0
    while i < keys_a.shape[0] and j < keys_b.shape[0]:
        if keys_a[i] < keys_b[j]:
            keys[k] = keys_a[i]
            ticks[k] = ticks_a[i]
            i += 1
        elif keys_a[i] > keys_b[j]:
            keys[k] = keys_b[j]
            ticks[k] = ticks_b[j]
            j += 1
        else:
            keys[k] = keys_a[i]
            ticks[k] = ticks_a[i] + ticks_b[j]
            i += 1
            j += 1
        k += 1
    while i < keys_a.shape[0]:
        keys[k] = keys_a[i]
        ticks[k] = ticks_a[i]
        i += 1
        k += 1
    while j < keys_b.shape[0]:
        keys[k] = keys_b[j]
        ticks[k] = ticks_b[j]
        j += 1
        k += 1


def _merge_two(first: Run, second: Run) -> Run:
    length = _union_length(first[0], second[0])
    keys, ticks = np.empty(length, dtype=np.uint64), np.empty(length, dtype=np.int64)
    _merge_into(first[0], first[1], second[0], second[1], keys, ticks)
    return keys, ticks


def merge_runs(runs: list[Run]) -> Run:
    """One run summing ``runs`` (the list is emptied: each run is let go as soon as
    it is merged, so memory peaks near twice the runs' size). The two smallest are
    merged first, as in Huffman's code, which bounds the cells copied by
    n · log(number of runs)."""
    heap = [(len(keys), order, (keys, ticks)) for order, (keys, ticks) in enumerate(runs)]
    runs.clear()
    if not heap:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        _, _, first = heapq.heappop(heap)
        _, _, second = heapq.heappop(heap)
        merged = _merge_two(first, second)
        del first, second
        heapq.heappush(heap, (len(merged[0]), order, merged))
        order += 1
    return heap.pop()[2]


@njit(cache=True, nogil=True)
def _add_row_cells(keys, row_cells):
    for i in range(keys.shape[0]):
        row_cells[keys[i] >> np.uint64(ROW_SHIFT)] += 1


@njit(cache=True, nogil=True)
def _first_unordered(keys):
    """The first position whose key is not above the one before, or −1."""
    for i in range(1, keys.shape[0]):
        if keys[i] <= keys[i - 1]:
            return i
    return -1


class _SpilledRun:
    """A run written to ``stem``.keys and ``stem``.ticks, with every
    :data:`SAMPLE`-th key kept to find positions in it."""

    def __init__(self, stem: Path, keys: np.ndarray, ticks: np.ndarray):
        self.keys_path, self.ticks_path = stem.with_suffix(".keys"), stem.with_suffix(".ticks")
        keys.tofile(self.keys_path)
        ticks.tofile(self.ticks_path)
        self.length = len(keys)
        self.samples = keys[::SAMPLE].copy()

    def lower_bound(self, key: np.uint64) -> int:
        """The position of the first key ≥ ``key``."""
        sample = int(np.searchsorted(self.samples, key, side="left"))
        if sample == 0:
            return 0
        # keys[(sample − 1)·SAMPLE] < key ≤ keys[sample·SAMPLE]: read what lies between.
        start = (sample - 1) * SAMPLE + 1
        stop = min(sample * SAMPLE, self.length)
        between = np.fromfile(self.keys_path, dtype=np.uint64, count=stop - start, offset=8 * start)
        return start + int(np.searchsorted(between, key, side="left"))

    def read(self, start: int, stop: int) -> Run:
        keys = np.fromfile(self.keys_path, dtype=np.uint64, count=stop - start, offset=8 * start)
        ticks = np.fromfile(self.ticks_path, dtype=np.int64, count=stop - start, offset=8 * start)
        return keys, ticks


class SortedRuns:
    """Runs of cells of a (rows, rows) matrix summed under ``memory_bytes``, spilling
    to a private folder made in ``scratch`` (removed by :meth:`close`, or at the end
    of a ``with`` block).

    ``figures`` counts what happened: ``runs`` and ``cells_added``, in-memory
    ``merges``, ``spilled_runs`` and ``spilled_bytes``, ``ranges`` merged at the end,
    and ``peak_held_bytes``.
    """

    def __init__(self, rows: int, memory_bytes: int, scratch: str | os.PathLike):
        if rows >= 1 << ROW_SHIFT:
            raise ValueError(f"{rows:,} rows: at most 2^32 − 1 fit a key")
        self.rows = int(rows)
        self.memory_bytes = max(int(memory_bytes), 1)
        Path(scratch).mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="runs-", dir=scratch))
        self._held: list[Run] = []
        self._held_bytes = 0
        self._spilled: list[_SpilledRun] = []
        self._spilled_row_cells = np.zeros(self.rows, dtype=np.int64)
        self.figures = dict.fromkeys(
            (
                "runs",
                "cells_added",
                "merges",
                "spilled_runs",
                "spilled_bytes",
                "ranges",
                "peak_held_bytes",
            ),
            0,
        )

    def __enter__(self) -> SortedRuns:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the held runs and remove the spilled ones."""
        self._held.clear()
        self._held_bytes = 0
        self._spilled.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def add(self, keys: np.ndarray, ticks: np.ndarray) -> None:
        """Take a run: uint64 keys (n,) strictly increasing, int64 ticks (n,); the
        arrays are kept, not copied, so the caller must not change them."""
        if keys.dtype != np.uint64 or ticks.dtype != np.int64 or keys.shape != ticks.shape:
            raise ValueError("a run is uint64 keys and int64 ticks of one length")
        if not len(keys):
            return
        if _first_unordered(keys) >= 0:
            raise ValueError("a run's keys must be strictly increasing")
        if int(keys[-1]) >> ROW_SHIFT >= self.rows:
            raise ValueError(f"a run has a row beyond {self.rows}")
        self._held.append((keys, ticks))
        self._held_bytes += keys.nbytes + ticks.nbytes
        self.figures["runs"] += 1
        self.figures["cells_added"] += len(keys)
        self.figures["peak_held_bytes"] = max(self.figures["peak_held_bytes"], self._held_bytes)
        if self._held_bytes > self.memory_bytes // 2:
            self._compact()

    def _compact(self) -> None:
        """Merge the held runs into one (peak: twice the held bytes, the budget); keep
        it if it shrank to a quarter of the budget, else spill it, so merges in memory
        always gain room and each spilled run is big."""
        merged = merge_runs(self._held)
        self.figures["merges"] += 1
        size = merged[0].nbytes + merged[1].nbytes
        if size > self.memory_bytes // 4:
            self._spill(merged)
            self._held, self._held_bytes = [], 0
        else:
            self._held, self._held_bytes = [merged], size

    def _spill(self, run: Run) -> None:
        keys, ticks = run
        stem = self.directory / f"run-{len(self._spilled):06d}"
        self._spilled.append(_SpilledRun(stem, keys, ticks))
        _add_row_cells(keys, self._spilled_row_cells)
        self.figures["spilled_runs"] += 1
        self.figures["spilled_bytes"] += keys.nbytes + ticks.nbytes

    def blocks(
        self, extra: CellSource | None = None
    ) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """Every row, all runs (and the cells of ``extra``) merged, as blocks
        (start, end, indptr int64 (end − start + 1,) from 0, columns int32, ticks
        int64) over rows [start, end), in order, one block of rows fitting the budget
        left beside the held runs (a single larger row is a block by itself). Call
        once, after the last :meth:`add`."""
        row_cells = self._spilled_row_cells
        self._spilled_row_cells = np.zeros(0, dtype=np.int64)
        for keys, _ in self._held:
            _add_row_cells(keys, row_cells)
        if extra is not None:
            extra_cells = extra.row_cells()
            row_cells[: len(extra_cells)] += extra_cells
        cumulative = np.cumsum(row_cells)
        del row_cells
        room = self.memory_bytes - self._held_bytes
        max_cells = max(room // MERGE_BYTES_PER_CELL, 1)
        held_at = [0] * len(self._held)
        spilled_at = [0] * len(self._spilled)
        start = 0
        while start < self.rows:
            before = int(cumulative[start - 1]) if start else 0
            end = int(np.searchsorted(cumulative, before + max_cells, side="right"))
            end = min(max(end, start + 1), self.rows)
            bound = np.uint64(end) << np.uint64(ROW_SHIFT)
            pieces: list[Run] = []
            for number, (keys, ticks) in enumerate(self._held):
                low, high = held_at[number], int(np.searchsorted(keys, bound, side="left"))
                pieces.append((keys[low:high], ticks[low:high]))
                held_at[number] = high
            for number, spilled in enumerate(self._spilled):
                low, high = spilled_at[number], spilled.lower_bound(bound)
                pieces.append(spilled.read(low, high))
                spilled_at[number] = high
            if extra is not None:
                pieces.append(extra.cells(start, end))
            keys, ticks = merge_runs(pieces)
            firsts = np.arange(start, end + 1, dtype=np.uint64) << np.uint64(ROW_SHIFT)
            indptr = np.searchsorted(keys, firsts, side="left").astype(np.int64)
            columns = (keys & COLUMN_MASK).astype(np.int32)
            del keys
            self.figures["ranges"] += 1
            yield start, end, indptr, columns, ticks
            start = end
