"""Seeded synthetic word vectors for the serving benchmark: words, clustered vectors
and a Word2Vec hierarchical-softmax output layer, at any vocabulary size.

Words
-----
Word ``i`` spells ``i`` in bijective base 100 with consonant-vowel syllables ("ka",
"lo", …, 20 consonants × 5 vowels): "ba", "be", …, "zu", then "baba", …, so
``kolimade``-like words, short for the frequent rows, every word distinct (a string
of syllables has one parse, as every syllable is one consonant then one vowel) and
ASCII letters only (the whitespace tokenizer and URLs keep them as they are).

Vectors
-------
Rows belong to Gaussian clusters whose sizes follow Zipf–Mandelbrot, cluster k drawn
with weight (k + ``offset``)^-``exponent`` (a few large clusters, many small ones, as
topics are in text). Cluster k has a centre c_k ~ N(0, I/d) (length about 1) and a
spread s_k uniform in [``spread_low``, ``spread_high``]; a row is
(c_k + s_k·z) · ℓ with z ~ N(0, I/d) and ℓ log-normal (σ = ``norm_sigma``), so that
two rows of a cluster have a cosine of about 1/(1 + s_k²) and lengths vary like
trained vectors' do (cosine search ignores them). Rows are drawn in chunks of
``chunk_rows``, chunk j from ``np.random.default_rng([seed, 1, j])``: the same seed
gives the same bytes, and with a fixed number of clusters the first rows of a larger
draw are a smaller one (by default there is one cluster per 50 rows).

Word2Vec output layer
---------------------
:func:`word2vec_layer` builds what ``wordlens train word2vec`` stores for
hierarchical softmax, from Zipf counts: the Huffman tree of the counts (gensim's own
code, as in training) and inner-node rows syn1[n] = ``scale`` · mean over the words u
below n of (1 − 2·code_n(u)) · x̂_u (x̂ the unit vectors), so a word whose vector is
close to u's turns towards u at every node of u's path: p(u | w) is large for u near
w, as it is after training. It is not a trained model: it has the shapes, the tree
and the cost of one, and a related-words structure tied to the vectors' clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "VERSION",
    "VectorParams",
    "clustered_vectors",
    "words",
    "word2vec_layer",
    "zipf_counts",
]

#: Changes whenever the same parameters would give other values: names kept files.
VERSION = "v1"

_CONSONANTS = "bcdfghjklmnprstvwxyz"
_VOWELS = "aeiou"
SYLLABLES = np.array([c + v for c in _CONSONANTS for v in _VOWELS])


def words(count: int) -> list[str]:
    """The first ``count`` synthetic words (module docstring), row order."""
    base = len(SYLLABLES)
    out: list[str] = []
    start, size, length = 0, base, 1  # ids [start, start + size) spell in `length` syllables
    while start < count:
        ids = np.arange(start, min(start + size, count)) - start
        parts = np.empty((len(ids), length), dtype=SYLLABLES.dtype)
        for position in range(length - 1, -1, -1):
            parts[:, position] = SYLLABLES[ids % base]
            ids //= base
        out.extend("".join(row) for row in parts.tolist())
        start, size, length = start + size, size * base, length + 1
    return out


@dataclass(frozen=True)
class VectorParams:
    """How :func:`clustered_vectors` draws (module docstring); ``clusters`` 0 means
    one cluster per 50 rows."""

    seed: int = 15
    clusters: int = 0
    exponent: float = 1.0
    offset: float = 10.0
    spread_low: float = 0.5
    spread_high: float = 1.2
    norm_sigma: float = 0.3
    chunk_rows: int = 65536


def clustered_vectors(rows: int, dim: int, params: VectorParams = VectorParams()) -> np.ndarray:
    """float32 (rows, dim): Zipf-sized Gaussian clusters (module docstring)."""
    clusters = params.clusters or max(1, rows // 50)
    setup = np.random.default_rng([params.seed, 0])
    centres = (setup.standard_normal((clusters, dim)) / np.sqrt(dim)).astype(np.float32)
    spreads = setup.uniform(params.spread_low, params.spread_high, clusters).astype(np.float32)
    weights = (np.arange(clusters) + params.offset) ** -params.exponent
    cumulative = np.cumsum(weights / weights.sum())
    out = np.empty((rows, dim), dtype=np.float32)
    for chunk, start in enumerate(range(0, rows, params.chunk_rows)):
        rng = np.random.default_rng([params.seed, 1, chunk])
        stop = min(start + params.chunk_rows, rows)
        # Whole chunks are drawn (the last one cut after), so that a row's values do
        # not depend on how many rows follow it.
        size = params.chunk_rows
        # inverse of the distribution function (rng.choice would rebuild it per chunk)
        member = np.minimum(np.searchsorted(cumulative, rng.random(size)), clusters - 1)
        noise = rng.standard_normal((size, dim), dtype=np.float32) / np.sqrt(dim)
        lengths = rng.lognormal(0.0, params.norm_sigma, size).astype(np.float32)
        rows_here = (centres[member] + spreads[member, None] * noise) * lengths[:, None]
        out[start:stop] = rows_here[: stop - start]
    return out


def zipf_counts(rows: int, total: float = 1e9, exponent: float = 1.05) -> np.ndarray:
    """int64 (rows,) corpus counts, most frequent first: about ``total`` · (i + 10)^-s
    normalised, at least 5 (a trainer's min_count)."""
    weights = (np.arange(rows) + 10.0) ** -exponent
    return np.maximum(np.floor(total * weights / weights.sum()), 5).astype(np.int64)


def word2vec_layer(
    vocabulary: list[str], vectors: np.ndarray, counts: np.ndarray, scale: float = 8.0
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The hierarchical-softmax output layer of the words ``vocabulary`` with
    ``vectors`` (V, d) and ``counts`` (V,), as
    :func:`wordlens.training.word2vec.output_layer_arrays` returns it: (["hs"],
    {syn1 float32 (V, d), hs_points int32 (V, L), hs_codes int8 (V, L), hs_lengths
    int32 (V,)}). The tree is gensim's Huffman tree of ``counts``; syn1 as the module
    docstring says."""
    from types import SimpleNamespace

    import scipy.sparse as sp
    from gensim.models import KeyedVectors
    from gensim.models.word2vec import _assign_binary_codes

    from wordlens.training.word2vec import output_layer_arrays

    rows, dim = vectors.shape
    keyed = KeyedVectors(dim, count=0)
    keyed.index_to_key = list(vocabulary)
    keyed.key_to_index = {word: i for i, word in enumerate(vocabulary)}
    keyed.vectors = np.zeros((rows, 0), dtype=np.float32)  # the tree needs counts only
    keyed.allocate_vecattrs(attrs=["count"], types=[np.int64])
    keyed.expandos["count"][:] = counts
    _assign_binary_codes(keyed)  # gensim's Huffman tree, exactly as training builds it

    placeholder = np.zeros((rows, dim), dtype=np.float32)
    layers, arrays = output_layer_arrays(
        SimpleNamespace(hs=1, negative=0, wv=keyed, syn1=placeholder)
    )
    lengths = arrays["hs_lengths"].astype(np.int64)
    inside = np.arange(arrays["hs_points"].shape[1]) < lengths[:, None]
    nodes = arrays["hs_points"][inside]
    turns = 1.0 - 2.0 * arrays["hs_codes"][inside].astype(np.float32)
    members = np.repeat(np.arange(rows), lengths)
    paths = sp.csr_matrix((turns, (nodes, members)), shape=(rows, rows))
    below = np.maximum(np.bincount(nodes, minlength=rows), 1).astype(np.float32)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    arrays["syn1"] = (paths @ unit * (scale / below)[:, None]).astype(np.float32)
    return layers, arrays
