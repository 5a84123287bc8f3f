"""Stage: learn phrases, adjacent word pairs that are single ideas ("new york").

The symmetric window counts (:mod:`training.counts`) do not keep the order of a
pair, so this stage counts adjacent *ordered* pairs itself, from the corpus encoded
once as token ids (:func:`training.encode.encode_corpus`), vectorised: each chunk's
pairs become int64 keys left·T + right, counted with ``np.unique`` and summed over
chunks. A pair is scored by normalised PMI, as gensim's ``Phrases`` does with
``scoring="npmi"``::

    npmi(a, b) = log(p(ab) / (p(a) p(b))) / −log p(ab),   p(x) = count(x) / N

(N the tokens of the corpus) and joined when seen ``min_count`` times or more with
npmi above ``threshold``. Each further pass counts again on the joined tokens, so
"new york" + "city" can join in pass 2 (phrases of up to 2^passes words).

Pairs never cross a document (a line of the corpus), nor punctuation the tokenizer
drops (a full stop inside a line: "… in york. new plans …" counts no "york new"):
phrases are counted within the runs :func:`wordlens.corpus.phrases.segments` cuts,
where the tokenizer that joins them (:class:`~wordlens.corpus.phrases.PhraseTokenizer`)
never joins across either. Stop-words (the function words
keyword extraction leaves out, :func:`wordlens.corpus.stopwords.default_stopwords`:
"of", "the", "is", "been", "who", …) never start or end a pair. With gensim's 15
connector words instead, the most frequent phrases of the default corpus were "it
is", "has been", "will be", "we have": frequent enough to score highly without being
ideas, and joining them takes the commonest contexts away from every other word;
with the stop-words they are "united states", "fiscal year", "north america", "new
york". (gensim's longer ``STOPWORDS`` list holds "interest", "system", "fire",
"first": it would never learn "interest rates".) Phrases through a stop-word ("bank
of america", which gensim's ``connector_words`` mode learns) are not learned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wordlens.corpus import Corpus, ReadStats, Tokenizer, iter_documents
from wordlens.corpus.phrases import Phrase, PhraseTable, PhraseTokenizer, join_pairs, segments
from wordlens.corpus.stopwords import default_stopwords
from wordlens.training.encode import EncodedCorpus, encode_corpus

log = logging.getLogger(__name__)

__all__ = [
    "PhraseParams",
    "learn_corpus_phrases",
    "learn_phrases",
    "phrase_corpus",
    "stored_tokenizer",
]


@dataclass(frozen=True)
class PhraseParams:
    """How phrases are learned: a pair joins when seen ``min_count`` times or more
    with normalised PMI above ``threshold`` (in (−1, 1)); ``passes`` rounds of
    joining. Defaults measured on the default corpus (README, Phrases)."""

    threshold: float = 0.5
    min_count: int = 10
    passes: int = 2

    def __post_init__(self) -> None:
        if not -1 < self.threshold < 1:
            raise ValueError(f"phrase threshold must be in (-1, 1), got {self.threshold}")
        if self.min_count < 1 or self.passes < 1:
            raise ValueError(
                f"phrase min_count and passes must be at least 1, got "
                f"{self.min_count} and {self.passes}"
            )


def learn_corpus_phrases(corpus: Corpus, params: PhraseParams, scratch: Path) -> PhraseTable:
    """Encode ``corpus`` (its tokenizer: the base one) into ``scratch``, each run of
    tokens no phrase may cross a document, and learn its phrases."""
    started = time.perf_counter()
    encoded = encode_corpus(_runs(corpus), scratch)
    encoded_seconds = time.perf_counter() - started
    table = learn_phrases(encoded, params, default_stopwords(corpus.tokenizer.name))
    log.info(
        "phrases: %s pairs in %d pass(es), %.1f s (%.1f s reading the corpus)",
        f"{len(table):,}",
        table.passes,
        time.perf_counter() - started,
        encoded_seconds,
    )
    return table


def _runs(corpus: Corpus) -> Iterator[list[str]]:
    """The tokens of every document of ``corpus``, cut where no phrase may join."""
    for text in iter_documents(corpus.path, corpus.text_field, ReadStats()):
        yield from segments(corpus.tokenizer, text)


def phrase_corpus(corpus: Corpus, params: PhraseParams, scratch: Path) -> Corpus:
    """``corpus`` read with its tokenizer joining the phrases learned from it."""
    table = learn_corpus_phrases(corpus, params, scratch)
    return Corpus(corpus.path, PhraseTokenizer(corpus.tokenizer, table), corpus.text_field)


def stored_tokenizer(tokenizer: Tokenizer) -> tuple[dict[str, Any], str | None]:
    """What a model stores of its tokenizer: the manifest's spec, and the text of its
    phrase table (``phrases`` of :func:`wordlens.artifacts.write_model`) if it joins
    phrases, the spec then naming the table by digest."""
    if isinstance(tokenizer, PhraseTokenizer):
        return tokenizer.reference, tokenizer.table.to_text()
    return tokenizer.spec, None


def learn_phrases(
    encoded: EncodedCorpus, params: PhraseParams, connectors: Iterable[str] = ()
) -> PhraseTable:
    """The phrase table of an encoded corpus (see the module's description).

    Token ids grow by pass: the corpus's types, then each pass's phrases; a pass's
    joins are sorted keys left·size + right with the id each pair becomes.
    """
    tokens = list(encoded.types)
    stops = set(connectors)
    connector = np.fromiter((t in stops for t in tokens), dtype=bool, count=len(tokens))
    joins: list[tuple[np.ndarray, np.ndarray, int]] = []
    phrases: list[Phrase] = []
    for step in range(1, params.passes + 1):
        size = len(tokens)
        unigrams, keys, counts = _count(encoded, joins, connector, size)
        total = unigrams.sum()
        frequent = counts >= params.min_count
        keys, counts = keys[frequent], counts[frequent]
        left, right = keys // size, keys % size
        joint = counts / total
        scores = np.log(joint * total * total / (unigrams[left] * unigrams[right])) / -np.log(joint)
        chosen = np.flatnonzero(scores > params.threshold)  # keys are sorted: so are these
        if not len(chosen):
            break
        joined = np.arange(size, size + len(chosen), dtype=np.int64)
        joins.append((keys[chosen], joined, size))
        for a, b, count, score in zip(
            left[chosen].tolist(),
            right[chosen].tolist(),
            counts[chosen].tolist(),
            scores[chosen].tolist(),
            strict=True,
        ):
            phrases.append(Phrase(step, tokens[a], tokens[b], count, score))
            tokens.append(f"{tokens[a]} {tokens[b]}")
        connector = np.concatenate((connector, np.zeros(len(chosen), dtype=bool)))
    return PhraseTable(phrases)


def _count(
    encoded: EncodedCorpus,
    joins: list[tuple[np.ndarray, np.ndarray, int]],
    connector: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts after the ``joins`` so far: every token's (int64 (size,)), and the
    adjacent pairs' within documents, neither token a connector (sorted int64 keys
    left·size + right, int64 counts)."""
    unigrams = np.zeros(size, dtype=np.int64)
    keys = np.zeros(0, dtype=np.int64)
    counts = np.zeros(0, dtype=np.int64)
    for chunk, lengths in encoded.iter_id_chunks():
        ids = chunk.astype(np.int64)
        breaks = np.zeros(len(ids), dtype=bool)
        breaks[np.cumsum(lengths[:-1], dtype=np.int64)] = True
        starts = np.arange(len(ids), dtype=np.int64)
        for pass_keys, joined, pass_size in joins:
            ids, starts, breaks = join_pairs(ids, starts, breaks, pass_keys, joined, pass_size)
        unigrams += np.bincount(ids, minlength=size)
        left, right = ids[:-1], ids[1:]
        inside = ~breaks[1:] & ~connector[left] & ~connector[right]
        chunk_keys, chunk_counts = np.unique(
            left[inside] * size + right[inside], return_counts=True
        )
        keys, where = np.unique(np.concatenate((keys, chunk_keys)), return_inverse=True)
        counts = np.bincount(
            where, weights=np.concatenate((counts, chunk_counts)), minlength=len(keys)
        ).astype(np.int64)
    return unigrams, keys, counts
