"""Merging counts: the counts of parts, merged, are the counts of the whole, file for file."""

import itertools
import os

import numpy as np
import pytest

from wordlens.training.cooccur import count_documents
from wordlens.training.counts import load_counts
from wordlens.training.merge import merge_counts

DATA_FILES = ("words.txt", "counts.npy", "indptr.npy", "indices.npy", "ticks.npy")


def corpus(seed=0, documents=1500, types=1500):
    """Zipf-distributed documents; rare words appear in some parts only."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(types)]
    weights = 1 / np.arange(1, types + 1) ** 1.1
    return [
        list(rng.choice(words, size=rng.integers(0, 40), p=weights / weights.sum()))
        for _ in range(documents)
    ]


def count(tmp_path, documents, name, window=4, weighting="distance", tokenizer=None):
    path = count_documents(
        documents,
        window=window,
        weighting=weighting,
        memory_bytes=2**20,
        out=tmp_path / name,
        tokenizer_spec=tokenizer or {"name": "whitespace", "lowercase": False},
        corpus_description={"path": name},
        scratch=tmp_path / "scratch",
    )
    return load_counts(path)


def assert_same_files(first, second):
    for name in DATA_FILES:
        assert (first.path / name).read_bytes() == (second.path / name).read_bytes(), name
    assert first.equal(second)


@pytest.mark.parametrize("weighting", ["constant", "distance"])
def test_two_halves_merged_are_the_whole(tmp_path, weighting):
    documents = corpus()
    whole = count(tmp_path, documents, "whole", weighting=weighting)
    first = count(tmp_path, documents[:700], "first", weighting=weighting)
    second = count(tmp_path, documents[700:], "second", weighting=weighting)
    assert set(first.words) != set(second.words)  # the union of words is needed
    merged = load_counts(merge_counts([first, second], tmp_path / "merged", 2**20, tmp_path))
    assert_same_files(merged, whole)
    assert merged.cells > 20_000
    assert merged.corpus == {
        "sources": [
            {"path": "first", "documents": 700, "tokens": first.corpus["tokens"]},
            {"path": "second", "documents": 800, "tokens": second.corpus["tokens"]},
        ],
        "documents": 1500,
        "tokens": whole.corpus["tokens"],
    }
    assert (merged.window, merged.weighting, merged.tokenizer) == (
        whole.window,
        whole.weighting,
        whole.tokenizer,
    )
    assert merged.manifest["figures"]["inputs"] == 2


def test_three_parts_in_any_order_with_a_tiny_budget(tmp_path):
    documents = corpus(1)
    whole = count(tmp_path, documents, "whole")
    parts = [
        count(tmp_path, documents[:400], "a"),
        count(tmp_path, documents[400:1100], "b"),
        count(tmp_path, documents[1100:], "c"),
    ]
    for number, order in enumerate([(2, 0, 1), (1, 2, 0)]):
        out = tmp_path / f"merged{number}"
        merged = load_counts(merge_counts([parts[i].path for i in order], out, 2**16, tmp_path))
        assert_same_files(merged, whole)
        figures = merged.manifest["figures"]
        assert figures["spilled_runs"] > 1 and figures["ranges"] > 1
    # merging a merge with nothing else changes nothing
    again = load_counts(merge_counts([merged], tmp_path / "again", 2**20, tmp_path))
    assert_same_files(again, whole)
    assert sorted(os.listdir(tmp_path / "scratch")) == []
    assert not [name for name in os.listdir(tmp_path) if name.startswith(("merge-", "."))]


def test_merge_refuses_different_settings(tmp_path):
    documents = corpus(2, documents=100)
    base = count(tmp_path, documents, "base")
    others = {
        "window": count(tmp_path, documents, "window5", window=5),
        "weighting": count(tmp_path, documents, "constant", weighting="constant"),
        "tokenizer": count(tmp_path, documents, "lower", tokenizer={"name": "english"}),
    }
    for name, other in others.items():
        for pair in itertools.permutations([base, other]):
            with pytest.raises(ValueError, match=f"cannot merge counts of different {name}s"):
                merge_counts(list(pair), tmp_path / "merged", 2**20, tmp_path)
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_counts([], tmp_path / "merged", 2**20, tmp_path)
    assert not (tmp_path / "merged").exists()
