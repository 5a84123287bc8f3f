"""Keyword extraction: the words of a text that best predict the whole text.

Su Jianlin defines the keywords of a sentence s as argmax_{w ∈ s} p(s | w). Per
model family (every token u of s counts, repeats included):

- Word2Vec with hierarchical softmax (``hs``): score(w) = Σ_{u∈s} log p(u | w), from
  the stored Huffman paths, computed for all candidates at once.
- Word2Vec with negative sampling only (``ns``): score(w) = v_w · Σ_{u∈s} c_u.
- PMI vectors (``pmi``): score(w) = ⟨Σ_{u∈s} v_u, v_w⟩, the summed PMI estimate;
  ``variant="cosine"`` (``pmi_cosine``) ranks by cos(Σ_{u∈s} v_u, v_w) instead.

Candidates are the distinct known words of the text, optionally without stop-words
(a default list per language in ``app/stopwords/``, extensible per request), words
shorter than ``min_length`` characters, or words seen fewer than ``min_count`` times.
Unknown tokens are reported, never fatal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from wordlens.app.engine import WordModel
from wordlens.app.errors import InvalidQueryError

__all__ = ["KeywordOptions", "KeywordResult", "extract_keywords", "default_stopwords"]

STOPWORD_DIR = Path(__file__).resolve().parent / "stopwords"
_STOPWORD_FILES = {
    "english": ("english",),
    "whitespace": ("english",),
    "jieba": ("chinese", "english"),
}


@cache
def _stopword_file(language: str) -> frozenset[str]:
    lines = (STOPWORD_DIR / f"{language}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def default_stopwords(tokenizer_name: str) -> frozenset[str]:
    """The default stop-words for a model's tokenizer (English, or Chinese + English)."""
    return frozenset().union(
        *(
            _stopword_file(language)
            for language in _STOPWORD_FILES.get(tokenizer_name, ("english",))
        )
    )


@dataclass(frozen=True)
class KeywordOptions:
    topk: int = 10
    exclude_stopwords: bool = True
    stopwords: tuple[str, ...] = ()
    min_length: int = 1
    min_count: int = 1
    variant: str = "default"

    def __post_init__(self):
        if self.variant not in ("default", "cosine"):
            raise InvalidQueryError(f"unknown variant {self.variant!r}; use default or cosine")
        if self.min_length < 1 or self.min_count < 1:
            raise InvalidQueryError("min_length and min_count must be at least 1")


@dataclass
class KeywordResult:
    method: str
    keywords: list[tuple[str, float]]
    tokens: int
    unknown: list[str] = field(default_factory=list)
    reason: str | None = None


def _method(model: WordModel, variant: str) -> str:
    model.require_context()
    if model.kind == "pmi":
        return "pmi_cosine" if variant == "cosine" else "pmi"
    if variant == "cosine":
        raise InvalidQueryError("the cosine variant applies to PMI models only")
    return "hs" if "hs" in model.output_layers else "ns"


@lru_cache(maxsize=32)
def _word_filters(model: WordModel) -> tuple[np.ndarray, np.ndarray]:
    """Per model: which rows are default stop-words, and each word's length (V,)."""
    stopwords = default_stopwords(model.tokenizer.name)
    is_stopword = np.fromiter(
        (w in stopwords for w in model.words), dtype=bool, count=len(model.words)
    )
    lengths = np.fromiter(map(len, model.words), dtype=np.int64, count=len(model.words))
    return is_stopword, lengths


def _candidates(model: WordModel, distinct: np.ndarray, options: KeywordOptions) -> np.ndarray:
    """The distinct token rows that may be keywords under ``options``."""
    is_stopword, lengths = _word_filters(model)
    keep = np.ones(len(distinct), dtype=bool)
    if options.min_length > 1:
        keep &= lengths[distinct] >= options.min_length
    if options.min_count > 1:
        keep &= model.counts[distinct] >= options.min_count
    if options.exclude_stopwords:
        keep &= ~is_stopword[distinct]
    if options.stopwords:
        index = model.index
        extra = [index.get(word, -1) for word in model.tokenizer.normalize_all(options.stopwords)]
        keep &= ~np.isin(distinct, extra)
    return distinct[keep]


def score_candidates(
    model: WordModel,
    tokens: np.ndarray,
    multiplicity: np.ndarray,
    candidates: np.ndarray,
    method: str,
) -> np.ndarray:
    """Scores (len(candidates),) float64 of candidate rows for a text made of the
    distinct token rows ``tokens``, each occurring ``multiplicity`` times."""
    weights = np.asarray(multiplicity, dtype=np.float64)
    if method == "hs":
        return model.paths.log_prob_sum(model.vectors[candidates], tokens, weights)
    if method == "ns":
        context = weights @ model.arrays["syn1neg"][tokens]
        return model.vectors[candidates] @ context
    total = weights @ model.vectors[tokens]  # Σ v_u over every token, repeats included
    scores = model.vectors[candidates] @ total
    if method == "pmi_cosine":
        length = np.linalg.norm(total) * model.norms[candidates].astype(np.float64)
        scores = np.divide(scores, length, out=np.zeros_like(scores), where=length > 0)
    return scores


def extract_keywords(
    model: WordModel,
    tokens: Sequence[str],
    options: KeywordOptions = KeywordOptions(),
    normalized: bool = False,
) -> KeywordResult:
    """The ``options.topk`` keywords of a tokenised text, best first, with scores.

    ``normalized=True``: the tokens come from the model's own tokenizer.
    """
    model.check_topn(options.topk)
    method = _method(model, options.variant)
    rows, unknown = model.known(tokens, normalized)
    result = KeywordResult(method=method, keywords=[], tokens=len(tokens), unknown=unknown)
    if not tokens:
        result.reason = "the text has no tokens"
        return result
    if not rows:
        result.reason = "no word of the text is in the model's vocabulary"
        return result
    counts = Counter(rows)  # in C: much cheaper than np.unique on a short text
    distinct = np.fromiter(counts, dtype=np.int64, count=len(counts))
    multiplicity = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    candidates = _candidates(model, distinct, options)
    if len(candidates) == 0:
        result.reason = "every known word was filtered out (stop-words, min_length, min_count)"
        return result
    scores = score_candidates(model, distinct, multiplicity, candidates, method)
    best = sorted(zip((-scores).tolist(), candidates.tolist()))[: options.topk]
    result.keywords = [(model.words[row], -negative) for negative, row in best]  # ties: lower row
    return result
