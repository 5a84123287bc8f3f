"""Row blocks: how queries that build a (rows × width) matrix keep it bounded.

A query scoring every vocabulary word against k other vectors (3CosMul's query
words, the Huffman-tree nodes of a text's paths) would hold a (V, k) matrix and its
float64 copies: gigabytes for a long text. It goes block by block of rows instead.
So does a product with a float16 matrix (:func:`products`), which numpy computes
without BLAS, many times slower than converting a block to float32 first. A batch of
queries scoring the whole vocabulary goes chunk by chunk of queries.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["BATCH_BYTES", "BLOCK_VALUES", "products", "query_chunks", "row_blocks"]

#: Values in one block: 2 MiB as float32, 4 MiB as float64, per temporary.
BLOCK_VALUES = 1 << 19
#: float16 values converted to float32 at a time: 512 KiB, which stays in the cache
#: between the conversion and the product (fastest of 64 to 4,096 rows of 128 here).
_CONVERTED = 1 << 17


def row_blocks(rows: int, width: int, values: int = BLOCK_VALUES) -> Iterator[slice]:
    """Consecutive slices of ``range(rows)`` of at most ``values`` // ``width`` rows
    (at least one)."""
    step = max(1, values // max(width, 1))
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


def products(matrix: np.ndarray, right: np.ndarray, stop: int | None = None) -> np.ndarray:
    """``matrix[:stop] @ right`` in float32: (stop,) for ``right`` (d,), (stop, k) for
    (d, k). A float32 matrix is one BLAS call; a float16 one (``--dtype float16``) is
    converted a block of rows at a time, so the temporary stays bounded."""
    right = np.asarray(right, dtype=np.float32)
    rows = matrix[:stop]
    if rows.dtype == np.float32:
        return rows @ right
    out = np.empty((len(rows), *right.shape[1:]), dtype=np.float32)
    converted = np.empty((max(1, _CONVERTED // rows.shape[1]), rows.shape[1]), np.float32)
    for block in row_blocks(len(rows), rows.shape[1], _CONVERTED):
        part = converted[: block.stop - block.start]
        np.copyto(part, rows[block])
        out[block] = part @ right
    return out
