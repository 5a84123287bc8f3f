"""The closed form's eigensolver against the exact one, in one run, on the default
corpus: block Lanczos (``eigen_vectors``' default, relative residual 1e-3) and ARPACK
(``eigsh`` to machine precision) on the same shifted PPMI matrix (window 8, 1/distance,
shift 5, words seen 5+ times). Prints seconds, passes over the matrix, and the overlap
of the top-10 cosine neighbours of the 10,000 most frequent words.

    .venv/bin/python bench/bench_solver.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from common import table

from wordlens.corpus import DEFAULT_ENGLISH, get_tokenizer
from wordlens.training.counts import load_counts
from wordlens.training.distributed import count_corpus
from wordlens.training.pmi import kept_words
from wordlens.training.pmi_eig import eigen_vectors, positive_pmi

PROBES = 10_000


def top_neighbours(vectors: np.ndarray, probes: int = PROBES, k: int = 10) -> np.ndarray:
    """Rows of the k nearest (cosine) neighbours of the first ``probes`` words."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    scores = unit[:probes] @ unit.T
    scores[np.arange(probes), np.arange(probes)] = -np.inf
    return np.argpartition(-scores, k, axis=1)[:, :k]


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = count_corpus(
            DEFAULT_ENGLISH, tokenizer=get_tokenizer("english"), out=Path(scratch) / "counts"
        )
        counts = load_counts(path)
        kept = kept_words(counts.counts, 5, None)
        matrix = positive_pmi(
            lambda: counts.row_blocks(1 << 22, stop=kept),
            np.asarray(counts.counts[:kept]),
            kept,
            counts.scale,
            5.0,
            1.0,
            2**32,
        )
    rows, neighbours = [], {}
    for method in ("arpack", "lanczos"):
        started = time.perf_counter()
        vectors, _, figures = eigen_vectors(matrix, 128, 1, method=method)
        seconds = time.perf_counter() - started
        neighbours[method] = top_neighbours(vectors)
        rows.append(
            {
                "solver": method,
                "seconds": seconds,
                "passes": figures.get("products"),
                "vector products": figures.get("vector_products"),
            }
        )
    exact, fast = neighbours["arpack"], neighbours["lanczos"]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, fast, strict=True)])
    for row in rows:
        row["overlap@10"] = 1.0 if row["solver"] == "arpack" else float(overlap)
        row["time / arpack"] = row["seconds"] / rows[0]["seconds"]
    print(f"default corpus: {kept:,} words, {matrix.nnz:,} PPMI cells")
    print(table(rows))


if __name__ == "__main__":
    main()
