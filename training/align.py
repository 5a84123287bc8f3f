"""Stage: rotate newly trained vectors onto an older model's, and say how far words moved.

Retraining (a merged count, another corpus, another solver) gives vectors that are
meaningful only up to a rotation: an eigensolver returns any orthonormal basis of a
subspace, and Word2Vec starts from random vectors. To keep neighbours and stored vectors
comparable between versions, the new vectors V (V_new, d) are rotated by the orthogonal
R (d, d) that best maps the shared words onto the old model's (orthogonal Procrustes,
Schönemann 1966):

    R = argmin over orthogonal R of  Σ_i w_i ‖a_i R − b_i‖²    (i over the shared words)

with a_i, b_i the word's new and old vectors. R is U Wᵀ from the SVD of the d × d
cross-product Σ_i w_i a_iᵀ b_i, accumulated block by block, so the shared rows are never
gathered at once.

The whole raw matrix is rotated, not its unit rows: a rotation keeps every inner product
and every length, so a PMI model's ⟨v_i, v_j⟩ ≈ PMI(i, j) and its norms ("importance")
are unchanged, and so is every answer the new model gives on its own. Only comparisons
with the old model change.

The fit weights each word by default as one unit vector ("cosine" fit: a_i, b_i scaled
to unit length), which maximises exactly the sum of old–new cosines the report quotes
(‖â R − b̂‖² = 2 − 2 cos). The "raw" fit uses the vectors as they are, weighting each
word by the product of its two lengths; PMI gives rare words long vectors (PMI favours
rare pairs), so that weighting leans on the least reliable words. Words whose vector is
zero in either model (a PMI word with no positive cell) take no part.

Neighbour movement is measured on the ``neighbour_words`` most frequent shared words
(rows are most frequent first in every model): their top-``neighbours`` cosine
neighbours among the shared words in the old model and in the new one, and the mean
overlap. It does not depend on R (a rotation keeps cosines within a model); the mean
cosine between each word's old and new vector does, and is reported before and after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import orthogonal_procrustes

from wordlens.artifacts import Model, load_model

__all__ = ["FIT_WEIGHTINGS", "align_to_model", "align_vectors", "load_old_model", "shared_rows"]

FIT_WEIGHTINGS = ("cosine", "raw")
# Values per temporary block (float64: 8 MiB): bounds memory whatever V is.
_BLOCK_VALUES = 1 << 20
# Cells of one block of neighbour scores (float32: 64 MiB).
_SCORE_CELLS = 1 << 24


def shared_rows(words: Sequence[str], old_words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the words both vocabularies hold: (rows in ``words``, rows in
    ``old_words``), int64 (S,) each, in the order of ``words`` (most frequent first)."""
    old_index = dict(zip(old_words, range(len(old_words)), strict=True))
    old_rows = np.fromiter((old_index.get(word, -1) for word in words), np.int64, len(words))
    rows = np.flatnonzero(old_rows >= 0)
    return rows, old_rows[rows]


def load_old_model(path: str | os.PathLike, dim: int, verify: bool = True) -> Model:
    """The model to align to, refused at once if its vectors are not ``dim``-dimensional
    (call it before training, so a wrong ``--align-to`` fails before the work)."""
    model = load_model(path, verify=verify)
    _check_dimensions(dim, model.dim)
    return model


def align_to_model(
    words: Sequence[str],
    vectors: np.ndarray,
    old_model_path: str | os.PathLike | Model,
    *,
    neighbour_words: int = 1000,
    neighbours: int = 10,
    fit: str = "cosine",
    layers: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`align_vectors` onto the ``vectors`` of the model at ``old_model_path``
    (any kind; or an already loaded :class:`Model`). The report also names the old
    model (``old_model``: name, kind, created)."""
    old = (
        old_model_path
        if isinstance(old_model_path, Model)
        else load_old_model(old_model_path, vectors.shape[-1])
    )
    aligned, report = align_vectors(
        words,
        vectors,
        old.words,
        old.vectors,
        neighbour_words=neighbour_words,
        neighbours=neighbours,
        fit=fit,
        layers=layers,
    )
    report["old_model"] = {
        "name": old.name,
        "kind": old.kind,
        "created": old.manifest.get("created"),
    }
    return aligned, report


def align_vectors(
    words: Sequence[str],
    vectors: np.ndarray,
    old_words: Sequence[str],
    old_vectors: np.ndarray,
    *,
    neighbour_words: int = 1000,
    neighbours: int = 10,
    fit: str = "cosine",
    layers: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rotate ``vectors`` onto ``old_vectors`` over the words both models hold.

    Parameters
    ----------
    words, vectors : the new model: V words, most frequent first, and float (V, d).
    old_words, old_vectors : the old model: V' words, most frequent first, and (V', d).
    neighbour_words : how many of the most frequent shared words measure how far
        neighbours moved.
    neighbours : how many cosine neighbours of each are compared (top-k, searched
        among the fit words: shared, with non-zero vectors in both models).
    fit : "cosine" (each word one unit vector) or "raw" (vectors as they are); see the
        module notes.
    layers : further float arrays (rows, d) whose inner products with the vectors carry
        meaning (Word2Vec's output layers syn1neg, syn1): rotated **in place** by the
        same R, so that ⟨v_w, u_c⟩ stays what it was. Must be writable.

    Returns (aligned float32 (V, d) = vectors · R, report). The report (JSON-ready):
    ``old_words``, ``new_words``, ``shared_words`` (S), ``fit_words`` (shared words with
    non-zero vectors in both models: those the fit and the means below use), ``fit``,
    ``residual`` and ``residual_before``: ‖A R − B‖_F / ‖B‖_F over the shared raw rows,
    after and before the rotation; ``cosine`` and ``cosine_before``: the mean cosine
    between each probe word's old and new vector; ``cosine_all`` and
    ``cosine_all_before``: the same over all fit words; ``neighbour_words`` (the probes
    used), ``neighbours`` (k) and ``neighbour_overlap``: the mean share of a probe's
    top-k neighbours in the new model that were also among its old top-k; ``seconds``.

    Raises ValueError on different dimensions, on fewer fit words than d (the rotation
    would be underdetermined), or on inconsistent inputs.
    """
    started = time.perf_counter()
    if fit not in FIT_WEIGHTINGS:
        raise ValueError(f"fit must be one of {', '.join(FIT_WEIGHTINGS)}, got {fit!r}")
    if neighbour_words < 1 or neighbours < 1:
        raise ValueError(
            f"neighbour_words and neighbours must be at least 1, got {neighbour_words} "
            f"and {neighbours}"
        )
    for name, names, matrix in (("new", words, vectors), ("old", old_words, old_vectors)):
        if matrix.ndim != 2 or matrix.shape[0] != len(names):
            raise ValueError(
                f"the {name} vectors have shape {matrix.shape}, expected ({len(names)}, d)"
            )
    dim = vectors.shape[1]
    _check_dimensions(dim, old_vectors.shape[1])
    for layer in layers:
        if layer.ndim != 2 or layer.shape[1] != dim:
            raise ValueError(f"a layer to rotate has shape {layer.shape}, expected (rows, {dim})")

    rows, old_rows = shared_rows(words, old_words)
    keep = (_row_norms(vectors, rows) > 0) & (_row_norms(old_vectors, old_rows) > 0)
    fit_rows, fit_old_rows = rows[keep], old_rows[keep]
    if len(fit_rows) < dim:
        raise ValueError(
            f"only {len(fit_rows):,} shared words with non-zero vectors in both models "
            f"({len(rows):,} shared in all), fewer than the {dim} dimensions: the rotation "
            "would be underdetermined; align to a model trained on related text"
        )

    rotation = _fit_rotation(vectors, fit_rows, old_vectors, fit_old_rows, unit=fit == "cosine")
    aligned = _rotated(vectors, rotation)
    for layer in layers:
        _rotate_in_place(layer, rotation)

    residual, residual_before = _residuals(vectors, aligned, rows, old_vectors, old_rows)
    cosine, cosine_before = _cosines(vectors, aligned, fit_rows, old_vectors, fit_old_rows)
    probes = min(neighbour_words, len(fit_rows))
    overlap, k = _neighbour_overlap(
        vectors, fit_rows, old_vectors, fit_old_rows, probes, neighbours
    )
    report = {
        "old_words": len(old_words),
        "new_words": len(words),
        "shared_words": len(rows),
        "fit_words": len(fit_rows),
        "fit": fit,
        "residual": _rounded(residual),
        "residual_before": _rounded(residual_before),
        "neighbour_words": probes,
        "neighbours": k,
        "neighbour_overlap": _rounded(overlap),
        "cosine": _rounded(cosine[:probes].mean()),
        "cosine_before": _rounded(cosine_before[:probes].mean()),
        "cosine_all": _rounded(cosine.mean()),
        "cosine_all_before": _rounded(cosine_before.mean()),
        "seconds": round(time.perf_counter() - started, 3),
    }
    return aligned, report


def _check_dimensions(dim: int, old_dim: int) -> None:
    if dim != old_dim:
        raise ValueError(
            f"cannot align {dim}-dimensional vectors to a model of {old_dim} dimensions: "
            "train with the old model's dimension"
        )


def _rounded(value: float) -> float:
    return round(float(value), 6)


def _step(matrix: np.ndarray) -> int:
    """Rows of ``matrix`` per temporary block (``_BLOCK_VALUES`` values)."""
    return max(1, _BLOCK_VALUES // max(1, matrix.shape[1]))


def _gather(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.asarray(matrix[rows], dtype=np.float64)


def _unit(block: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; zero rows stay zero. float64 (n, d)."""
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    return np.divide(block, norms, out=np.zeros_like(block), where=norms > 0)


def _row_norms(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Euclidean length of ``matrix[rows]``, float64 (len(rows),), a block at a time."""
    norms = np.empty(len(rows))
    step = _step(matrix)
    for start in range(0, len(rows), step):
        norms[start : start + step] = np.linalg.norm(
            _gather(matrix, rows[start : start + step]), axis=1
        )
    return norms


def _fit_rotation(
    vectors: np.ndarray,
    rows: np.ndarray,
    old_vectors: np.ndarray,
    old_rows: np.ndarray,
    unit: bool,
) -> np.ndarray:
    """The orthogonal R (d, d) float64 minimising Σ ‖a_i R − b_i‖² over the row pairs
    (a_i = vectors[rows[i]], b_i = old_vectors[old_rows[i]], unit rows if ``unit``)."""
    dim = vectors.shape[1]
    cross = np.zeros((dim, dim))
    step = _step(vectors)
    for start in range(0, len(rows), step):
        new = _gather(vectors, rows[start : start + step])
        old = _gather(old_vectors, old_rows[start : start + step])
        if unit:
            new, old = _unit(new), _unit(old)
        cross += new.T @ old
    # Procrustes depends on A and B only through Aᵀ B: orthogonal_procrustes(I, Aᵀ B)
    # is orthogonal_procrustes(A, B), here without the (S, d) matrices in memory.
    rotation, _ = orthogonal_procrustes(np.eye(dim), cross)
    return rotation


def _rotated(vectors: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """vectors · R as float32 (V, d), a block at a time (products in float64, so the
    only loss is the final rounding to float32)."""
    aligned = np.empty(vectors.shape, dtype=np.float32)
    step = _step(vectors)
    for start in range(0, len(vectors), step):
        aligned[start : start + step] = np.asarray(vectors[start : start + step]) @ rotation
    return aligned


def _rotate_in_place(layer: np.ndarray, rotation: np.ndarray) -> None:
    step = _step(layer)
    for start in range(0, len(layer), step):
        layer[start : start + step] = np.asarray(layer[start : start + step]) @ rotation


def _residuals(
    vectors: np.ndarray,
    aligned: np.ndarray,
    rows: np.ndarray,
    old_vectors: np.ndarray,
    old_rows: np.ndarray,
) -> tuple[float, float]:
    """‖A R − B‖_F / ‖B‖_F and ‖A − B‖_F / ‖B‖_F over the shared raw rows."""
    after = before = scale = 0.0
    step = _step(vectors)
    for start in range(0, len(rows), step):
        old = _gather(old_vectors, old_rows[start : start + step])
        after += float(np.square(_gather(aligned, rows[start : start + step]) - old).sum())
        before += float(np.square(_gather(vectors, rows[start : start + step]) - old).sum())
        scale += float(np.square(old).sum())
    if scale == 0:
        return 0.0, 0.0
    return float(np.sqrt(after / scale)), float(np.sqrt(before / scale))


def _cosines(
    vectors: np.ndarray,
    aligned: np.ndarray,
    rows: np.ndarray,
    old_vectors: np.ndarray,
    old_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine between each word's old vector and its new one, after and before the
    rotation: float64 (len(rows),) each (rows with non-zero vectors only)."""
    after, before = np.empty(len(rows)), np.empty(len(rows))
    step = _step(vectors)
    for start in range(0, len(rows), step):
        old = _unit(_gather(old_vectors, old_rows[start : start + step]))
        new = _unit(_gather(vectors, rows[start : start + step]))
        rotated = _unit(_gather(aligned, rows[start : start + step]))
        after[start : start + step] = np.einsum("ij,ij->i", rotated, old)
        before[start : start + step] = np.einsum("ij,ij->i", new, old)
    return after, before


def _top_neighbours(matrix: np.ndarray, rows: np.ndarray, probes: int, k: int) -> np.ndarray:
    """For each of the first ``probes`` of ``rows``, the positions (in ``rows``) of its
    ``k`` nearest rows by cosine, itself excluded: int64 (probes, k), nearest first."""
    pool = np.empty((len(rows), matrix.shape[1]), dtype=np.float32)
    step = _step(matrix)
    for start in range(0, len(rows), step):
        pool[start : start + step] = _unit(_gather(matrix, rows[start : start + step]))
    found = np.empty((probes, k), dtype=np.int64)
    step = max(1, _SCORE_CELLS // len(rows))
    for start in range(0, probes, step):
        end = min(probes, start + step)
        scores = pool[start:end] @ pool.T  # (block, S): the probes lead the pool
        scores[np.arange(end - start), np.arange(start, end)] = -np.inf
        found[start:end] = _top_k(scores, k)
    return found


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Columns of the ``k`` largest scores of each row, best first: int64 (rows, k).

    A selection over every cell costs about 30 ns a cell (6 s for 1000 × 200 000);
    comparisons cost well under 1. So each row is cut into groups of columns, and the
    k-th largest group maximum is a floor below the row's k best (k distinct cells
    reach it); only the few cells at or above the floor are ranked.
    """
    rows, columns = scores.shape
    width = max(1, min(64, columns // (32 * k)))
    groups = columns // width
    maxima = scores[:, : groups * width].reshape(rows, groups, width).max(axis=2)
    floor = np.partition(maxima, groups - k, axis=1)[:, groups - k]
    candidate_rows, candidate_columns = np.nonzero(scores >= floor[:, None])
    values = scores[candidate_rows, candidate_columns]
    order = np.lexsort((-values, candidate_rows))  # by row, then best first
    candidate_rows, candidate_columns = candidate_rows[order], candidate_columns[order]
    rank = np.arange(len(order)) - np.searchsorted(candidate_rows, candidate_rows)
    return candidate_columns[rank < k].reshape(rows, k).astype(np.int64)


def _neighbour_overlap(
    vectors: np.ndarray,
    rows: np.ndarray,
    old_vectors: np.ndarray,
    old_rows: np.ndarray,
    probes: int,
    neighbours: int,
) -> tuple[float, int]:
    """Mean share of the top-k cosine neighbours (among ``rows``) of the first
    ``probes`` rows that the two models agree on, and the k used (at most the pool
    size − 1)."""
    k = min(neighbours, len(rows) - 1)
    if k < 1:
        return 1.0, 0
    new = _top_neighbours(vectors, rows, probes, k)
    old = _top_neighbours(old_vectors, old_rows, probes, k)
    # Both are sets of k distinct positions: count the pairs that match.
    common = (new[:, :, None] == old[:, None, :]).sum(axis=(1, 2))
    return float(common.mean() / k), k
