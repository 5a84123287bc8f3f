"""The query engine: everything the server answers, as a plain Python library.

:class:`Engine` loads every model of a models directory by name; each model is
wrapped in a :class:`WordModel` whose methods answer the queries::

    engine = Engine("models")
    pmi = engine.get("pmi")
    pmi.most_similar(positive=["king", "woman"], negative=["man"], topn=5)
    pmi.related("coffee", topn=10)          # context similarity
    pmi.keywords("The cat chased the mouse across the kitchen floor.")

Similar words (cosine) follow gensim's ``KeyedVectors`` names and arguments and work
for any vectors. Related words, context similarity and keywords depend on how the
vectors were trained: the model's ``family`` (:mod:`wordlens.app.families`) answers
them, or refuses with :class:`~wordlens.app.errors.UnsupportedQueryError`.

Query words are normalised by the model's own tokenizer (an English model folds
case), and every word a query needs must be known: otherwise
:class:`~wordlens.app.errors.UnknownWordError` lists all the missing ones. Words whose
vector is zero have cosine 0 with everything and never appear in neighbour lists.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from wordlens.app.blocks import row_blocks
from wordlens.app.errors import (
    InvalidQueryError,
    LimitExceededError,
    ModelUnavailableError,
    UnknownModelError,
    UnknownWordError,
)
from wordlens.app.families import (
    DEFAULT_PRIOR_WEIGHT,
    CorrelationBasis,
    Family,
    UnitRows,
    family_of,
)
from wordlens.app.keywords import KeywordExtractor, KeywordOptions, KeywordResult, WorkBudget
from wordlens.artifacts import Model, ModelFormatError, find_models, load_model
from wordlens.corpus.tokenizers import TextTooLargeError, Tokenizer, from_spec
from wordlens.neighbours import DEFAULT_EFFORT, NeighbourIndex, open_indexes

__all__ = ["EXACT_BELOW", "Engine", "Limits", "Neighbours", "WordModel"]

log = logging.getLogger(__name__)

_COSMUL_EPSILON = 1e-6  # as gensim's most_similar_cosmul

#: Searches over fewer rows than this (a small ``restrict_vocab``) scan them all even
#: when the model has an index: such a scan takes about 1 ms on one thread
#: (bench/bench_ann.py), and a graph walk restricted to few rows finds them badly.
EXACT_BELOW = 20_000


class Neighbours(list[tuple[str, float]]):
    """(word, score) pairs, best first, that say how they were found: ``search`` is
    ``"exact"`` (every row scored), ``"index"`` (candidates from the model's
    neighbour index) or ``"tree"`` (candidates from a pruned walk of a Word2Vec
    model's Huffman tree), candidates scored exactly as the scan would score them.
    Equal to a plain list of the same pairs."""

    def __init__(
        self, pairs: Iterable[tuple[str, float]], search: Literal["exact", "index", "tree"]
    ):
        super().__init__(pairs)
        self.search = search


@dataclass(frozen=True)
class Limits:
    """Bounds on one query; beyond them a query fails with LimitExceededError.

    ``max_text_chars`` bounds a text both as given and once Unicode-normalised, and
    the characters of a word or token list in all; ``max_words`` the words of a list
    (extra stop-words included); ``max_tokens`` the tokens of a text, counted while
    tokenising; ``max_keyword_products`` the work of one text's keyword scores, in
    products of two vectors (hierarchical softmax: candidate words × tree nodes on
    the text's paths; the other families one per token and candidate);
    ``max_effort`` the search effort (the index's candidate list) of one query.
    """

    max_topn: int = 1000
    max_words: int = 1000
    max_tokens: int = 100_000
    max_text_chars: int = 1_000_000
    max_correlation_n: int = 50_000
    max_keyword_products: int = 50_000_000
    max_effort: int = 4096


def _top(scores: np.ndarray, topn: int, excluded: np.ndarray) -> np.ndarray:
    """Indices of the ``topn`` largest scores, best first (ties: lower index), leaving
    out the rows ``excluded``. ``scores`` is a fresh array: it is modified in place."""
    scores[excluded] = -np.inf
    size = len(scores)
    count = min(topn + len(excluded), size)
    candidates = np.argpartition(scores, size - count)[size - count :]
    candidates = candidates[np.isfinite(scores[candidates])]
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:topn]


class WordModel:
    """Queries on one loaded model (see the module docstring)."""

    def __init__(self, model: Model, limits: Limits = Limits()):
        self.model = model
        self.limits = limits
        self.name = model.name
        self.kind = model.kind
        self.manifest = model.manifest
        self.words = model.words
        # Plain ndarray views of the memory maps: same pages, no np.memmap overhead
        # on every slice.
        self.arrays = {name: np.asarray(array) for name, array in model.arrays.items()}
        self.vectors = self.arrays["vectors"]
        self.vectors_norm = self.arrays["vectors_norm"]
        self.norms = self.arrays["norms"]
        self.counts = None if model.counts is None else np.asarray(model.counts)
        self.tokenizer: Tokenizer = from_spec(
            model.manifest.get("tokenizer") or {"name": "whitespace"}
        )
        self.output_layers: list[str] = list(model.manifest.get("output_layers", []))
        self._zero_rows = np.flatnonzero(self.norms == 0)
        self.index = model.index  # built now rather than on the first query
        # Approximate neighbour indexes by space ("cosine", "related"), memory-mapped.
        self.neighbour_indexes: dict[str, NeighbourIndex] = open_indexes(model)
        self.family: Family = family_of(model)
        self._keywords = KeywordExtractor(
            self.words, self.counts, self.index, self.tokenizer, self.family
        )

    def __len__(self) -> int:
        return len(self.words)

    def warm_up(self) -> None:
        """Do at start what the first query would otherwise pay for (the family's
        compiled kernels)."""
        self.family.warm_up()

    # ----------------------------------------------------------------- words

    def normalize(self, word: str) -> str:
        """The form a query word takes in this model's vocabulary."""
        return self.tokenizer.normalize(word)

    def __contains__(self, word: str) -> bool:
        return self.normalize(word) in self.index

    def _check_size(self, strings: Sequence[str], most: int, what: str) -> None:
        """LimitExceededError unless there are at most ``most`` ``strings`` (``what``
        names them) of at most ``max_text_chars`` characters in all."""
        if len(strings) > most:
            raise LimitExceededError(
                f"{len(strings):,} {what} in one query; the limit is {most:,}", limit=most
            )
        characters, limit = sum(map(len, strings)), self.limits.max_text_chars
        if characters > limit:
            raise LimitExceededError(
                f"{what} of {characters:,} characters in all; the limit is {limit:,}",
                limit=limit,
            )

    def ids(self, words: Iterable[str]) -> list[int]:
        """Rows of ``words``; raises UnknownWordError listing every unknown one."""
        words = list(words)
        self._check_size(words, self.limits.max_words, "words")
        index = self.index
        normalized = self.tokenizer.normalize_all(words)
        missing = [word for word in dict.fromkeys(normalized) if word not in index]
        if missing:
            raise UnknownWordError(missing, self.name)
        return [index[word] for word in normalized]

    def id(self, word: str) -> int:
        return self.ids([word])[0]

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` by the model's tokenizer, refused (LimitExceededError) as
        soon as the text, as given or normalised, passes ``max_text_chars`` or its
        tokens ``max_tokens``: the work stops at the limit."""
        limits = self.limits
        if len(text) > limits.max_text_chars:
            raise LimitExceededError(
                f"text of {len(text):,} characters; the limit is {limits.max_text_chars:,}",
                limit=limits.max_text_chars,
            )
        try:
            return self.tokenizer(text, limits.max_text_chars, limits.max_tokens)
        except TextTooLargeError as error:
            raise LimitExceededError(str(error), limit=error.limit) from None

    def known(self, tokens: Sequence[str], normalized: bool = False) -> tuple[list[int], list[str]]:
        """Rows of the known tokens (repeats kept) and the distinct unknown ones.

        ``normalized=True`` says the tokens come from this model's tokenizer, so the
        per-word normalisation is skipped.
        """
        self._check_size(tokens, self.limits.max_tokens, "tokens")
        forms = tokens if normalized else self.tokenizer.normalize_all(tokens)
        found = list(map(self.index.get, forms))
        if None not in found:
            return cast(list[int], found), []
        rows = [row for row in found if row is not None]
        unknown = dict.fromkeys(t for t, row in zip(tokens, found, strict=True) if row is None)
        return rows, list(unknown)

    def check_topn(self, topn: int) -> int:
        if not 1 <= topn <= self.limits.max_topn:
            raise (LimitExceededError if topn > 0 else InvalidQueryError)(
                f"topn must be between 1 and {self.limits.max_topn}, got {topn}",
                limit=self.limits.max_topn,
            )
        return topn

    def _restricted(self, restrict_vocab: int | None) -> int:
        if restrict_vocab is None:
            return len(self.words)
        if restrict_vocab < 1:
            raise InvalidQueryError(f"restrict_vocab must be positive, got {restrict_vocab}")
        return min(restrict_vocab, len(self.words))

    def _neighbours(
        self, scores: np.ndarray, topn: int, exclude: Iterable[int] = ()
    ) -> list[tuple[str, float]]:
        """The best ``topn`` of freshly computed ``scores`` (changed in place), query
        words and zero vectors left out."""
        limit = len(scores)
        excluded = np.concatenate(
            [self._zero_rows[self._zero_rows < limit], [i for i in exclude if i < limit]]
        ).astype(np.int64)
        return [(self.words[i], float(scores[i])) for i in _top(scores, topn, excluded)]

    def word_info(self, word: str) -> dict:
        """Count, frequency rank (1 = most frequent), relative frequency and norm."""
        row = self.id(word)
        info = {
            "word": self.words[row],
            "rank": row + 1,
            "norm": float(self.norms[row]),
            "count": None,
            "frequency": None,
        }
        if self.counts is not None:
            info["count"] = int(self.counts[row])
            info["frequency"] = float(self.counts[row] / self._total_count)
        return info

    @cached_property
    def _total_count(self) -> int:
        return 0 if self.counts is None else int(self.counts.sum())

    @cached_property
    def _sorted_vocabulary(self) -> tuple[list[str], np.ndarray]:
        order = sorted(range(len(self.words)), key=self.words.__getitem__)
        return [self.words[i] for i in order], np.asarray(order, dtype=np.int64)

    def complete(self, prefix: str, limit: int = 10, offset: int = 0) -> tuple[list[str], int]:
        """Vocabulary words starting with ``prefix``, most frequent first, paged.

        Returns (the page of words, the total number of matches).
        """
        self.check_topn(limit)
        if offset < 0:
            raise InvalidQueryError(f"offset must be 0 or more, got {offset}")
        prefix = self.normalize(prefix)
        words, order = self._sorted_vocabulary
        start = bisect.bisect_left(words, prefix)
        stop = bisect.bisect_left(words, prefix + "\U0010ffff", lo=start)
        rows = np.sort(order[start:stop])
        return [self.words[i] for i in rows[offset : offset + limit]], int(stop - start)

    # -------------------------------------------------------- cosine family

    def vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The word's vector (d,), float32; unit length with ``norm=True``."""
        row = self.id(word)
        return np.array((self.vectors_norm if norm else self.vectors)[row])

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words (0 when either vector is zero)."""
        a, b = self.ids([w1, w2])
        return float(np.dot(self.vectors_norm[a], self.vectors_norm[b]))

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of two word sets' vectors (gensim's definition)."""
        if not ws1 or not ws2:
            raise InvalidQueryError("both word lists must be non-empty")
        rows1, rows2 = self.ids(ws1), self.ids(ws2)
        mean1 = self.vectors[rows1].mean(axis=0)
        mean2 = self.vectors[rows2].mean(axis=0)
        return self._cosine(mean1, mean2)

    @staticmethod
    def _cosine(x: np.ndarray, y: np.ndarray) -> float:
        denominator = float(np.linalg.norm(x) * np.linalg.norm(y))
        return float(np.dot(x, y) / denominator) if denominator > 0 else 0.0

    def most_similar(
        self,
        positive: Sequence[str] = (),
        negative: Sequence[str] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
        method: str = "cosine",
        correlation_n: int = 1000,
        exact: bool = False,
        effort: int | None = None,
    ) -> Neighbours:
        """Words closest to mean(unit positive) − mean(unit negative) by cosine.

        With negatives this is 3CosAdd analogy ("king" − "man" + "woman"). The query
        words are excluded. ``restrict_vocab`` searches only the most frequent words.
        ``method="correlation"`` (PMI models) ranks by Su's correlation similarity
        over the ``correlation_n`` most frequent words instead of plain cosine.

        Cosine queries on a model with a neighbour index take their candidates from
        it (``search == "index"``; ``effort``, default
        :data:`~wordlens.neighbours.DEFAULT_EFFORT`, trades speed for recall) unless
        ``exact`` or fewer than :data:`EXACT_BELOW` rows are searched.
        """
        self.check_topn(topn)
        if not positive and not negative:
            raise InvalidQueryError("give at least one positive or negative word")
        rows_pos, rows_neg = self.ids(positive), self.ids(negative)
        basis = self._similarity_basis(method, correlation_n)
        unit = basis.rows(rows_pos + rows_neg).astype(np.float64)
        query = unit[: len(rows_pos)].sum(axis=0) - unit[len(rows_pos) :].sum(axis=0)
        query /= len(rows_pos) + len(rows_neg)
        length = np.linalg.norm(query)
        if length == 0:
            raise InvalidQueryError(
                "the query vector is zero (the words cancel out or have zero vectors)"
            )
        limit = self._restricted(restrict_vocab)
        unit_query = (query / length).astype(np.float32)
        excluded = rows_pos + rows_neg
        self._check_effort(effort)
        if method == "cosine" and not exact:
            found = self._index_neighbours(
                "cosine",
                unit_query,
                topn,
                limit,
                excluded,
                effort,
                lambda rows: basis.rows(rows) @ unit_query,
            )
            if found is not None:
                return found
        scores = basis.scores(unit_query, limit)
        return Neighbours(self._neighbours(scores, topn, excluded), "exact")

    def _check_effort(self, effort: int | None) -> None:
        if effort is not None and not 1 <= effort <= self.limits.max_effort:
            raise (LimitExceededError if effort > 0 else InvalidQueryError)(
                f"effort must be between 1 and {self.limits.max_effort}, got {effort}",
                limit=self.limits.max_effort,
            )

    def _index_neighbours(
        self,
        space: str,
        query: np.ndarray,
        topn: int,
        limit: int,
        exclude: list[int],
        effort: int | None,
        rescore: Callable[[list[int]], np.ndarray],
    ) -> Neighbours | None:
        """The best ``topn`` of the first ``limit`` rows for ``query`` (d,) from the
        ``space`` index, ``exclude`` and zero rows left out, scored by ``rescore(rows)``
        (the exact path's scores of those rows); None when the model has no such index,
        the search covers fewer than EXACT_BELOW rows, or the index finds fewer than
        ``topn`` rows once filtered: then the caller scans."""
        index = self.neighbour_indexes.get(space)
        if index is None:
            return None
        return self._candidate_neighbours(
            "index",
            lambda count: index.search(query[None, :], count, effort, limit)[0][0],
            topn,
            limit,
            exclude,
            rescore,
        )

    def _candidate_neighbours(
        self,
        search: Literal["index", "tree"],
        candidates: Callable[[int], np.ndarray | None],
        topn: int,
        limit: int,
        exclude: list[int],
        rescore: Callable[[list[int]], np.ndarray],
    ) -> Neighbours | None:
        """The best ``topn`` of ``candidates(count)`` (about the ``count`` best rows
        below ``limit``, −1 for none), once ``exclude`` and zero rows are left out,
        scored by ``rescore``; None (the caller scans) when fewer than EXACT_BELOW
        rows are searched, or fewer than ``topn`` candidates remain."""
        if limit < EXACT_BELOW:
            return None
        skipped = np.union1d(np.asarray(exclude, dtype=np.int64), self._zero_rows)
        skipped = skipped[skipped < limit]
        # Over-fetch by what the filter may drop, so that topn usually remain.
        rows = candidates(topn + len(skipped))
        if rows is None:
            return None
        rows = rows[(rows >= 0) & ~np.isin(rows, skipped)]
        if len(rows) < min(topn, limit - len(skipped)):
            return None
        scores = np.asarray(rescore(rows.tolist()))
        order = np.lexsort((rows, -scores))[:topn]
        return Neighbours([(self.words[int(rows[i])], float(scores[i])) for i in order], search)

    def most_similar_cosmul(
        self,
        positive: Sequence[str] = (),
        negative: Sequence[str] = (),
        topn: int = 10,
        restrict_vocab: int | None = None,
    ) -> Neighbours:
        """3CosMul (Levy & Goldberg): Π (1+cos(x,p))/2 / (Π (1+cos(x,n))/2 + ε)."""
        self.check_topn(topn)
        if not positive:
            raise InvalidQueryError("most_similar_cosmul needs at least one positive word")
        rows_pos, rows_neg = self.ids(positive), self.ids(negative)
        limit = self._restricted(restrict_vocab)
        queries = self.vectors_norm[rows_pos + rows_neg].T  # (d, k)
        scores = np.empty(limit)
        for block in row_blocks(limit, queries.shape[1]):
            cosines = self.vectors_norm[block] @ queries  # (block, k)
            shifted = (1.0 + cosines.astype(np.float64)) / 2
            scores[block] = shifted[:, : len(rows_pos)].prod(axis=1)
            scores[block] /= shifted[:, len(rows_pos) :].prod(axis=1) + _COSMUL_EPSILON
        return Neighbours(self._neighbours(scores, topn, rows_pos + rows_neg), "exact")

    def similar_by_vector(
        self, vector: Sequence[float], topn: int = 10, restrict_vocab: int | None = None
    ) -> Neighbours:
        """Words closest by cosine to a raw vector of the model's dimension."""
        self.check_topn(topn)
        if len(vector) != self.vectors.shape[1]:  # before converting a list of any length
            raise InvalidQueryError(
                f"vector has {len(vector):,} components, the model has {self.vectors.shape[1]}"
            )
        query = np.asarray(vector, dtype=np.float64)
        if query.shape != (self.vectors.shape[1],):
            raise InvalidQueryError(
                f"vector must be a flat list of {self.vectors.shape[1]} numbers"
            )
        length = np.linalg.norm(query)
        if not np.isfinite(length) or length == 0:
            raise InvalidQueryError("the vector must be finite and non-zero")
        limit = self._restricted(restrict_vocab)
        scores = self.vectors_norm[:limit] @ (query / length).astype(np.float32)
        return Neighbours(self._neighbours(scores, topn), "exact")

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (gensim's rule)."""
        if len(words) < 2:
            raise InvalidQueryError("doesnt_match needs at least two words")
        rows = self.ids(words)
        unit = self.vectors_norm[rows].astype(np.float64)
        mean = unit.mean(axis=0)
        length = np.linalg.norm(mean)
        scores = unit @ (mean / length if length > 0 else mean)
        return self.words[rows[int(np.argmin(scores))]]

    # ------------------------------------------------ Su's correlation similarity

    def _similarity_basis(self, method: str, correlation_n: int) -> UnitRows:
        if method == "cosine":
            return UnitRows(self.vectors_norm)
        if method == "correlation":
            return self.correlation_basis(correlation_n)
        raise InvalidQueryError(f"unknown method {method!r}; use 'cosine' or 'correlation'")

    def correlation_basis(self, n: int = 1000) -> CorrelationBasis:
        """Su's correlation similarity over the ``n`` most frequent words, as unit
        rows whose inner products are the Pearson correlations of the words' PMI
        profiles (models whose family answers ``correlation``: PMI). The last
        CORRELATION_CACHE n are kept; a new one costs about 15 ms (default model)."""
        self.family.require("correlation")
        if not 2 <= n <= self.limits.max_correlation_n:
            raise InvalidQueryError(
                f"correlation_n must be between 2 and {self.limits.max_correlation_n}, got {n}"
            )
        return self.family.correlation_basis(min(n, len(self.words)))

    def correlation_similarity(self, w1: str, w2: str, n: int = 1000) -> float:
        a, b = self.correlation_basis(n).rows(self.ids([w1, w2]))
        return float(np.dot(a, b))

    # --------------------------------------------------- context similarity

    def context_scores(self, word: str, prior_weight: float = DEFAULT_PRIOR_WEIGHT) -> np.ndarray:
        """Context score of ``word`` → every vocabulary word, float64 (V,), by the
        family's formula (``family.name`` names it; see :mod:`wordlens.app.families`)."""
        self.family.require("context_similarity")
        return self.family.context_scores(self.id(word), prior_weight)

    def context_similarity(
        self, w1: str, w2: str, prior_weight: float = DEFAULT_PRIOR_WEIGHT
    ) -> tuple[float, str]:
        """Context score of ``w1`` → ``w2`` and the method used (``pmi``, ``hs`` or ``ns``)."""
        self.family.require("context_similarity")
        a, b = self.ids([w1, w2])
        score = self.family.pair_scores(np.array([a]), np.array([b]), prior_weight)[0]
        return float(score), self.family.name

    def related(
        self,
        word: str,
        topn: int = 10,
        prior_weight: float = DEFAULT_PRIOR_WEIGHT,
        exact: bool = False,
        effort: int | None = None,
    ) -> tuple[Neighbours, str]:
        """The ``topn`` words most related to ``word`` by context score, and the method.

        On a model with a ``related`` neighbour index (built from the family's
        ``related_rows``: PMI), candidates come from it, and from the family's
        ``related_words`` search where it has one (hierarchical softmax, large
        vocabularies); they are scored exactly. ``exact`` forces the scan; ``effort``
        as for :meth:`most_similar`.
        """
        self.check_topn(topn)
        self.family.require("context_similarity")
        self._check_effort(effort)
        row = self.id(word)
        if not exact:
            rows_a = np.array([row])

            def rescore(rows: list[int]) -> np.ndarray:
                return self.family.pair_scores(
                    rows_a.repeat(len(rows)), np.asarray(rows), prior_weight
                )

            found = (
                self._index_neighbours(
                    "related",
                    self.family.related_query(row, prior_weight),
                    topn,
                    len(self.words),
                    [row],
                    effort,
                    rescore,
                )
                if "related" in self.neighbour_indexes
                else self._candidate_neighbours(
                    "tree",
                    lambda count: self.family.related_words(
                        row, prior_weight, count, effort or DEFAULT_EFFORT
                    ),
                    topn,
                    len(self.words),
                    [row],
                    rescore,
                )
            )
            if found is not None:
                return found, self.family.name
        scores = self.family.context_scores(row, prior_weight)
        return Neighbours(self._neighbours(scores, topn, [row]), "exact"), self.family.name

    # ---------------------------------------------------------------- keywords

    def keywords(
        self,
        text: str | Sequence[str],
        topn: int = 10,
        budget: WorkBudget | None = None,
        **options: Any,
    ) -> KeywordResult:
        """The ``topn`` keywords of a text (a string, tokenised by the model's
        tokenizer, or a token list); ``options`` are the other fields of
        :class:`~wordlens.app.keywords.KeywordOptions`. Texts of one batch can share a
        ``budget`` on their scores' work (a text past it: LimitExceededError)."""
        settings = KeywordOptions(topn=topn, **options)
        self.check_topn(settings.topn)
        self._check_size(settings.stopwords, self.limits.max_words, "stop-words")
        method = self.family.keyword_method(settings.variant)  # refuse before reading
        if isinstance(text, str):
            tokens = self.tokenize(text)
            rows, unknown = self.known(tokens, normalized=True)
        else:
            tokens = list(text)
            rows, unknown = self.known(tokens)
        return self._keywords.extract(
            method, rows, unknown, len(tokens), settings, self.limits.max_keyword_products, budget
        )

    # ---------------------------------------------------- sentence similarity

    def sentence_similarity(self, tokens1: Sequence[str], tokens2: Sequence[str]) -> dict:
        """⟨Σ v, Σ v⟩ and its cosine for two token lists (unknown tokens skipped)."""
        rows1, unknown1 = self.known(tokens1)
        rows2, unknown2 = self.known(tokens2)
        if not rows1 or not rows2:
            raise InvalidQueryError(
                "each text needs at least one word of the vocabulary",
                unknown=[*unknown1, *unknown2],
            )
        sum1 = self.vectors[rows1].sum(axis=0, dtype=np.float64)
        sum2 = self.vectors[rows2].sum(axis=0, dtype=np.float64)
        return {
            "dot": float(sum1 @ sum2),
            "cosine": self._cosine(sum1, sum2),
            "unknown": [unknown1, unknown2],
        }


class Engine:
    """Every model of a models directory, loaded once and looked up by name.

    Parameters
    ----------
    models_dir : folder holding one sub-folder per model (a folder with a
        ``manifest.json``; other entries are skipped with a log line).
    default : the model used when a query names none (default: ``pmi`` if there is
        a ``pmi`` folder, else the first model that loaded).
    verify : check the files' SHA-256 when loading.
    limits : query bounds shared by all models.

    A model that fails to load is left out and its reason kept in ``errors`` (files
    named relative to the models folder); so is a model whose files change in place
    while it is served (:meth:`get` checks them). ``reason`` says in one line why the
    engine is not ready. A query for an unavailable model, the default one included,
    fails with :class:`~wordlens.app.errors.ModelUnavailableError` and its reason:
    it never goes to another model.
    """

    def __init__(
        self,
        models_dir: str | Path,
        default: str | None = None,
        verify: bool = True,
        limits: Limits = Limits(),
    ):
        self.models_dir = Path(models_dir)
        self.models: dict[str, WordModel] = {}
        self.errors: dict[str, str] = {}
        self._lock = threading.Lock()
        found = find_models(self.models_dir)
        for name, path in found.items():
            try:
                self.models[name] = WordModel(load_model(path, verify=verify), limits)
            except Exception as error:  # noqa: BLE001 - reported, never fatal
                self.errors[name] = str(error)
                log.error("model %s not loaded: %s", name, error)
        if default is not None and default not in found:
            self.errors[default] = f"the default model {default!r} is not in the models folder"
        self.default = default or ("pmi" if "pmi" in found else next(iter(self.models), None))
        folder = repr(self.models_dir.name or str(self.models_dir))
        self._folder_problem = (
            None
            if found
            else f"the models folder {folder} does not exist"
            if not self.models_dir.exists()
            else f"the models folder {folder} is not a folder"
            if not self.models_dir.is_dir()
            else f"the models folder {folder} holds no model (no folder with a manifest.json)"
        )
        if self._folder_problem:
            log.error("%s", self._folder_problem)

    @property
    def names(self) -> list[str]:
        return list(self.models)

    @property
    def reason(self) -> str | None:
        """Why the engine is not ready, in one line (None when it is)."""
        if self._folder_problem:
            return self._folder_problem
        if self.errors:
            return f"models that did not load: {', '.join(self.errors)}"
        return None

    @property
    def ready(self) -> bool:
        """Every model found loaded, and there is at least one."""
        return self.reason is None

    def get(self, name: str | None = None) -> WordModel:
        """The model ``name`` (the default one if None), its files checked unchanged.

        Raises ModelUnavailableError (it failed to load or its files changed: the
        reason names the file) or UnknownModelError (there is no such model).
        """
        name = name or self.default
        if name is None:
            raise ModelUnavailableError(None, self.reason or "no default model")
        model = self.models.get(name)
        if model is None:
            if name in self.errors:
                raise ModelUnavailableError(name, self.errors[name])
            raise UnknownModelError(name, self.names)
        try:
            model.model.check_unchanged()
        except ModelFormatError as error:
            self._withdraw(name, str(error))
            raise ModelUnavailableError(name, str(error)) from None
        return model

    def _withdraw(self, name: str, reason: str) -> None:
        """Take a model out of service for good (until restart), with its reason."""
        with self._lock:
            if name in self.models:
                log.error("model %s withdrawn: %s", name, reason)
                # New dicts rather than in-place changes: a thread iterating the
                # old ones (/models, /readyz) is not disturbed.
                self.models = {key: m for key, m in self.models.items() if key != name}
                self.errors = {**self.errors, name: reason}
