"""Row blocks: how queries that build a (rows × width) matrix keep it bounded.

A query scoring every vocabulary word against k other vectors (3CosMul's query
words, the Huffman-tree nodes of a text's paths) would hold a (V, k) matrix and its
float64 copies: gigabytes for a long text. It goes block by block of rows instead.
A batch of queries scoring the whole vocabulary goes chunk by chunk of queries.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["BATCH_BYTES", "BLOCK_VALUES", "query_chunks", "row_blocks"]

#: Values in one block: 2 MiB as float32, 4 MiB as float64, per temporary.
BLOCK_VALUES = 1 << 19


def row_blocks(rows: int, width: int) -> Iterator[slice]:
    """Consecutive slices of ``range(rows)`` of at most BLOCK_VALUES // ``width`` rows
    (at least one)."""
    step = max(1, BLOCK_VALUES // max(width, 1))
    for start in range(0, rows, step):
        yield slice(start, min(start + step, rows))


#: Bytes the (queries × vocabulary) blocks of one chunk of a batch may hold at once:
#: scores, their partitioned copy and a mask (see :func:`query_chunks`).
BATCH_BYTES = 64 << 20


def query_chunks(queries: int, width: int, cell_bytes: int) -> Iterator[slice]:
    """Consecutive slices of ``range(queries)`` whose (chunk, ``width``) blocks of
    ``cell_bytes`` bytes per cell stay within BATCH_BYTES (at least one query each)."""
    step = max(1, BATCH_BYTES // max(width * cell_bytes, 1))
    for start in range(0, queries, step):
        yield slice(start, min(start + step, queries))
