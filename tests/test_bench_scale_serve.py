"""The serving benchmark's pure pieces: the synthetic words, vectors and Word2Vec
output layer (bench/synthetic_vectors.py), and the exact top-k and recall of
bench/bench_scale_serve.py. Nothing here is timed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_scale_serve as bench  # noqa: E402
import synthetic_vectors as sv  # noqa: E402

SMALL_CHUNKS = sv.VectorParams(clusters=40, chunk_rows=1000)


def test_words_are_distinct_letters_and_short_for_the_first_rows():
    words = sv.words(10_200)  # past the two-syllable block (100 + 10,000 words)
    assert len(set(words)) == len(words) == 10_200
    assert all(word.isascii() and word.isalpha() and word.islower() for word in words)
    assert [len(w) for w in (words[0], words[99], words[100], words[10_099], words[10_100])] == [
        2,
        2,
        4,
        4,
        6,
    ]
    assert sv.words(150) == words[:150]  # a prefix of a longer list


def test_same_seed_gives_the_same_vectors_and_another_seed_others():
    first = sv.clustered_vectors(2500, 16, SMALL_CHUNKS)
    again = sv.clustered_vectors(2500, 16, SMALL_CHUNKS)
    other = sv.clustered_vectors(2500, 16, sv.VectorParams(seed=16, clusters=40, chunk_rows=1000))
    assert first.shape == (2500, 16) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # the first rows of a larger draw are the smaller one
    np.testing.assert_array_equal(sv.clustered_vectors(1200, 16, SMALL_CHUNKS), first[:1200])


def test_vectors_are_clustered_with_zipf_sizes():
    params = sv.VectorParams(clusters=20, offset=1.0, spread_low=0.3, spread_high=0.3)
    vectors = sv.clustered_vectors(4000, 32, params)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    # each row's nearest neighbour is far closer than a random row: clusters
    cosines = unit @ unit.T
    np.fill_diagonal(cosines, -1)
    assert np.median(cosines.max(axis=1)) > 0.8
    assert abs(np.median(cosines)) < 0.2
    # weights (k + 1)^-1: the largest cluster holds 1/H(20) ≈ 28 % of the rows, the
    # smallest 1.4 %, where an equal split gives each 5 %
    centre = np.random.default_rng([params.seed, 0]).standard_normal((20, 32)) / np.sqrt(32)
    member = np.argmax(unit @ (centre / np.linalg.norm(centre, axis=1, keepdims=True)).T, axis=1)
    sizes = np.sort(np.bincount(member, minlength=20))[::-1]
    assert sizes[0] > 2 * 4000 / 20 > sizes[-1]


def test_zipf_counts_fall_and_stay_at_least_five():
    counts = sv.zipf_counts(5000)
    assert counts.dtype == np.int64 and counts.shape == (5000,)
    assert (np.diff(counts) <= 0).all() and counts[0] > 100 * counts[-1]
    few = sv.zipf_counts(5000, total=10_000)  # the tail would round to 0 or 1
    assert (np.diff(few) <= 0).all() and few.min() == 5


def test_word2vec_layer_has_the_trained_layout_and_serves_related_words(tmp_path):
    from wordlens.app.engine import Engine
    from wordlens.artifacts import write_model

    rows = 3000
    words = sv.words(rows)
    vectors = sv.clustered_vectors(rows, 16, sv.VectorParams(clusters=30))
    counts = sv.zipf_counts(rows)
    layers, arrays = sv.word2vec_layer(words, vectors, counts)
    assert layers == ["hs"]
    assert arrays["syn1"].shape == (rows, 16) and arrays["syn1"].dtype == np.float32
    lengths = arrays["hs_lengths"]
    assert lengths.shape == (rows,) and arrays["hs_points"].shape == arrays["hs_codes"].shape
    assert lengths[0] <= lengths[-1]  # Huffman: frequent words get short codes
    # paths run through the V − 1 inner nodes, from the root, none twice
    inside = np.arange(arrays["hs_points"].shape[1]) < lengths[:, None]
    points = arrays["hs_points"][inside]
    assert points.min() >= 0 and points.max() == rows - 2
    assert len(set(arrays["hs_points"][:, 0])) == 1
    assert all(
        len(set(path[:n])) == n for path, n in zip(arrays["hs_points"], lengths, strict=True)
    )
    write_model(
        tmp_path / "word2vec",
        kind="word2vec",
        words=words,
        vectors=vectors,
        counts=counts,
        arrays=arrays,
        manifest={"tokenizer": {"name": "whitespace"}, "output_layers": layers},
    )
    model = Engine(tmp_path, verify=False).get("word2vec")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    related, method = model.related(words[500], topn=10)
    assert method == "hs"
    # related words share the query's cluster: far above a random word's cosine (≈ 0)
    assert np.mean([unit[model.index[w]] @ unit[500] for w, _ in related]) > 0.5


def test_exact_cosine_top_matches_a_full_sort_across_blocks():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((1000, 8)).astype(np.float32)
    vectors[17] = 0  # a zero row scores 0 and is never a query here
    queries = np.array([0, 5, 999, 640])
    found = bench.exact_cosine_top(vectors, queries, k=10, block=64)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
    for query, rows in zip(queries, found, strict=True):
        scores = unit @ unit[query]
        scores[query] = -np.inf
        np.testing.assert_array_equal(rows, np.argsort(-scores, kind="stable")[:10])


def test_top_rows_leaves_out_the_query_and_sorts_best_first():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [0.4, 0.3, 0.2, 0.1]])
    np.testing.assert_array_equal(
        bench.top_rows(scores, 2, np.array([1, 3])), np.array([[3, 2], [0, 1]])
    )


def test_recall_counts_the_shared_rows_of_each_answer():
    exact = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    assert bench.recall_at_k([[4, 3, 2, 1], [5, 6, 7, 8]], exact) == 1.0
    # one answer short and one wrong row: (2 + 3) / 8
    assert bench.recall_at_k([[1, 2], [5, 6, 7, 9]], exact) == pytest.approx(5 / 8)
    # rows past k are not counted
    assert bench.recall_at_k([[9, 9, 9, 9, 1], [5, 6, 7, 8]], exact) == 0.5
    with pytest.raises(ValueError, match="1 answers for 2 queries"):
        bench.recall_at_k([[1]], exact)


@pytest.mark.parametrize(
    ("text", "size"),
    [("100k×100", (100_000, 100)), ("1Mx128", (1_000_000, 128)), ("2.5k × 8", (2500, 8))],
)
def test_sizes_parse(text, size):
    assert bench.parse_size(text) == size
    assert bench.parse_size(bench.label(*size).replace(" ", "")) == size


@pytest.mark.slow
def test_the_trained_word2vec_model_is_trained_once(tmp_path):
    """The benchmark's trained model: a real hierarchical-softmax model of every word
    of the synthetic corpus (min count 1), written once into the data folder."""
    from wordlens.app.engine import Engine

    model, figures = bench.ensure_trained_word2vec_model(tmp_path, 20_000)
    assert figures["train s"] > 0
    manifest = bench.manifest_of(model)
    assert manifest["output_layers"] == ["hs"] and manifest["params"]["min_count"] == 1
    loaded = Engine(model.parent).get(bench.W2V_MODEL)
    corpus = (tmp_path / "corpus-20k-seed14.txt").read_text().split()
    assert len(loaded.words) == len(set(corpus))
    assert loaded.related(loaded.words[0])[1] == "hs"
    assert bench.ensure_trained_word2vec_model(tmp_path, 20_000) == (model, {})
