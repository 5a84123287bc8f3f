"""Stage: fit ⟨v_i, v_j⟩ ≈ PMI(i, j) in closed form, by eigendecomposition.

The model of Su Jianlin's "更别致的词向量模型", one vector per word whose inner
products reproduce the PMI matrix, fitted without iterations (Levy & Goldberg's
analysis of PPMI matrices is the background):

    PMI(i, j) = log X_ij − log Z − log P(i) − log P_c(j) − log k

with Z = Σ X, P(i) = N_i / N the unigram probability, P_c(j) ∝ N_j^cds the
context-distribution-smoothed one (cds = 1: none), and k the shift (k = 1: none).
Only the positive part is kept (cells with X_ij = 0 have PMI −∞ and stay 0), the
matrix is symmetrised, and its top ``dim`` eigenpairs give V = U_d · sqrt(Λ_d):
V Vᵀ is the best rank-d positive semidefinite approximation of it. The shift makes
frequent, uninformative words' PMI rows nearly vanish, so their vectors get short —
Su's "norm = importance".
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["positive_pmi", "eigen_vectors"]


def positive_pmi(
    cooccurrences: sp.csr_matrix, counts: np.ndarray, shift: float, cds: float
) -> sp.csr_matrix:
    """Symmetrised positive PMI, shifted by log ``shift`` and with contexts smoothed by
    the exponent ``cds``: float64 (V, V) CSR.

    ``cooccurrences`` X (V, V) symmetric; ``counts`` N_i (V,) unigram counts.
    """
    matrix = sp.csr_matrix(cooccurrences, dtype=np.float64, copy=True)
    counts = np.asarray(counts, dtype=np.float64)
    log_p = np.log(counts) - np.log(counts.sum())
    smoothed = counts**cds
    log_pc = np.log(smoothed) - np.log(smoothed.sum())
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    matrix.data = (
        np.log(matrix.data)
        - np.log(matrix.data.sum())
        - log_p[rows]
        - log_pc[matrix.indices]
        - np.log(shift)
    )
    matrix.data = np.maximum(matrix.data, 0.0)
    matrix.eliminate_zeros()
    return ((matrix + matrix.T) * 0.5).tocsr()


def eigen_vectors(matrix: sp.csr_matrix, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """V = U_d · sqrt(Λ_d) from the ``dim`` largest eigenpairs of a symmetric matrix
    (V, V); ``seed`` draws the solver's start vector.

    Returns (vectors float32 (V, dim), eigenvalues float64 (dim,) in decreasing order).
    Negative eigenvalues (directions V Vᵀ cannot represent) give zero columns; words
    whose row is empty get exactly zero vectors.
    """
    from scipy.sparse.linalg import eigsh

    size = matrix.shape[0]
    if not 1 <= dim < size:
        raise ValueError(
            f"dim must be between 1 and the vocabulary size − 1 ({size - 1}), got {dim}"
        )
    start = np.random.default_rng(seed).uniform(-1, 1, size)
    values, vectors = eigsh(matrix, k=dim, which="LA", v0=start)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    # Eigenvectors are defined up to sign: fix it so results do not depend on the solver.
    signs = np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(dim)])
    vectors = vectors * signs
    scale = np.sqrt(np.maximum(values, 0.0))
    vectors = np.ascontiguousarray(vectors * scale, dtype=np.float32)  # eigsh's are Fortran order
    # A word with an empty row (no positive PMI: "the" once shifted) has a zero vector
    # in every exact solution; make it exactly zero, not round-off, so that it has
    # cosine 0 with everything and stays out of neighbour lists.
    vectors[np.diff(sp.csr_matrix(matrix).indptr) == 0] = 0
    return vectors, values
