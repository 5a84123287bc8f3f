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
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from wordlens.app.errors import InvalidQueryError, LimitExceededError
from wordlens.app.families import Family
from wordlens.corpus import Tokenizer
from wordlens.corpus.stopwords import default_stopwords
from wordlens.vocabulary import Vocabulary

__all__ = [
    "KeywordExtractor",
    "KeywordOptions",
    "KeywordResult",
    "WorkBudget",
    "default_stopwords",
]


@dataclass(frozen=True)
class KeywordOptions:
    """How many keywords (``topn``), which words may be keywords, which score."""

    topn: int = 10
    exclude_stopwords: bool = True
    stopwords: tuple[str, ...] = ()
    min_length: int = 1
    min_count: int = 1
    variant: str = "default"

    def __post_init__(self):
        if self.min_length < 1 or self.min_count < 1:
            raise InvalidQueryError("min_length and min_count must be at least 1")


@dataclass
class KeywordResult:
    """The keywords of one text, best first, with the ``method`` that scored them, the
    number of ``tokens`` in the text, its distinct ``unknown`` tokens, and the
    ``reason`` the list is empty when it is."""

    method: str
    keywords: list[tuple[str, float]]
    tokens: int
    unknown: list[str] = field(default_factory=list)
    reason: str | None = None


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
    ) -> KeywordResult:
        """The ``options.topn`` keywords of a text given as the rows of its known tokens
        (repeats kept), its distinct unknown tokens and its number of tokens, scored by
        ``method`` (the family's ``keyword_method(options.variant)``); refused with
        LimitExceededError, before the work, if the scores take more than
        ``max_products`` products of vectors, or than ``budget`` has left."""
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
        products = self.family.keyword_products(distinct, candidates)
        if products > max_products:
            raise LimitExceededError(
                f"the keyword scores of this text take {products:,} products of vectors "
                f"({len(candidates):,} candidate words); the limit is {max_products:,}",
                limit=max_products,
            )
        if budget is not None:
            budget.spend(products)
        scores = self.family.keyword_scores(distinct, multiplicity, candidates, options.variant)
        best = sorted(zip((-scores).tolist(), candidates.tolist(), strict=True))[: options.topn]
        result.keywords = [
            (self.words[row], -negative) for negative, row in best
        ]  # ties: lower row
        return result
