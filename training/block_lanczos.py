"""Stage helper: the largest eigenpairs of a big sparse symmetric matrix, by
thick-restart block Lanczos.

Why not ARPACK (``scipy.sparse.linalg.eigsh``): it multiplies the matrix by one
vector at a time, about 950 times for 128 eigenpairs of the default corpus's PPMI
matrix, and each product is a full pass over the matrix. Block Lanczos multiplies
by a block of vectors at once (one pass over the matrix does them all) and needs
about 40 blocks of 32, stopping at a residual of 1e-3 rather than machine precision
(which leaves top-10 neighbours as they are to 99 %).

The method (Golub & Underwood's block Lanczos, with the thick restart of Wu & Simon
and full reorthogonalisation):

- The basis P (n, ≤ basis_columns) is orthonormal. Each step multiplies the newest
  block Q_j by the matrix, Z = A Q_j, records H = Pᵀ A P's new columns Pᵀ Z, and
  orthogonalises Z against P (twice when the first pass cancelled much of it: the
  DGKS criterion), giving the next block Q_{j+1} and its coefficients B, Z = Q_{j+1} B.
- Rayleigh–Ritz: eigh(H) = W Θ W ᵀ gives Ritz values Θ and vectors P W. Because
  A P = P H + Q_{j+1} B E_jᵀ, the residual ‖A y − θ y‖ of a Ritz pair is exactly
  ‖B w_j‖ (w_j: the newest block's rows of w), so convergence is checked without
  touching the matrix. It stops when every wanted pair's residual, relative to the
  largest Ritz value (the matrix's norm for a non-negative matrix), is below ``tol``.
- When the basis is full, it keeps the leading ``wanted + block`` Ritz vectors
  (their H is diag(Θ)) and goes on from Q_{j+1}: memory stays at ``basis_columns``
  vectors whatever the number of steps.

The basis is float32 (half the memory and BLAS time of float64; its round-off,
~1e-7, is far below the tolerance), H and the small dense problems float64. The
sparse product is a numba kernel, rows split between threads in chunks of equal
numbers of cells (frequent words' rows are long).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from scipy.linalg import solve_triangular

__all__ = ["BlockLanczosResult", "basis_bytes", "sparse_times_block", "top_eigenpairs"]

# Pieces per thread of one product: enough that a thread finishing early takes
# another piece, few enough that their bookkeeping is nothing.
_PIECES = 64
# DGKS: a column that kept less than this fraction of its norm after one
# orthogonalisation pass has lost orthogonality to round-off; a second pass restores it.
_REORTHOGONALISE_BELOW = 0.7
# Rows per chunk of a Gram matrix computed in float64 from float32 blocks: bounds the
# float64 copies to a few MiB.
_GRAM_ROWS = 16_384


@njit(parallel=True, cache=True, nogil=True)
def _csr_times_block(indptr, indices, data, block, out, bounds):
    """out = A @ block for A in CSR (float32 data); rows in pieces ``bounds``.

    Each row sums in float64 (a frequent word's row has tens of thousands of cells)
    and is written once, so the result does not depend on the number of threads.
    """
    width = block.shape[1]
    for piece in prange(bounds.size - 1):
        total = np.empty(width, dtype=np.float64)
        for row in range(bounds[piece], bounds[piece + 1]):
            total[:] = 0.0
            for cell in range(indptr[row], indptr[row + 1]):
                weight = np.float64(data[cell])
                source = block[indices[cell]]
                for column in range(width):
                    total[column] += weight * source[column]
            for column in range(width):
                out[row, column] = total[column]


def _row_pieces(indptr: np.ndarray, pieces: int) -> np.ndarray:
    """int64 row boundaries splitting the rows into ``pieces`` runs of about equal
    numbers of cells."""
    targets = np.linspace(0, indptr[-1], pieces + 1)
    bounds = np.searchsorted(indptr, targets, side="left").astype(np.int64)
    bounds[0], bounds[-1] = 0, len(indptr) - 1
    return np.unique(bounds)


def sparse_times_block(matrix: sp.csr_matrix, block: np.ndarray) -> np.ndarray:
    """A @ block: ``matrix`` CSR (n, n) float32, ``block`` (n, b) float32 →
    float32 (n, b), on all numba threads."""
    block = np.ascontiguousarray(block, dtype=np.float32)
    out = np.empty((matrix.shape[0], block.shape[1]), dtype=np.float32)
    bounds = _row_pieces(matrix.indptr, _PIECES)
    _csr_times_block(matrix.indptr, matrix.indices, matrix.data, block, out, bounds)
    return out


def basis_bytes(size: int, count: int, block: int, basis_columns: int) -> int:
    """Bytes :func:`top_eigenpairs` holds at its peak besides the matrix, for a
    (size, size) matrix: the float32 basis with the block in flight (basis_columns +
    block columns), six float32 blocks of temporaries (the product, the block
    multiplied, the orthogonalisation's), the kept Ritz vectors of a restart and the
    eigenvectors returned (float32, twice: :func:`pmi_eig.eigen_vectors` reorders
    them), H with its eigenvectors (float64, square) and the float64 chunks of a Gram
    matrix."""
    columns = basis_columns + block
    per_row = 4 * (columns + 6 * block + (count + block) + 2 * count)
    return size * per_row + 3 * columns**2 * 8 + min(size, _GRAM_ROWS) * block * 8 * 2


@dataclass
class BlockLanczosResult:
    """Eigenpairs and what it took to find them.

    values : float64 (count,) the largest eigenvalues, decreasing.
    vectors : float32 (n, count) their orthonormal eigenvectors, C order.
    products : block products with the matrix (each one pass over it).
    columns : vectors multiplied in all (products × block, ARPACK's matvec count).
    restarts : thick restarts.
    residual : max over the pairs of ‖A y − θ y‖ / θ_max at the end (Lanczos's estimate).
    converged : the residual reached ``tol`` within ``max_products``.
    seconds : wall time.
    """

    values: np.ndarray
    vectors: np.ndarray
    products: int
    columns: int
    restarts: int
    residual: float
    converged: bool
    seconds: float


def _gram(block: np.ndarray) -> np.ndarray:
    """blockᵀ block in float64 (b, b), from a float32 (n, b) block, chunk by chunk:
    float32 sums over many rows would lose the precision CholeskyQR needs."""
    gram = np.zeros((block.shape[1], block.shape[1]))
    for start in range(0, block.shape[0], _GRAM_ROWS):
        chunk = block[start : start + _GRAM_ROWS].astype(np.float64)
        gram += chunk.T @ chunk
    return gram


def _inverse_upper(upper: np.ndarray) -> np.ndarray:
    """R⁻¹ of an upper triangular (b, b) float64 matrix."""
    return solve_triangular(upper, np.eye(len(upper)))


def _orthonormal(
    block: np.ndarray, rng: np.random.Generator, basis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal Q (n, b) float32 and B (b, b) float64 with block ≈ Q B, every
    column of Q orthogonal to ``basis`` (n, k).

    Directions ``block`` lacks (the Krylov space became invariant: exact on a small
    or low-rank matrix) are filled with random vectors orthogonal to ``basis`` and
    get zero rows in B, so the residual estimate stays exact.
    """
    width = block.shape[1]
    gram = _gram(block)
    values, rotation = np.linalg.eigh(gram)
    keep = values > max(values.max(), 0.0) * 1e-10
    if keep.all():
        # CholeskyQR2 (Q = block R⁻¹ with RᵀR = the Gram matrix, twice: the second
        # pass makes Q orthonormal to working precision), by products with the small
        # inverse: a matrix product is far faster than a solve with n right-hand sides.
        upper = np.linalg.cholesky(gram).T
        q = block @ _inverse_upper(upper).astype(np.float32)
        second = np.linalg.cholesky(_gram(q)).T
        return q @ _inverse_upper(second).astype(np.float32), second @ upper
    q = block @ (rotation[:, keep] / np.sqrt(values[keep])).astype(np.float32)
    coefficients = np.zeros((width, width))
    coefficients[: keep.sum()] = (rotation[:, keep] * np.sqrt(values[keep])).T
    fill = rng.standard_normal((block.shape[0], width - keep.sum())).astype(np.float32)
    for _ in range(2):
        fill -= basis @ (basis.T @ fill)
        fill -= q @ (q.T @ fill)
        fill_values, fill_rotation = np.linalg.eigh(_gram(fill))
        fill = fill @ (fill_rotation / np.sqrt(fill_values)).astype(np.float32)
    return np.hstack([q, fill]), coefficients


def top_eigenpairs(
    matrix: sp.csr_matrix,
    count: int,
    *,
    seed: int,
    block: int,
    basis_columns: int,
    tol: float = 1e-3,
    max_products: int = 1000,
) -> BlockLanczosResult:
    """The ``count`` largest (algebraic) eigenpairs of a symmetric ``matrix``
    (n, n) CSR float32 with int32/int64 indices.

    ``block`` vectors are multiplied at a time; the basis holds at most
    ``basis_columns`` vectors (≥ count + 2 · block; :func:`basis_bytes` gives the
    memory besides the matrix's); ``seed`` draws the start block. Stops when every
    pair's residual ‖A y − θ y‖ / θ_max < ``tol`` or after ``max_products`` block
    products. The float32 basis puts a floor of about 1e-5 under the residual on
    large matrices: lower tolerances may not be reached.
    """
    from threadpoolctl import threadpool_limits

    size = matrix.shape[0]
    keep = count + block
    if basis_columns < keep + block:
        raise ValueError(
            f"basis_columns ({basis_columns}) must be at least count + 2 × block ({keep + block})"
        )
    if basis_columns + block > size:
        raise ValueError(
            f"the matrix ({size} rows) is too small for {basis_columns} + {block} basis "
            "vectors: solve it densely"
        )
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    basis = np.empty((size, basis_columns + block), dtype=np.float32)
    basis[:, :block] = _orthonormal(
        rng.standard_normal((size, block)).astype(np.float32), rng, basis[:, :0]
    )[0]
    projected = np.zeros((basis_columns + block, basis_columns + block))
    start, filled = 0, block  # the newest block is basis[:, start:filled]
    products = restarts = 0
    while True:
        product = sparse_times_block(matrix, basis[:, start:filled])
        products += 1
        previous = basis[:, :filled]
        overlaps = previous.T @ product
        projected[:filled, start:filled] = overlaps
        projected[start:filled, :filled] = overlaps.T
        norms = np.linalg.norm(product, axis=0)
        product -= previous @ overlaps
        if (np.linalg.norm(product, axis=0) < _REORTHOGONALISE_BELOW * norms).any():
            product -= previous @ (previous.T @ product)
        # Problems of one block's width and H: too small for BLAS threads to gain,
        # and on a busy machine their spinning threads lose badly (eigh of 640²
        # took 27 s instead of 0.5 s with 2 threads on 2 shared cores).
        with threadpool_limits(1):
            following, coefficients = _orthonormal(product, rng, previous)
            values, rotation = np.linalg.eigh(projected[:filled, :filled])
        values, rotation = values[::-1], rotation[:, ::-1]
        scale = max(abs(values[0]), np.finfo(np.float32).tiny)
        residuals = np.linalg.norm(coefficients @ rotation[start:filled, :count], axis=0) / scale
        residual = float(residuals.max())
        if filled >= keep and (residual < tol or products >= max_products):
            break
        if filled + block > basis_columns:
            # Thick restart: the leading Ritz vectors span what was learnt so far.
            basis[:, :keep] = previous @ rotation[:, :keep].astype(np.float32)
            projected[:] = 0
            projected[np.arange(keep), np.arange(keep)] = values[:keep]
            filled = keep
            restarts += 1
        basis[:, filled : filled + block] = following
        start, filled = filled, filled + block
    vectors = previous @ rotation[:, :count].astype(np.float32)
    return BlockLanczosResult(
        values=values[:count].copy(),
        vectors=vectors,
        products=products,
        columns=products * block,
        restarts=restarts,
        residual=residual,
        converged=residual < tol,
        seconds=time.perf_counter() - started,
    )
