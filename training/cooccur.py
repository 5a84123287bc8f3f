"""Stage: count word co-occurrences X_ij in a symmetric window.

Rules (Su Jianlin's counts): out-of-vocabulary tokens are removed first, then every
pair of tokens at most ``window`` apart in the same document counts 1 (or 1/distance
with ``weighting="distance"``, as GloVe does); windows never cross documents; X is
symmetric (both (i, j) and (j, i) recorded) and its diagonal is dropped.

Memory stays bounded whatever the corpus size. The corpus comes as chunks of token
ids (:mod:`training.encode`, ``chunk_tokens`` tokens each); a compiled kernel adds
each chunk's pairs among the most frequent words into a dense block (their pairs are
most of the mass, GloVe's trick) and writes the other pairs out as keys, which are
summed into sparse partial sums; partial sums are merged whenever they outgrow the
budget. Memory is therefore the dense block + a chunk and its keys + the distinct
pairs seen, never the corpus; :func:`budget` splits a number of bytes between them.

:func:`count_encoded` counts an encoded corpus (:func:`training.pmi.train_pmi`
encodes once, for the vocabulary and the counts); :func:`count_cooccurrences`
encodes tokenised documents into a temporary directory first.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit

from wordlens.training.encode import EncodedCorpus, encode_corpus

log = logging.getLogger(__name__)

__all__ = ["CooccurrenceCounter", "budget", "count_cooccurrences", "count_encoded"]


@njit(cache=True, nogil=True)
def _count_chunk(ids, documents, window, by_distance, dense, size, vocabulary, keys, values):
    """Add the pairs (i → j, j after i) of one chunk; returns how many keys were written.

    ids, documents : int32 (n,) kept tokens and their document numbers.
    dense : float64 (size, size), pairs of the ``size`` most frequent words.
    keys, values : int64 / float64 (n · window,) out-buffers for the other pairs,
        key = i · vocabulary + j.
    """
    n = ids.shape[0]
    written = 0
    for t in range(n):
        i = ids[t]
        document = documents[t]
        stop = min(n, t + window + 1)
        for u in range(t + 1, stop):
            if documents[u] != document:
                break
            j = ids[u]
            if i == j:
                continue
            weight = 1.0 / (u - t) if by_distance else 1.0
            if i < size and j < size:
                dense[i, j] += weight
            else:
                keys[written] = i * vocabulary + j
                values[written] = weight
                written += 1
    return written


@njit(cache=True)
def _symmetrise(dense, tile=64):
    """dense ← dense + denseᵀ in place, tile by tile so both reads stay in cache."""
    size = dense.shape[0]
    for top in range(0, size, tile):
        for left in range(top, size, tile):
            for i in range(top, min(top + tile, size)):
                for j in range(max(left, i + 1), min(left + tile, size)):
                    total = dense[i, j] + dense[j, i]
                    dense[i, j] = total
                    dense[j, i] = total


@njit(cache=True)
def _assemble(dense, indptr, indices, data, vocabulary):
    """CSR arrays of the dense block (rows and columns < size) stacked with a sparse
    matrix holding only pairs outside it; both sorted, so each row of a dense word is
    its dense columns followed by its sparse columns (all ≥ size)."""
    size = dense.shape[0]
    lengths = np.diff(indptr)
    for i in range(size):
        for j in range(size):
            if dense[i, j] != 0:
                lengths[i] += 1
    out_indptr = np.zeros(vocabulary + 1, dtype=np.int64)
    out_indptr[1:] = np.cumsum(lengths)
    out_indices = np.empty(out_indptr[-1], dtype=np.int32)
    out_data = np.empty(out_indptr[-1], dtype=np.float64)
    for i in range(vocabulary):
        at = out_indptr[i]
        if i < size:
            for j in range(size):
                if dense[i, j] != 0:
                    out_indices[at] = j
                    out_data[at] = dense[i, j]
                    at += 1
        for k in range(indptr[i], indptr[i + 1]):
            out_indices[at] = indices[k]
            out_data[at] = data[k]
            at += 1
    return out_indptr, out_indices, out_data


@dataclass
class CooccurrenceCounter:
    """Accumulates X over chunks of encoded documents.

    Parameters
    ----------
    vocab_size : V, ids run from 0 (most frequent) to V − 1.
    window : maximal distance between two co-occurring tokens, in kept tokens.
    weighting : ``"constant"`` (each pair counts 1) or ``"distance"`` (1/distance).
    dense_words : the most frequent words whose pairs go to the dense block
        (float64, dense_words² · 8 bytes).
    max_partial_pairs : merge the sparse partial sums beyond this many stored pairs.
    """

    vocab_size: int
    window: int
    weighting: str
    dense_words: int = 4096
    max_partial_pairs: int = 20_000_000

    def __post_init__(self):
        if self.window < 1:
            raise ValueError(f"window must be at least 1, got {self.window}")
        if self.weighting not in ("constant", "distance"):
            raise ValueError(f"weighting must be constant or distance, got {self.weighting!r}")
        self.dense_words = min(self.dense_words, self.vocab_size)
        self.dense = np.zeros((self.dense_words, self.dense_words), dtype=np.float64)
        self.partials: list[sp.csr_matrix] = []
        self.stored_pairs = 0
        self.merges = 0
        self.tokens = 0

    def add(self, ids: np.ndarray, documents: np.ndarray) -> None:
        """Count one chunk: kept token ids (int32) and their document numbers (int32)."""
        if len(ids) < 2:
            return
        self.tokens += len(ids)
        keys = np.empty(len(ids) * self.window, dtype=np.int64)
        values = np.empty(len(ids) * self.window, dtype=np.float64)
        written = _count_chunk(
            ids,
            documents,
            self.window,
            self.weighting == "distance",
            self.dense,
            self.dense_words,
            self.vocab_size,
            keys,
            values,
        )
        if written:
            rows, columns = np.divmod(keys[:written], self.vocab_size)
            partial = sp.csr_matrix(
                (values[:written], (rows, columns)), shape=(self.vocab_size, self.vocab_size)
            )
            partial.sum_duplicates()
            self.partials.append(partial)
            self.stored_pairs += partial.nnz
        if self.stored_pairs > self.max_partial_pairs and len(self.partials) > 1:
            self._merge()

    def add_documents(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Count one chunk of documents: their token ids end to end, int32 (−1 for
        words outside the vocabulary, removed here, before windowing), and their
        lengths."""
        numbers = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
        kept = ids >= 0
        self.add(ids[kept], numbers[kept])

    def _merge(self) -> None:
        merged = self.partials[0]
        for partial in self.partials[1:]:
            merged = merged + partial
        self.partials = [merged]
        self.stored_pairs = merged.nnz
        self.merges += 1

    def result(self) -> sp.csr_matrix:
        """X as a symmetric CSR matrix, float64 (V, V), zero diagonal, sorted indices."""
        _symmetrise(self.dense)
        sparse = sp.csr_matrix((self.vocab_size, self.vocab_size))
        if self.partials:
            self._merge()
            sparse = (self.partials[0] + self.partials[0].T).tocsr()
            sparse.sort_indices()
        indptr, indices, data = _assemble(
            self.dense, sparse.indptr, sparse.indices, sparse.data, self.vocab_size
        )
        return sp.csr_matrix((data, indices, indptr), shape=(self.vocab_size, self.vocab_size))


def budget(memory_bytes: int, window: int) -> dict:
    """Counting settings that keep the working memory near ``memory_bytes``: a
    quarter for the dense block (float64), a quarter for the chunks (per token: the
    worst case of ``window`` keys and values, 16 bytes each, plus about 64 bytes of
    ids and sparse temporaries), half for the sparse partial sums (a stored pair
    takes 12 bytes, twice that while two are merged)."""
    quarter = memory_bytes / 4
    return {
        "dense_words": int((quarter / 8) ** 0.5),
        "chunk_tokens": max(1000, int(quarter / 2 / (16 * window + 64))),
        "max_partial_pairs": int(2 * quarter / 24),
    }


def count_cooccurrences(
    documents: Iterable[list[str]],
    index: dict[str, int],
    window: int,
    weighting: str,
    chunk_tokens: int = 1_000_000,
    dense_words: int = 4096,
    max_partial_pairs: int = 20_000_000,
    progress=None,
) -> sp.csr_matrix:
    """Co-occurrence matrix X (V, V) of tokenised documents over vocabulary ``index``:
    :func:`training.encode.encode_corpus` into a temporary directory, then
    :func:`count_encoded`. ``progress`` (optional) is called with the number of
    documents of each chunk counted."""
    with tempfile.TemporaryDirectory(prefix=".wordlens-cooccur-") as scratch:
        encoded = encode_corpus(documents, scratch, chunk_tokens)
        return count_encoded(
            encoded, index, window, weighting, dense_words, max_partial_pairs, progress
        )


def count_encoded(
    encoded: EncodedCorpus,
    index: dict[str, int],
    window: int,
    weighting: str,
    dense_words: int = 4096,
    max_partial_pairs: int = 20_000_000,
    progress=None,
) -> sp.csr_matrix:
    """Co-occurrence matrix X (V, V) of a corpus encoded by :func:`training.encode.
    encode_corpus`, over vocabulary ``index``; chunk by chunk as it was written.
    ``progress`` (optional) is called with the number of documents of each chunk."""
    counter = CooccurrenceCounter(len(index), window, weighting, dense_words, max_partial_pairs)
    for ids, lengths in encoded.iter_chunks(index):
        counter.add_documents(ids, lengths)
        if progress is not None:
            progress(len(lengths))
    log.info(
        "co-occurrences: %s kept tokens, %d partial merges", f"{counter.tokens:,}", counter.merges
    )
    return counter.result()
