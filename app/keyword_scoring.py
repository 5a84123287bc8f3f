"""A text's keyword scores with what they are made of, for its explanations.

A family scores every candidate word of a text at once
(:meth:`~wordlens.app.families.Family.keyword_scoring`). What it returns keeps the
products the scores were made of and the candidates' vectors, so that the per-token
terms of the few keywords picked (``explain``) are read from those products rather
than computed a second time, and the cosines of ``diversity`` start from the vectors
already gathered.
"""

from __future__ import annotations

import numpy as np

from wordlens.app.output_layer import TextPaths

__all__ = ["InnerProducts", "KeywordScoring", "PathSums"]


class KeywordScoring:
    """The keyword scores of a text's candidates: ``scores`` float64 (C,), each a sum
    over the text's tokens, repeats included; ``vectors`` (C, d), the candidates'
    word vectors (float32 or float64), in the same order."""

    scores: np.ndarray
    vectors: np.ndarray

    def terms(self, positions: np.ndarray) -> np.ndarray:
        """What each distinct token of the text (its repeats together) adds to the
        score of the candidates at ``positions``, float64 (len(positions), tokens):
        each row adds up to its score (within float error)."""
        raise NotImplementedError


class InnerProducts(KeywordScoring):
    """Scores that are inner products, v_w · Σ_u weight_u·c_u: ``vectors`` (C, d) the
    candidates', ``token_rows`` (T, d) the c_u of the distinct tokens (PMI: their word
    vectors; negative sampling: their context rows), both float64, ``weights`` (T,)
    their repeats; ``lengths`` (C,), when given, divides each score (a cosine; 0 for
    a zero length). The scores cost T + C products; the terms of k candidates k·T
    products of rows gathered already."""

    def __init__(
        self,
        vectors: np.ndarray,
        token_rows: np.ndarray,
        weights: np.ndarray,
        lengths: np.ndarray | None = None,
    ):
        self.vectors, self.token_rows, self.weights = vectors, token_rows, weights
        self.lengths = lengths
        self.scores = self._divided(vectors @ (weights @ token_rows), lengths)

    def terms(self, positions: np.ndarray) -> np.ndarray:
        terms = (self.vectors[positions] @ self.token_rows.T) * self.weights
        lengths = None if self.lengths is None else self.lengths[positions][:, None]
        return self._divided(terms, lengths)

    @staticmethod
    def _divided(values: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
        if lengths is None:
            return values
        return np.divide(values, lengths, out=np.zeros_like(values), where=lengths > 0)


class PathSums(KeywordScoring):
    """Hierarchical softmax: Σ_u weight_u · log p(u | w) through the Huffman paths
    ``paths`` of the distinct tokens, for the candidates' ``vectors`` (C, d). The
    terms of the keywords come from the products of the scores (when the scores took
    one block of candidates, as for any short text) or, else, from their own."""

    def __init__(self, paths: TextPaths, vectors: np.ndarray):
        self.paths, self.vectors = paths, vectors
        self.scores = paths.sums(vectors)

    def terms(self, positions: np.ndarray) -> np.ndarray:
        return self.paths.terms(self.vectors, positions)
