"""The scale benchmark's synthetic corpus (bench/synthetic.py): seeded bytes, exact
sizes, tokens the English tokenizer keeps whole, Heaps' law and topical structure."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from wordlens.corpus import Corpus, get_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import synthetic  # noqa: E402

# Small chunks, so that a few hundred thousand tokens already span many of them.
SMALL_CHUNKS = synthetic.SyntheticParams(chunk_documents=300)


def test_same_seed_gives_the_same_bytes_and_another_seed_others(tmp_path):
    first, again, other = tmp_path / "first.txt", tmp_path / "again.txt", tmp_path / "other.txt"
    synthetic.write_corpus(first, 200_000, SMALL_CHUNKS)
    synthetic.write_corpus(again, 200_000, SMALL_CHUNKS)
    synthetic.write_corpus(other, 200_000, synthetic.SyntheticParams(seed=15, chunk_documents=300))
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()


def test_sizes_are_exact_prefixes_of_one_stream_in_whole_english_tokens(tmp_path):
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    figures = synthetic.write_corpus(small, 100_000, SMALL_CHUNKS)
    synthetic.write_corpus(large, 250_000, SMALL_CHUNKS)
    lines = small.read_text().splitlines()
    assert figures["tokens"] == 100_000 and figures["documents"] == len(lines)
    # Every document but the last (cut to make the size exact) is the larger corpus's.
    assert large.read_text().splitlines()[: len(lines) - 1] == lines[:-1]
    documents = list(Corpus(small, get_tokenizer("english")))
    assert documents == [line.split(" ") for line in lines]
    lengths = np.array([len(tokens) for tokens in documents])
    assert lengths.sum() == 100_000
    assert lengths[:-1].min() >= SMALL_CHUNKS.min_length
    assert lengths.max() <= SMALL_CHUNKS.max_length
    assert 80 <= np.median(lengths) <= 120


def test_spelling_is_one_word_for_one_id():
    ids = np.array([0, 25, 26, 701, 702, 18_277, 18_278, 12_345_678_901, 2**61])
    words = synthetic.spell(ids)
    assert words[:7] == ["a", "z", "aa", "zz", "aaa", "zzz", "aaaa"]
    assert np.array_equal(synthetic.word_ids(words), ids)


def test_vocabulary_grows_by_heaps_law():
    sizes = [250_000, 500_000, 1_000_000, 2_000_000]
    growth = synthetic.vocabulary_growth(sizes)
    beta = synthetic.fit_exponent(sizes, [row["types"] for row in growth])
    assert 0.58 <= beta <= 0.72
    kept = synthetic.fit_exponent(sizes, [row["kept"] for row in growth])
    assert 0.6 <= kept <= 0.8
    frequencies = growth[-1]["frequencies"]
    # A head of common words as in English text: the most frequent takes a few percent.
    assert 0.03 <= frequencies[0] / sizes[-1] <= 0.08
    assert 0.9 <= synthetic.zipf_slopes(frequencies)["10-1000"] <= 1.2


def test_words_of_a_topic_occur_in_the_same_documents(tmp_path):
    """Document-level PMI of the 1 500 most widespread words, read back from the text:
    words of one topic share documents (PMI well above 0), words of two topics never
    do, background words are about independent (PMI near 0)."""
    path = tmp_path / "corpus.txt"
    synthetic.write_corpus(path, 1_000_000)
    documents = [line.split(" ") for line in path.read_text().splitlines()]
    words, column = np.unique(np.concatenate(documents), return_inverse=True)
    rows = np.repeat(np.arange(len(documents)), [len(tokens) for tokens in documents])
    incidence = sp.csr_matrix(
        (np.ones(len(column)), (rows, column)), shape=(len(documents), len(words))
    )
    incidence.data[:] = 1  # duplicates were summed: a word is in a document or not
    frequent = np.argsort(-np.asarray(incidence.sum(axis=0)).ravel())[:1500]
    incidence = incidence[:, frequent]
    together = (incidence.T @ incidence).toarray()
    in_documents = np.diag(together)
    with np.errstate(divide="ignore"):
        pmi = np.log(together * len(documents) / np.outer(in_documents, in_documents))
    topics = synthetic.topic_of(synthetic.word_ids(list(words[frequent])))
    off_diagonal = ~np.eye(len(frequent), dtype=bool)
    same = (topics[:, None] == topics[None, :]) & (topics[:, None] >= 0) & off_diagonal
    different = (topics[:, None] != topics[None, :]) & (topics[:, None] >= 0) & (topics >= 0)
    assert same.sum() > 1000 and different.sum() > 10_000
    assert np.median(pmi[same]) > 1.5
    # A document has one topic: words of two topics never meet.
    assert not together[different].any()
    background = (topics[:, None] < 0) & (topics < 0) & off_diagonal
    assert abs(np.median(pmi[background])) < 0.5


@pytest.mark.parametrize(
    ("text", "tokens"), [("64M", 64_000_000), ("1B", 10**9), ("250k", 250_000)]
)
def test_sizes_read_and_print_alike(text, tokens):
    assert synthetic.parse_size(text) == tokens
    assert synthetic.parse_size(synthetic.format_size(tokens)) == tokens
