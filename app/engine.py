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
case; a model with phrases spells "New_York" or "new  york" as its token "new york",
and joins them in text as training did), and every word a query needs must be known: otherwise
:class:`~wordlens.app.errors.UnknownWordError` lists all the missing ones. Words whose
vector is zero have cosine 0 with everything and never appear in neighbour lists.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from wordlens.app.blocks import query_chunks, row_blocks
from wordlens.app.errors import (
    InvalidQueryError,
    LimitExceededError,
    ModelUnavailableError,
    QueryError,
    UnknownModelError,
    UnknownWordError,
)
from wordlens.app.families import (
    DEFAULT_SCORE,
    ContextScore,
    CorrelationBasis,
    Family,
    UnitRows,
    family_of,
)
from wordlens.app.infer import FREQUENCY_PRIOR, check_contexts, evidence, occurrences
from wordlens.app.keywords import (
    KeywordExtractor,
    KeywordOptions,
    KeywordResult,
    Located,
    WorkBudget,
)
from wordlens.artifacts import Model, ModelFormatError, Verify, find_models, load_model
from wordlens.corpus.phrases import PhraseTable, from_spec
from wordlens.corpus.tokenizers import TextTooLargeError, Tokenizer
from wordlens.neighbours import DEFAULT_EFFORT, NeighbourIndex, open_indexes
from wordlens.processes import blas_on_every_core

__all__ = [
    "EXACT_BELOW",
    "SUGGESTED_WORDS",
    "Answer",
    "Engine",
    "Inferred",
    "Limits",
    "Neighbours",
    "QueryVectors",
    "SimilarQuery",
    "WordModel",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_COSMUL_EPSILON = 1e-6  # as gensim's most_similar_cosmul

#: Unknown words of one query that get "did you mean" suggestions (each under 5 ms at
#: a million words: README).
SUGGESTED_WORDS = 10

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
    ``max_effort`` the search effort (the index's candidate list) of one query;
    ``max_infer_contexts`` the contexts of one ``infer`` query (their characters in
    all ``max_text_chars``, their tokens ``max_tokens``), and
    ``max_infer_iterations`` its optimiser's steps (Word2Vec; a bound, not an error).

    A batch of queries (``most_similar_batch``, ``related_batch``) holds at most
    ``max_batch_queries`` queries, ``max_batch_words`` query words in all (and
    ``max_text_chars`` characters), and asks for at most ``max_batch_neighbours``
    neighbours (queries × topn); each query also keeps the limits of one.
    """

    max_topn: int = 1000
    max_words: int = 1000
    max_tokens: int = 100_000
    max_text_chars: int = 1_000_000
    max_correlation_n: int = 50_000
    max_keyword_products: int = 50_000_000
    max_batch_queries: int = 1000
    max_batch_words: int = 10_000
    max_batch_neighbours: int = 100_000
    max_effort: int = 4096
    max_infer_contexts: int = 1000
    max_infer_iterations: int = 200


@dataclass(frozen=True)
class SimilarQuery:
    """One ``most_similar`` query of a batch: words to add and to subtract."""

    positive: Sequence[str] = ()
    negative: Sequence[str] = ()


#: A batch's answer to one query: its neighbours (word, score), best first, or the
#: error that query alone ran into.
Answer = Neighbours | QueryError

#: Pairs of scores that the fast and exact paths compute with float64 arithmetic
#: in different orders differ by this much, relative, at most (far above 1e-16 × a
#: path's 40 terms).
_ROUNDING = 1e-9

#: Columns per block whose maximum :func:`_best` takes to find a row's candidates.
_SCAN_BLOCK = 64

#: Bytes per (query, word) cell that ranking adds to the scores (the block maxima
#: and the gathered candidate blocks are a small fraction of a cell each).
_RANKING_BYTES = 1


@dataclass(frozen=True)
class QueryVectors:
    """The query vectors of a batch, built by :meth:`WordModel.query_vectors`.

    ``vectors`` (k, d) float64, unit length, one per query that could be built, whose
    position in the batch is ``positions[i]`` and whose words' rows (left out of its
    answer) are ``excluded[i]``; ``errors`` maps the others' positions to their error.
    """

    vectors: np.ndarray
    positions: list[int]
    excluded: list[list[int]]
    errors: dict[int, QueryError]


Exact = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Inferred:
    """A vector inferred for ``word`` by :meth:`WordModel.infer`: ``vector`` (d,)
    float32; ``similar`` its nearest words (cosines, ranked with
    :data:`~wordlens.app.infer.FREQUENCY_PRIOR`); ``confidence`` the mean PMI
    (nats) it gives its context words; ``method`` the fit (pmi, hs, ns; hs_alacarte,
    ns_alacarte); ``occurrences`` of the word found, distinct ``context_words`` used, ``unknown``
    context tokens skipped; optimiser ``iterations``; ``known``: the word is in the
    vocabulary (then ``left_out`` says whether its own row was kept out of the fit)."""

    word: str
    vector: np.ndarray
    similar: Neighbours
    confidence: float
    method: str
    occurrences: int
    context_words: int
    unknown: list[str]
    iterations: int
    known: bool
    left_out: bool


def _best(
    scores: np.ndarray, topn: int, margin: np.ndarray | float = 0.0, exact: Exact | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``topn`` best columns of each row of ``scores`` (q, L), best first, ties
    by lower column, leaving out columns whose score is not finite: (columns, scores)
    per row.

    With ``exact``, the scores are fast estimates, each within ``margin`` (a number,
    or one per row) of the exact score that ``exact(rows, columns)`` computes for
    given cells, and the answer is the best by exact score: only the cells within
    twice the margin of the row's ``topn``-th best estimate can be among them (a
    cell whose exact score is, has an estimate at least that minus 2·margin), and
    only those are rescored.

    Vectorised over all rows, without sorting or partitioning whole rows: the maxima
    of blocks of _SCAN_BLOCK columns give a lower bound of each row's ``topn``-th best
    score (``topn`` blocks reach it), so only the blocks whose maximum reaches that
    bound (less the slack) are gathered, about ``topn`` per row, and their few cells
    ranked.
    """
    count, size = scores.shape
    full = size - size % _SCAN_BLOCK
    maxima = scores[:, :full].reshape(count, -1, _SCAN_BLOCK).max(axis=2)
    if full < size:
        maxima = np.concatenate([maxima, scores[:, full:].max(axis=1, keepdims=True)], axis=1)
    blocks = maxima.shape[1]
    bound = (
        np.partition(maxima, blocks - topn, axis=1)[:, blocks - topn].astype(np.float64)
        if topn <= blocks
        else np.full(count, -np.inf)
    )
    # The topn-th best score lies between bound and the row's maximum.
    largest = np.maximum(np.abs(bound), np.abs(maxima.max(axis=1).astype(np.float64)))
    slack = 2 * np.asarray(margin, dtype=np.float64) + _ROUNDING * (1 + largest)
    floor = bound - slack
    which, block = np.nonzero(maxima >= floor[:, None])
    columns = block[:, None] * _SCAN_BLOCK + np.arange(_SCAN_BLOCK)
    inside = columns < size
    values = scores[which[:, None], np.where(inside, columns, 0)]
    chosen = inside & (values >= floor[which, None]) & np.isfinite(values)
    which = np.broadcast_to(which[:, None], chosen.shape)[chosen]
    columns, values = columns[chosen], values[chosen].astype(np.float64)
    # the topn-th best estimate of each row, from its candidates
    order = np.lexsort((-values, which))
    starts = np.searchsorted(which[order], np.arange(count + 1))
    enough = np.diff(starts) >= topn
    kth = np.full(count, -np.inf)
    kth[enough] = values[order[starts[:-1][enough] + topn - 1]]
    near = values >= (kth - slack)[which]
    which, columns, values = which[near], columns[near], values[near]
    if exact is not None:
        values = exact(which, columns)
    order = np.lexsort((columns, -values, which))
    which, columns, values = which[order], columns[order], values[order]
    starts = np.searchsorted(which, np.arange(count + 1))
    return [
        (columns[start : min(stop, start + topn)], values[start : min(stop, start + topn)])
        for start, stop in itertools.pairwise(starts)
    ]


def _model_tokenizer(model: Model) -> Tokenizer:
    """The tokenizer a model was trained with, joining its phrases if it has a table."""
    text = model.phrases_text()
    try:
        table = None if text is None else PhraseTable.from_text(text, f"{model.name}/phrases.tsv")
        return from_spec(model.manifest.get("tokenizer") or {"name": "whitespace"}, table)
    except ValueError as error:
        raise ModelFormatError(f"{model.name}/manifest.json: {error}") from None


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
        self.norms = self.arrays["norms"]
        self.unit = UnitRows(self.vectors, self.norms)  # cosine similarity
        self.counts = None if model.counts is None else np.asarray(model.counts)
        self.tokenizer: Tokenizer = _model_tokenizer(model)
        self.output_layers: list[str] = list(model.manifest.get("output_layers", []))
        self._zero_rows = np.flatnonzero(self.norms == 0)
        self.index = model.index
        # Approximate neighbour indexes by space ("cosine", "related"), memory-mapped.
        self.neighbour_indexes: dict[str, NeighbourIndex] = open_indexes(model)
        self.family: Family = family_of(model)
        self._keywords = KeywordExtractor(self.words, self.counts, self.tokenizer, self.family)

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
        normalized = self.tokenizer.normalize_all(words)
        return self._known(normalized, self.words.lookup(normalized).tolist())

    def _known(self, normalized: Sequence[str], rows: list[int]) -> list[int]:
        """``rows``, the rows looked up for ``normalized`` words, unless some were not
        found (−1): then UnknownWordError listing every unknown one."""
        if min(rows, default=0) < 0:
            missing = dict.fromkeys(w for w, row in zip(normalized, rows, strict=True) if row < 0)
            raise UnknownWordError(list(missing), self.name, self.suggest(missing))
        return rows

    def suggest(self, words: Iterable[str]) -> dict[str, list[str]]:
        """ "Did you mean": the vocabulary words spelled like each of the first
        SUGGESTED_WORDS of ``words`` (normalised, not in the vocabulary), best first
        (:meth:`wordlens.vocabulary.Vocabulary.suggest`): bounded work for any request."""
        return {word: self.words.suggest(word) for word in itertools.islice(words, SUGGESTED_WORDS)}

    def id(self, word: str) -> int:
        return self.ids([word])[0]

    def tokenize(self, text: str) -> list[str]:
        """Tokens of ``text`` by the model's tokenizer, refused (LimitExceededError) as
        soon as the text, as given or normalised, passes ``max_text_chars`` or its
        tokens ``max_tokens``: the work stops at the limit."""
        return self._limited(self.tokenizer, text)

    def token_spans(self, text: str) -> list[tuple[str, int, int]]:
        """:meth:`Tokenizer.spans` of ``text`` (each token with its [start, end) in
        ``text``), within the limits of :meth:`tokenize`."""
        return self._limited(self.tokenizer.spans, text)

    def _limited(self, tokenize: Callable[..., list[T]], text: str) -> list[T]:
        limits = self.limits
        if len(text) > limits.max_text_chars:
            raise LimitExceededError(
                f"text of {len(text):,} characters; the limit is {limits.max_text_chars:,}",
                limit=limits.max_text_chars,
            )
        try:
            return tokenize(text, limits.max_text_chars, limits.max_tokens)
        except TextTooLargeError as error:
            raise LimitExceededError(str(error), limit=error.limit) from None

    def known(self, tokens: Sequence[str], normalized: bool = False) -> tuple[list[int], list[str]]:
        """Rows of the known tokens (repeats kept) and the distinct unknown ones.

        ``normalized=True`` says the tokens come from this model's tokenizer, so the
        per-word normalisation is skipped.
        """
        return self._split(tokens, self._rows(tokens, normalized))

    @staticmethod
    def _split(tokens: Sequence[str], found: list[int]) -> tuple[list[int], list[str]]:
        """The known rows and distinct unknown tokens of ``tokens`` with rows ``found``."""
        if -1 not in found:
            return found, []
        rows = [row for row in found if row >= 0]
        unknown = dict.fromkeys(t for t, row in zip(tokens, found, strict=True) if row < 0)
        return rows, list(unknown)

    def _rows(self, tokens: Sequence[str], normalized: bool) -> list[int]:
        """The row of every token, −1 for an unknown one (see :meth:`known`)."""
        self._check_size(tokens, self.limits.max_tokens, "tokens")
        forms = tokens if normalized else self.tokenizer.normalize_all(tokens)
        # A text repeats its words: look each distinct one up once.
        distinct = list(dict.fromkeys(forms))
        row_of = dict(zip(distinct, self.words.lookup(distinct).tolist(), strict=True))
        return list(map(row_of.__getitem__, forms))

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

    def _ranked(
        self,
        scores: np.ndarray,
        topn: int,
        excluded: Sequence[Sequence[int]],
        margin: np.ndarray | float = 0.0,
        exact: Exact | None = None,
    ) -> list[list[tuple[str, float]]]:
        """The best ``topn`` words of each row of freshly computed ``scores`` (q, L)
        (changed in place), leaving out the rows ``excluded[i]`` of query i and the
        zero vectors; ``margin`` and ``exact`` as for :func:`_best`."""
        limit = scores.shape[1]
        scores[:, self._zero_rows[self._zero_rows < limit]] = -np.inf
        which = np.repeat(np.arange(len(excluded)), [len(rows) for rows in excluded])
        rows = np.fromiter(itertools.chain.from_iterable(excluded), np.int64, len(which))
        inside = rows < limit
        scores[which[inside], rows[inside]] = -np.inf
        best = _best(scores, topn, margin, exact)
        words = iter(
            self.words.take(np.concatenate([rows for rows, _ in best] + [np.empty(0, np.int64)]))
        )
        return [[(next(words), value) for value in values.tolist()] for _, values in best]

    def _check_batch(self, queries: int, words: Sequence[str], topn: int) -> None:
        """LimitExceededError unless a batch of ``queries`` queries made of ``words``,
        each asking for ``topn`` words, is within the batch limits."""
        limits = self.limits
        for amount, most, what in (
            (queries, limits.max_batch_queries, "queries"),
            (len(words), limits.max_batch_words, "query words"),
            (queries * topn, limits.max_batch_neighbours, "neighbours (queries × topn)"),
            (sum(map(len, words)), limits.max_text_chars, "characters of query words"),
        ):
            if amount > most:
                raise LimitExceededError(
                    f"{amount:,} {what} in one batch; the limit is {most:,}", limit=most
                )

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

    def complete(self, prefix: str, limit: int = 10, offset: int = 0) -> tuple[list[str], int]:
        """Vocabulary words starting with ``prefix``, most frequent first, paged.

        Returns (the page of words, the total number of matches). When no word has
        the prefix, :meth:`suggest` of the prefix offers words spelled like it.
        """
        self.check_topn(limit)
        if offset < 0:
            raise InvalidQueryError(f"offset must be 0 or more, got {offset}")
        rows = self.words.prefixed(self.normalize(prefix))
        total = len(rows)
        # Rows are frequency ranks: the page is the smallest rows, after the offset.
        wanted = min(offset + limit, total)
        if 0 < wanted < total:
            rows = np.partition(rows, wanted - 1)[:wanted]
        page = np.sort(rows)[offset:wanted]
        return [self.words[row] for row in page.tolist()], total

    # -------------------------------------------------------- cosine family

    def vectors_of(self, rows: list[int], norm: bool = False) -> np.ndarray:
        """The vectors of ``rows`` (k, d), float32 (as stored, or a float16 model's
        values converted); unit length with ``norm=True``."""
        if norm:
            return self.unit.rows(rows)
        return np.asarray(self.vectors[rows], dtype=np.float32)

    def vector(self, word: str, norm: bool = False) -> np.ndarray:
        """The word's vector (d,), float32; unit length with ``norm=True``."""
        return self.vectors_of([self.id(word)], norm)[0]

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words (0 when either vector is zero)."""
        a, b = self.unit.rows(self.ids([w1, w2]))
        return float(np.dot(a, b))

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of two word sets' vectors (gensim's definition)."""
        if not ws1 or not ws2:
            raise InvalidQueryError("both word lists must be non-empty")
        rows1, rows2 = self.ids(ws1), self.ids(ws2)
        mean1 = self.vectors[rows1].mean(axis=0, dtype=np.float64)
        mean2 = self.vectors[rows2].mean(axis=0, dtype=np.float64)
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
        it (``search == "index"``; ``effort``, by default the one the index was tuned
        to, trades speed for recall) unless
        ``exact`` or fewer than :data:`EXACT_BELOW` rows are searched. Cosine answers
        are those of :meth:`most_similar_batch` for this one query.
        """
        self.check_topn(topn)
        self._check_effort(effort)
        basis = self._similarity_basis(method, correlation_n)
        query = SimilarQuery(positive, negative)
        if method == "cosine":
            (answer,) = self._most_similar_many([query], topn, restrict_vocab, exact, effort)
            if isinstance(answer, QueryError):
                raise answer
            return answer
        built = self.query_vectors([query], basis)
        if built.errors:
            raise built.errors[0]
        limit = self._restricted(restrict_vocab)
        scores = basis.scores(built.vectors[0].astype(np.float32), limit)
        return Neighbours(self._ranked(scores[None], topn, built.excluded)[0], "exact")

    def most_similar_batch(
        self,
        queries: Sequence[SimilarQuery],
        topn: int = 10,
        restrict_vocab: int | None = None,
        exact: bool = False,
        effort: int | None = None,
    ) -> list[Answer]:
        """Cosine neighbours of many queries at once, each exactly what
        :meth:`most_similar` answers for it alone (ties included), or its own error
        (an unknown word, a zero query vector, too many words in that query).

        A batch beyond the batch limits (:class:`Limits`), or a bad ``topn`` or
        ``restrict_vocab``, fails as a whole. The queries are scored chunk by chunk,
        one (chunk, d)·(d, V) product each, chunks sized so that the score block and
        the ranking's temporaries stay within ``blocks.BATCH_BYTES``; each chunk's
        candidates are then rescored one (query, word) pair at a time, so that no
        answer depends on the other queries of the batch or on how BLAS splits the
        product. On a model with a neighbour index, queries are answered from it as
        :meth:`most_similar` answers them (``exact``, ``effort``). A batch's products
        and index search run on every core (:func:`~wordlens.processes.blas_on_every_core`).
        """
        self.check_topn(topn)
        self._check_effort(effort)
        self._restricted(restrict_vocab)
        words = [word for query in queries for word in (*query.positive, *query.negative)]
        self._check_batch(len(queries), words, topn)
        with blas_on_every_core():
            return self._most_similar_many(queries, topn, restrict_vocab, exact, effort)

    def _most_similar_many(
        self,
        queries: Sequence[SimilarQuery],
        topn: int,
        restrict_vocab: int | None,
        exact: bool = False,
        effort: int | None = None,
    ) -> list[Answer]:
        limit = self._restricted(restrict_vocab)
        basis = self._similarity_basis("cosine", 0)
        built = self.query_vectors(queries, basis)
        answers: list[Answer] = [Neighbours([], "exact") for _ in queries]
        for position, error in built.errors.items():
            answers[position] = error
        scan = list(range(len(built.positions)))
        if not exact:
            vectors = built.vectors

            def rescore(which: np.ndarray, rows: np.ndarray) -> np.ndarray:
                return basis.exact(vectors, which, rows)

            found = self._index_neighbours(
                "cosine",
                vectors.astype(np.float32),
                topn,
                limit,
                built.excluded,
                effort,
                rescore,
            )
            scan = [i for i, hit in enumerate(found) if hit is None]
            for position, hit in zip(built.positions, found, strict=True):
                if hit is not None:
                    answers[position] = hit
        scanned = np.asarray(scan, dtype=np.int64)
        cell_bytes = 4 + _RANKING_BYTES  # float32 scores, and what ranking them holds
        for part in query_chunks(len(scanned), limit, cell_bytes):
            chunk = scanned[part]
            vectors = built.vectors[chunk]

            def exact_scores(which: np.ndarray, rows: np.ndarray, vectors=vectors) -> np.ndarray:
                return basis.exact(vectors, which, rows)

            scores = basis.batch_scores(vectors.astype(np.float32), limit)
            excluded = [built.excluded[i] for i in chunk]
            ranked = self._ranked(scores, topn, excluded, basis.margin, exact_scores)
            for i, answer in zip(chunk, ranked, strict=True):
                answers[built.positions[i]] = Neighbours(answer, "exact")
        return answers

    def query_vectors(self, queries: Sequence[SimilarQuery], basis: UnitRows) -> QueryVectors:
        """The unit query vector of each query, Σ unit positive − Σ unit negative
        scaled to unit length (the means' direction), from ``basis``'s rows; the one
        place query vectors are built, for the exact scan and an index alike. A
        query's vector depends on its own words only (summed in order), never on the
        rest of the batch. Each query's sizes are checked first, then the words of
        those within the limits looked up at once; a query's error is the first of its
        positive words' size, its negative words' size, its unknown positive words, its
        unknown negative words."""
        rows: list[int] = []
        signs: list[float] = []
        starts: list[int] = []
        positions: list[int] = []
        excluded: list[list[int]] = []
        errors: dict[int, QueryError] = {}
        sides: list[tuple[int, list[str], list[str]]] = []
        for position, query in enumerate(queries):
            positive, negative = list(query.positive), list(query.negative)
            try:
                if not positive and not negative:
                    raise InvalidQueryError("give at least one positive or negative word")
                self._check_size(positive, self.limits.max_words, "words")
                self._check_size(negative, self.limits.max_words, "words")
            except QueryError as error:
                errors[position] = error
                continue
            sides.append((position, positive, negative))
        normalized = self.tokenizer.normalize_all(
            word for _, positive, negative in sides for word in positive + negative
        )
        found = self.words.lookup(normalized).tolist()
        end = 0
        for position, positive_words, negative_words in sides:
            start, middle = end, end + len(positive_words)
            end = middle + len(negative_words)
            try:
                plus = self._known(normalized[start:middle], found[start:middle])
                minus = self._known(normalized[middle:end], found[middle:end])
            except QueryError as error:
                errors[position] = error
                continue
            starts.append(len(rows))
            rows += plus + minus
            signs += [1.0] * len(plus) + [-1.0] * len(minus)
            positions.append(position)
            excluded.append(plus + minus)
        dim = self.vectors.shape[1]
        if not positions:
            return QueryVectors(np.empty((0, dim)), [], [], errors)
        unit = basis.rows(rows).astype(np.float64)
        unit *= np.asarray(signs)[:, None]
        sums = np.add.reduceat(unit, starts, axis=0)
        lengths = np.linalg.norm(sums, axis=1)
        for i in np.flatnonzero(lengths == 0):
            errors[positions[i]] = InvalidQueryError(
                "the query vector is zero (the words cancel out or have zero vectors)"
            )
        kept = np.flatnonzero(lengths > 0)
        return QueryVectors(
            sums[kept] / lengths[kept, None],
            [positions[i] for i in kept],
            [excluded[i] for i in kept],
            errors,
        )

    def _check_effort(self, effort: int | None) -> None:
        if effort is not None and not 1 <= effort <= self.limits.max_effort:
            raise (LimitExceededError if effort > 0 else InvalidQueryError)(
                f"effort must be between 1 and {self.limits.max_effort}, got {effort}",
                limit=self.limits.max_effort,
            )

    def _index_neighbours(
        self,
        space: str,
        queries: np.ndarray,
        topn: int,
        limit: int,
        excluded: Sequence[Sequence[int]],
        effort: int | None,
        rescore: Exact,
    ) -> list[Neighbours | None]:
        """The best ``topn`` of the first ``limit`` rows for each of ``queries`` (n, d)
        from the ``space`` index, query i's ``excluded[i]`` and zero rows left out,
        scored by ``rescore`` (the exact path's scores); None for a query when the
        model has no such index, the search covers fewer than EXACT_BELOW rows, or the
        index finds fewer than ``topn`` rows once filtered: the caller scans those.

        One index search per batch: queries that fetch the same number of candidates
        (in practice all) are searched as one (n, d) matrix. The fetch size sets the
        graph's candidate list (efSearch is at least it, and it is at least
        efSearch), so a query's candidates are the same alone or in any batch."""
        index = self.neighbour_indexes.get(space)
        if index is None or limit < EXACT_BELOW:
            return [None] * len(queries)
        skipped = [self._skipped(exclude, limit) for exclude in excluded]
        # Over-fetch by what the filter may drop, so that topn usually remain, and
        # keep the whole candidate list (efSearch): the index ranks by 8-bit codes,
        # the exact rescoring of every candidate by the model's own rows.
        fetch = effort or index.effort
        counts = np.array([max(topn + len(rows), fetch) for rows in skipped], dtype=np.int64)
        answers: list[Neighbours | None] = [None] * len(queries)
        for count in np.unique(counts):
            group = np.flatnonzero(counts == count)
            rows = index.search(queries[group], int(count), effort, limit)[0]

            def rescore_group(which: np.ndarray, rows: np.ndarray, group=group) -> np.ndarray:
                return rescore(group[which], rows)

            found = self._candidate_neighbours(
                "index", rows, topn, limit, [skipped[i] for i in group], rescore_group
            )
            for i, answer in zip(group, found, strict=True):
                answers[i] = answer
        return answers

    def _skipped(self, exclude: Sequence[int], limit: int) -> np.ndarray:
        """The rows below ``limit`` a query's answer leaves out: its ``exclude`` rows
        and the zero rows, sorted."""
        if not len(self._zero_rows):  # the usual case, without numpy's set operations
            return np.array(sorted({row for row in exclude if row < limit}), dtype=np.int64)
        skipped = np.union1d(np.asarray(exclude, dtype=np.int64), self._zero_rows)
        return skipped[skipped < limit]

    def _candidate_neighbours(
        self,
        search: Literal["index", "tree"],
        candidates: np.ndarray,
        topn: int,
        limit: int,
        skipped: Sequence[np.ndarray],
        rescore: Exact,
    ) -> list[Neighbours | None]:
        """The best ``topn`` of each query's ``candidates`` (n, k) (rows below
        ``limit``, −1 for none), once its ``skipped`` rows are left out, scored by
        ``rescore(which, rows)`` (query ``which[j]``'s exact score of ``rows[j]``, all
        pairs at once), best first, ties by lower row; None for a query left with
        fewer than ``topn`` candidates (the caller scans it)."""
        count, width = candidates.shape
        rows = candidates.astype(np.int64)
        which = np.broadcast_to(np.arange(count)[:, None], rows.shape)
        # (query, row) pairs as one key, to leave out each query's own skipped rows
        skips = np.array([len(rows_i) for rows_i in skipped], dtype=np.int64)
        skip_keys = np.repeat(np.arange(count) * limit, skips) + np.concatenate(
            [*skipped, np.empty(0, np.int64)]
        )
        keep = (rows >= 0) & ~np.isin(which * limit + rows, skip_keys)
        found = np.count_nonzero(keep, axis=1)
        needed = np.minimum(topn, limit - skips)
        scores = np.full(rows.shape, -np.inf)  # left out: after every score
        scores[keep] = rescore(which[keep], rows[keep])
        # Each query's row of candidates sorted by row, then stably by score: best
        # first, ties by lower row (a query's candidates are distinct rows).
        by_row = np.argsort(np.where(keep, rows, limit), axis=1)
        rows, scores = (np.take_along_axis(a, by_row, axis=1) for a in (rows, scores))
        best = np.argsort(-scores, axis=1, kind="stable")[:, :topn]
        rows, scores = (np.take_along_axis(a, best, axis=1) for a in (rows, scores))
        shown = np.arange(rows.shape[1]) < np.minimum(found, topn)[:, None]
        words, values = self.words.take(rows[shown]), scores[shown].tolist()
        bounds = np.concatenate(([0], np.cumsum(shown.sum(axis=1)))).tolist()
        return [
            Neighbours(list(zip(words[a:b], values[a:b], strict=True)), search) if enough else None
            for enough, (a, b) in zip(found >= needed, itertools.pairwise(bounds), strict=True)
        ]

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
        queries = self.unit.rows(rows_pos + rows_neg).T  # (d, k)
        scores = np.empty(limit)
        for block in row_blocks(limit, queries.shape[1]):
            cosines = self.unit.block_scores(queries, block)  # (block, k)
            shifted = (1.0 + cosines.astype(np.float64)) / 2
            scores[block] = shifted[:, : len(rows_pos)].prod(axis=1)
            scores[block] /= shifted[:, len(rows_pos) :].prod(axis=1) + _COSMUL_EPSILON
        return Neighbours(self._ranked(scores[None], topn, [rows_pos + rows_neg])[0], "exact")

    def similar_by_vector(
        self,
        vector: Sequence[float],
        topn: int = 10,
        restrict_vocab: int | None = None,
        exact: bool = False,
        effort: int | None = None,
    ) -> Neighbours:
        """Words closest by cosine to a raw vector of the model's dimension; from the
        model's neighbour index as for :meth:`most_similar` (``exact``, ``effort``)."""
        self.check_topn(topn)
        self._check_effort(effort)
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
        return self._by_cosine(
            query / length, topn, self._restricted(restrict_vocab), exact, effort
        )

    def _by_cosine(
        self,
        unit: np.ndarray,
        topn: int,
        limit: int,
        exact: bool,
        effort: int | None,
        frequency_prior: float = 0.0,
    ) -> Neighbours:
        """The ``topn`` of the first ``limit`` words nearest by cosine to the unit
        vector ``unit`` (d,) float64, from the neighbour index unless ``exact``.
        ``frequency_prior`` β: rank by cosine + β·ln(count) instead (the pairs keep
        their cosines; with the index, its candidate list is what is ranked)."""

        def bonus(rows: np.ndarray | slice) -> np.ndarray:
            # computed per query for the rows scored: no (V,) array kept per worker
            assert self.counts is not None  # models that infer have counts
            return frequency_prior * np.log(np.maximum(self.counts[rows], 1).astype(np.float64))

        def ranked(cosines: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
            return cosines + bonus(rows) if frequency_prior else cosines

        found = None
        if not exact:

            def rescore(which: np.ndarray, rows: np.ndarray) -> np.ndarray:
                return ranked(self.unit.exact(unit[None], np.zeros_like(rows), rows), rows)

            (found,) = self._index_neighbours(
                "cosine", unit.astype(np.float32)[None], topn, limit, [[]], effort, rescore
            )
        if found is None:
            scores = ranked(self.unit.scores(unit.astype(np.float32), limit), slice(0, limit))
            found = Neighbours(self._ranked(scores[None], topn, [[]])[0], "exact")
        if not frequency_prior:
            return found
        gains = bonus(np.asarray(self.words.lookup([word for word, _ in found]), dtype=np.int64))
        return Neighbours(
            [(word, score - float(gain)) for (word, score), gain in zip(found, gains, strict=True)],
            found.search,
        )

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (gensim's rule)."""
        if len(words) < 2:
            raise InvalidQueryError("doesnt_match needs at least two words")
        rows = self.ids(words)
        unit = self.unit.rows(rows).astype(np.float64)
        mean = unit.mean(axis=0)
        length = np.linalg.norm(mean)
        scores = unit @ (mean / length if length > 0 else mean)
        return self.words[rows[int(np.argmin(scores))]]

    # ------------------------------------------------ Su's correlation similarity

    def _similarity_basis(self, method: str, correlation_n: int) -> UnitRows:
        if method == "cosine":
            return self.unit
        if method == "correlation":
            return self.correlation_basis(correlation_n)
        raise InvalidQueryError(f"unknown method {method!r}; use 'cosine' or 'correlation'")

    def correlation_basis(self, n: int = 1000) -> CorrelationBasis:
        """Su's correlation similarity over the ``n`` most frequent words, as unit
        rows whose inner products are the Pearson correlations of the words' PMI
        profiles (models whose family answers ``correlation``: PMI). The last
        CORRELATION_CACHE n are kept; a new one costs about 15 ms (default model)."""
        self.family.require("correlation")
        self.check_correlation_n(n)
        return self.family.correlation_basis(min(n, len(self.words)))

    def check_correlation_n(self, n: int) -> None:
        if not 2 <= n <= self.limits.max_correlation_n:
            raise InvalidQueryError(
                f"correlation_n must be between 2 and {self.limits.max_correlation_n}, got {n}"
            )

    def correlation_similarity(self, w1: str, w2: str, n: int = 1000) -> float:
        a, b = self.correlation_basis(n).rows(self.ids([w1, w2]))
        return float(np.dot(a, b))

    # --------------------------------------------------- context similarity

    def context_scores(
        self, word: str, prior_weight: float | None = None, score: str = DEFAULT_SCORE
    ) -> np.ndarray:
        """Context score of ``word`` → every vocabulary word, float64 (V,), by the
        family's formula (see :mod:`wordlens.app.families`): the form ``score``
        (``symmetric`` or ``su``) with prior weight λ ``prior_weight`` (None: the
        form's default, :data:`~wordlens.app.families.PRIOR_WEIGHTS`)."""
        self.family.require("context_similarity")
        scoring = ContextScore.of(score, prior_weight)
        return self.family.context_scores(np.array([self.id(word)]), scoring)[0]

    def context_similarity(
        self, w1: str, w2: str, prior_weight: float | None = None, score: str = DEFAULT_SCORE
    ) -> tuple[float, str]:
        """Context score of ``w1`` → ``w2`` and the method used (``pmi``, ``hs``, ``ns``,
        or ``hs_su``, ``ns_su`` for Su's form); arguments as for :meth:`context_scores`."""
        self.family.require("context_similarity")
        scoring = ContextScore.of(score, prior_weight)
        a, b = self.ids([w1, w2])
        value = self.family.pair_scores(np.array([a]), np.array([b]), scoring)[0]
        return float(value), self.family.context_method(scoring)

    def related(
        self,
        word: str,
        topn: int = 10,
        prior_weight: float | None = None,
        exact: bool = False,
        effort: int | None = None,
        score: str = DEFAULT_SCORE,
    ) -> tuple[Neighbours, str]:
        """The ``topn`` words most related to ``word`` by context score, and the method;
        the answer of :meth:`related_batch` for this one word. ``score`` and
        ``prior_weight`` as for :meth:`context_scores`.

        On a model with a ``related`` neighbour index (built from the family's
        ``related_rows``: PMI), candidates come from it, and from the family's
        ``related_words`` search where it has one (hierarchical softmax, large
        vocabularies); they are scored exactly. ``exact`` forces the scan; ``effort``
        as for :meth:`most_similar`.
        """
        scoring = ContextScore.of(score, prior_weight)
        (answer,), method = self._related_many([word], topn, scoring, exact, effort)
        if isinstance(answer, QueryError):
            raise answer
        return answer, method

    def related_batch(
        self,
        words: Sequence[str],
        topn: int = 10,
        prior_weight: float | None = None,
        exact: bool = False,
        effort: int | None = None,
        score: str = DEFAULT_SCORE,
    ) -> tuple[list[Answer], str]:
        """Related words of many words at once, each exactly what :meth:`related`
        answers for it alone, or its own error (an unknown word); and the method.

        A batch beyond the batch limits, a bad ``topn`` or ``effort``, or a model whose
        family does not answer context similarity fails as a whole. Words a
        neighbour index or tree search answers (see :meth:`related`) are answered so;
        the others are scored chunk by chunk, as in :meth:`most_similar_batch`, by the
        family's fast scores, and the candidates within the family's error margin are
        rescored by its exact pair scores (those of :meth:`context_similarity`).
        """
        self.check_topn(topn)
        self.family.require("context_similarity")
        self._check_batch(len(words), words, topn)
        scoring = ContextScore.of(score, prior_weight)
        with blas_on_every_core():
            return self._related_many(words, topn, scoring, exact, effort)

    def _related_candidates(
        self, rows_a: list[int], topn: int, scoring: ContextScore, effort: int | None
    ) -> list[Neighbours | None]:
        """:meth:`related`'s answer for each word row from the ``related`` index (one
        search for them all) or a tree search, None for those to scan."""
        family = self.family
        queries = np.asarray(rows_a, dtype=np.int64)

        def rescore(which: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return family.pair_scores(queries[which], rows, scoring)

        vocab = len(self.words)
        if "related" in self.neighbour_indexes:
            related = [family.related_query(row, scoring) for row in rows_a]
            dim = self.neighbour_indexes["related"].dim
            return self._index_neighbours(
                "related",
                np.asarray(related, dtype=np.float32).reshape(len(rows_a), dim),
                topn,
                vocab,
                [[row] for row in rows_a],
                effort,
                rescore,
            )
        answers: list[Neighbours | None] = []
        for i, row in enumerate(rows_a):
            skipped = self._skipped([row], vocab)
            candidates = (
                None
                if vocab < EXACT_BELOW
                else family.related_words(
                    row, scoring, topn + len(skipped), effort or DEFAULT_EFFORT
                )
            )
            if candidates is None:
                answers.append(None)
                continue

            def rescore_one(which: np.ndarray, rows: np.ndarray, i=i) -> np.ndarray:
                return rescore(np.full(len(rows), i), rows)

            (answer,) = self._candidate_neighbours(
                "tree", candidates[None, :], topn, vocab, [skipped], rescore_one
            )
            answers.append(answer)
        return answers

    def _related_many(
        self,
        words: Sequence[str],
        topn: int,
        scoring: ContextScore,
        exact: bool = False,
        effort: int | None = None,
    ) -> tuple[list[Answer], str]:
        self.check_topn(topn)
        family = self.family
        family.require("context_similarity")
        self._check_effort(effort)
        answers: list[Answer] = [Neighbours([], "exact") for _ in words]
        found: list[int] = []
        positions: list[int] = []
        for position, word in enumerate(words):
            try:
                found.append(self.id(word))
                positions.append(position)
            except QueryError as error:
                answers[position] = error
        if not exact:
            candidates = self._related_candidates(found, topn, scoring, effort)
            for position, hit in zip(positions, candidates, strict=True):
                if hit is not None:
                    answers[position] = hit
            scan = [i for i, hit in enumerate(candidates) if hit is None]
            found, positions = [found[i] for i in scan], [positions[i] for i in scan]
        rows = np.asarray(found, dtype=np.int64)
        cell_bytes = family.context_bytes + _RANKING_BYTES
        for chunk in query_chunks(len(rows), len(self.words), cell_bytes):
            some = rows[chunk]

            def exact_scores(which: np.ndarray, targets: np.ndarray, some=some) -> np.ndarray:
                return family.pair_scores(some[which], targets, scoring)

            scores = family.context_scores(some, scoring)
            margin = family.context_margin(some, scoring)
            ranked = self._ranked(scores, topn, some[:, None].tolist(), margin, exact_scores)
            for position, answer in zip(positions[chunk], ranked, strict=True):
                answers[position] = Neighbours(answer, "exact")
        return answers, family.context_method(scoring)

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
        located = None
        if isinstance(text, str) and settings.explain:
            spans = self.token_spans(text)
            tokens = list(map(itemgetter(0), spans))
            found = self._rows(tokens, normalized=True)
            rows, unknown = self._split(tokens, found)
            places = list(map(itemgetter(1, 2), spans))
            located = Located(np.array(found, dtype=np.int64), places, tokens)
        elif isinstance(text, str):
            tokens = self.tokenize(text)
            rows, unknown = self.known(tokens, normalized=True)
        else:
            tokens = list(text)
            rows, unknown = self.known(tokens)
            if settings.explain:  # a token list: spans are token positions
                forms = self.tokenizer.normalize_all(tokens)
                rows_of = np.array(self._rows(forms, normalized=True), dtype=np.int64)
                places = list(zip(range(len(tokens)), range(1, len(tokens) + 1), strict=True))
                located = Located(rows_of, places, forms)
        return self._keywords.extract(
            method,
            rows,
            unknown,
            len(tokens),
            settings,
            self.limits.max_keyword_products,
            budget,
            located,
        )

    # ------------------------------------------------------ inferred vectors

    def infer(
        self,
        contexts: Sequence[str],
        word: str | None = None,
        topn: int = 10,
        leave_out: bool = False,
        exact: bool = False,
        effort: int | None = None,
    ) -> Inferred:
        """A vector for ``word`` (usually outside the vocabulary) from texts it occurs
        in (see :mod:`wordlens.app.infer` for the forms: ``[word]`` marks, or
        ``word``), fitted by the model's family with all it learnt held fixed, and its
        ``topn`` nearest words by cosine (:meth:`similar_by_vector`; ``exact``,
        ``effort`` as there). ``leave_out``: a known word's own row takes no part in
        the fit (leave-one-out evaluation; it stays among the neighbours).

        InvalidQueryError for a context without the word or with no vocabulary word
        within the window; LimitExceededError beyond ``max_infer_contexts``, or
        ``max_text_chars`` characters or ``max_tokens`` tokens in all;
        UnsupportedQueryError for a family that cannot infer (imported vectors)."""
        self.family.require("infer")
        self.check_topn(topn)
        self._check_effort(effort)
        limits = self.limits
        check_contexts(contexts, limits.max_infer_contexts, limits.max_text_chars)
        token_lists, target, tokens = [], None, 0
        for position, text in enumerate(contexts):
            try:
                found, name = occurrences(text, word, self.tokenize, self.normalize)
            except InvalidQueryError as error:
                raise InvalidQueryError(f"context {position}: {error.message}") from None
            if target is not None and name != target:
                raise InvalidQueryError(
                    f"context {position} marks {name!r}, context 0 {target!r}: "
                    "one unknown word per query"
                )
            target, tokens = name, tokens + len(found)
            if tokens > limits.max_tokens:
                raise LimitExceededError(
                    f"contexts of more than {limits.max_tokens:,} tokens in all; the limit "
                    f"is {limits.max_tokens:,}",
                    limit=limits.max_tokens,
                )
            token_lists.append(found)
        assert target is not None  # at least one context
        row = int(self.words.lookup([target])[0])
        exclude = row if leave_out and row >= 0 else None
        found_evidence = evidence(
            token_lists, self.words.lookup, self.family.infer_window(), exclude
        )
        if not len(found_evidence.rows):
            raise InvalidQueryError(
                f"no word of the vocabulary within the window around {target!r}",
                unknown=found_evidence.unknown,
            )
        fit = self.family.infer(found_evidence, limits.max_infer_iterations, exclude)
        length = float(np.linalg.norm(fit.vector))
        if not np.isfinite(length) or length == 0:  # e.g. PMI: no context above the shift
            raise InvalidQueryError(
                f"the contexts give {target!r} no direction: its vector is zero",
                unknown=found_evidence.unknown,
            )
        return Inferred(
            word=target,
            vector=fit.vector.astype(np.float32),
            similar=self._by_cosine(
                fit.vector / length,
                topn,
                len(self.words),
                exact,
                effort,
                frequency_prior=FREQUENCY_PRIOR,
            ),
            confidence=fit.confidence,
            method=self.family.infer_method,
            occurrences=found_evidence.occurrences,
            context_words=len(found_evidence.rows),
            unknown=found_evidence.unknown,
            iterations=fit.iterations,
            known=row >= 0,
            left_out=exclude is not None,
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
    verify : check the files' SHA-256 when loading: True (once; then a model's
        stamp vouches for files that did not change), ``"full"`` (always) or False
        (see :func:`wordlens.artifacts.load_model`).
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
        verify: Verify = True,
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
