"""Keyword extraction: the words of a text that best predict the whole text.

Su Jianlin defines the keywords of a sentence s as argmax_{w ∈ s} p(s | w). How
p(s | w) is scored depends on the model's family (:mod:`wordlens.app.families`):
Σ_{u∈s} log p(u | w) through the Huffman tree (``hs``), v_w · Σ_{u∈s} c_u (``ns``),
or ⟨Σ_{u∈s} v_u, v_w⟩, the summed PMI estimate (``pmi``; its ``cosine`` variant,
``pmi_cosine``, ranks by cos(Σ_{u∈s} v_u, v_w) instead). Every token u of s counts,
repeats included.

Candidates are the distinct known words of the text, optionally without stop-words
(a default list per language in ``corpus/stopwords/``, extensible per request), words
shorter than ``min_length`` characters, or words seen fewer than ``min_count`` times.
Unknown tokens are reported, never fatal.

Reported scores are per token: the family's sum over the text's tokens divided by
their number (known tokens, repeats included), so that for ``hs`` a score is the mean
log p(u | w) over the text's tokens, for ``pmi`` the mean PMI estimate ⟨v_u, v_w⟩,
for ``ns`` the mean v_w·c_u; ``pmi_cosine`` is a cosine, reported as it is. Dividing by
one number per text leaves the ranking within a text unchanged.

``diversity`` (0–1) re-ranks by maximal marginal relevance with λ = 1 − diversity:
the next keyword maximises λ·relevance − (1 − λ)·(its largest cosine similarity to the
keywords already picked), relevance being the score scaled to [0, 1] over the text's
candidates (best 1, worst 0), so that a diversity means the same for every family.
``explain`` adds to each keyword the text tokens that contributed most to its score
and where the keyword occurs in the text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from wordlens.app.blocks import row_blocks
from wordlens.app.errors import InvalidQueryError, LimitExceededError
from wordlens.app.families import Family
from wordlens.corpus import Tokenizer
from wordlens.corpus.stopwords import default_stopwords
from wordlens.vocabulary import Vocabulary

__all__ = [
    "EXPLAINED_TOKENS",
    "Explanation",
    "KeywordExtractor",
    "KeywordOptions",
    "KeywordResult",
    "Located",
    "WorkBudget",
    "default_stopwords",
]


#: How many contributing tokens an explanation lists (the rest are summed up).
EXPLAINED_TOKENS = 10

#: Distinct tokens from which an explanation partitions each keyword's terms before
#: sorting the best: below, one full sort of each row is quicker (10 keywords: about
#: even at 100 to 200 tokens, the partition 5× quicker at 2,000).
_PARTITION_FROM = 128


@dataclass(frozen=True)
class KeywordOptions:
    """How many keywords (``topn``), which words may be keywords, which score, how
    diverse (0–1), and whether to explain each keyword."""

    topn: int = 10
    exclude_stopwords: bool = True
    stopwords: tuple[str, ...] = ()
    min_length: int = 1
    min_count: int = 1
    variant: str = "default"
    diversity: float = 0.0
    explain: bool = False

    def __post_init__(self):
        if self.min_length < 1 or self.min_count < 1:
            raise InvalidQueryError("min_length and min_count must be at least 1")
        if not 0.0 <= self.diversity <= 1.0:
            raise InvalidQueryError(f"diversity must be between 0 and 1, got {self.diversity}")


@dataclass(frozen=True)
class Located:
    """Where the tokens of a text are: the ``rows`` of all its tokens, int64 (n,), −1
    for unknown ones, their ``places`` (start, end) (n, as the tokenizer gives them:
    an explanation's spans are some of them), and the ``tokens`` themselves,
    normalised (n,)."""

    rows: np.ndarray
    places: list[tuple[int, int]]
    tokens: list[str]


@dataclass
class Explanation:
    """Why a keyword scored as it did: the ``contributions`` of the text tokens that
    added most to its score (token, share of the score; largest first, at most
    EXPLAINED_TOKENS), ``other``: the rest together (contributions + other = the
    score), and ``spans``: [start, end) of each occurrence of the keyword in the text
    (characters of the text as given; token positions for a token list)."""

    contributions: list[tuple[str, float]]
    other: float
    spans: list[tuple[int, int]]


@dataclass
class KeywordResult:
    """The keywords of one text, best first, with the ``method`` that scored them, the
    number of ``tokens`` in the text, its distinct ``unknown`` tokens, the
    ``reason`` the list is empty when it is, and with ``explain`` one Explanation per
    keyword, in the same order."""

    method: str
    keywords: list[tuple[str, float]]
    tokens: int
    unknown: list[str] = field(default_factory=list)
    reason: str | None = None
    explanations: list[Explanation] | None = None


class WorkBudget:
    """Products of vectors that the keyword scores of several texts (a batch) may take
    in all. Each text spends what it takes; a text that would overspend is refused
    with LimitExceededError before its work and spends nothing."""

    def __init__(self, products: int):
        self.limit = products
        self.left = products

    def spend(self, products: int) -> None:
        if products > self.left:
            raise LimitExceededError(
                f"the keyword scores of these texts take more than {self.limit:,} products "
                f"of vectors in all; the limit is {self.limit:,}",
                limit=self.limit,
            )
        self.left -= products


class KeywordExtractor:
    """Keywords for one model: its words and counts filter the candidates, its family
    scores them.

    ``words``: the model's vocabulary; ``counts`` int (V,) in row order;
    ``tokenizer`` normalises extra stop-words as query words are. Nothing here is of
    the vocabulary's size: filters look at the text's rows only.
    """

    def __init__(
        self,
        words: Vocabulary,
        counts: np.ndarray | None,
        tokenizer: Tokenizer,
        family: Family,
    ):
        self.words = words
        self.counts = counts
        self.tokenizer = tokenizer
        self.family = family

    @cached_property
    def _stopword_rows(self) -> np.ndarray:
        """int64: the rows of the default stop-words of the model's language."""
        rows = self.words.lookup(sorted(default_stopwords(self.tokenizer.name)))
        return rows[rows >= 0]

    def candidates(self, distinct: np.ndarray, options: KeywordOptions) -> np.ndarray:
        """The distinct token rows that may be keywords under ``options``."""
        keep = np.ones(len(distinct), dtype=bool)
        if options.min_length > 1:
            keep &= self.words.char_lengths(distinct) >= options.min_length
        if options.min_count > 1 and self.counts is not None:
            keep &= self.counts[distinct] >= options.min_count
        if options.exclude_stopwords:
            keep &= ~np.isin(distinct, self._stopword_rows)
        if options.stopwords:
            extra = self.words.lookup(self.tokenizer.normalize_all(options.stopwords))
            keep &= ~np.isin(distinct, extra)
        return distinct[keep]

    def extract(
        self,
        method: str,
        rows: list[int],
        unknown: list[str],
        tokens: int,
        options: KeywordOptions,
        max_products: int,
        budget: WorkBudget | None = None,
        located: Located | None = None,
    ) -> KeywordResult:
        """The ``options.topn`` keywords of a text given as the rows of its known tokens
        (repeats kept), its distinct unknown tokens and its number of tokens, scored by
        ``method`` (the family's ``keyword_method(options.variant)``); refused with
        LimitExceededError, before the work, if the scores (with diversity and
        explanations) take more than ``max_products`` products of vectors, or than
        ``budget`` has left. ``located``, for ``options.explain``: where the tokens
        of the text are."""
        result = KeywordResult(method=method, keywords=[], tokens=tokens, unknown=unknown)
        if not tokens:
            result.reason = "the text has no tokens"
            return result
        if not rows:
            result.reason = "no word of the text is in the model's vocabulary"
            return result
        counts = Counter(rows)  # in C: much cheaper than np.unique on a short text
        distinct = np.fromiter(counts, dtype=np.int64, count=len(counts))
        multiplicity = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        candidates = self.candidates(distinct, options)
        if len(candidates) == 0:
            result.reason = "every known word was filtered out (stop-words, min_length, min_count)"
            return result
        picked = min(options.topn, len(candidates))
        products = self.family.keyword_products(distinct, candidates)
        if options.diversity > 0:
            products += picked * len(candidates)  # one cosine per candidate per pick
        if options.explain:
            products += self.family.contribution_products(distinct, candidates[:picked])
        if products > max_products:
            raise LimitExceededError(
                f"the keyword scores of this text take {products:,} products of vectors "
                f"({len(candidates):,} candidate words); the limit is {max_products:,}",
                limit=max_products,
            )
        if budget is not None:
            budget.spend(products)
        scoring = self.family.keyword_scoring(distinct, multiplicity, candidates, options.variant)
        scale = 1 / len(rows) if self.family.keyword_per_token(options.variant) else 1.0
        scores = scoring.scores * scale
        order = np.lexsort((candidates, -scores))  # best first; ties: lower row
        if options.diversity > 0:
            vectors = scoring.vectors[order]
            chosen = order[self._diverse(vectors, scores[order], picked, options.diversity)]
        else:
            chosen = order[:picked]
        keywords = candidates[chosen]
        result.keywords = [
            (self.words[row], score)
            for row, score in zip(keywords.tolist(), scores[chosen].tolist(), strict=True)
        ]
        if options.explain:
            terms = scoring.terms(chosen)
            terms *= scale
            result.explanations = self._explain(distinct, terms, keywords, located)
        return result

    @staticmethod
    def _diverse(
        vectors: np.ndarray, scores: np.ndarray, count: int, diversity: float
    ) -> np.ndarray:
        """Positions in the candidates ranked best score first (their ``vectors``
        (C, d) and ``scores`` (C,)) of ``count`` keywords picked by maximal marginal
        relevance, λ = 1 − ``diversity``: the relevance is the score scaled to [0, 1]
        over the candidates, the redundancy the largest cosine similarity to a keyword
        already picked."""
        spread = scores[0] - scores[-1]
        relevance = (scores - scores[-1]) / spread if spread > 0 else np.ones_like(scores)
        vectors = np.asarray(vectors, dtype=np.float64)
        # np.linalg.norm's own sum, without its wrapper's cost on a short text
        lengths = np.sqrt((vectors * vectors).sum(axis=1, keepdims=True))
        unit = vectors / np.where(lengths > 0, lengths, 1.0)  # a zero row stays zero
        # candidates × candidates once: row p, each candidate's value were p picked
        # (gain − its penalty; −∞ for p itself); each pick then costs two (C,)
        # operations
        after = (1 - diversity) * relevance - diversity * (unit @ unit.T)
        np.fill_diagonal(after, -np.inf)
        value = after[0].copy()  # gain − the largest penalty of a picked keyword
        picked = [0]  # the most relevant first, whatever the diversity
        for _ in range(count - 1):
            picked.append(int(value.argmax()))  # ties: the better score
            np.minimum(value, after[picked[-1]], out=value)
        return np.array(picked, dtype=np.int64)

    def _explain(
        self,
        distinct: np.ndarray,
        terms: np.ndarray,
        keywords: np.ndarray,
        located: Located | None,
    ) -> list[Explanation]:
        """One Explanation per keyword from ``terms`` (keywords, distinct tokens): what
        each distinct token row adds to each keyword's reported score. A few array
        operations for all the keywords at once; per keyword, only its objects."""
        count, width = terms.shape
        shown = min(EXPLAINED_TOKENS, width)
        keyword = np.arange(count)[:, None]
        if width > _PARTITION_FROM:  # the best few of each row, then those sorted
            top = np.argpartition(-terms, shown - 1, axis=1)[:, :shown]
            top.sort(axis=1)  # ties, below: the earlier token first, as a stable sort
            top = top[keyword, np.argsort(-terms[keyword, top], axis=1, kind="stable")]
        else:
            top = np.argsort(-terms, axis=1, kind="stable")[:, :shown]
        listed = terms[keyword, top]
        if shown == width:  # every token listed: nothing else
            others = [0.0] * count
        else:
            others = (terms.sum(axis=1) - listed.sum(axis=1)).tolist()
        if located is None:
            names = list(map(self.words.__getitem__, distinct.tolist()))
        else:  # the text's own tokens name their rows (decoding the vocabulary costs more)
            name_of = dict(zip(located.rows.tolist(), located.tokens, strict=True))
            names = list(map(name_of.__getitem__, distinct.tolist()))
        shown_names = map(names.__getitem__, top.ravel().tolist())
        pairs = list(zip(shown_names, listed.ravel().tolist(), strict=True))
        spans = self._spans(keywords, located)
        return [
            Explanation(pairs[i * shown : (i + 1) * shown], others[i], spans[i])
            for i in range(count)
        ]

    @staticmethod
    def _spans(keywords: np.ndarray, located: Located | None) -> list[list[tuple[int, int]]]:
        """The offsets of each keyword's occurrences, in text order; none without
        ``located``. One comparison of every token with every keyword, a block of
        keywords at a time: its nonzero entries come by keyword, then position."""
        if located is None:
            return [[] for _ in range(len(keywords))]
        spans: list[list[tuple[int, int]]] = []
        for block in row_blocks(len(keywords), len(located.rows)):
            which, where = np.nonzero(keywords[block, None] == located.rows)
            offsets = list(map(located.places.__getitem__, where.tolist()))
            ends = np.cumsum(np.bincount(which, minlength=block.stop - block.start)).tolist()
            spans += [offsets[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
        return spans
