"""Stage: fit ⟨v_i, v_j⟩ ≈ PMI(i, j) in closed form, by eigendecomposition.

The model of Su Jianlin's "更别致的词向量模型", one vector per word whose inner
products reproduce the PMI matrix, fitted without iterations (Levy & Goldberg's
analysis of PPMI matrices is the background):

    PMI(i, j) = log X_ij − log Z − log P(i) − log P_c(j) − log k

with Z = Σ_{i≠j} X_ij, P(i) = N_i / N the unigram probability, P_c(j) ∝ N_j^cds the
context-distribution-smoothed one (cds = 1: none), and k the shift (k = 1: none); X,
Z, N and the normalisation of P_c run over the kept words only. Only the positive
part is kept (cells with X_ij = 0 have PMI −∞ and stay 0), the matrix is symmetrised,
and its top ``dim`` eigenpairs give V = U_d · sqrt(Λ_d): V Vᵀ is the best rank-d
positive semidefinite approximation of it. The shift makes frequent, uninformative
words' PMI rows nearly vanish, so their vectors get short — Su's "norm = importance".

At scale: :func:`positive_pmi` builds the matrix from the counts' upper triangle
streamed in row blocks (cells ≤ 0 are never stored), and :func:`eigen_vectors` finds
the eigenpairs by block Lanczos (:mod:`training.block_lanczos`), both within a
memory budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from wordlens.training.block_lanczos import basis_bytes, top_eigenpairs

log = logging.getLogger(__name__)

__all__ = ["METHODS", "MemoryBudgetError", "eigen_vectors", "matrix_bytes", "positive_pmi"]

#: eigen_vectors' methods: block Lanczos to a residual tolerance (default), or ARPACK
#: to machine precision (the exact reference; today's solver, ~30× more passes).
METHODS = ("lanczos", "arpack")

#: Row blocks of the counts' upper triangle: (start, end, ticks (end − start, V) CSR
#: int64, only columns > row), rows in order from 0, as ``Counts.row_blocks`` yields.
RowBlocks = Iterable[tuple[int, int, sp.csr_matrix]]


class MemoryBudgetError(ValueError):
    """The memory budget is too small for the matrix or the solver."""


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def matrix_bytes(matrix: sp.csr_matrix) -> int:
    """Bytes of a CSR matrix's three arrays."""
    return int(matrix.indptr.nbytes + matrix.indices.nbytes + matrix.data.nbytes)


@njit(cache=True)
def _upper_total(start, indptr, indices, ticks, kept):
    """Ticks of a block's cells among the kept columns (int64), and how many cells
    break the format (column ≤ row, or ticks ≤ 0)."""
    total = 0
    broken = 0
    for offset in range(indptr.size - 1):
        row = start + offset
        for cell in range(indptr[offset], indptr[offset + 1]):
            column = indices[cell]
            if column <= row or ticks[cell] <= 0:
                broken += 1
            elif column < kept:
                total += ticks[cell]
    return total, broken


@njit(cache=True, inline="always")
def _symmetrised_cell(ticks, row, column, log_p, log_pc, constant):
    """(max(PMI_ij, 0) + max(PMI_ji, 0)) / 2 as float32, for the upper cell (i, j)
    with these ticks; ``constant`` = log scale + log Z + log k."""
    log_x = np.log(np.float64(ticks))
    forward = log_x - log_p[row] - log_pc[column] - constant
    backward = log_x - log_p[column] - log_pc[row] - constant
    return np.float32(0.5 * (max(forward, 0.0) + max(backward, 0.0)))


@njit(cache=True)
def _count_positive(start, indptr, indices, ticks, kept, log_p, log_pc, constant, row_cells):
    """row_cells[i] += the positive cells of row i, from a block's upper cells (each
    counts in its row and, mirrored, in its column's)."""
    for offset in range(indptr.size - 1):
        row = start + offset
        for cell in range(indptr[offset], indptr[offset + 1]):
            column = indices[cell]
            if column < kept:
                value = _symmetrised_cell(ticks[cell], row, column, log_p, log_pc, constant)
                if value > 0:
                    row_cells[row] += 1
                    row_cells[column] += 1


@njit(cache=True)
def _fill_positive(
    start, indptr, indices, ticks, kept, log_p, log_pc, constant, cursor, out_indices, out_data
):
    """Write a block's positive cells, each at (i, j) and (j, i); ``cursor[i]`` is the
    next free slot of row i. Blocks come in row order and columns increase within a
    row, so every row of the result is filled in increasing column order."""
    for offset in range(indptr.size - 1):
        row = start + offset
        for cell in range(indptr[offset], indptr[offset + 1]):
            column = indices[cell]
            if column < kept:
                value = _symmetrised_cell(ticks[cell], row, column, log_p, log_pc, constant)
                if value > 0:
                    out_indices[cursor[row]] = column
                    out_data[cursor[row]] = value
                    cursor[row] += 1
                    out_indices[cursor[column]] = row
                    out_data[cursor[column]] = value
                    cursor[column] += 1


def _kept_rows(blocks: RowBlocks, kept: int) -> Iterable[tuple[int, sp.csr_matrix]]:
    """(start, block) of ``blocks``' rows below ``kept``, checking that the blocks
    cover rows 0 … kept − 1 in order."""
    expected = 0
    for start, end, block in blocks:
        if start != expected or block.shape[0] != end - start:
            raise ValueError(
                f"row blocks must cover the rows in order: expected a block from row "
                f"{expected}, got rows {start}–{end} ({block.shape[0]} rows)"
            )
        expected = end
        if start >= kept:
            break
        rows = min(end, kept) - start
        yield start, block if rows == block.shape[0] else block[:rows]
    if expected < kept:
        raise ValueError(f"row blocks ended at row {expected}, before the {kept} kept words")


def positive_pmi(
    blocks: Callable[[], RowBlocks],
    counts: np.ndarray,
    kept: int,
    scale: int,
    shift: float,
    cds: float,
    memory_bytes: int,
) -> sp.csr_matrix:
    """The symmetrised, shifted positive PMI matrix of the ``kept`` leading words:
    float32 (kept, kept) CSR with sorted indices, only cells > 0 stored.

    ``blocks()`` returns a fresh iterator over the co-occurrence counts' upper
    triangle in row blocks (:data:`RowBlocks`: ``lambda: counts.row_blocks(cells,
    stop=kept)``); it is called three times, for three passes: Z, the cells each row
    keeps, then the cells themselves, written straight into the result. Cells are
    X_ij × ``scale`` ("ticks", int64). ``counts`` N_i int64 (V,): word counts, rows in
    the same order. The result's cell (i, j) is (max(PMI_ij, 0) + max(PMI_ji, 0)) / 2
    (the two differ when cds < 1).

    Memory: the result (8 bytes a cell with int32 indices) plus one block and a few
    arrays of ``kept`` numbers; :class:`MemoryBudgetError` if the result would exceed
    ``memory_bytes``.
    """
    if kept < 1:
        raise ValueError(f"kept must be at least 1, got {kept}")
    counts = np.asarray(counts[:kept], dtype=np.float64)
    if len(counts) < kept or not (counts > 0).all():
        raise ValueError(f"counts must hold {kept} positive word counts")
    log_p = np.log(counts) - np.log(counts.sum())
    smoothed = counts**cds
    log_pc = np.log(smoothed) - np.log(smoothed.sum())

    upper_ticks = 0
    for start, block in _kept_rows(blocks(), kept):
        total, broken = _upper_total(start, block.indptr, block.indices, block.data, kept)
        if broken:
            raise ValueError(
                f"rows {start}–{start + block.shape[0]}: {broken} cells are not upper "
                "triangle cells (column > row) with positive ticks"
            )
        upper_ticks += int(total)
    if upper_ticks == 0:
        raise ValueError(f"the {kept} kept words never co-occur")
    # X = ticks / scale and Z = 2 × the upper sum: the scale cancels in X / Z, but
    # stating both keeps the formula the documented one.
    log_z = np.log(2.0 * upper_ticks) - np.log(scale)
    constant = np.log(scale) + log_z + np.log(shift)

    row_cells = np.zeros(kept, dtype=np.int64)
    for start, block in _kept_rows(blocks(), kept):
        _count_positive(
            start, block.indptr, block.indices, block.data, kept, log_p, log_pc, constant,
            row_cells,
        )  # fmt: skip
    cells = int(row_cells.sum())
    index_dtype = np.int32 if cells < 2**31 else np.int64
    needed = (kept + 1 + cells) * np.dtype(index_dtype).itemsize + cells * 4
    if needed > memory_bytes:
        raise MemoryBudgetError(
            f"the positive PMI matrix of {kept:,} words ({cells:,} cells) needs "
            f"{_mib(needed)}, more than the memory budget of {_mib(memory_bytes)}; "
            "raise the budget (--memory-mb) or keep fewer words (--min-count, --max-vocab)"
        )
    indptr = np.zeros(kept + 1, dtype=index_dtype)
    np.cumsum(row_cells, out=indptr[1:])
    del row_cells
    indices = np.empty(cells, dtype=index_dtype)
    data = np.empty(cells, dtype=np.float32)
    cursor = indptr[:-1].astype(np.int64)
    for start, block in _kept_rows(blocks(), kept):
        _fill_positive(
            start, block.indptr, block.indices, block.data, kept, log_p, log_pc, constant,
            cursor, indices, data,
        )  # fmt: skip
    matrix = sp.csr_matrix((data, indices, indptr), shape=(kept, kept), copy=False)
    matrix.has_sorted_indices = True
    return matrix


def _block_size(dim: int) -> int:
    """Vectors per product: a quarter of ``dim``, 8 to 64. On PMI matrices of 29 k
    and 85 k words (dim 128) blocks of 16–32 took 20–25 % less time than 64: the
    orthogonalisation, which grows with the vectors multiplied in all (1 664 with
    blocks of 64, 1 300 with 32), costs more than the products; 32 keeps the
    passes over the matrix near 40."""
    return int(min(64, max(8, dim // 4)))


def _arpack(matrix: sp.csr_matrix, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Today's exact solver: ARPACK to machine precision, on a float64 copy."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    exact = sp.csr_matrix(matrix, dtype=np.float64)
    products = 0

    def times(vector: np.ndarray) -> np.ndarray:
        nonlocal products
        products += 1
        return exact @ vector

    size = exact.shape[0]
    operator = LinearOperator((size, size), matvec=times, dtype=np.float64)
    start = np.random.default_rng(seed).uniform(-1, 1, size)
    values, vectors = eigsh(operator, k=dim, which="LA", v0=start, tol=0)
    return values, vectors, {"products": products, "vector_products": products}


def _dense(matrix: sp.csr_matrix, dim: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """All eigenpairs of a matrix too small for an iterative solver."""
    values, vectors = np.linalg.eigh(matrix.toarray().astype(np.float64))
    return values[-dim:], vectors[:, -dim:], {}


def eigen_vectors(
    matrix: sp.csr_matrix,
    dim: int,
    seed: int,
    *,
    memory_bytes: int | None = None,
    method: str = "lanczos",
    tol: float = 1e-3,
    block: int | None = None,
    basis_columns: int | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """V = U_d · sqrt(Λ_d) from the ``dim`` largest eigenpairs of a symmetric
    ``matrix`` (n, n) CSR; ``seed`` draws the solver's start.

    ``method``: ``"lanczos"`` (:func:`training.block_lanczos.top_eigenpairs`; stops
    when every pair's residual ‖A u − λ u‖ / λ_max < ``tol``; 1e-3 keeps 99 % of
    the exact solution's top-10 neighbours on the default corpus) or ``"arpack"``
    (exact, to machine precision). ``block`` vectors per product (default dim / 4,
    8–64) and a basis of ``basis_columns`` vectors (default dim + 8 × block, fewer
    if ``memory_bytes`` — the matrix included — requires, at least dim + 3 × block).
    A matrix smaller than the basis is solved densely.

    Returns (vectors float32 (n, dim) C order, eigenvalues float64 (dim,) in
    decreasing order, figures: method, seconds, products (passes over the matrix),
    vector_products, and for Lanczos block, basis_columns, restarts, residual).
    Negative eigenvalues (directions V Vᵀ cannot represent) give zero columns; words
    whose row is empty get exactly zero vectors. Eigenvectors' signs are fixed (the
    largest component positive), so results do not depend on the solver.
    """
    size = matrix.shape[0]
    if not 1 <= dim < size:
        raise ValueError(
            f"dim must be between 1 and the vocabulary size − 1 ({size - 1}), got {dim}"
        )
    if method not in METHODS:
        raise ValueError(f"method must be {' or '.join(METHODS)}, got {method!r}")
    matrix = sp.csr_matrix(matrix)
    started = time.perf_counter()
    figures: dict[str, Any]
    if method == "arpack":
        values, vectors, figures = _arpack(matrix, dim, seed)
    else:
        block = block or _block_size(dim)
        columns = basis_columns or dim + 8 * block
        if columns + block > size:
            method = "dense"
            values, vectors, figures = _dense(matrix, dim)
        else:
            if matrix.dtype != np.float32:
                matrix = matrix.astype(np.float32)
            columns = _fitting_columns(matrix, dim, block, columns, memory_bytes)
            result = top_eigenpairs(
                matrix, dim, seed=seed, block=block, basis_columns=columns, tol=tol
            )
            if not result.converged:
                log.warning(
                    "block Lanczos stopped after %d products at residual %.2g (tolerance %.2g)",
                    result.products,
                    result.residual,
                    tol,
                )
            values, vectors = result.values, result.vectors
            figures = {
                "products": result.products,
                "vector_products": result.columns,
                "block": block,
                "basis_columns": columns,
                "restarts": result.restarts,
                "residual": float(f"{result.residual:.3g}"),
                "tolerance": tol,
                "converged": result.converged,
            }
    order = np.argsort(values)[::-1]
    values = values[order]
    vectors = np.ascontiguousarray(vectors[:, order], dtype=np.float32)
    # Eigenvectors are defined up to sign: fix it so results do not depend on the solver.
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(dim)])
    vectors *= (signs * np.sqrt(np.maximum(values, 0.0))).astype(np.float32)
    # A word with an empty row (no positive PMI: "the" once shifted) has a zero vector
    # in every exact solution; make it exactly zero, not round-off, so that it has
    # cosine 0 with everything and stays out of neighbour lists.
    vectors[np.diff(matrix.indptr) == 0] = 0
    seconds = round(time.perf_counter() - started, 3)
    return vectors, values, {"method": method, "seconds": seconds, **figures}


def _fitting_columns(
    matrix: sp.csr_matrix, dim: int, block: int, columns: int, memory_bytes: int | None
) -> int:
    """The largest basis ≤ ``columns`` whose solver fits ``memory_bytes`` beside the
    matrix (at least dim + 3 × block: a restart keeps dim + block vectors and needs
    room for two more blocks); :class:`MemoryBudgetError` if none does."""
    if memory_bytes is None:
        return columns
    size, smallest = matrix.shape[0], dim + 3 * block
    available = memory_bytes - matrix_bytes(matrix)
    while columns > smallest and basis_bytes(size, dim, block, columns) > available:
        columns -= block
    columns = max(columns, smallest)
    needed = matrix_bytes(matrix) + basis_bytes(size, dim, block, columns)
    if needed > memory_bytes:
        raise MemoryBudgetError(
            f"the eigensolver needs {_mib(needed)} for {dim} dimensions of {size:,} words "
            f"(the matrix {_mib(matrix_bytes(matrix))}, the smallest basis "
            f"{_mib(needed - matrix_bytes(matrix))}), more than the memory budget of "
            f"{_mib(memory_bytes)}; raise the budget (--memory-mb), lower --dim or keep "
            "fewer words"
        )
    return columns
