"""Keyword explanations are read from the products the scores were made of; they must
equal the terms computed directly, pair by pair, for short texts (the products kept)
and for a text long enough that the scores go by blocks of candidates (the keywords'
products made anew, their paths' nodes gathered once)."""

from collections import Counter

import numpy as np
import pytest

from wordlens.app.blocks import BLOCK_VALUES
from wordlens.app.engine import WordModel
from wordlens.app.keywords import EXPLAINED_TOKENS
from wordlens.artifacts import load_model


@pytest.fixture(scope="module")
def models(trained_models):
    return {name: WordModel(load_model(trained_models / name)) for name in ("pmi", "word2vec")}


def direct_terms(model, tokens, keyword, variant):
    """{token: what it adds to ``keyword``'s reported score}, each pair on its own:
    log p(u | w) along u's path (Word2Vec) or ⟨v_u, v_w⟩ in float64 (PMI), times the
    token's repeats, over the number of tokens (a cosine: over the lengths instead)."""
    counts = Counter(tokens)
    words = list(counts)
    rows = model.words.lookup(words)
    w = int(model.words.lookup([keyword])[0])
    vectors = model.family.vectors
    if model.family.name == "hs":
        terms = model.family.tree.log_prob(vectors[[w] * len(rows)], rows)
    else:
        terms = vectors[rows].astype(np.float64) @ vectors[w].astype(np.float64)
    terms = terms * np.array([counts[u] for u in words], dtype=np.float64)
    if variant == "cosine":
        total = np.linalg.norm(np.array([counts[u] for u in words]) @ vectors[rows].astype(float))
        terms = terms / (total * np.linalg.norm(vectors[w].astype(np.float64)))
    else:
        terms = terms / len(tokens)
    return dict(zip(words, terms.tolist(), strict=True))


def check_explanations(model, tokens, result, variant):
    assert result.explanations is not None and result.keywords
    for (keyword, score), why in zip(result.keywords, result.explanations, strict=True):
        expected = direct_terms(model, tokens, keyword, variant)
        assert sum(expected.values()) == pytest.approx(score, rel=1e-4, abs=1e-6)
        listed = dict(why.contributions)
        assert len(listed) == min(EXPLAINED_TOKENS, len(expected))
        for token, contribution in listed.items():
            assert contribution == pytest.approx(expected[token], rel=1e-4, abs=1e-6)
        rest = sum(value for token, value in expected.items() if token not in listed)
        assert why.other == pytest.approx(rest, rel=1e-4, abs=1e-5)
        # the tokens listed are those that add most, by the direct terms too
        unlisted = [value for token, value in expected.items() if token not in listed]
        assert max(unlisted, default=-np.inf) <= min(listed.values()) + 1e-6


@pytest.mark.parametrize(("name", "variant"), [("word2vec", "default"), ("pmi", "default"),
                                               ("pmi", "cosine")])  # fmt: skip
def test_explanations_equal_a_direct_recomputation(models, name, variant):
    model = models[name]
    rng = np.random.default_rng(11)
    head = min(len(model), 2000)
    for _ in range(15):
        tokens = [model.words[i] for i in rng.integers(0, head, rng.integers(2, 40))]
        tokens += tokens[:4]  # repeats count
        result = model.keywords(
            tokens, topn=5, variant=variant, exclude_stopwords=False, explain=True
        )
        check_explanations(model, tokens, result, variant)


@pytest.mark.parametrize("name", ["word2vec", "pmi"])
def test_explanations_of_a_long_text_equal_a_direct_recomputation(models, name):
    """Every vocabulary word once: (candidates × path nodes) passes one block, so the
    Word2Vec keywords' products are made anew from the nodes gathered once."""
    model = models[name]
    tokens = list(model.words)
    if name == "word2vec":
        tree = model.family.tree
        assert len(tokens) * tree.path_nodes(np.arange(len(tokens))) > BLOCK_VALUES
    result = model.keywords(tokens, topn=3, exclude_stopwords=False, explain=True)
    check_explanations(model, tokens, result, "default")
