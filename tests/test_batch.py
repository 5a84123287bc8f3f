"""Batch queries (``most_similar_batch``, ``related_batch``): every answer equal to
the single query's, ties included, whatever the chunking; per-query errors; the
limits that cover a batch's work; bounded memory. On the tiny trained PMI and
Word2Vec (hierarchical softmax) models, the PMI vectors imported as plain vectors,
a negative-sampling model and synthetic vectors full of ties. The HTTP contract of
``/most_similar/batch`` and ``/related/batch`` is at the end; the real server runs
them in tests/test_end_to_end.py.
"""

import tracemalloc

import numpy as np
import pytest
from fastapi.testclient import TestClient

from wordlens.app import blocks, families
from wordlens.app import schemas as s
from wordlens.app.engine import Engine, Limits, SimilarQuery
from wordlens.app.errors import (
    InvalidQueryError,
    LimitExceededError,
    QueryError,
    UnknownWordError,
    UnsupportedQueryError,
)
from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.artifacts import load_model, write_model

TIED = [f"t{i}" for i in range(400)]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, trained_models):
    """The tiny trained models (linked), the PMI vectors imported as plain vectors, a
    negative-sampling layer made up for the PMI vectors, and ``tied``: 400 words
    whose vectors take 4 values only (100 words share each), so that every answer
    cuts through a group of equal scores."""
    root = tmp_path_factory.mktemp("batch") / "models"
    root.mkdir()
    for name in ("pmi", "word2vec"):
        (root / name).symlink_to(trained_models / name)
    pmi = load_model(trained_models / "pmi", verify=False)
    vectors = np.asarray(pmi.vectors)
    write_model(root / "imported", kind="imported", words=pmi.words, vectors=vectors)
    rng = np.random.default_rng(3)
    write_model(
        root / "ns",
        kind="word2vec",
        words=pmi.words,
        vectors=vectors,
        counts=np.asarray(pmi.counts),
        arrays={"syn1neg": rng.normal(size=vectors.shape).astype(np.float32)},
        manifest={"output_layers": ["ns"], "params": {"ns_exponent": 0.75}},
    )
    values = rng.normal(size=(4, 8)).astype(np.float32)
    write_model(
        root / "tied",
        kind="pmi",
        words=TIED,
        vectors=values[np.arange(len(TIED)) % 4],
        counts=np.full(len(TIED), 5),
    )
    return root


@pytest.fixture(scope="module")
def engine(models_dir):
    return Engine(models_dir, verify=False)


def sample_words(model, count=120, seed=0):
    """Frequent and rare words of ``model``, some repeated."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.arange(20), rng.integers(0, len(model), count - 20)])
    return [model.words[i] for i in rows]


def single_or_error(call):
    try:
        return call()
    except QueryError as error:
        return error


def assert_same(batch, single):
    """Equal answers: the same words and the same scores, to the bit; errors of the
    same class and message."""
    assert len(batch) == len(single)
    for ours, alone in zip(batch, single, strict=True):
        if isinstance(alone, QueryError):
            assert type(ours) is type(alone) and ours.message == alone.message
        else:
            assert ours == alone


def similar_queries(model, words):
    pairs = list(zip(words, reversed(words), strict=True))
    return [
        *(SimilarQuery([w]) for w in words),
        *(SimilarQuery([a, b], [words[0]]) for a, b in pairs[:40]),  # analogies
        *(SimilarQuery((), [w]) for w in words[:10]),  # negatives only
        SimilarQuery([words[3], words[3]]),  # a word twice
        SimilarQuery([words[5]], [words[5]]),  # cancels out: its own error
        SimilarQuery(["zzunknownzz", words[1]]),  # unknown: its own error
        SimilarQuery(),  # no words: its own error
    ]


@pytest.mark.parametrize("name", ["pmi", "word2vec", "imported", "tied"])
@pytest.mark.parametrize("topn", [1, 10, 150])
def test_most_similar_batch_equals_single_queries(engine, name, topn):
    model = engine.get(name)
    queries = similar_queries(model, sample_words(model))
    for restrict_vocab in (None, 300):
        batch = model.most_similar_batch(queries, topn, restrict_vocab)
        single = [
            single_or_error(
                lambda q=q, r=restrict_vocab: model.most_similar(q.positive, q.negative, topn, r)
            )
            for q in queries
        ]
        assert_same(batch, single)
    assert isinstance(batch[-1], InvalidQueryError) and isinstance(batch[-2], UnknownWordError)
    assert isinstance(batch[-3], InvalidQueryError)


@pytest.mark.parametrize("name", ["pmi", "word2vec", "ns", "tied"])
@pytest.mark.parametrize("topn", [1, 10, 150])
def test_related_batch_equals_single_queries(engine, name, topn):
    model = engine.get(name)
    words = [*sample_words(model), "zzunknownzz"]
    batch, method = model.related_batch(words, topn, 0.7)
    single = [single_or_error(lambda w=w: model.related(w, topn, 0.7)[0]) for w in words]
    assert method == model.family.name
    assert_same(batch, single)
    assert isinstance(batch[-1], UnknownWordError)


def exact_order(scores: np.ndarray, topn: int, excluded) -> list[int]:
    """The reference ranking: best score first, ties by lower row, ``excluded`` out."""
    rows = [i for i in np.lexsort((np.arange(len(scores)), -scores)) if i not in excluded]
    return rows[:topn]


def test_ties_go_to_the_lower_row_and_scores_are_exact(engine):
    """100 words share each score: an answer of 150 words cuts through a tie group,
    and it takes that group's lowest rows, in a batch as alone."""
    model = engine.get("tied")
    unit = np.stack([model.vector(w, norm=True) for w in TIED]).astype(np.float64)
    rows = [model.index[w] for w in TIED]
    # scores: stored rows over their stored norms, in float64
    exact_unit = model.vectors[rows].astype(np.float64) / model.norms[rows, None].astype(np.float64)
    answers = model.most_similar_batch([SimilarQuery([w]) for w in TIED[:8]], topn=150)
    related, _ = model.related_batch(TIED[:8], topn=150)
    for row, answer, context in zip(range(8), answers, related, strict=True):
        cosines = exact_unit @ (unit[row] / np.linalg.norm(unit[row]))  # the query: unit in float64
        expected = exact_order(cosines, 150, {row})
        assert [model.index[w] for w, _ in answer] == expected
        np.testing.assert_allclose([x for _, x in answer], cosines[expected], rtol=0, atol=1e-12)
        dots = model.vectors.astype(np.float64) @ model.vectors[row].astype(np.float64)
        assert [model.index[w] for w, _ in context] == exact_order(dots, 150, {row})


def test_related_scores_are_the_context_similarity_of_each_pair(engine):
    """The list's scores are the exact pair scores, not the fast whole-vocabulary
    estimates used to find the candidates."""
    for name in ("pmi", "word2vec", "ns"):
        model = engine.get(name)
        words = sample_words(model, 30)
        answers, _ = model.related_batch(words, topn=5)
        for word, answer in zip(words, answers, strict=True):
            for other, score in answer:
                assert (
                    score
                    == model.context_similarity(
                        word,
                        other,
                    )[0]
                )


def test_chunks_do_not_change_answers_and_bound_memory(engine, monkeypatch):
    model = engine.get("word2vec")
    words = sample_words(model, 200)
    whole, _ = model.related_batch(words, topn=10)
    similar = model.most_similar_batch([SimilarQuery([w]) for w in words], topn=10)
    width = len(model)
    unchunked = 200 * width * model.family.context_bytes
    budget = unchunked // 20
    monkeypatch.setattr(blocks, "BATCH_BYTES", budget)
    tracemalloc.start()
    try:
        chunked, _ = model.related_batch(words, topn=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert chunked == whole
    assert peak < 2 * budget < unchunked / 5
    assert model.most_similar_batch([SimilarQuery([w]) for w in words], topn=10) == similar
    monkeypatch.setattr(blocks, "BATCH_BYTES", 1)  # one query per chunk
    assert model.related_batch(words, topn=10)[0] == whole


def test_exact_scores_do_not_depend_on_the_pairs_scored_together(engine, monkeypatch):
    """The exact rescoring of (query, row) pairs, a block of pairs at a time, gives
    each pair's float64 cosine, to the bit, whatever the block."""
    unit = engine.get("pmi").unit
    rng = np.random.default_rng(3)
    queries = rng.normal(size=(6, unit.vectors.shape[1]))
    which = rng.integers(0, 6, 500)
    rows = rng.integers(0, len(unit.vectors), 500)
    scores = unit.exact(queries, which, rows)
    alone = [
        np.dot(unit.vectors[r].astype(np.float64), queries[q]) / float(unit.norms[r])
        for q, r in zip(which, rows, strict=True)
    ]
    assert scores == pytest.approx(alone, rel=1e-12)
    monkeypatch.setattr(families, "_EXACT_BYTES", 7 * 8 * queries.shape[1])  # 7 pairs
    assert np.array_equal(unit.exact(queries, which, rows), scores)


def test_batch_limits_cover_the_whole_batch(models_dir):
    limits = Limits(max_words=3, max_batch_queries=4, max_batch_words=6, max_batch_neighbours=20)
    model = Engine(models_dir, verify=False, limits=limits).get("pmi")
    w = model.words
    with pytest.raises(LimitExceededError, match="5 queries in one batch; the limit is 4"):
        model.most_similar_batch([SimilarQuery([w[1]])] * 5)
    with pytest.raises(LimitExceededError, match="7 query words"):
        model.most_similar_batch([SimilarQuery([w[1], w[2]], [w[3]])] * 2 + [SimilarQuery([w[4]])])
    with pytest.raises(LimitExceededError, match="24 neighbours"):
        model.related_batch([w[1]] * 4, topn=6)
    with pytest.raises(LimitExceededError, match="5 queries"):
        model.related_batch([w[1]] * 5, topn=1)
    assert len(model.related_batch([w[1]] * 4, topn=5)[0]) == 4
    # one query beyond a limit of one query: its own error
    answers = model.most_similar_batch([SimilarQuery(w[1:5]), SimilarQuery([w[1]])], topn=2)
    assert isinstance(answers[0], LimitExceededError) and len(answers[1]) == 2
    with pytest.raises(InvalidQueryError):
        model.most_similar_batch([SimilarQuery([w[1]])], topn=0)
    with pytest.raises(InvalidQueryError):
        model.most_similar_batch([SimilarQuery([w[1]])], restrict_vocab=0)
    assert model.most_similar_batch([]) == [] and model.related_batch([])[0] == []


def test_vectors_only_models_refuse_related_batches(engine):
    with pytest.raises(UnsupportedQueryError, match="no output layer"):
        engine.get("imported").related_batch(["the"])


# ------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def client(models_dir):
    settings = Settings(models_dir=models_dir, verify_checksums=False)
    with TestClient(create_app(settings)) as session:
        yield session


def test_most_similar_batch_over_http(client, engine):
    model = engine.get("pmi")
    words = sample_words(model, 30)
    queries = [
        {"id": 0, "positive": [words[0]]},
        {"id": "a", "positive": [words[1], words[2]], "negative": [words[3]]},
        {"positive": ["zzunknownzz", "zzother"]},
        {"id": 3.5, "negative": [words[4]]},
        {"id": True},
    ]
    response = client.post(
        "/most_similar/batch", json={"queries": queries, "topn": 4, "restrict_vocab": 500}
    )
    assert response.status_code == 200
    body = response.json()
    s.MostSimilarBatchResponse.model_validate(body)  # the documented shape, sent as built
    assert body["model"] == "pmi" and body["method"] == "cosine"
    results = body["results"]
    assert [r["id"] for r in results] == [0, "a", None, 3.5, True]
    for query, result in zip(queries, results, strict=True):
        alone = client.post(
            "/most_similar",
            json={
                **{k: v for k, v in query.items() if k != "id"},
                "topn": 4,
                "restrict_vocab": 500,
            },
        )
        if result["error"] is None:
            assert alone.status_code == 200
            assert result["neighbours"] == alone.json()["neighbours"]
            assert len(result["neighbours"]) == 4
        else:
            assert result["neighbours"] == []
            assert result["error"] == alone.json()["error"]
    assert results[2]["error"]["code"] == "unknown_word"
    assert results[2]["error"]["missing"] == ["zzunknownzz", "zzother"]
    assert results[4]["error"]["code"] == "invalid_query"


def test_related_batch_over_http(client, engine):
    for name, method in (("pmi", "pmi"), ("word2vec", "hs")):
        words = [*sample_words(engine.get(name), 20), "zzunknownzz"]
        body = {"words": words, "topn": 3, "model": name, "prior_weight": 1}
        response = client.post("/related/batch", json=body)
        assert response.status_code == 200
        answer = response.json()
        s.RelatedBatchResponse.model_validate(answer)
        assert answer["model"] == name and answer["method"] == method
        assert [r["word"] for r in answer["results"]] == words
        for word, result in zip(words[:-1], answer["results"][:-1], strict=True):
            alone = client.get(
                "/related", params={"word": word, "topn": 3, "model": name, "prior_weight": 1}
            )
            assert result["error"] is None and result["neighbours"] == alone.json()["neighbours"]
        assert answer["results"][-1]["error"]["code"] == "unknown_word"


def error(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    return response.json()["error"]


def test_batch_errors_over_http(models_dir):
    limits = Limits(max_topn=50, max_batch_queries=3, max_batch_words=4, max_batch_neighbours=60)
    settings = Settings(models_dir=models_dir, verify_checksums=False, limits=limits)
    with TestClient(create_app(settings)) as c:
        one = {"positive": ["the"]}
        assert (
            error(c.post("/most_similar/batch", json={"queries": [one] * 4}), 413, "too_large")[
                "limit"
            ]
            == 3
        )
        many = {"queries": [{"positive": ["the", "of", "and"]}, one, one]}
        assert error(c.post("/most_similar/batch", json=many), 413, "too_large")["limit"] == 4
        wide = {"queries": [one] * 2, "topn": 31}
        assert error(c.post("/most_similar/batch", json=wide), 413, "too_large")["limit"] == 60
        error(c.post("/most_similar/batch", json={"queries": [one], "topn": 51}), 413, "too_large")
        error(c.post("/related/batch", json={"words": ["the"] * 4}), 413, "too_large")
        error(c.post("/related/batch", json={"words": ["the"], "topn": 61}), 413, "too_large")
        imported = {"words": ["the"], "model": "imported"}
        error(c.post("/related/batch", json=imported), 409, "unsupported_query")
        error(
            c.post("/related/batch", json={"words": ["the"], "model": "nope"}), 404, "unknown_model"
        )
        for bad in (
            {"queries": [{"positive": [""]}]},  # an empty word
            {"queries": [{"positive": "the"}]},  # not a list
            {"queries": [{"positive": ["the"], "method": "cosmul"}]},  # unknown field
            {"queries": [one], "topn": "3"},
            {"queries": [one], "restrict_vocab": 0},
            {"queries": None},
            {},
        ):
            error(c.post("/most_similar/batch", json=bad), 422, "invalid_request")
        for bad in (
            {"words": ["the"], "prior_weight": 3},
            {"words": "the"},
            {"words": [3]},
            {"words": ["the"], "topn": 0},
        ):
            error(c.post("/related/batch", json=bad), 422, "invalid_request")
        empty = c.post("/most_similar/batch", json={"queries": []})
        assert empty.status_code == 200 and empty.json()["results"] == []
        document = c.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["MostSimilarBatchRequest"]["properties"]["queries"]["maxItems"] == 3
    assert schemas["RelatedBatchRequest"]["properties"]["words"]["maxItems"] == 3
    assert schemas["RelatedBatchRequest"]["properties"]["topn"]["maximum"] == 50
    assert "60 neighbours" in schemas["RelatedBatchRequest"]["properties"]["words"]["description"]
    assert "maxItems" not in schemas["BatchQuery"]["properties"]["positive"]
    assert {"/most_similar/batch", "/related/batch"} <= set(document["paths"])
