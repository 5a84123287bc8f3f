"""The query engine on synthetic vectors, checked against gensim's KeyedVectors."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

from wordlens.app.engine import Engine, Limits, WordModel
from wordlens.app.errors import (
    InvalidQueryError,
    LimitExceededError,
    UnknownModelError,
    UnknownWordError,
)
from wordlens.artifacts import load_model, write_model

WORDS = [f"w{i}" for i in range(500)] + ["Paris", "café", "北京"]
ZERO = 7  # a word whose vector is zero


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(42)
    matrix = rng.normal(size=(len(WORDS), 24)).astype(np.float32)
    matrix[ZERO] = 0.0
    return matrix


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, vectors):
    root = tmp_path_factory.mktemp("models")
    counts = np.arange(len(WORDS), 0, -1) * 3
    words = [w.lower() for w in WORDS]
    write_model(
        root / "pmi",
        kind="pmi",
        words=words,
        vectors=vectors,
        counts=counts,
        manifest={"tokenizer": {"name": "english"}},
    )
    write_model(
        root / "glove",
        kind="imported",
        words=WORDS,
        vectors=vectors,
        manifest={"tokenizer": {"name": "whitespace", "lowercase": False}},
    )
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{ truncated")
    return root


@pytest.fixture(scope="module")
def engine(models_dir):
    return Engine(models_dir)


@pytest.fixture(scope="module")
def pmi(engine):
    return engine.get("pmi")


@pytest.fixture(scope="module")
def keyed(vectors):
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors([w.lower() for w in WORDS], vectors)
    return kv


def assert_same_neighbours(ours, theirs):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([x for _, x in ours], [x for _, x in theirs], rtol=1e-5, atol=1e-6)


def test_engine_loads_models_and_reports_broken_ones(engine):
    assert engine.names == ["glove", "pmi"]
    assert engine.default == "pmi"
    assert engine.errors["broken"].startswith("broken/manifest.json: not valid JSON")
    assert not engine.ready
    with pytest.raises(UnknownModelError, match="available: glove, pmi"):
        engine.get("nope")


def test_most_similar_matches_gensim(pmi, keyed):
    for positive, negative in [
        (["w1"], []),
        (["w1", "w2"], ["w3"]),
        ([], ["w4"]),
        (["w10", "w11", "w12"], ["w13", "w14"]),
    ]:
        assert_same_neighbours(
            pmi.most_similar(positive, negative, topn=10),
            keyed.most_similar(positive, negative, topn=10),
        )
    assert_same_neighbours(
        pmi.most_similar(["w1"], topn=5, restrict_vocab=100),
        keyed.most_similar(["w1"], topn=5, restrict_vocab=100),
    )


def test_cosmul_doesnt_match_n_similarity_match_gensim(pmi, keyed):
    assert_same_neighbours(
        pmi.most_similar_cosmul(["w1", "w2"], ["w3"], topn=10),
        keyed.most_similar_cosmul(["w1", "w2"], ["w3"], topn=10),
    )
    words = ["w1", "w2", "w3", "w4", "w5"]
    assert pmi.doesnt_match(words) == keyed.doesnt_match(words)
    assert pmi.n_similarity(["w1", "w2"], ["w3", "w9"]) == pytest.approx(
        keyed.n_similarity(["w1", "w2"], ["w3", "w9"]), rel=1e-5
    )
    assert pmi.similarity("w1", "w2") == pytest.approx(keyed.similarity("w1", "w2"), rel=1e-5)
    vector = pmi.vector("w3") + pmi.vector("w4")
    assert_same_neighbours(
        pmi.similar_by_vector(vector, topn=7), keyed.similar_by_vector(vector, topn=7)
    )


def test_zero_vectors_are_harmless(pmi):
    assert pmi.similarity("w1", f"w{ZERO}") == 0.0
    assert f"w{ZERO}" not in [w for w, _ in pmi.most_similar(["w1"], topn=len(WORDS) - 2)]
    assert f"w{ZERO}" not in [w for w, _ in pmi.related("w1", topn=len(WORDS) - 2)[0]]
    assert pmi.word_info(f"w{ZERO}")["norm"] == 0.0
    with pytest.raises(InvalidQueryError, match="zero"):
        pmi.most_similar([f"w{ZERO}"])


def test_query_words_follow_the_tokenizer(engine, pmi):
    assert pmi.similarity("PARIS", "Café") == pytest.approx(pmi.similarity("paris", "café"))
    assert "Paris" in pmi
    glove = engine.get("glove")  # case-sensitive whitespace tokenizer
    assert "Paris" in glove and "paris" not in glove


def test_unknown_words_are_all_listed(pmi):
    with pytest.raises(UnknownWordError) as info:
        pmi.most_similar(["w1", "nosuchword", "北京", "другое"], ["Nosuchword"])
    assert info.value.details["missing"] == ["nosuchword", "другое"]
    assert "nosuchword" in str(info.value)


def test_limits_and_bad_arguments(models_dir):
    small = WordModel(
        load_model(models_dir / "pmi"),
        Limits(max_topn=5, max_words=3, max_tokens=4, max_text_chars=10),
    )
    with pytest.raises(LimitExceededError, match="between 1 and 5"):
        small.most_similar(["w1"], topn=6)
    with pytest.raises(LimitExceededError, match="limit is 3"):
        small.most_similar(["w1", "w2", "w3", "w4"], topn=2)
    with pytest.raises(LimitExceededError, match="limit is 10"):
        small.tokenize("x" * 11)
    with pytest.raises(LimitExceededError, match="limit is 4"):
        small.sentence_similarity(["w1"] * 5, ["w2"])
    with pytest.raises(InvalidQueryError):
        small.most_similar([], topn=2)
    with pytest.raises(InvalidQueryError):
        small.most_similar(["w1"], topn=0)
    with pytest.raises(InvalidQueryError, match="components"):
        small.similar_by_vector([1.0, 2.0], topn=2)
    with pytest.raises(InvalidQueryError, match="unknown method"):
        small.most_similar(["w1"], topn=2, method="euclid")


def test_pmi_context_similarity_is_the_inner_product(pmi, vectors):
    score, method = pmi.context_similarity("w1", "w2")
    assert method == "pmi"
    assert score == pytest.approx(float(vectors[1] @ vectors[2]), rel=1e-5)
    related, method = pmi.related("w1", topn=5)
    expected = np.argsort(-(vectors @ vectors[1]))
    expected = [WORDS[i].lower() for i in expected if i not in (1, ZERO)][:5]
    assert [w for w, _ in related] == expected


def test_correlation_similarity_is_pearson_of_pmi_profiles(pmi, vectors):
    n = 50
    profiles = vectors[:n].astype(np.float64) @ vectors.T.astype(np.float64)  # (n, V)
    expected = np.corrcoef(profiles[:, 1], profiles[:, 2])[0, 1]
    assert pmi.correlation_similarity("w1", "w2", n=n) == pytest.approx(expected, abs=1e-4)
    neighbours = pmi.most_similar(["w1"], method="correlation", correlation_n=n, topn=3)
    correlations = [
        np.corrcoef(profiles[:, 1], profiles[:, WORDS.index(w)])[0, 1] for w, _ in neighbours
    ]
    np.testing.assert_allclose([x for _, x in neighbours], correlations, atol=1e-4)


def test_word_info_and_completion(engine, pmi):
    info = pmi.word_info("W3")
    assert info == {
        "word": "w3",
        "rank": 4,
        "norm": pytest.approx(info["norm"]),
        "count": (len(WORDS) - 3) * 3,
        "frequency": pytest.approx((len(WORDS) - 3) * 3 / pmi.counts.sum()),
    }
    words, total = pmi.complete("W4", limit=3)
    assert total == 111 and words == ["w4", "w40", "w41"]
    assert pmi.complete("w4", limit=3, offset=110) == (["w499"], 111)
    assert pmi.complete("zzz") == ([], 0)
    assert engine.get("glove").word_info("Paris")["count"] is None  # imported: no counts


def test_sentence_similarity(pmi, vectors):
    result = pmi.sentence_similarity(["w1", "w2", "unknown"], ["w3"])
    total = vectors[1].astype(np.float64) + vectors[2]
    assert result["dot"] == pytest.approx(float(total @ vectors[3]), rel=1e-5)
    assert result["unknown"] == [["unknown"], []]
    with pytest.raises(InvalidQueryError, match="at least one word"):
        pmi.sentence_similarity(["unknown"], ["w3"])


@pytest.fixture
def normalised(monkeypatch):
    """The length of every string handed to unicodedata.normalize during the test."""
    import unicodedata

    lengths: list[int] = []
    normalize = unicodedata.normalize

    def counting(form, text):
        lengths.append(len(text))
        return normalize(form, text)

    monkeypatch.setattr(unicodedata, "normalize", counting)
    return lengths


def test_text_that_grows_under_normalisation_stops_at_the_limit(pmi, normalised):
    """U+FDFA becomes 18 characters under NFKC: a text within the length limit must
    not cost its whole expansion (2.4 s and 306 MiB for this one) before its 413."""
    with pytest.raises(LimitExceededError, match="limit is 1,000,000"):
        pmi.tokenize("\ufdfa" * 1_000_000)
    assert sum(normalised) < 100_000  # 1,000,000 / 18, and a piece


def test_long_runs_of_combining_marks_cost_linear_time(pmi, normalised):
    """Canonical reordering sorts a run of combining marks by insertion, quadratic in
    its length (1.3 s for 40,000 marks, minutes for a million): text is normalised in
    short pieces, and a run of marks longer than Unicode's stream-safe 30 is cut."""
    assert pmi.tokenize("a" + "\u0301\u0316" * 10_000) == ["á"]
    assert max(normalised) <= 1_000


def test_the_token_limit_stops_tokenising(pmi, monkeypatch):
    """Tokenising stops one token past the limit rather than making every token of a
    text (500,000 here) and then refusing."""
    from wordlens.corpus import tokenizers

    made = []
    pattern = tokenizers._ENGLISH_TOKEN

    class Counting:
        def __getattr__(self, name):
            return getattr(pattern, name)

        def finditer(self, *args):
            for match in pattern.finditer(*args):
                made.append(1)
                yield match

        def findall(self, *args):
            found = pattern.findall(*args)
            made.extend([1] * len(found))
            return found

    monkeypatch.setattr(tokenizers, "_ENGLISH_TOKEN", Counting())
    with pytest.raises(LimitExceededError, match="more than 100,000 tokens"):
        pmi.tokenize("w1 " * 333_333)
    assert len(made) == 100_001


def test_word_and_token_lists_are_bounded_in_characters(pmi):
    with pytest.raises(LimitExceededError, match="limit is 1,000,000"):
        pmi.most_similar(["é" * 1_000_001])
    with pytest.raises(LimitExceededError, match="limit is 1,000,000"):
        pmi.sentence_similarity(["w1" * 300_000, "w2" * 300_000], ["w3"])
    with pytest.raises(LimitExceededError, match="1,001 stop-words in one query"):
        pmi.keywords("w1 w2", stopwords=("w3",) * 1001)


@pytest.fixture(scope="module")
def wide_pmi(tmp_path_factory):
    """A PMI model of 20,000 words: a (V, d) float64 matrix is 10 MB."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(20_000)]
    path = write_model(
        tmp_path_factory.mktemp("wide") / "pmi",
        kind="pmi",
        words=words,
        vectors=rng.normal(size=(len(words), 64)),
        counts=np.arange(len(words), 0, -1),
        manifest={"tokenizer": {"name": "whitespace"}},
    )
    return WordModel(load_model(path, verify=False))


def test_a_new_correlation_n_costs_no_whole_vocabulary_projection(wide_pmi):
    """Each correlation_n used to cost a (V, d) projection under the model's lock
    (0.1-0.7 s on the default model): two words' correlation projects those two."""
    import tracemalloc

    tracemalloc.start()
    for n in (500, 501, 502):
        wide_pmi.correlation_similarity("w1", "w2", n)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000  # a (V, d) float32 matrix would be 5 MB


def test_the_correlation_cache_is_bounded_and_reused(pmi):
    from wordlens.app.families import CORRELATION_CACHE

    first = pmi.most_similar(["w1"], method="correlation", correlation_n=300, topn=5)
    for n in range(2, 2 + 2 * CORRELATION_CACHE):
        pmi.most_similar(["w1"], method="correlation", correlation_n=n, topn=1)
    assert len(pmi.family._correlation) == CORRELATION_CACHE
    assert pmi.most_similar(["w1"], method="correlation", correlation_n=300, topn=5) == first


def test_float16_vectors_answer_as_float32_ones(wide_pmi, tmp_path):
    """A float16 model is scanned in float32 blocks of rows (20,000 rows of 64: ten
    blocks): its answers are the float32 model's, up to float16's rounding."""
    model = wide_pmi.model
    path = write_model(
        tmp_path / "half",
        kind="pmi",
        words=model.words,
        vectors=model.vectors,
        counts=model.counts,
        manifest={"tokenizer": {"name": "whitespace"}},
        dtype="float16",
    )
    half = WordModel(load_model(path))
    assert half.vectors.dtype == np.float16
    for word in ("w0", "w12345", "w19999"):
        ours, theirs = half.most_similar([word], topn=5), wide_pmi.most_similar([word], topn=5)
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=2e-3)
        assert half.similarity(word, "w7") == pytest.approx(
            wide_pmi.similarity(word, "w7"), abs=2e-3
        )
    related, _ = half.related("w19999", topn=3)
    expected, _ = wide_pmi.related("w19999", topn=3)
    np.testing.assert_allclose([s for _, s in related], [s for _, s in expected], rtol=2e-3)
    cosmul = half.most_similar_cosmul(["w1", "w2"], ["w3"], topn=3)
    np.testing.assert_allclose(
        [s for _, s in cosmul],
        [s for _, s in wide_pmi.most_similar_cosmul(["w1", "w2"], ["w3"], topn=3)],
        atol=2e-3,
    )
