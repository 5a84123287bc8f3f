"""Model families: what a model answers beyond cosine similarity, and how.

A :class:`~wordlens.app.engine.WordModel` holds the word vectors and answers the
cosine queries, as gensim's ``KeyedVectors`` does for any vectors. Everything that
depends on how the vectors were trained lives in the model's family, chosen once
from its manifest by :func:`family_of`:

===================  ====================  ==========================  ========================
family               manifest              context score of b given a  keyword score of w for s
===================  ====================  ==========================  ========================
``pmi``              kind ``pmi``          ⟨v_a, v_b⟩ ≈ PMI(a, b)      ⟨Σ_{u∈s} v_u, v_w⟩
``hs``               output layer ``hs``   log p(b|a) − λ log p(b)     Σ_{u∈s} log p(u|w)
``ns``               output layer ``ns``   v_a·c_b + (β − λ) log n(b)  v_w · Σ_{u∈s} c_u
``vectors``          anything else         —                           —
===================  ====================  ==========================  ========================

(Su Jianlin's definitions: "更别致的词向量模型" for PMI vectors, "不可思议的Word2Vec"
for Word2Vec's output layer.) λ, the *prior weight*, is how much of log p(b) is taken
off: 1 gives the PMI estimate, below 1 favours frequent words. For negative sampling,
c_b are the ``syn1neg`` rows and β the noise exponent; v_a·c_b estimates
PMI(a, b) − log k up to the noise distribution's bias, so that score is an
approximation (its ``method`` says ``ns``). Word2Vec families need the word counts
for log p(b); imported vectors have neither counts nor output layer.

The Word2Vec score above, s(a → b), is Su's form (:class:`ContextScore` ``su``). The
default form, ``symmetric``, averages both directions, ½[s(a → b) + s(b → a)], with
λ = 0.4: on the labelled related-but-not-similar pairs of ``bench/data`` it finds 98
partners in the top 20 where Su's form at λ = 0.9 finds 55 and cosine 72 (README,
``bench/bench_related.py``). One direction alone is dominated by b's own terms (its
Huffman path, or its context row): the reverse direction scores every b against the
same path or row of a, so averaging cancels much of that per-word noise. PMI's inner
product is symmetric already: both forms are the same score there, and λ is unused.

A family names the queries it answers beyond ``similarity`` (``queries``); asking it
for another raises :class:`~wordlens.app.errors.UnsupportedQueryError`, which the
server turns into a 409. A new family is one subclass of :class:`Family` added to
:data:`FAMILIES`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal, get_args

import numpy as np

from wordlens.app.blocks import products, row_blocks
from wordlens.app.errors import InvalidQueryError, UnsupportedQueryError
from wordlens.app.infer import Evidence, Fit, Window, fit_logistic, pmi_targets
from wordlens.app.keyword_scoring import InnerProducts, KeywordScoring, PathSums
from wordlens.app.output_layer import LOG_PROB_ALL_BYTES, HuffmanTree
from wordlens.artifacts import Model
from wordlens.processes import MMAP_THRESHOLD

__all__ = [
    "CORRELATION_CACHE",
    "DEFAULT_SCORE",
    "PRIOR_WEIGHTS",
    "FAMILIES",
    "TREE_BEAM",
    "TREE_FROM",
    "QUERIES",
    "SCORE_FORMS",
    "ScoreForm",
    "ContextScore",
    "CorrelationBasis",
    "Family",
    "HierarchicalSoftmax",
    "NegativeSampling",
    "PMIInnerProduct",
    "UnitRows",
    "VectorsOnly",
    "dot_error",
    "family_of",
]

#: The forms of the context score (:class:`ContextScore`).
ScoreForm = Literal["symmetric", "su"]
SCORE_FORMS: tuple[str, ...] = get_args(ScoreForm)
#: The form unless a query says otherwise.
DEFAULT_SCORE: ScoreForm = "symmetric"
#: λ of each form unless a query says otherwise: for ``su``, Su's choice (0.9,
#: slightly favouring frequent words); for ``symmetric``, the best on the tuning half of
#: ``bench/data/related_pairs.tsv`` (README).
PRIOR_WEIGHTS: dict[str, float] = {"symmetric": 0.4, "su": 0.9}


@dataclass(frozen=True)
class ContextScore:
    """Which context score of b given a: its ``form`` (``symmetric`` or ``su``, see the
    module docstring) and its prior weight λ (``prior_weight``)."""

    form: ScoreForm = DEFAULT_SCORE
    prior_weight: float = PRIOR_WEIGHTS[DEFAULT_SCORE]

    @classmethod
    def of(cls, form: str = DEFAULT_SCORE, prior_weight: float | None = None) -> ContextScore:
        """The score ``form`` with ``prior_weight``, or the form's own default λ when
        None; InvalidQueryError for an unknown form."""
        if form not in SCORE_FORMS:
            raise InvalidQueryError(
                f"unknown context score {form!r}: choose one of {', '.join(SCORE_FORMS)}"
            )
        weight = PRIOR_WEIGHTS[form] if prior_weight is None else float(prior_weight)
        return cls(form, weight)  # type: ignore[arg-type]

    @property
    def symmetric(self) -> bool:
        return self.form == "symmetric"


#: Huffman-tree nodes kept per depth by a hierarchical-softmax related-words search,
#: per unit of effort (those of highest log-probability): the default effort (64, so
#: 1,024 nodes) found the whole exact top 10 of 100 random words on a trained
#: 1.27 M-word model, 512 nodes 0.988 of it (README).
TREE_BEAM = 16

#: Candidates per unit of effort that a hierarchical-softmax search for the symmetric
#: score takes from the tree walk (the best by s(a→b)), to score both ways: at the
#: default effort (2,048) they held 0.96 of the exact symmetric top 10 of 100 random
#: words on a trained 1.27 M-word model, 1,024 0.93, 4,096 0.98; the same words'
#: 500 nearest by cosine (exact scan), or by a direction linearising log p(a|b),
#: held under 0.09 of it and added at most 0.005 to the tree's (README).
SYMMETRIC_POOL = 32

#: Vocabulary from which hierarchical-softmax related words walk the tree: the walk
#: costs about as much as the exact scan at 91 k words (README), and grows with the
#: tree's depth where the scan grows with the vocabulary.
TREE_FROM = 100_000

#: How many correlation_n a PMI model keeps ready: each costs d² + V floats (180 KB
#: for the default model), and a new one one (V, d)·(d, d) product (about 15 ms).
CORRELATION_CACHE = 64

#: Query families beyond cosine similarity, and what a model needs to answer them.
QUERIES = {
    "context_similarity": "an output layer and word counts (a PMI or Word2Vec model "
    "trained with wordlens)",
    "keywords": "an output layer and word counts (a PMI or Word2Vec model trained with wordlens)",
    "correlation": "a PMI model, whose inner products estimate PMI",
    "infer": "an output layer and word counts (a PMI or Word2Vec model trained with wordlens)",
}


def dot_error(dim: int) -> float:
    """How far two float32 computations of an inner product of length ``dim`` (a BLAS
    product, and a pairwise sum) may differ, relative to the product of the two
    lengths: twice the worst-case rounding error dim·u/(1 − dim·u), u = 2⁻²⁴
    (Higham's γ_dim), plus u for each operand rounded to float32."""
    unit = 2.0**-24
    return 2 * dim * unit / (1 - dim * unit) + 2 * unit


#: Bytes of each float64 temporary of :meth:`UnitRows.exact` (a block of pairs): half
#: the server's mapping threshold, so that they come from the heap, not from fresh
#: pages faulted in for every block (2 MiB blocks took a 1,000-query batch at 1 M
#: from 96 to 145 ms in a server worker).
_EXACT_BYTES = MMAP_THRESHOLD // 2


class UnitRows:
    """The rows of ``vectors`` (V, d) scaled to unit length, to rank words by cosine
    similarity: ``rows`` gives some of them, ``scores``, ``block_scores`` and
    ``batch_scores`` the inner products of many with unit queries, fast, and ``exact``
    the same for chosen (query, row) pairs, each computed on its own (so that an answer
    never depends on the other queries of a batch). The unit rows are never stored: a
    score is v_i·q / ‖v_i‖ with ``norms`` (V,) the stored lengths, and 0 for a zero row
    (one division per row, next to d multiplications).
    """

    def __init__(self, vectors: np.ndarray, norms: np.ndarray):
        self.vectors = vectors
        self.norms = norms

    def rows(self, rows: list[int]) -> np.ndarray:
        """The unit rows ``rows``, (k, d) float32."""
        return _unit(np.array(self.vectors[rows], dtype=np.float32), self.norms[rows])

    def scores(self, query: np.ndarray, limit: int) -> np.ndarray:
        """Inner products of the first ``limit`` unit rows with ``query`` (d,), (limit,)
        float32."""
        return _unit(products(self.vectors, query, limit), self.norms[:limit])

    def block_scores(self, queries: np.ndarray, block: slice) -> np.ndarray:
        """Inner products of the unit rows ``block`` with ``queries`` (d, k): (rows, k)
        float32."""
        return _unit(products(self.vectors[block], queries), self.norms[block])

    def batch_scores(self, queries: np.ndarray, limit: int) -> np.ndarray:
        """Inner products of unit ``queries`` (q, d) float32 with the first ``limit``
        unit rows, (q, limit) float32: one matrix product, each within ``margin`` of
        ``exact``."""
        if self.vectors.dtype == np.float32:
            scores = queries @ self.vectors[:limit].T
        else:
            scores = np.ascontiguousarray(products(self.vectors, queries.T, limit).T)
        norms = self.norms[:limit]
        return np.divide(scores, norms, out=scores, where=norms > 0)

    @property
    def margin(self) -> float:
        # the product's error, and one rounding more for the division by the norm
        return dot_error(self.vectors.shape[1]) + 2.0**-24

    def exact(self, queries: np.ndarray, which: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """⟨queries[which[j]], unit row rows[j]⟩ for float64 queries (n, d): float64
        (len(rows),), each pair computed on its own in float64, a block of pairs at a
        time (temporaries of _EXACT_BYTES, which stay in cache: 2.5× faster than all
        pairs at once for a batch of 1,000 queries × 64 candidates)."""
        dots = np.empty(len(rows), dtype=np.float64)
        step = max(1, _EXACT_BYTES // (8 * queries.shape[1]))
        for start in range(0, len(rows), step):
            part = slice(start, start + step)
            block = np.take(self.vectors, rows[part], axis=0).astype(np.float64)
            dots[part] = np.einsum("nd,nd->n", block, queries[which[part]])
        norms = self.norms[rows].astype(np.float64)
        return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


class CorrelationBasis(UnitRows):
    """Su's correlation similarity over the n most frequent words of a PMI model: the
    unit rows of V·L, with L Lᵀ = Σ_{k≤n} (v_k − v̄)ᵀ(v_k − v̄), whose inner products
    are the Pearson correlations of the words' PMI profiles over those n words.

    Kept as L (d, d) and, once a query ranks the whole vocabulary, the lengths of the
    rows of V·L (V,), never as a (V, d) matrix: a query projects what it needs.
    """

    def __init__(self, vectors: np.ndarray, n: int):
        self.vectors = vectors
        head = np.asarray(vectors[:n], dtype=np.float64)
        centred = head - head.mean(axis=0)
        covariance = centred.T @ centred
        # A tiny ridge keeps Cholesky defined when the vectors span < d dims.
        ridge = 1e-9 * max(np.trace(covariance), 1e-12) / covariance.shape[0]
        factor = np.linalg.cholesky(covariance + ridge * np.eye(covariance.shape[0]))
        self.factor = factor.astype(np.float32)

    @cached_property
    def lengths(self) -> np.ndarray:
        """‖v_i L‖ of every word, (V,) float32: one (V, d)·(d, d) product."""
        return np.linalg.norm(products(self.vectors, self.factor), axis=1)

    def rows(self, rows: list[int]) -> np.ndarray:
        projected = self.vectors[rows] @ self.factor
        return _unit(projected, np.linalg.norm(projected, axis=1))

    def scores(self, query: np.ndarray, limit: int) -> np.ndarray:
        # ⟨v_i L / ‖v_i L‖, q⟩ = v_i · (L q) / ‖v_i L‖
        projected = products(self.vectors, self.factor @ query.astype(np.float32), limit)
        return _unit(projected, self.lengths[:limit])

    def block_scores(self, queries: np.ndarray, block: slice) -> np.ndarray:
        projected = products(self.vectors[block], self.factor @ queries.astype(np.float32))
        return _unit(projected, self.lengths[block])


def _unit(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``values`` (k, ...), a fresh array computed from k rows of lengths ``lengths``
    (k,), divided by them in place; where a length is 0 the row is zero, and so are
    its values, which stay (no temporary: this runs on every query)."""
    lengths = lengths.reshape(len(lengths), *([1] * (values.ndim - 1)))
    return np.divide(values, lengths, out=values, where=lengths > 0)


class Family:
    """The family-specific part of one loaded model (this base class: vectors only).

    Subclasses set ``name`` (the ``method`` reported with their scores),
    ``description``, ``queries`` and ``keyword_variants``, and implement the scores.
    Rows are vocabulary rows (most frequent word first); scores are float64.
    """

    name: ClassVar[str] = "vectors"
    #: Peak bytes of ``context_scores`` per (query, vocabulary word) cell.
    context_bytes: ClassVar[int] = 12
    description: ClassVar[str] = "vectors only: no output layer and no word counts"
    queries: ClassVar[tuple[str, ...]] = ()
    #: Whether the context score depends on the prior weight λ (not PMI's).
    prior_weighted: ClassVar[bool] = False
    #: ``keywords`` variants: "default" first, then others the family offers.
    keyword_variants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: Model):
        self.model_name = model.name
        self.vectors = np.asarray(model.vectors)
        self.params: dict = model.manifest.get("params", {})

    @classmethod
    def fits(cls, model: Model) -> bool:
        """Whether this family is the one that answers for ``model`` (its manifest)."""
        return True

    def answers(self, query: str) -> bool:
        return query in self.queries

    def require(self, query: str) -> None:
        """Raise UnsupportedQueryError unless this family answers ``query``."""
        if not self.answers(query):
            raise self._refusal(query)

    def _refusal(self, query: str) -> UnsupportedQueryError:
        return UnsupportedQueryError(
            f"model {self.model_name!r} ({self.description}) cannot answer {query}: "
            f"it needs {QUERIES[query]}",
            model=self.model_name,
        )

    def warm_up(self) -> None:
        """Do once, at start, what the first query would otherwise pay for."""

    def context_scores(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        """Context scores of each word of ``rows`` (q,) → every word of the
        vocabulary, (q, V), by fast matrix products: each within ``context_margin`` of
        the exact ``pair_scores``, which decide the final ranking. At most
        ``context_bytes`` bytes per (query, word) cell at the peak."""
        raise self._refusal("context_similarity")

    def context_margin(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        """A bound (q,) on |context_scores − pair_scores| for each word of ``rows``."""
        raise self._refusal("context_similarity")

    def pair_scores(
        self, rows_a: np.ndarray, rows_b: np.ndarray, score: ContextScore
    ) -> np.ndarray:
        """Context score of rows_a[i] → rows_b[i] for each pair, (n,)."""
        raise self._refusal("context_similarity")

    def related_rows(self) -> np.ndarray | None:
        """Rows (V, d') whose inner products with :meth:`related_query` rank words by
        context score, to build the ``related`` neighbour index from; None when the
        score is no inner product."""
        return None

    def context_method(self, score: ContextScore) -> str:
        """The ``method`` reported with context scores of ``score``: the family's name
        (one form only, as PMI's)."""
        self.require("context_similarity")
        return self.name

    def related_words(
        self, row: int, score: ContextScore, count: int, effort: int
    ) -> np.ndarray | None:
        """About the ``count`` best rows by context score for word ``row``, found
        without scoring every word (``effort`` bounds the work), for families whose
        score is no inner product; None: no such search (for this score)."""
        return None

    def related_query(self, row: int, score: ContextScore) -> np.ndarray:
        """The query (d',) of word ``row`` against :meth:`related_rows`."""
        raise self._refusal("context_similarity")

    def keyword_method(self, variant: str) -> str:
        """The name of the keyword score of ``variant`` (InvalidQueryError if the
        family has no such variant)."""
        self.require("keywords")
        if variant not in self.keyword_variants:
            raise InvalidQueryError(
                f"keyword variant {variant!r} is not available for model "
                f"{self.model_name!r} ({self.description}); it offers "
                f"{', '.join(self.keyword_variants)}"
            )
        return self.name if variant == "default" else f"{self.name}_{variant}"

    def keyword_scoring(
        self, tokens: np.ndarray, weights: np.ndarray, candidates: np.ndarray, variant: str
    ) -> KeywordScoring:
        """The scores of candidate rows as keywords of a text made of the distinct
        token rows ``tokens``, each occurring ``weights`` times, with what each token
        adds to them (:class:`~wordlens.app.keyword_scoring.KeywordScoring`)."""
        raise self._refusal("keywords")

    def keyword_products(self, tokens: np.ndarray, candidates: np.ndarray) -> int:
        """What ``keyword_scoring`` of these rows costs, in products of two vectors:
        one per token and one per candidate here (a sum, then a product each)."""
        return len(tokens) + len(candidates)

    def contribution_products(self, tokens: np.ndarray, keywords: np.ndarray) -> int:
        """What the terms of ``keywords`` (:meth:`KeywordScoring.terms`) cost, in
        products of two vectors, at most."""
        return len(tokens) * len(keywords)

    def keyword_per_token(self, variant: str) -> bool:
        """Whether the score of ``variant`` is a sum over the text's tokens (reported
        as its mean per token) rather than already of a fixed scale."""
        return True

    def correlation_basis(self, n: int) -> CorrelationBasis:
        """Su's correlation similarity over the ``n`` most frequent words."""
        raise self._refusal("correlation")

    def infer_window(self) -> Window:
        """The window training laid around each word (see :mod:`wordlens.app.infer`)."""
        raise self._refusal("infer")

    @property
    def infer_method(self) -> str:
        """How :meth:`infer` fits: reported as the answer's ``method``."""
        return self.name

    def infer(self, evidence: Evidence, iterations: int, exclude: int | None = None) -> Fit:
        """The vector that best explains ``evidence`` with everything the model learnt
        held fixed, in at most ``iterations`` optimiser steps; the row ``exclude`` (a
        word's own, for leave-one-out evaluation) takes no part in the fit."""
        raise self._refusal("infer")


class VectorsOnly(Family):
    """Imported vectors, or any model without counts and an output layer: cosine only."""


class PMIInnerProduct(Family):
    """PMI vectors: ⟨v_a, v_b⟩ estimates PMI(a, b), so the vectors are their own
    output layer."""

    name = "pmi"
    description = "PMI vectors: inner products estimate PMI"
    queries = ("context_similarity", "keywords", "correlation", "infer")
    keyword_variants = ("default", "cosine")

    def __init__(self, model: Model):
        super().__init__(model)
        self.norms = np.asarray(model.norms)
        self._counts = model.counts
        self._lock = threading.Lock()
        self._correlation: OrderedDict[int, CorrelationBasis] = OrderedDict()

    @classmethod
    def fits(cls, model: Model) -> bool:
        return model.kind == "pmi" and model.counts is not None

    def context_scores(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        return products(self.vectors, self.vectors[rows].T).T.astype(np.float64, order="C")

    def context_margin(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        return dot_error(self.vectors.shape[1]) * self.norms[rows] * self._largest_norm

    @cached_property
    def _largest_norm(self) -> float:
        return float(self.norms.max(initial=0.0))

    def related_rows(self) -> np.ndarray:
        return self.vectors

    def related_query(self, row: int, score: ContextScore) -> np.ndarray:
        return np.asarray(self.vectors[row], dtype=np.float32)

    def pair_scores(
        self, rows_a: np.ndarray, rows_b: np.ndarray, score: ContextScore
    ) -> np.ndarray:
        a, b = self.vectors[rows_a].astype(np.float64), self.vectors[rows_b].astype(np.float64)
        return np.einsum("ij,ij->i", a, b)

    def keyword_scoring(
        self, tokens: np.ndarray, weights: np.ndarray, candidates: np.ndarray, variant: str
    ) -> InnerProducts:
        # ⟨Σ v_u, v_w⟩ over every token u, repeats included
        token_rows = self.vectors[tokens].astype(np.float64)
        lengths = None
        if variant == "cosine":
            total = np.linalg.norm(weights @ token_rows)
            lengths = total * self.norms[candidates].astype(np.float64)
        return InnerProducts(
            self.vectors[candidates].astype(np.float64), token_rows, weights, lengths
        )

    def keyword_per_token(self, variant: str) -> bool:
        return variant != "cosine"  # a cosine is of fixed scale already

    def correlation_basis(self, n: int) -> CorrelationBasis:
        """The basis of ``n``, from the last CORRELATION_CACHE used or made now: a new
        one costs an (n, d)ᵀ(n, d) product, computed outside the lock so that other
        queries never wait for it (two threads asking for the same new n both make it)."""
        with self._lock:
            basis = self._correlation.get(n)
            if basis is not None:
                self._correlation.move_to_end(n)
                return basis
        basis = CorrelationBasis(self.vectors, n)
        with self._lock:
            self._correlation[n] = basis
            while len(self._correlation) > CORRELATION_CACHE:
                self._correlation.popitem(last=False)
        return basis

    def infer_window(self) -> Window:
        size = int(self.params.get("window", 8))
        distance = np.arange(1, size + 1, dtype=np.float64)
        weights = 1 / distance if self.params.get("weighting") == "distance" else np.ones(size)
        return Window(weights, keep_places=True)

    @cached_property
    def _gram(self) -> np.ndarray:
        """VᵀV (d, d) float64: one pass over the vectors, a block at a time."""
        dim = self.vectors.shape[1]
        gram = np.zeros((dim, dim))
        for block in row_blocks(len(self.vectors), dim):
            part = self.vectors[block].astype(np.float64)
            gram += part.T @ part
        return gram

    @cached_property
    def _priors(self) -> tuple[np.ndarray, np.ndarray]:
        """p(c), the unigram distribution (V,), and the context distribution p(c)^cds
        normalised, both float64."""
        counts = np.maximum(np.asarray(self._counts, dtype=np.float64), 1)
        smoothed = counts ** float(self.params.get("cds", 1.0))
        return counts / counts.sum(), smoothed / smoothed.sum()

    def infer(self, evidence: Evidence, iterations: int, exclude: int | None = None) -> Fit:
        """Least squares over the new row of the shifted positive PMI matrix: the
        targets y (:func:`~wordlens.app.infer.pmi_targets`, one occurrence's window
        weight as the prior's pseudo-count) for the context words, 0 for every other
        word, fitted by v = (VᵀV + ρI)⁻¹ Σ_c y_c v_c (ρ = 10⁻⁶ of the mean eigenvalue
        keeps it solvable). A closed form: no iterations."""
        prior, context_prior = self._priors
        pseudo = 2 * float(self.infer_window().weights.sum())
        shift = float(self.params.get("shift_k", 1.0))
        targets = pmi_targets(evidence, prior, context_prior, pseudo, shift)
        rows = self.vectors[evidence.rows].astype(np.float64)
        gram = self._gram
        if exclude is not None:
            own = self.vectors[exclude].astype(np.float64)
            gram = gram - np.outer(own, own)
        ridge = 1e-6 * np.trace(gram) / len(gram)
        vector = np.linalg.solve(gram + ridge * np.eye(len(gram)), rows.T @ targets)
        confidence = evidence.weights @ (rows @ vector) / evidence.weights.sum()
        return Fit(vector, float(confidence), 0)


class _Word2Vec(Family):
    """Shared by the Word2Vec families: log p(b) from the corpus counts."""

    queries = ("context_similarity", "keywords", "infer")
    keyword_variants = ("default",)
    prior_weighted = True
    layer: ClassVar[str]

    def __init__(self, model: Model):
        super().__init__(model)
        counts = np.asarray(model.counts, dtype=np.float64)
        self.log_counts = np.log(np.maximum(counts, 1))
        self.log_prior = self.log_counts - np.log(counts.sum())
        #: The à la carte map A (d, d) (wordlens.training.alacarte), None in models
        #: trained before it.
        self.alacarte: np.ndarray | None = model.arrays.get("alacarte")

    @classmethod
    def fits(cls, model: Model) -> bool:
        return cls.layer in model.manifest.get("output_layers", []) and model.counts is not None

    def context_method(self, score: ContextScore) -> str:
        # the default (symmetric) form under the family's name, as keyword variants
        return self.name if score.symmetric else f"{self.name}_{score.form}"

    def context_scores(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        scores = self._forward_scores(rows, score.prior_weight)
        if score.symmetric:
            for i, row in enumerate(rows):  # one (V, d) pass per query, vectorised
                scores[i] += self._backward_scores(int(row), score.prior_weight)
            scores *= 0.5
        return scores

    def context_margin(self, rows: np.ndarray, score: ContextScore) -> np.ndarray:
        forward = self._forward_margin(rows)
        if not score.symmetric:
            return forward
        return 0.5 * (forward + self._backward_margin(rows))

    def pair_scores(
        self, rows_a: np.ndarray, rows_b: np.ndarray, score: ContextScore
    ) -> np.ndarray:
        forward = self._forward_pairs(rows_a, rows_b, score.prior_weight)
        if not score.symmetric:
            return forward
        return 0.5 * (forward + self._forward_pairs(rows_b, rows_a, score.prior_weight))

    @cached_property
    def _largest_vector(self) -> float:
        # a block at a time: no float32 copy of the whole matrix in each worker
        return max(
            (
                float(np.linalg.norm(self.vectors[block].astype(np.float32), axis=1).max())
                for block in row_blocks(len(self.vectors), self.vectors.shape[1])
            ),
            default=0.0,
        )

    def _forward_scores(self, rows: np.ndarray, prior_weight: float) -> np.ndarray:
        """Su's score of each word of ``rows`` (q,) → every word, float64 (q, V)."""
        raise NotImplementedError

    def _backward_scores(self, row: int, prior_weight: float) -> np.ndarray:
        """Su's score of every word → word ``row``, float64 (V,)."""
        raise NotImplementedError

    def _forward_margin(self, rows: np.ndarray) -> np.ndarray:
        """A bound (q,) on the error of :meth:`_forward_scores` for ``rows``."""
        raise NotImplementedError

    def _backward_margin(self, rows: np.ndarray) -> np.ndarray:
        """A bound (q,) on the error of :meth:`_backward_scores` for each of ``rows``."""
        raise NotImplementedError

    def _forward_pairs(
        self, rows_a: np.ndarray, rows_b: np.ndarray, prior_weight: float
    ) -> np.ndarray:
        """Su's score of rows_a[i] → rows_b[i], computed exactly in float64, (n,)."""
        raise NotImplementedError

    def infer_window(self) -> Window:
        # gensim draws each word's window uniformly from 1 … window: a word at
        # distance d is seen with probability (window − d + 1) / window.
        size = int(self.params.get("window", 5))
        return Window((size - np.arange(size, dtype=np.float64)) / size, keep_places=False)

    @cached_property
    def prior_precision(self) -> np.ndarray:
        """The precision (d,) of the Gaussian prior of an inferred vector: zero mean
        (the mean of the model's vectors is a direction every word shares; pulling
        towards it made inferred vectors hubs: 0.40 top-10 hits against 0.65 on 57
        words, bench/bench_infer.py) and, per dimension, 1 / the mean square of the
        model's vectors."""
        square = np.zeros(self.vectors.shape[1])
        for block in row_blocks(len(self.vectors), self.vectors.shape[1]):
            part = self.vectors[block].astype(np.float64)
            square += (part * part).sum(axis=0)
        return len(self.vectors) / np.maximum(square, 1e-12)

    @cached_property
    def kept(self) -> np.ndarray:
        """How often training kept each word (V,): gensim's downsampling of frequent
        words, (sqrt(n / t) + 1)·t / n capped at 1 with t = sample × total count; the
        evidence is weighted alike, so that "the" and "of" count as training saw them."""
        counts = np.exp(self.log_counts)
        sample = float(self.params.get("sample", 0) or 0)
        if sample <= 0:
            return np.ones_like(counts)
        threshold = sample * counts.sum()
        return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0)

    @property
    def infer_method(self) -> str:
        return self.name if self.alacarte is None else f"{self.name}_alacarte"

    def _fit(
        self,
        evidence: Evidence,
        weights: np.ndarray,
        rows: np.ndarray,
        half: np.ndarray,
        linear: np.ndarray,
        iterations: int,
    ) -> tuple[np.ndarray, int, np.ndarray]:
        """The MAP vector under a Gaussian prior, its steps, and the zero-mean fit
        that confidence is measured on. With an à la carte map A, the prior is centred
        on A·u (u the ``weights``-weighted mean of the context words' vectors, Khodak
        et al. 2018) at 0.3 of :attr:`prior_precision` (top-10 hits from 20 sentences,
        200 words of seed 5: 0.3 gave 76.5 %, 1 74.5 %, 3 74 %, A·u alone 68.5 %, the
        zero-mean prior 54.5 %); without, zero-mean at the full precision. The
        centred fit's own confidence runs against accuracy (a vector held near A·u
        by few contexts explains them "well"; bench/bench_infer.py), the zero-mean
        fit's tracks it: that one is returned as the reference."""
        precision = self.prior_precision
        plain, steps = fit_logistic(
            rows, half, linear, np.zeros_like(precision), precision, iterations
        )
        if self.alacarte is None:
            return plain, steps, plain
        context = weights @ self.vectors[evidence.rows].astype(np.float64) / weights.sum()
        mean = self.alacarte.astype(np.float64) @ context
        vector, more = fit_logistic(rows, half, linear, mean, 0.3 * precision, iterations)
        return vector, steps + more, plain


class HierarchicalSoftmax(_Word2Vec):
    """Word2Vec skip-gram with hierarchical softmax: p(b | a) through b's Huffman path."""

    name = "hs"
    description = "Word2Vec with hierarchical softmax"
    layer = "hs"

    def __init__(self, model: Model):
        super().__init__(model)
        self.tree = HuffmanTree(model.arrays)

    context_bytes = LOG_PROB_ALL_BYTES  # the prior is taken off once its temporaries are gone

    @cached_property
    def _lowest_log_prior(self) -> np.ndarray:
        """The smallest log p(b) of the words below each inner node, float64 (n,)."""
        return -self.tree.subtree_max(-self.log_prior)

    @cached_property
    def _highest_log_prior(self) -> np.ndarray:
        """The largest log p(b) below each inner node (the bound when λ < 0)."""
        return self.tree.subtree_max(self.log_prior)

    def warm_up(self) -> None:
        if len(self.vectors) >= TREE_FROM:
            self._lowest_log_prior  # noqa: B018 (the bound of Su's form, computed at start)
            # the symmetric score's margin reads every vector: at start, not in the
            # first query (0.17 s at 1.27 M words; 1.6 s and a 650 MB copy before
            # it went a block at a time)
            self._largest_vector  # noqa: B018

    def related_words(
        self, row: int, score: ContextScore, count: int, effort: int
    ) -> np.ndarray | None:
        """From TREE_FROM words, a pruned walk down the Huffman tree
        (:meth:`HuffmanTree.best_scored`) keeping the TREE_BEAM × ``effort`` nodes of
        highest log-probability per depth: log p(b|a) only falls along a path, so a
        node's reach plus the largest −λ log p(b) below it bounds every word there.

        The symmetric score's log p(a|b) has no such bound along b's path: the walk
        finds the SYMMETRIC_POOL × ``effort`` best words by s(a→b), their s(b→a) is
        added (one (k, d)·(d, L) product with a's path), and the candidates are those
        whose estimate is within twice the scan's error margin of the ``count``-th
        best, as the scan keeps them (:meth:`context_margin`)."""
        if len(self.vectors) < TREE_FROM:
            return None
        prior_weight = score.prior_weight
        # The score is log p(b|a) + (−λ)·log p(b): the largest weighted log p(b) below a
        # node is at its lowest log p(b) when λ ≥ 0, at its highest when λ < 0.
        bound = self._lowest_log_prior if prior_weight >= 0 else self._highest_log_prior
        beam = TREE_BEAM * effort
        pool = max(count, SYMMETRIC_POOL * effort) if score.symmetric else count
        rows, forward = self.tree.best_scored(
            self.vectors[row], pool, self.log_prior, bound, beam, -prior_weight
        )
        if not score.symmetric:
            return rows
        # s(b→a) as _backward_scores computes it, for the candidates only
        backward = self.tree.log_prob_from(self.vectors[rows], row)
        estimate = 0.5 * (forward + backward - prior_weight * self.log_prior[row])
        if len(estimate) <= count:
            return rows
        kth = np.partition(estimate, len(estimate) - count)[len(estimate) - count]
        margin = self.context_margin(np.array([row]), score)[0]
        return rows[estimate >= kth - 2 * margin]

    def _forward_scores(self, rows: np.ndarray, prior_weight: float) -> np.ndarray:
        log_prob = self.tree.log_prob_all(self.vectors[rows])  # (q, V), a transposed view
        return np.subtract(log_prob, prior_weight * self.log_prior, order="C")

    def _backward_scores(self, row: int, prior_weight: float) -> np.ndarray:
        log_prob = self.tree.log_prob_from(self.vectors, row)
        return log_prob - prior_weight * self.log_prior[row]

    def _forward_margin(self, rows: np.ndarray) -> np.ndarray:
        # log σ is 1-Lipschitz: a path of L nodes adds up L products' errors
        return self._path_error * np.linalg.norm(self.vectors[rows].astype(np.float32), axis=1)

    def _backward_margin(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self._path_error * self._largest_vector)

    @cached_property
    def _path_error(self) -> float:
        return dot_error(self.vectors.shape[1]) * self.tree.depth * self.tree.largest_node

    def _forward_pairs(
        self, rows_a: np.ndarray, rows_b: np.ndarray, prior_weight: float
    ) -> np.ndarray:
        log_prob = self.tree.log_prob(self.vectors[rows_a], rows_b)
        return log_prob - prior_weight * self.log_prior[rows_b]

    def keyword_scoring(
        self, tokens: np.ndarray, weights: np.ndarray, candidates: np.ndarray, variant: str
    ) -> PathSums:
        return PathSums(self.tree.text_paths(tokens, weights), self.vectors[candidates])

    def keyword_products(self, tokens: np.ndarray, candidates: np.ndarray) -> int:
        # every candidate against every inner node on the tokens' paths
        return len(candidates) * self.tree.path_nodes(tokens)

    def contribution_products(self, tokens: np.ndarray, keywords: np.ndarray) -> int:
        # each pair walks the token's path: at most the tree's depth products
        return len(tokens) * len(keywords) * self.tree.depth

    def infer(self, evidence: Evidence, iterations: int, exclude: int | None = None) -> Fit:
        """MAP of Σ_c a_c log p(c | w) over the context words' Huffman paths, the tree
        (``syn1``) fixed, a_c the window weights times :attr:`kept`. Confidence:
        Σ_c a_c (log p(c | w) − log p(c)) / Σ_c a_c, the PMI the zero-mean fit
        gives its contexts (see :meth:`_fit`) (the word's own row is on no path: the
        inner nodes belong to no word)."""
        weights = evidence.weights * self.kept[evidence.rows]
        rows, half, linear = self.tree.path_weights(evidence.rows, weights)
        vector, steps, reference = self._fit(evidence, weights, rows, half, linear, iterations)
        likelihood = self.tree.log_prob_sum(reference[None], evidence.rows, weights)[0]
        prior = weights @ self.log_prior[evidence.rows]
        return Fit(vector, float((likelihood - prior) / weights.sum()), steps)


class NegativeSampling(_Word2Vec):
    """Word2Vec skip-gram with negative sampling only: the ``syn1neg`` context rows."""

    name = "ns"
    description = "Word2Vec with negative sampling"
    layer = "ns"

    def __init__(self, model: Model):
        super().__init__(model)
        self.contexts = np.asarray(model.arrays["syn1neg"])
        self.noise_exponent = float(model.manifest.get("params", {}).get("ns_exponent", 0.75))

    def _forward_scores(self, rows: np.ndarray, prior_weight: float) -> np.ndarray:
        scores = (self.vectors[rows] @ self.contexts.T).astype(np.float64)
        scores += (self.noise_exponent - prior_weight) * self.log_counts
        return scores

    def _backward_scores(self, row: int, prior_weight: float) -> np.ndarray:
        scores = products(self.vectors, self.contexts[row]).astype(np.float64)
        return scores + (self.noise_exponent - prior_weight) * self.log_counts[row]

    def _forward_margin(self, rows: np.ndarray) -> np.ndarray:
        error = dot_error(self.vectors.shape[1]) * self._largest_context
        return error * np.linalg.norm(self.vectors[rows], axis=1)

    def _backward_margin(self, rows: np.ndarray) -> np.ndarray:
        error = dot_error(self.vectors.shape[1]) * self._largest_vector
        return error * np.linalg.norm(self.contexts[rows], axis=1)

    @cached_property
    def _largest_context(self) -> float:
        return float(np.linalg.norm(self.contexts, axis=1).max(initial=0.0))

    def _forward_pairs(
        self, rows_a: np.ndarray, rows_b: np.ndarray, prior_weight: float
    ) -> np.ndarray:
        a = self.vectors[rows_a].astype(np.float64)
        b = self.contexts[rows_b].astype(np.float64)
        bias = (self.noise_exponent - prior_weight) * self.log_counts[rows_b]
        return np.einsum("ij,ij->i", a, b) + bias

    def keyword_scoring(
        self, tokens: np.ndarray, weights: np.ndarray, candidates: np.ndarray, variant: str
    ) -> InnerProducts:
        # v_w · Σ c_u over every token u, repeats included
        return InnerProducts(
            self.vectors[candidates].astype(np.float64),
            self.contexts[tokens].astype(np.float64),
            weights,
        )

    def infer(self, evidence: Evidence, iterations: int, exclude: int | None = None) -> Fit:
        """MAP of Σ_c a_c [log σ(w·c_c) + k E_{n∼noise} log σ(−w·c_n)], ``syn1neg``
        fixed: the expected negatives over the whole noise distribution
        n(c)^β / Σ n^β (no sampling, so the same answer every time; the word's own
        row ``exclude`` is no noise word). Confidence: the mean w·c_c + log k of the
        zero-mean fit (see :meth:`_fit`), Levy and Goldberg's estimate of PMI(w, c)."""
        negatives = float(self.params.get("negative", 5))
        noise = np.exp(self.noise_exponent * self.log_counts)
        if exclude is not None:
            noise[exclude] = 0
        weights = evidence.weights * self.kept[evidence.rows]
        turned = negatives * weights.sum() * noise / noise.sum()
        through = turned.copy()
        through[evidence.rows] += weights
        half = through / 2
        vector, steps, reference = self._fit(
            evidence, weights, self.contexts, half, half - turned, iterations
        )
        dots = self.contexts[evidence.rows].astype(np.float64) @ reference
        confidence = weights @ dots / weights.sum() + np.log(negatives)
        return Fit(vector, float(confidence), steps)


#: Every family, in the order they are tried; the first that fits a model answers for it.
FAMILIES: tuple[type[Family], ...] = (
    PMIInnerProduct,
    HierarchicalSoftmax,
    NegativeSampling,
    VectorsOnly,
)


def family_of(model: Model) -> Family:
    """The family that answers for ``model``: the first of :data:`FAMILIES` that fits."""
    return next(family for family in FAMILIES if family.fits(model))(model)
