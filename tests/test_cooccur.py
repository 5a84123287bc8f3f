"""Counting co-occurrences into a counts folder, against counts made by hand."""

import json
import subprocess
import sys

import numpy as np
import pytest

from wordlens.training.cooccur import (
    ChunkCounter,
    budget,
    count_cooccurrences,
    count_documents,
    plan_memory,
)
from wordlens.training.counts import load_counts

DOCUMENTS = [["a", "b", "c", "a"], ["b", "rare", "c"], ["a"], [], ["c", "c", "b"]]
ORDER = ["c", "a", "b", "rare"]  # counts 4, 3, 3, 1: a before b on the tie


def count(tmp_path, documents, name="counts", **settings):
    """A counts folder of ``documents``, opened."""
    arguments = {
        "window": 2,
        "weighting": "constant",
        "memory_bytes": 2**20,
        "tokenizer_spec": {"name": "whitespace", "lowercase": False},
        "corpus_description": {"path": name},
        "scratch": tmp_path / "scratch",
    }
    arguments.update(settings)
    return load_counts(count_documents(documents, out=tmp_path / name, **arguments))


def dense(counts, words):
    """X of ``counts`` as a dense array over ``words`` (in that order)."""
    full = counts.to_csr().toarray()
    rows = [counts.words.index(word) for word in words]
    return full[np.ix_(rows, rows)]


def test_constant_ticks_by_hand(tmp_path):
    # window 2. Document 1: a-b at 1 and 2 (2), a-c at 2 and 1 (2), b-c at 1.
    # Document 2: the rare word keeps its place, so b-c are 2 apart (1), b-rare 1,
    # rare-c 1. Document 5: c-c is the diagonal (dropped), c-b at 2 and 1 (2).
    counts = count(tmp_path, DOCUMENTS)
    assert counts.words == ORDER and counts.counts.tolist() == [4, 3, 3, 1]
    assert counts.scale == 1 and counts.cells == 5
    expected = [[0, 2, 4, 1], [2, 0, 2, 0], [4, 2, 0, 1], [1, 0, 1, 0]]
    np.testing.assert_array_equal(dense(counts, ORDER), expected)
    # upper triangle only, as int64 ticks
    _, _, block = next(counts.row_blocks(100))
    assert block.dtype == np.int64
    assert block.toarray().tolist() == [[0, 2, 4, 1], [0, 0, 2, 0], [0, 0, 0, 1], [0, 0, 0, 0]]


def test_distance_ticks_by_hand(tmp_path):
    # scale lcm(1, 2) = 2: a pair 1 apart adds 2 ticks, 2 apart adds 1.
    counts = count(tmp_path, DOCUMENTS, weighting="distance")
    assert counts.scale == 2
    _, _, block = next(counts.row_blocks(100))
    # c-a: 1 + 2; c-b: 2 (document 1) + 1 (document 2) + 1 + 2 (document 5);
    # c-rare 2; a-b 2 + 1; b-rare 2
    assert block.toarray().tolist() == [[0, 3, 6, 2], [0, 0, 3, 0], [0, 0, 0, 2], [0, 0, 0, 0]]
    np.testing.assert_array_equal(
        dense(counts, ORDER), [[0, 1.5, 3, 1], [1.5, 0, 1.5, 0], [3, 1.5, 0, 1], [1, 0, 1, 0]]
    )


def test_window_edges_and_documents_never_crossed(tmp_path):
    line = [["a", "b", "c", "d", "e"]]
    counts = count(tmp_path, line, "three", window=3, weighting="distance")
    x = dense(counts, ["a", "b", "c", "d", "e"])
    assert x[0, 3] == pytest.approx(1 / 3) and x[0, 4] == 0  # 3 apart in, 4 out
    assert x[0, 1] == 1 and x[1, 3] == 0.5 and x[1, 4] == pytest.approx(1 / 3)
    assert counts.scale == 6
    neighbours = count(tmp_path, line, "one", window=1)
    assert neighbours.cells == 4  # a-b, b-c, c-d, d-e
    apart = count(tmp_path, [["a"], ["b"], ["c", "c"]], "apart", window=5)
    assert apart.cells == 0 and apart.words == ["c", "a", "b"]


def test_the_dense_block_and_the_runs_count_alike(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    documents = [list(rng.choice(words, size=rng.integers(0, 40))) for _ in range(400)]
    results = []
    for size in (1, 7, 300):  # no pair, some pairs, every pair in the dense block
        counter = ChunkCounter(300, 4, "distance", size)
        ids = np.array([int(word[1:]) for document in documents for word in document])
        lengths = np.array([len(document) for document in documents])
        keys, ticks = counter.count(ids, lengths)
        matrix = np.zeros((300, 300), dtype=np.int64)
        matrix[(keys >> 32).astype(int), (keys & 0xFFFFFFFF).astype(int)] = ticks
        for i, j in zip(*np.triu_indices(counter.dense_words, 1), strict=True):
            matrix[i, j] += counter.dense[counter.bases[i] + j]
        results.append(matrix)
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    assert results[0].sum() > 0 and np.tril(results[0]).sum() == 0


def zipf_documents(seed, documents=3000, types=2000):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(types)]
    weights = 1 / np.arange(1, types + 1)
    return [
        list(rng.choice(words, size=rng.integers(0, 50), p=weights / weights.sum()))
        for _ in range(documents)
    ]


@pytest.mark.parametrize("weighting", ["constant", "distance"])
def test_a_tiny_budget_spills_and_counts_the_same(tmp_path, weighting):
    documents = zipf_documents(1)
    roomy = count(tmp_path, documents, "roomy", window=4, weighting=weighting, memory_bytes=2**30)
    tight = count(tmp_path, documents, "tight", window=4, weighting=weighting, memory_bytes=2**19)
    figures = tight.manifest["figures"]
    assert figures["spilled_runs"] > 1 and figures["ranges"] > 1 and figures["chunks"] > 1
    assert roomy.manifest["figures"]["spilled_runs"] == 0
    assert figures["dense_words"] < roomy.manifest["figures"]["dense_words"]
    assert tight.equal(roomy) and tight.cells > 10_000
    assert tight.manifest["files"] == roomy.manifest["files"]
    assert not list((tmp_path / "scratch").iterdir())  # temporary files removed


def test_corpus_description_and_progress(tmp_path):
    calls = []
    described = []

    def describe():
        described.append(len(calls))  # after the documents were read
        return {"path": "corpus.txt", "fingerprint": "f", "documents": -1}

    counts = count(
        tmp_path,
        iter(DOCUMENTS),
        corpus_description=describe,
        progress=lambda stage, documents: calls.append((stage, documents)),
    )
    assert counts.corpus == {
        "sources": [{"path": "corpus.txt", "fingerprint": "f", "documents": 5, "tokens": 11}],
        "documents": 5,
        "tokens": 11,
    }
    assert described == [1] and calls == [("read", 5), ("count", 5)]
    assert counts.tokenizer == {"name": "whitespace", "lowercase": False}
    assert counts.window == 2 and counts.weighting == "constant"


def test_an_error_while_reading_leaves_nothing(tmp_path):
    def documents():
        yield ["a", "b"]
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        count(tmp_path, documents())
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scratch"]
    assert not list((tmp_path / "scratch").iterdir())


def test_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="window"):
        count(tmp_path, DOCUMENTS, window=0)
    with pytest.raises(ValueError, match="weighting"):
        count(tmp_path, DOCUMENTS, weighting="gaussian")
    with pytest.raises(ValueError, match="at most 20"):
        count(tmp_path, DOCUMENTS, window=21, weighting="distance")
    assert count(tmp_path, DOCUMENTS, window=21, weighting="constant").window == 21
    with pytest.raises(ValueError, match="memory"):
        count(tmp_path, DOCUMENTS, memory_bytes=0)


def test_plan_memory_splits_the_budget():
    small, large = plan_memory(2**24, window=8), plan_memory(2**32, window=8)
    for plan, memory in ((small, 2**24), (large, 2**32)):
        chunk = plan.chunk_tokens * (32 * 8 + 16)
        assert plan.dense_bytes <= memory / 4 < 4 * (plan.dense_words + 1) * plan.dense_words
        assert chunk <= memory / 4
        assert 0.95 * memory <= plan.dense_bytes + chunk + plan.run_bytes <= memory
    assert small.dense_words < large.dense_words and small.chunk_tokens < large.chunk_tokens
    assert plan_memory(2**32, window=8, vocabulary=100).dense_words == 100
    assert plan_memory(2**32, 8, vocabulary=100).run_bytes > large.run_bytes


# The previous interface (vocabulary first, words outside it removed before windowing),
# which training.pmi uses until it trains from counts.


def test_previous_interface_removes_unknown_words_first():
    index = {"a": 0, "b": 1, "c": 2}
    # "rare" removed before windowing: b-c become neighbours in document 2.
    constant = np.array([[0, 2, 2], [2, 0, 4], [2, 4, 0]], dtype=float)
    distance = np.array([[0, 1.5, 1.5], [1.5, 0, 3.5], [1.5, 3.5, 0]])
    for dense_words in (0, 2, 3):
        got = count_cooccurrences(DOCUMENTS, index, 2, "constant", dense_words=dense_words)
        np.testing.assert_array_equal(got.toarray(), constant)
        got = count_cooccurrences(DOCUMENTS, index, 2, "distance", dense_words=dense_words)
        np.testing.assert_allclose(got.toarray(), distance)
    documents = zipf_documents(2, documents=800)
    index = {f"w{i}": i for i in range(150)}
    reference = count_cooccurrences(documents, index, 3, "distance")
    tight = count_cooccurrences(documents, index, 3, "distance", **budget(100_000, window=3))
    np.testing.assert_allclose(tight.toarray(), reference.toarray())
    assert reference.nnz > 1000 and (reference != reference.T).nnz == 0


BOUNDED_CHILD = """
import json, resource, sys, tempfile
from pathlib import Path
import json
import subprocess
import sys

import numpy as np
from wordlens.training.cooccur import count_documents

def documents(tokens):
    # Zipf–Mandelbrot ranks over 400,000 types, documents of 50–400 tokens; each
    # token a new string, so the generator holds no corpus.
    rng = np.random.default_rng(0)
    weights = (np.arange(400_000) + 2.7) ** -1.25
    cdf = np.cumsum(weights) / weights.sum()
    made = 0
    while made < tokens:
        length = int(rng.integers(50, 400))
        yield list(map(str, np.searchsorted(cdf, rng.random(length)).tolist()))
        made += length

scratch = Path(sys.argv[1])
settings = dict(window=8, weighting="distance", tokenizer_spec={}, corpus_description={},
                scratch=scratch / "scratch")
# Compiled (or cached) kernels loaded first: their memory is not the counting's.
count_documents(documents(5000), memory_bytes=2**20, out=scratch / "warm", **settings)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
path = count_documents(
    documents(1_500_000), memory_bytes=16 * 2**20, out=scratch / "c", **settings
)
manifest = json.loads((path / "manifest.json").read_text())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kib": before, "peak_kib": peak, "cells": manifest["cells"],
                  "figures": manifest["figures"]}))
"""


def test_counting_memory_stays_bounded(tmp_path):
    """1.5 M tokens (about 130,000 types, 2.6 M cells) counted with a 16 MiB budget.
    Measured: the peak grows by about 31 MiB over the child's start (the budget, the
    table of types, a chunk's ids); with a 2 GiB budget, by 634 MiB; with the runs
    never spilled, by 93 MiB."""
    result = subprocess.run(
        [sys.executable, "-c", BOUNDED_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)
    grown_mib = (report["peak_kib"] - report["before_kib"]) / 1024
    assert report["cells"] > 2_000_000 and report["figures"]["spilled_runs"] > 1
    assert grown_mib < 48, report
