import numpy as np
import pytest

from wordlens.corpus import get_tokenizer
from wordlens.training.vocab import build_vocabulary, count_words

TEXT = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
]


def documents():
    tokenize = get_tokenizer("english")
    return [tokenize(line) for line in TEXT]


def test_counts_on_a_known_text():
    counter = count_words(documents())
    assert counter["the"] == 4 and counter["sat"] == 2 and counter["mat"] == 1
    vocabulary = build_vocabulary(counter, min_count=2)
    # count descending, ties by word
    assert vocabulary.words == ["the", "a", "cat", "dog", "on", "sat"]
    assert vocabulary.counts.tolist() == [4, 2, 2, 2, 2, 2]
    assert vocabulary.counts.dtype == np.int64
    assert vocabulary.total_tokens == 17
    assert vocabulary.total_types == 9
    assert vocabulary.index["dog"] == 3


def test_max_vocab_keeps_the_most_frequent():
    vocabulary = build_vocabulary(count_words(documents()), min_count=1, max_vocab=3)
    assert vocabulary.words == ["the", "a", "cat"]


def test_bad_options_and_empty_result():
    counter = count_words(documents())
    with pytest.raises(ValueError, match="min_count"):
        build_vocabulary(counter, min_count=0)
    with pytest.raises(ValueError, match="max_vocab"):
        build_vocabulary(counter, max_vocab=0)
    with pytest.raises(ValueError, match="no word occurs 100"):
        build_vocabulary(counter, min_count=100)
