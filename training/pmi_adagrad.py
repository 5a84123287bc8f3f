"""Stage: Su Jianlin's weighted trainer for ⟨v_i, v_j⟩ ≈ PMI(i, j), as published.

For every observed pair (X_ij > 0, i ≠ j — a "record"):

    target  t_ij = log X_ij − log Z − log N_i − log N_j + 2 log N
    weight  λ_ij = min(X_ij / x_max, 1)^α        (untruncated: (X_ij / x_max)^α)
    loss    Σ λ_ij (⟨v_i, v_j⟩ − t_ij)²

with N_i the unigram counts of the kept words, N = Σ N_i, Z = Σ_{i≠j} X_ij and α the
weight exponent. AdaGrad per record: with g = λ_ij (⟨v_i, v_j⟩ − t_ij) v_j for v_i
(and symmetrically for v_j; the factor 2 folds into η), G ← G + g²,
v ← v − η g / sqrt(G + 1e-8), G starting at 1, v ~ U(−0.5, 0.5)/d; Su's settings are
η = 0.1, x_max = 100, α = 0.75. Records are shuffled once (GloVe's shuffle stage)
and each epoch's records are split across threads that update the shared vectors
without locks (Hogwild). A record whose update is not finite is
skipped. With one thread and a fixed seed, runs are bit-for-bit reproducible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

log = logging.getLogger(__name__)

__all__ = ["pmi_records", "train_adagrad"]


def pmi_records(
    cooccurrences: sp.csr_matrix,
    counts: np.ndarray,
    x_max: float,
    weight_exponent: float,
    truncate: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The training records of X (V, V): rows, columns (int32), targets t_ij and
    weights λ_ij = min(X_ij / x_max, 1)^weight_exponent (float32; not capped at 1
    unless ``truncate``), one per stored non-zero off-diagonal cell, both (i, j) and
    (j, i). ``counts`` N_i (V,) are the unigram counts."""
    matrix = sp.coo_matrix(cooccurrences)
    off_diagonal = (matrix.row != matrix.col) & (matrix.data > 0)
    rows, cols = matrix.row[off_diagonal], matrix.col[off_diagonal]
    x = matrix.data[off_diagonal].astype(np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    log_n = np.log(counts)
    targets = np.log(x) - np.log(x.sum()) - log_n[rows] - log_n[cols] + 2 * np.log(counts.sum())
    ratio = x / x_max
    weights = (np.minimum(ratio, 1.0) if truncate else ratio) ** weight_exponent
    return (
        rows.astype(np.int32),
        cols.astype(np.int32),
        targets.astype(np.float32),
        weights.astype(np.float32),
    )


# Reordered sums (vectorised loops) but exact sqrt and division and no assumption of
# finite values: "afn"/"arcp" turn g / sqrt(G) into an estimate that is NaN for
# G = inf, and "nnan"/"ninf" would remove the skip test. IEEE division: a zero or
# infinite divisor must not raise inside the threads.
_FAST = {"nsz", "contract", "reassoc"}


@njit(cache=True)
def _finite(x):
    """Strict IEEE test, compiled apart so the fast-math flags of the caller's loops
    cannot fold it away (NaN fails both comparisons)."""
    return -np.inf < x < np.inf


@njit(fastmath=_FAST, error_model="numpy", cache=True, nogil=True)
def _train_slice(rows, cols, targets, weights, vectors, squares, eta, start, stop):
    """AdaGrad over records [start, stop); returns (Σ λ (⟨v_i, v_j⟩ − t)², skipped).

    As in Su's tool, G takes the squared gradients first and the two steps are then
    applied only if every component is finite.
    """
    dim = vectors.shape[1]
    step_i = np.empty(dim, dtype=vectors.dtype)
    step_j = np.empty(dim, dtype=vectors.dtype)
    loss = 0.0
    skipped = 0
    for r in range(start, stop):
        i = rows[r]
        j = cols[r]
        dot = np.float32(0.0)
        for k in range(dim):
            dot += vectors[i, k] * vectors[j, k]
        diff = dot - targets[r]
        scaled = weights[r] * diff
        check = scaled
        for k in range(dim):
            g_i = scaled * vectors[j, k]
            g_j = scaled * vectors[i, k]
            squares[i, k] += g_i * g_i
            squares[j, k] += g_j * g_j
            step_i[k] = eta * g_i / np.sqrt(squares[i, k] + np.float32(1e-8))
            step_j[k] = eta * g_j / np.sqrt(squares[j, k] + np.float32(1e-8))
            check += step_i[k] + step_j[k]
        if not _finite(check):
            skipped += 1
            continue
        loss += scaled * diff
        for k in range(dim):
            vectors[i, k] -= step_i[k]
            vectors[j, k] -= step_j[k]
    return loss, skipped


@njit(parallel=True, cache=True)
def _epoch(rows, cols, targets, weights, vectors, squares, eta, threads):
    """One pass over the records, split into ``threads`` contiguous slices that update
    the shared vectors without locks; returns (weighted squared error, skipped)."""
    n = rows.shape[0]
    per_thread = (n + threads - 1) // threads
    losses = np.zeros(threads)
    skipped = np.zeros(threads, dtype=np.int64)
    for thread in prange(threads):
        losses[thread], skipped[thread] = _train_slice(
            rows,
            cols,
            targets,
            weights,
            vectors,
            squares,
            eta,
            thread * per_thread,
            min(n, (thread + 1) * per_thread),
        )
    return losses.sum(), skipped.sum()


def train_adagrad(
    cooccurrences: sp.csr_matrix,
    counts: np.ndarray,
    *,
    dim: int,
    epochs: int,
    eta: float,
    x_max: float,
    weight_exponent: float,
    truncate: bool,
    threads: int,
    seed: int,
    initial: np.ndarray | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[np.ndarray, dict]:
    """Fit PMI vectors float32 (V, dim) to X (V, V) and the unigram counts (V,) with
    Su's weighted AdaGrad: ``epochs`` passes at learning rate ``eta`` over the
    records of :func:`pmi_records` (``x_max``, ``weight_exponent``, ``truncate``),
    shuffled once by ``seed``, on ``threads`` threads.

    ``initial`` (V, dim) starts from given vectors (e.g. the closed-form solution)
    instead of U(−0.5, 0.5)/dim drawn with ``seed``. ``progress`` (optional) is
    called after each epoch with (epoch, loss). Returns (vectors, figures: per-epoch
    loss, records, skipped updates, seconds, threads, records/s/thread).
    """
    import numba

    size = cooccurrences.shape[0]
    rng = np.random.default_rng(seed)
    rows, cols, targets, weights = pmi_records(
        cooccurrences, counts, x_max, weight_exponent, truncate
    )
    order = rng.permutation(len(rows))  # GloVe's shuffle stage: once, seeded
    rows, cols, targets, weights = rows[order], cols[order], targets[order], weights[order]
    if initial is None:
        vectors = (rng.random((size, dim), dtype=np.float32) - 0.5) / dim
    else:
        # C order: the kernel walks rows; a Fortran-ordered start (eigsh's) is 8x slower
        vectors = np.array(initial, dtype=np.float32, order="C", copy=True)
        if vectors.shape != (size, dim):
            raise ValueError(f"initial vectors {vectors.shape}, expected {(size, dim)}")
    squares = np.ones((size, dim), dtype=np.float32)
    # numba sets its config attributes at import time, from the environment: no stub
    # declares NUMBA_NUM_THREADS, the most threads numba will run.
    threads = min(threads, numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]
    numba.set_num_threads(threads)
    losses, skipped = [], 0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        loss, skipped_now = _epoch(
            rows, cols, targets, weights, vectors, squares, np.float32(eta), threads
        )
        skipped += int(skipped_now)
        losses.append(float(loss) / len(rows))
        if progress is not None:
            progress(epoch, losses[-1])
    seconds = time.perf_counter() - started
    figures = {
        "records": len(rows),
        "loss_per_epoch": [round(x, 6) for x in losses],
        "skipped_updates": skipped,
        "train_seconds": round(seconds, 3),
        "threads": threads,
        "records_per_second_per_thread": round(len(rows) * epochs / seconds / threads),
    }
    return vectors, figures
