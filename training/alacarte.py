"""The à la carte map of a Word2Vec model (Khodak et al., ACL 2018, "A La Carte
Embedding"): v_w ≈ A·u_w, where u_w is the weighted mean of the vectors of the words
around w's occurrences, and A (d, d) is fitted once by weighted least squares over the
frequent words. Inference (:mod:`wordlens.app.infer`) uses A·u, u from the example
texts, as the prior mean of its maximum a posteriori fit.

The window weights are the ones inference uses (gensim's random window and
downsampling, ``_Word2Vec.infer_window`` and ``kept``), so u means the same thing at
training and at inference time.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

__all__ = ["MIN_COUNT", "alacarte_map", "context_means"]

#: Words fitted in A's regression: at least this many occurrences (tuned on 200 words
#: of seed 5, bench/bench_infer.py: 50 gave 58 % top-10 hits from 20 sentences, 200
#: 68 %, 500 69 %, 2,000 18 %: too few words). Below it, u is too noisy to fit.
MIN_COUNT = 500


def context_means(
    lines: Iterable[str], index: dict[str, int], vectors: np.ndarray, kept: np.ndarray, window: int
) -> np.ndarray:
    """u_w (V, d) float64: Σ_c X_wc v_c / Σ_c X_wc over the space-separated token
    ``lines``, X_wc the co-occurrences within ``window`` weighted (window − d + 1) /
    window by distance d and by ``kept[c]`` (V,), unknown tokens dropped first; rows
    of words with no context are 0."""
    ids: list[int] = []
    gap = [-1] * window  # documents apart by more than the window
    for line in lines:
        ids.extend(index.get(token, -2) for token in line.split())
        ids.extend(gap)
    sequence = np.asarray(ids, dtype=np.int64)
    sequence = sequence[sequence != -2]  # gensim drops unknown tokens before the window
    size, dim = len(kept), vectors.shape[1]
    weighted = vectors.astype(np.float64) * kept[:, None]
    sums, totals = np.zeros((size, dim)), np.zeros(size)
    for distance in range(1, window + 1):
        weight = (window - distance + 1) / window
        left, right = sequence[:-distance], sequence[distance:]
        both = (left >= 0) & (right >= 0)
        left, right = left[both], right[both]
        for word, context in ((left, right), (right, left)):
            pairs = sp.csr_matrix(
                (weight * np.ones(len(word)), (word, context)), shape=(size, size)
            )
            sums += pairs @ weighted
            totals += pairs @ kept
    return sums / np.maximum(totals, 1e-300)[:, None]


def alacarte_map(vectors: np.ndarray, means: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A (d, d) float32 minimising Σ_w log(n_w) ‖v_w − A u_w‖² over the words with
    n_w ≥ :data:`MIN_COUNT` occurrences (at least the 4·d most frequent words);
    ``vectors`` and ``means`` (V, d), ``counts`` (V,)."""
    dim = vectors.shape[1]
    floor = min(MIN_COUNT, np.sort(counts)[::-1][min(4 * dim, len(counts)) - 1])
    chosen = (counts >= floor) & (np.abs(means).sum(axis=1) > 0)
    weight = np.log(np.maximum(counts[chosen], 2.0))
    u, v = means[chosen], vectors[chosen].astype(np.float64)
    gram = (u.T * weight) @ u
    cross = (u.T * weight) @ v  # Σ α u vᵀ
    ridge = 1e-9 * np.trace(gram) / dim * np.eye(dim)
    return np.linalg.solve(gram + ridge, cross).T.astype(np.float32)  # v ≈ A u
