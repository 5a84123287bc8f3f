"""Co-occurrence counting against counts made by hand."""

import numpy as np
import pytest

from wordlens.training.cooccur import (
    CooccurrenceCounter,
    budget,
    count_cooccurrences,
    count_encoded,
)

INDEX = {"a": 0, "b": 1, "c": 2}
DOCUMENTS = [["a", "b", "c", "a"], ["b", "oov", "c"], ["a"], [], ["c", "c", "b"]]


def test_constant_weights_by_hand():
    # window 2: doc 1 gives a-b 2, a-c 2, b-c 1; doc 2 (oov removed first) b-c 1;
    # doc 5: c-c is the diagonal (dropped), c-b at distance 1 and 2 gives b-c 2.
    expected = np.array([[0, 2, 2], [2, 0, 4], [2, 4, 0]], dtype=float)
    for dense_words in (0, 2, 3):
        matrix = count_cooccurrences(
            DOCUMENTS, INDEX, window=2, weighting="constant", dense_words=dense_words
        )
        np.testing.assert_array_equal(matrix.toarray(), expected)


def test_distance_weights_by_hand():
    expected = np.array([[0, 1.5, 1.5], [1.5, 0, 3.5], [1.5, 3.5, 0]])
    matrix = count_cooccurrences(DOCUMENTS, INDEX, window=2, weighting="distance")
    np.testing.assert_allclose(matrix.toarray(), expected)


def test_windows_never_cross_documents():
    matrix = count_cooccurrences([["a"], ["b"], ["c"]], INDEX, window=5, weighting="constant")
    assert matrix.nnz == 0


def test_window_one_counts_neighbours_only():
    matrix = count_cooccurrences([["a", "b", "c"]], INDEX, 1, "constant").toarray()
    assert matrix[0, 1] == 1 and matrix[1, 2] == 1 and matrix[0, 2] == 0


def test_bounded_memory_on_a_corpus_larger_than_a_chunk():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    index = {w: i for i, w in enumerate(words)}
    documents = [list(rng.choice(words, size=rng.integers(1, 40))) for _ in range(3000)]
    reference = count_cooccurrences(documents, index, 4, "constant", chunk_tokens=10**9)
    small = count_cooccurrences(
        documents, index, 4, "constant", chunk_tokens=500, dense_words=50, max_partial_pairs=5000
    )
    np.testing.assert_allclose(small.toarray(), reference.toarray())

    distinct = reference.nnz  # every (i, j) in both directions: more than stored one way
    counter = CooccurrenceCounter(
        300, window=4, weighting="constant", dense_words=50, max_partial_pairs=5000
    )
    for start in range(0, 3000, 20):
        chunk = documents[start : start + 20]
        ids = np.array([index[w] for doc in chunk for w in doc], dtype=np.int32)
        numbers = np.repeat(np.arange(len(chunk), dtype=np.int32), [len(d) for d in chunk])
        counter.add(ids, numbers)
        # partial sums hold at most the distinct pairs, plus the budget of unmerged
        # partial sums, plus one chunk: never the corpus
        assert counter.stored_pairs <= distinct + 5000 + len(ids) * 4
    assert counter.merges > 0
    np.testing.assert_allclose(counter.result().toarray(), reference.toarray())


def test_encoded_corpus_counts_the_same_in_chunks(tmp_path):
    from wordlens.training.encode import encode_corpus
    from wordlens.training.vocab import count_words

    rng = np.random.default_rng(2)
    words = [f"w{i}" for i in range(200)] + ["rare"]
    documents = [list(rng.choice(words[:200], size=rng.integers(0, 30))) for _ in range(1500)]
    documents[7].append("rare")
    chunks = []
    encoded = encode_corpus(documents, tmp_path, chunk_tokens=1000, progress=chunks.append)
    assert len(encoded.chunks) > 10 and sum(chunks) == encoded.documents == len(documents)
    assert (tmp_path / "ids.bin").stat().st_size == 4 * sum(map(len, documents))
    assert encoded.counter() == count_words(documents)
    index = {w: i for i, w in enumerate(words[:150])}  # "rare" and 50 others left out
    for weighting in ("constant", "distance"):
        reference = count_cooccurrences(documents, index, window=3, weighting=weighting)
        ours = count_encoded(
            encoded, index, window=3, weighting=weighting, dense_words=40, max_partial_pairs=3000
        )
        np.testing.assert_allclose(ours.toarray(), reference.toarray())


def test_budget_splits_the_memory_and_counts_the_same():
    small, large = budget(2**20, window=4), budget(2**30, window=4)
    assert small["dense_words"] < large["dense_words"]
    assert small["chunk_tokens"] < large["chunk_tokens"]
    assert small["max_partial_pairs"] < large["max_partial_pairs"]
    # the parts the settings bound add up to about the budget
    dense = small["dense_words"] ** 2 * 8
    chunks = 2 * small["chunk_tokens"] * (16 * 4 + 64)
    assert 0.9 * 2**20 <= dense + chunks + small["max_partial_pairs"] * 24 <= 2**20
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(400)]
    index = {w: i for i, w in enumerate(words)}
    documents = [list(rng.choice(words, size=rng.integers(1, 30))) for _ in range(2000)]
    reference = count_cooccurrences(documents, index, 4, "constant", chunk_tokens=10**9)
    tight = count_cooccurrences(documents, index, 4, "constant", **budget(50_000, window=4))
    np.testing.assert_allclose(tight.toarray(), reference.toarray())


def test_bad_options():
    with pytest.raises(ValueError, match="window"):
        count_cooccurrences(DOCUMENTS, INDEX, window=0, weighting="constant")
    with pytest.raises(ValueError, match="weighting"):
        count_cooccurrences(DOCUMENTS, INDEX, window=2, weighting="gaussian")
