"""Keyword extraction: equal to Su's plain algorithm, and good on hand-labelled text."""

import numpy as np
import pytest
from conftest import NEGATIVE_SAMPLING, ROOT, train
from su_reference import keywords as su_keywords
from su_reference import pmi_keywords

from wordlens.app.engine import WordModel
from wordlens.app.keywords import default_stopwords
from wordlens.artifacts import load_model


@pytest.fixture(scope="module")
def models(trained_models):
    return {name: WordModel(load_model(trained_models / name)) for name in ("pmi", "word2vec")}


def random_documents(model, count, seed):
    rng = np.random.default_rng(seed)
    head = min(len(model), 2000)
    return [
        [model.words[i] for i in rng.integers(0, head, rng.integers(1, 30))] for _ in range(count)
    ]


@pytest.mark.parametrize(("name", "reference"), [("word2vec", su_keywords), ("pmi", pmi_keywords)])
def test_rankings_equal_the_plain_reference(models, name, reference):
    model = models[name]
    for tokens in random_documents(model, 60, seed=len(name)):
        ours = model.keywords(tokens, topn=len(tokens), exclude_stopwords=False).keywords
        theirs = reference(model, tokens)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose(  # ours are per token: the sum over the tokens / their number
            [s for _, s in ours], [s / len(tokens) for _, s in theirs], rtol=1e-4, atol=1e-4
        )


def test_options_filter_candidates(models):
    model = models["pmi"]
    text = "The senate and the house passed the new law on taxes."
    everything = [w for w, _ in model.keywords(text, topn=20, exclude_stopwords=False).keywords]
    default = [w for w, _ in model.keywords(text, topn=20).keywords]
    assert "the" in everything and "the" not in default and "and" not in default
    extra = [w for w, _ in model.keywords(text, topn=20, stopwords=("LAW",)).keywords]
    assert "law" not in extra and set(extra) < set(default)
    long_words = model.keywords(text, topn=20, min_length=5).keywords
    assert all(len(w) >= 5 for w, _ in long_words)
    frequent = model.keywords(text, topn=20, min_count=50).keywords
    assert all(model.word_info(w)["count"] >= 50 for w, _ in frequent)
    assert model.keywords(text, topn=2).keywords == model.keywords(text, topn=20).keywords[:2]
    cosine = model.keywords(text, topn=3, variant="cosine")
    assert cosine.method == "pmi_cosine" and all(-1 <= s <= 1 for _, s in cosine.keywords)


def test_unknown_and_empty_texts(models):
    for model in models.values():
        result = model.keywords("Qwzxv plorbt!")
        assert result.keywords == [] and result.unknown == ["qwzxv", "plorbt"]
        assert "vocabulary" in result.reason
        assert model.keywords("").reason == "the text has no tokens"
        assert model.keywords("!!! ???").tokens == 0


@pytest.fixture(scope="module")
def english_models(tmp_path_factory):
    """The default models, trained on the whole shipped English corpus (Word2Vec
    with one worker, so that the run is reproducible)."""
    folder = tmp_path_factory.mktemp("quality")
    corpus = ROOT / "corpus/data/en.txt.gz"
    return {
        "pmi": WordModel(load_model(train("pmi", corpus, folder / "pmi", "--no-evaluate"))),
        "word2vec": WordModel(
            load_model(
                train("word2vec", corpus, folder / "word2vec", "--workers", "1", "--no-evaluate")
            )
        ),
    }


def labelled_sentences():
    lines = (ROOT / "tests/data/keywords_en.tsv").read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pmi", "word2vec"])
def test_content_words_come_first_without_a_stop_word_filter(english_models, name):
    """The scoring alone, stop-word filter off: the first keyword is always one a
    reader picked, never a function word; the top three are all readers' picks in
    all but at most two sentences (strong collocations such as "across the river"
    lift a preposition to second place there)."""
    model = english_models[name]
    function_words = default_stopwords("english")
    sentences = labelled_sentences()
    clean = 0
    for text, labels in sentences:
        top = [w for w, _ in model.keywords(text, topn=3, exclude_stopwords=False).keywords]
        assert top[0] in labels.split() and top[0] not in function_words, (text, top)
        clean += set(top) <= set(labels.split())
    assert clean >= len(sentences) - 2


@pytest.fixture(scope="module")
def ns_model(tiny_corpus, tmp_path_factory):
    path = train("word2vec", tiny_corpus, tmp_path_factory.mktemp("ns") / "ns", *NEGATIVE_SAMPLING)
    return WordModel(load_model(path))


@pytest.mark.parametrize(("name", "variant"), [("word2vec", "default"), ("pmi", "default"),
                                               ("pmi", "cosine"), ("ns", "default")])  # fmt: skip
def test_explained_contributions_add_up_to_the_score(models, ns_model, name, variant):
    model = ns_model if name == "ns" else models[name]
    for tokens in random_documents(model, 20, seed=7):
        tokens = tokens * 2 + tokens[:3]  # repeats count
        result = model.keywords(tokens, topn=3, variant=variant, explain=True)
        plain = model.keywords(tokens, topn=3, variant=variant)
        assert result.keywords == plain.keywords  # explaining changes nothing
        for (word, score), why in zip(result.keywords, result.explanations, strict=True):
            total = sum(c for _, c in why.contributions) + why.other
            assert total == pytest.approx(score, rel=1e-4, abs=1e-6)
            contributions = [c for _, c in why.contributions]
            assert contributions == sorted(contributions, reverse=True)
            assert why.spans == [(i, i + 1) for i, t in enumerate(tokens) if t == word]


def test_scores_are_per_token_means(models):
    """Repeating a whole text leaves its per-token scores (and ranking) unchanged."""
    for model in models.values():
        tokens = random_documents(model, 1, seed=3)[0]
        once, twice = model.keywords(tokens, topn=5), model.keywords(tokens * 2, topn=5)
        assert [w for w, _ in once.keywords] == [w for w, _ in twice.keywords]
        assert [s for _, s in twice.keywords] == pytest.approx([s for _, s in once.keywords])


def test_explained_spans_point_into_the_text(models):
    model = models["pmi"]
    word = model.words[40]
    text = f"ＡＢＣ ﬁ {word.upper()}, and again: {word}!"
    result = model.keywords(text, topn=50, exclude_stopwords=False, explain=True)
    words = [w for w, _ in result.keywords]
    spans = dict(zip(words, (e.spans for e in result.explanations), strict=True))
    assert [text[start:end].lower() for start, end in spans[word]] == [word, word]


def test_diversity_drops_a_near_duplicate(models):
    """A text of a word, its nearest neighbour by cosine and unrelated words: at
    diversity 0 the two lead the list; with diversity the neighbour gives way."""
    model = models["word2vec"]
    head = [model.words[i] for i in range(50, 400)]
    for first in head:
        twin = model.most_similar(positive=[first], topn=1)[0][0]
        others = [w for w in head[::37] if w not in (first, twin)][:6]
        tokens = [first, twin] * 4 + others
        ranked = [w for w, _ in model.keywords(tokens, topn=3, exclude_stopwords=False).keywords]
        if set(ranked[:2]) == {first, twin}:
            break
    else:
        pytest.fail("no text where a word and its neighbour lead the keywords")
    diverse = model.keywords(tokens, topn=3, exclude_stopwords=False, diversity=0.7).keywords
    assert diverse[0][0] == ranked[0] and ranked[1] not in [w for w, _ in diverse[:2]]
    assert len(diverse) == 3 and len({w for w, _ in diverse}) == 3


def test_bad_diversity_is_refused(models):
    from wordlens.app.errors import InvalidQueryError

    with pytest.raises(InvalidQueryError, match="diversity"):
        models["pmi"].keywords("the cat", diversity=1.5)
