"""Model families: chosen once from the manifest, each answering what it can.

The hierarchical-softmax family runs on a hand-built Huffman tree of four words
(root 0; inner node 1 above w0 and w1, inner node 2 above w2 and w3), small enough
to write p(u | w) down by hand.
"""

import numpy as np
import pytest

from wordlens.app.engine import Limits, WordModel
from wordlens.app.errors import InvalidQueryError, LimitExceededError, UnsupportedQueryError
from wordlens.app.families import (
    ContextScore,
    HierarchicalSoftmax,
    NegativeSampling,
    PMIInnerProduct,
    VectorsOnly,
    family_of,
)
from wordlens.artifacts import load_model, write_model

WORDS = ["w0", "w1", "w2", "w3"]
COUNTS = np.array([40, 30, 20, 10])
RNG = np.random.default_rng(5)
VECTORS = RNG.normal(size=(4, 3)).astype(np.float32)
SYN1 = RNG.normal(size=(4, 3)).astype(np.float32)
SYN1NEG = RNG.normal(size=(4, 3)).astype(np.float32)
TREE = {
    "syn1": SYN1,
    "hs_points": np.array([[0, 1], [0, 1], [0, 2], [0, 2]], dtype=np.int32),
    "hs_codes": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int8),
    "hs_lengths": np.array([2, 2, 2, 2], dtype=np.int32),
}


def log_sigmoid(x: float) -> float:
    return -float(np.logaddexp(0.0, -x))


def by_hand_log_prob(u: int, w: int) -> float:
    """log p(u | w): the turns of u's path, code 0 = σ(+x), code 1 = σ(−x)."""
    x = SYN1 @ VECTORS[w].astype(np.float64)
    points, codes = TREE["hs_points"][u], TREE["hs_codes"][u]
    return sum(log_sigmoid((1 - 2 * c) * x[p]) for p, c in zip(points, codes, strict=True))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")

    def make(name, kind, counts=COUNTS, layers=(), arrays=None, params=None):
        path = write_model(
            root / name,
            kind=kind,
            words=WORDS,
            vectors=VECTORS,
            counts=counts,
            arrays=arrays,
            manifest={"output_layers": list(layers), "params": params or {}},
        )
        return WordModel(load_model(path))

    return {
        "pmi": make("pmi", "pmi"),
        "hs": make("hs", "word2vec", layers=["hs"], arrays=TREE),
        "ns": make(
            "ns",
            "word2vec",
            layers=["ns"],
            arrays={"syn1neg": SYN1NEG},
            params={"ns_exponent": 0.5},
        ),
        "both": make("both", "word2vec", layers=["hs", "ns"], arrays={**TREE, "syn1neg": SYN1NEG}),
        "imported": make("imported", "imported", counts=None),
        "no_counts": make("no_counts", "word2vec", counts=None, layers=["hs"], arrays=TREE),
        "other": make("other", "glove"),
    }


def test_each_manifest_gets_its_family(models):
    expected = {
        "pmi": PMIInnerProduct,
        "hs": HierarchicalSoftmax,
        "ns": NegativeSampling,
        "both": HierarchicalSoftmax,  # the exact layer wins over the sampled one
        "imported": VectorsOnly,
        "no_counts": VectorsOnly,  # log p(b) needs the counts
        "other": VectorsOnly,
    }
    for name, family in expected.items():
        assert type(models[name].family) is family, name
        assert type(family_of(models[name].model)) is family
    assert models["pmi"].family.queries == (
        "context_similarity",
        "keywords",
        "correlation",
        "infer",
    )
    assert models["hs"].family.queries == ("context_similarity", "keywords", "infer")
    assert models["imported"].family.queries == ()


def test_vectors_only_refuses_with_the_reason(models):
    for name in ("imported", "no_counts", "other"):
        model = models[name]
        assert model.most_similar(["w0"], topn=2)  # cosine always works
        for query in (
            lambda m: m.related("w0"),
            lambda m: m.context_similarity("w0", "w1"),
            lambda m: m.keywords("w0 w1"),
            lambda m: m.correlation_similarity("w0", "w1"),
        ):
            with pytest.raises(UnsupportedQueryError, match="no output layer"):
                query(model)
    with pytest.raises(UnsupportedQueryError, match="needs a PMI model"):
        models["hs"].correlation_similarity("w0", "w1")


def test_pmi_scores_are_inner_products(models):
    pmi = models["pmi"]
    dots = VECTORS.astype(np.float64) @ VECTORS.T
    np.testing.assert_allclose(pmi.context_scores("w1"), dots[1], rtol=1e-6)
    assert pmi.context_similarity("w1", "w3") == (pytest.approx(dots[1, 3], rel=1e-6), "pmi")
    result = pmi.keywords(["w0", "w2", "w2"], exclude_stopwords=False)
    total = VECTORS[0] + 2 * VECTORS[2].astype(np.float64)
    scores = {w: float(VECTORS[WORDS.index(w)] @ total) / 3 for w in ("w0", "w2")}  # per token
    assert result.method == "pmi"
    assert result.keywords == [
        (w, pytest.approx(s, rel=1e-5)) for w, s in sorted(scores.items(), key=lambda x: -x[1])
    ]
    assert pmi.keywords(["w0", "w2"], variant="cosine").method == "pmi_cosine"


def test_hierarchical_softmax_scores_by_hand(models):
    hs = models["hs"]
    prior = np.log(COUNTS / COUNTS.sum())
    for w in range(4):
        expected = [by_hand_log_prob(u, w) - 0.9 * prior[u] for u in range(4)]
        np.testing.assert_allclose(hs.context_scores(WORDS[w], score="su"), expected, rtol=1e-5)
        assert np.exp([by_hand_log_prob(u, w) for u in range(4)]).sum() == pytest.approx(1.0)
    score, method = hs.context_similarity("w3", "w0", prior_weight=0.5, score="su")
    assert method == "hs_su"
    assert score == pytest.approx(by_hand_log_prob(0, 3) - 0.5 * prior[0], rel=1e-5)
    result = hs.keywords(["w1", "w2", "w2"], exclude_stopwords=False)
    # per token: the mean log p(u | w) over the 3 tokens
    expected = {w: (by_hand_log_prob(1, w) + 2 * by_hand_log_prob(2, w)) / 3 for w in (1, 2)}
    assert result.method == "hs"
    assert dict(result.keywords) == {
        WORDS[w]: pytest.approx(s, rel=1e-5) for w, s in expected.items()
    }
    explained = hs.keywords(["w1", "w2", "w2"], exclude_stopwords=False, explain=True)
    for (word, _), why in zip(explained.keywords, explained.explanations, strict=True):
        w = WORDS.index(word)
        assert dict(why.contributions) == {
            "w1": pytest.approx(by_hand_log_prob(1, w) / 3, rel=1e-5),
            "w2": pytest.approx(2 * by_hand_log_prob(2, w) / 3, rel=1e-5),
        }
    with pytest.raises(InvalidQueryError, match="offers default"):
        hs.keywords(["w1"], variant="cosine")


def test_negative_sampling_scores(models):
    ns = models["ns"]
    log_counts = np.log(COUNTS)
    expected = SYN1NEG.astype(np.float64) @ VECTORS[2] + (0.5 - 0.9) * log_counts
    np.testing.assert_allclose(ns.context_scores("w2", score="su"), expected, rtol=1e-5)
    score, method = ns.context_similarity("w2", "w1", score="su")
    assert (score, method) == (pytest.approx(expected[1], rel=1e-5), "ns_su")
    result = ns.keywords(["w0", "w3"], exclude_stopwords=False)
    context = SYN1NEG[0].astype(np.float64) + SYN1NEG[3]
    assert dict(result.keywords) == {  # per token: the mean over the 2 tokens
        w: pytest.approx(float(VECTORS[WORDS.index(w)] @ context) / 2, rel=1e-5)
        for w in ("w0", "w3")
    }


def test_the_symmetric_score_averages_both_directions_by_hand(models):
    """The default score: ½[(log p(b|a) − λ log p(b)) + (log p(a|b) − λ log p(a))],
    λ = 0.4, for hierarchical softmax; for negative sampling the same average of
    v_a·c_b + (β − λ) log n(b) and v_b·c_a + (β − λ) log n(a)."""
    hs, ns = models["hs"], models["ns"]
    prior, log_counts = np.log(COUNTS / COUNTS.sum()), np.log(COUNTS)
    vectors, contexts = VECTORS.astype(np.float64), SYN1NEG.astype(np.float64)
    for a in range(4):
        su = [by_hand_log_prob(b, a) - 0.4 * prior[b] for b in range(4)]
        back = [by_hand_log_prob(a, b) - 0.4 * prior[a] for b in range(4)]
        expected = 0.5 * (np.array(su) + back)
        np.testing.assert_allclose(hs.context_scores(WORDS[a]), expected, rtol=1e-5)
        forward = contexts @ vectors[a] + (0.5 - 0.4) * log_counts
        backward = vectors @ contexts[a] + (0.5 - 0.4) * log_counts[a]
        np.testing.assert_allclose(
            ns.context_scores(WORDS[a]), 0.5 * (forward + backward), rtol=1e-5
        )
    score, method = hs.context_similarity("w3", "w0", prior_weight=0.7)
    assert method == "hs"
    by_hand = 0.5 * (by_hand_log_prob(0, 3) - 0.7 * prior[0] + by_hand_log_prob(3, 0))
    assert score == pytest.approx(by_hand - 0.5 * 0.7 * prior[3], rel=1e-5)
    assert hs.context_similarity("w0", "w3", prior_weight=0.7) == (pytest.approx(score), "hs")


def test_pmi_has_one_score_form(models):
    pmi = models["pmi"]
    assert pmi.context_similarity("w1", "w3", score="su") == pmi.context_similarity("w1", "w3")
    assert pmi.related("w1", 3, score="su") == pmi.related("w1", 3)


def test_an_unknown_score_form_is_refused(models):
    with pytest.raises(InvalidQueryError, match="unknown context score 'cosine'"):
        models["hs"].related("w1", 3, score="cosine")
    with pytest.raises(InvalidQueryError, match="unknown context score"):
        ContextScore.of("Su")


@pytest.mark.parametrize("form", ["symmetric", "su"])
@pytest.mark.parametrize("name", ["pmi", "hs", "ns"])
def test_pair_scores_agree_with_the_whole_vocabulary(models, name, form):
    """Pair scores (context_similarity, evaluation) and whole-vocabulary scores
    (related words) are two paths to the same numbers, within the family's margin."""
    family = models[name].family
    score = ContextScore.of(form, 0.7)
    rows_a, rows_b = np.array([0, 0, 1, 2, 3, 3]), np.array([1, 3, 2, 0, 3, 1])
    pairs = family.pair_scores(rows_a, rows_b, score)
    whole = family.context_scores(rows_a, score)[np.arange(len(rows_a)), rows_b]
    np.testing.assert_allclose(pairs, whole, rtol=1e-5)
    assert (abs(pairs - whole) <= family.context_margin(rows_a, score)).all()


def peak_bytes(call) -> int:
    """The most memory (numpy arrays included) allocated at once while ``call`` runs."""
    import tracemalloc

    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def word2vec(trained_models):
    return WordModel(load_model(trained_models / "word2vec", verify=False))


def test_hierarchical_softmax_keywords_of_a_varied_text_in_bounded_memory(word2vec):
    """The keyword score of a text through the tree is a (candidates × nodes) matrix:
    for a text of every vocabulary word it used to be built whole, several times (1.5
    GB and 4 s for a 90,000-token text on the default model). It goes by blocks of
    candidates, and the same scores come out."""
    text = " ".join(word2vec.words)
    tree, rows = word2vec.family.tree, np.arange(len(word2vec.words))
    assert len(rows) * tree.nodes * 4 > 40_000_000  # one float32 matrix alone
    scores = word2vec.family.keyword_scoring(rows, np.ones(len(rows)), rows, "default").scores
    some = rows[:: len(rows) // 7]
    np.testing.assert_allclose(
        scores[some],
        [
            word2vec.family.tree.log_prob(word2vec.vectors[[w] * len(rows)], rows).sum()
            for w in some
        ],
        rtol=1e-4,
    )
    assert peak_bytes(lambda: word2vec.keywords(text, exclude_stopwords=False)) < 40_000_000


def test_keyword_work_has_a_limit(models, word2vec):
    """Scoring through the tree costs (candidates × path nodes) products: a text beyond
    max_keyword_products is refused before the work, with a 413."""
    small = WordModel(word2vec.model, Limits(max_keyword_products=1_000_000))
    text = " ".join(word2vec.words[:3000])
    with pytest.raises(LimitExceededError, match="limit is 1,000,000") as info:
        small.keywords(text)
    assert "products of vectors" in info.value.message
    assert small.keywords(" ".join(word2vec.words[500:520])).keywords  # a sentence is cheap
    pmi = WordModel(models["pmi"].model, Limits(max_keyword_products=10))
    assert pmi.keywords("w0 w1 w2 w3").keywords  # PMI scores cost C + T products


def test_cosmul_with_many_words_in_bounded_memory(word2vec):
    """3CosMul multiplies one cosine per query word for every vocabulary word: a
    (V, k) matrix, twice in float64, for k up to 2,000 words; it goes by blocks."""
    positive = word2vec.words[:1000]
    assert len(word2vec.words) * len(positive) * 8 > 30_000_000  # one float64 (V, k)
    peak = peak_bytes(lambda: word2vec.most_similar_cosmul(positive, topn=5))
    assert peak < 20_000_000


def test_a_batch_budget_bounds_the_keyword_work_of_many_texts(word2vec):
    """Each text within max_keyword_products, many texts together within a budget: a
    text that would overspend it is refused before its work, and spends nothing."""
    from wordlens.app.keywords import WorkBudget

    texts = [" ".join(word2vec.words[start : start + 600]) for start in (0, 600, 1200)]
    costs = []
    for text in texts:
        budget = WorkBudget(10**12)
        word2vec.keywords(text, budget=budget)
        costs.append(10**12 - budget.left)
    budget = WorkBudget(costs[0] + costs[2])
    assert word2vec.keywords(texts[0], budget=budget).keywords
    with pytest.raises(LimitExceededError, match=f"limit is {costs[0] + costs[2]:,}"):
        word2vec.keywords(texts[1], budget=budget)
    assert word2vec.keywords(texts[2], budget=budget).keywords and budget.left == 0


def float64_log_prob(model: WordModel, u: int, vectors: np.ndarray) -> np.ndarray:
    """log p(u | w) for each row of ``vectors`` (n, d), from the stored Huffman path of
    u, in float64."""
    arrays = model.model.arrays
    length = int(arrays["hs_lengths"][u])
    nodes = np.asarray(arrays["syn1"], dtype=np.float64)[arrays["hs_points"][u][:length]]
    turns = 1 - 2 * np.asarray(arrays["hs_codes"][u][:length], dtype=np.float64)
    return -np.logaddexp(0.0, -(vectors @ nodes.T) * turns).sum(axis=1)


@pytest.mark.parametrize("form", ["symmetric", "su"])
def test_trained_hierarchical_softmax_scores_against_float64(word2vec, form):
    """Both forms on a trained model, against the formula computed in float64."""
    vectors = np.asarray(word2vec.vectors, dtype=np.float64)
    counts = np.asarray(word2vec.model.counts, dtype=np.float64)
    prior = np.log(np.maximum(counts, 1)) - np.log(counts.sum())
    size = len(vectors)
    for a in (3, 40, size - 5):
        forward = np.array(
            [float64_log_prob(word2vec, b, vectors[a][None])[0] for b in range(size)]
        )
        forward -= 0.6 * prior
        expected = forward
        if form == "symmetric":
            expected = 0.5 * (forward + float64_log_prob(word2vec, a, vectors) - 0.6 * prior[a])
        scores = word2vec.context_scores(word2vec.words[a], 0.6, form)
        np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
        related, method = word2vec.related(word2vec.words[a], 5, 0.6, score=form)
        assert method == ("hs" if form == "symmetric" else "hs_su")
        best = np.argsort(-np.where(np.arange(size) == a, -np.inf, expected))[:5]
        assert [w for w, _ in related] == [word2vec.words[b] for b in best]
