"""The HTTP API contract, in-process (FastAPI's TestClient on ``create_app``).

Synthetic PMI and imported models, and the tiny trained Word2Vec model (hierarchical
softmax); answers are checked against the engine used as a library, and every error
path is exercised. tests/test_end_to_end.py runs the real server (uvicorn).
"""

import logging

import numpy as np
import pytest
from fastapi.testclient import TestClient

from wordlens.app.engine import Engine
from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.artifacts import write_model

WORDS = [f"w{i}" for i in range(300)] + ["paris", "café", "北京", "天安门"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory, trained_models):
    root = tmp_path_factory.mktemp("served") / "models"
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(WORDS), 16)).astype(np.float32)
    counts = np.arange(len(WORDS), 0, -1)
    write_model(
        root / "pmi",
        kind="pmi",
        words=WORDS,
        vectors=vectors,
        counts=counts,
        manifest={
            "tokenizer": {"name": "english"},
            "params": {"window": 10},
            "evaluation": {"wordsim353": {"spearman_cosine": 0.5}},
        },
    )
    write_model(
        root / "imported",
        kind="imported",
        words=WORDS,
        vectors=vectors[::-1],
        manifest={"tokenizer": {"name": "whitespace", "lowercase": False}},
    )
    (root / "word2vec").symlink_to(trained_models / "word2vec")
    return root


@pytest.fixture(scope="module")
def engine(models_dir):
    return Engine(models_dir)


@pytest.fixture(scope="module")
def client(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir))) as session:
        yield session


def pairs(body):
    return [(n["word"], pytest.approx(n["score"], rel=1e-5)) for n in body["neighbours"]]


def test_service_endpoints(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "default_model": "pmi",
        "models": ["imported", "pmi", "word2vec"],
        "errors": {},
        "reason": None,
    }
    models = {m["name"]: m for m in client.get("/models").json()}
    assert {name: (m["kind"], m["family"], m["queries"]) for name, m in models.items()} == {
        "pmi": (
            "pmi",
            "pmi",
            ["similarity", "context_similarity", "keywords", "correlation", "infer"],
        ),
        "word2vec": ("word2vec", "hs", ["similarity", "context_similarity", "keywords", "infer"]),
        "imported": ("imported", "vectors", ["similarity"]),
    }
    assert models["pmi"]["kind"] == "pmi" and models["pmi"]["vocab_size"] == len(WORDS)
    assert models["pmi"]["params"] == {"window": 10}
    assert models["pmi"]["evaluation"]["wordsim353"]["spearman_cosine"] == 0.5
    assert client.get("/models/imported").json()["tokenizer"]["name"] == "whitespace"
    assert "/most_similar" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_similar_words_match_the_engine(client, engine):
    pmi = engine.get("pmi")
    body = client.get(
        "/most_similar", params={"positive": ["w1", "w2"], "negative": "w3", "topn": 5}
    ).json()
    assert body["model"] == "pmi" and body["method"] == "cosine"
    assert pairs(body) == pmi.most_similar(["w1", "w2"], ["w3"], topn=5)
    posted = client.post(
        "/most_similar", json={"positive": ["w1", "w2"], "negative": ["w3"], "topn": 5}
    ).json()
    assert posted == body
    cosmul = client.post(
        "/most_similar",
        json={"positive": ["w1"], "negative": ["w2"], "method": "cosmul", "model": "imported"},
    ).json()
    assert pairs(cosmul) == engine.get("imported").most_similar_cosmul(["w1"], ["w2"])
    similarity = client.get("/similarity", params={"w1": "W1", "w2": "w2"}).json()
    assert similarity["similarity"] == pytest.approx(pmi.similarity("w1", "w2"), rel=1e-5)
    correlation = client.get(
        "/similarity", params={"w1": "w1", "w2": "w2", "method": "correlation", "correlation_n": 50}
    ).json()
    assert correlation["similarity"] == pytest.approx(
        pmi.correlation_similarity("w1", "w2", 50), rel=1e-4
    )
    odd = client.post("/doesnt_match", json={"words": ["w1", "w2", "w3", "w4"]}).json()
    assert odd["word"] == pmi.doesnt_match(["w1", "w2", "w3", "w4"])
    n_sim = client.post("/n_similarity", json={"ws1": ["w1", "w2"], "ws2": ["w5"]}).json()
    assert n_sim["similarity"] == pytest.approx(pmi.n_similarity(["w1", "w2"], ["w5"]), rel=1e-5)
    vector = client.get("/vector", params={"word": "w9"}).json()["vector"]
    np.testing.assert_allclose(vector, pmi.vector("w9"), rtol=1e-6)
    many = client.post("/vectors", json={"words": ["W9", "w10"], "norm": True}).json()
    assert many["words"] == ["w9", "w10"]
    unit = pmi.vectors[[9, 10]] / pmi.norms[[9, 10], None]
    np.testing.assert_allclose(many["vectors"], unit, rtol=1e-6)
    by_vector = client.post("/similar_by_vector", json={"vector": vector, "topn": 3}).json()
    assert pairs(by_vector) == pmi.similar_by_vector(vector, topn=3)


def test_related_words_and_word_information(client, engine):
    pmi = engine.get("pmi")
    body = client.get("/related", params={"word": "w4", "topn": 7}).json()
    assert body["method"] == "pmi"
    assert pairs(body) == pmi.related("w4", topn=7)[0]
    score = client.get("/context_similarity", params={"w1": "w4", "w2": "w5"}).json()
    assert score["score"] == pytest.approx(pmi.context_similarity("w4", "w5")[0], rel=1e-5)
    info = client.get("/words/W4").json()
    assert info["word"] == "w4" and info["rank"] == 5 and info["count"] == len(WORDS) - 4
    chinese = client.get("/words/北京").json()
    assert chinese["word"] == "北京"
    completion = client.get("/complete", params={"prefix": "w29", "limit": 3, "offset": 1}).json()
    assert completion == {
        "model": "pmi",
        "prefix": "w29",
        "total": 11,
        "words": ["w290", "w291", "w292"],
        "suggestions": [],
    }
    sentence = client.post(
        "/sentence_similarity", json={"text1": "Paris, café!", "tokens2": ["w4", "zzz"]}
    ).json()
    assert sentence["unknown"] == [[], ["zzz"]]
    assert sentence["dot"] == pytest.approx(
        pmi.sentence_similarity(["paris", "café"], ["w4"])["dot"], rel=1e-5
    )


def test_word2vec_related_words_and_keywords_match_the_engine(client, engine):
    model = engine.get("word2vec")
    params = {"word": "war", "topn": 6, "model": "word2vec", "prior_weight": 0.5}
    body = client.get("/related", params=params).json()
    assert body["method"] == "hs"
    assert pairs(body) == model.related("war", topn=6, prior_weight=0.5)[0]
    first = body["neighbours"][0]
    pair = client.get(
        "/context_similarity",
        params={"w1": "war", "w2": first["word"], "model": "word2vec", "prior_weight": 0.5},
    ).json()
    assert (pair["method"], pair["score"]) == ("hs", pytest.approx(first["score"], rel=1e-5))
    text = "The government must protect the rights of workers and their families."
    body = client.post("/keywords", json={"text": text, "topn": 4, "model": "word2vec"}).json()
    expected = model.keywords(text, topn=4)
    assert body["method"] == expected.method == "hs"
    assert [(k["word"], pytest.approx(k["score"], rel=1e-5)) for k in body["keywords"]] == (
        expected.keywords
    )


def error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code
    return body


def test_unknown_words_and_models(client):
    body = error(
        client.get("/most_similar", params={"positive": ["w1", "nope", "ünknown", "未知词"]}),
        404,
        "unknown_word",
    )
    assert body["missing"] == ["nope", "ünknown", "未知词"]
    body = error(
        client.get("/similarity", params={"w1": "w1", "w2": "w2", "model": "bert"}),
        404,
        "unknown_model",
    )
    assert body["available"] == ["imported", "pmi", "word2vec"]
    error(client.get("/words/zzz"), 404, "unknown_word")
    error(client.get("/no/such/path"), 404, "not_found")


def test_unsupported_queries_are_409(client):
    body = error(
        client.get("/related", params={"word": "w1", "model": "imported"}), 409, "unsupported_query"
    )
    assert "no output layer" in body["message"]
    error(
        client.get("/context_similarity", params={"w1": "w1", "w2": "w2", "model": "imported"}),
        409,
        "unsupported_query",
    )
    error(
        client.get(
            "/similarity",
            params={"w1": "w1", "w2": "w2", "model": "imported", "method": "correlation"},
        ),
        409,
        "unsupported_query",
    )


def test_bad_parameters_are_422(client):
    body = error(
        client.get("/most_similar", params={"positive": "w1", "topn": "many"}),
        422,
        "invalid_request",
    )
    assert "topn" in body["message"]
    error(client.get("/most_similar", params={"positive": "w1", "topn": 0}), 422, "invalid_request")
    error(client.get("/similarity", params={"w1": "w1"}), 422, "invalid_request")
    error(client.post("/most_similar", json={"positive": "w1"}), 422, "invalid_request")
    error(
        client.post("/most_similar", json={"positive": ["w1"], "colour": "red"}),
        422,
        "invalid_request",
    )
    error(
        client.post(
            "/most_similar", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "invalid_request",
    )
    error(client.post("/doesnt_match", json={"words": ["w1"]}), 422, "invalid_request")
    error(client.post("/sentence_similarity", json={"text1": "a"}), 422, "invalid_request")
    error(client.post("/similar_by_vector", json={"vector": [1, 2]}), 422, "invalid_query")
    error(client.get("/most_similar"), 422, "invalid_query")


def test_oversize_requests_are_413(client):
    body = error(
        client.get("/most_similar", params={"positive": "w1", "topn": 10**6}), 413, "too_large"
    )
    assert body["limit"] == 1000
    body = error(client.post("/most_similar", json={"positive": ["w1"] * 5000}), 413, "too_large")
    assert body["limit"] == 1000
    body = error(
        client.post("/sentence_similarity", json={"text1": "w1 " * 400_000, "text2": "w2"}),
        413,
        "too_large",
    )
    assert body["limit"] == 1_000_000


def test_broken_model_is_reported_not_fatal(tmp_path, caplog):
    models = tmp_path / "models"
    write_model(
        models / "good",
        kind="imported",
        words=["a", "b"],
        vectors=np.eye(2),
        manifest={"tokenizer": {"name": "whitespace"}},
    )
    write_model(models / "bad", kind="imported", words=["a", "b"], vectors=np.eye(2))
    (models / "bad" / "vectors.npy").write_bytes(b"garbage")
    with caplog.at_level(logging.ERROR), TestClient(create_app(Settings(models_dir=models))) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["models"] == ["good"]
        assert "vectors.npy" in ready.json()["errors"]["bad"]
        assert ready.json()["reason"] == "models that did not load: bad"
        assert c.get("/similarity", params={"w1": "a", "w2": "b"}).json()["similarity"] == 0.0
        body = error(c.get("/similarity", params={"w1": "a", "w2": "b", "model": "bad"}), 503,
                     "model_unavailable")  # fmt: skip
        assert body["model"] == "bad" and "bad/vectors.npy" in body["reason"]
    assert "model bad unavailable" in caplog.text and "vectors.npy" in caplog.text
    assert "not ready: models that did not load: bad" in caplog.text


def test_a_failed_default_model_is_503_never_another_model(tmp_path):
    models = tmp_path / "models"
    for name in ("pmi", "other"):
        write_model(models / name, kind="imported", words=["a", "b"], vectors=np.eye(2))
    (models / "pmi" / "vectors.npy").write_bytes(b"garbage")
    with TestClient(create_app(Settings(models_dir=models))) as c:
        assert c.get("/readyz").json()["default_model"] == "pmi"
        body = error(c.get("/similarity", params={"w1": "a", "w2": "b"}), 503, "model_unavailable")
        assert body["model"] == "pmi" and "pmi/vectors.npy" in body["reason"]
        assert c.get("/similarity", params={"w1": "a", "w2": "b", "model": "other"}).is_success


def test_a_batch_shares_one_budget_of_keyword_work(models_dir):
    """Each document alone is within its limits; together they pass the batch's
    budget, and the documents past it get their own too_large error."""
    # PMI keywords cost one product per distinct token and one per candidate: 20 here
    settings = Settings(models_dir=models_dir, max_batch_keyword_products=50)
    documents = [{"id": i, "tokens": [f"w{j}" for j in range(10 * i, 10 * i + 10)]}
                 for i in range(5)]  # fmt: skip
    options = {"documents": documents, "exclude_stopwords": False}
    with TestClient(create_app(settings)) as c:
        results = c.post("/keywords/batch", json=options).json()["results"]
    codes = [r["error"]["code"] if r["error"] else None for r in results]
    assert codes == [None, None, "too_large", "too_large", "too_large"]


def test_keywords_single_and_batch_agree(client, engine):
    text = "Paris, café and 北京? Paris again, zzz."
    single = client.post(
        "/keywords", json={"text": text, "topn": 3, "exclude_stopwords": False}
    ).json()
    expected = engine.get("pmi").keywords(text, topn=3, exclude_stopwords=False)
    assert single["method"] == "pmi"
    assert [
        (k["word"], pytest.approx(k["score"], rel=1e-6)) for k in single["keywords"]
    ] == expected.keywords
    assert single["unknown"] == ["and", "again", "zzz"] and single["tokens"] == 7
    documents = [
        {"id": 1, "text": text},
        {"id": "two", "tokens": ["w5", "w6", "w5"]},
        {"id": None, "text": "nothing known here"},
        {"id": 4},  # neither text nor tokens: an error for this item only
        {"id": 5, "text": "w1 " * 2_000_000},  # too long: an error for this item only
        {"id": 6, "text": "北京 天安门"},
    ]
    batch = client.post(
        "/keywords/batch", json={"documents": documents, "topn": 3, "exclude_stopwords": False}
    )
    assert batch.status_code == 200
    results = batch.json()["results"]
    assert [r["id"] for r in results] == [1, "two", None, 4, 5, 6]
    for document, result in zip(documents, results, strict=True):
        if result["error"] is None:
            alone = client.post(
                "/keywords",
                json={
                    **{k: v for k, v in document.items() if k != "id"},
                    "topn": 3,
                    "exclude_stopwords": False,
                },
            ).json()
            assert {k: result[k] for k in alone if k != "model"} == {
                k: v for k, v in alone.items() if k != "model"
            }
    assert results[2]["keywords"] == [] and "vocabulary" in results[2]["reason"]
    assert results[3]["error"]["code"] == "invalid_query"
    assert results[4]["error"]["code"] == "too_large"
    assert results[5]["error"] is None


def test_keyword_errors(client):
    error(
        client.post("/keywords", json={"text": "w1", "model": "imported"}), 409, "unsupported_query"
    )
    error(client.post("/keywords", json={"text": "w1", "tokens": ["w1"]}), 422, "invalid_request")
    error(client.post("/keywords", json={"text": 42}), 422, "invalid_request")
    error(client.post("/keywords", json={"text": "w1", "topn": 0}), 422, "invalid_request")
    error(
        client.post("/keywords/batch", json={"documents": [{"text": "a"}] * 1001}), 413, "too_large"
    )
    error(client.post("/keywords/batch", json={"documents": "none"}), 422, "invalid_request")
    error(
        client.post("/keywords/batch", json={"documents": [], "model": "nope"}),
        404,
        "unknown_model",
    )
    body = error(
        client.post(
            "/keywords/batch",
            content=b"x" * (65 * 1024 * 1024),
            headers={"content-type": "application/json"},
        ),
        413,
        "too_large",
    )
    assert body["limit"] == 64 * 1024 * 1024


def test_head_answers_wherever_get_does_and_405_says_allow(client):
    get, head = client.get("/models"), client.head("/models")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]
    assert client.head("/similarity", params={"w1": "w1", "w2": "w2"}).status_code == 200
    for method, path, allowed in [
        ("PUT", "/most_similar", "GET, HEAD, POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
        ("HEAD", "/keywords", "POST"),
        ("GET", "/keywords/batch", "POST"),
    ]:
        answer = client.request(method, path)
        assert answer.status_code == 405, (method, path)
        assert answer.headers["allow"] == allowed
        if method != "HEAD":
            assert answer.json()["error"]["code"] == "method_not_allowed"


def test_security_headers_on_every_answer(client):
    for answer in (
        client.get("/"),
        client.get("/healthz"),
        client.get("/words/zzz"),
        client.post("/keywords", json={}),
        client.get("/static/app.js"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
    docs = client.get("/docs")
    assert "https:" not in docs.headers["content-security-policy"]  # nothing from a CDN
    assert "https:" not in docs.text and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "https:" not in client.get("/redoc").text
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200


def test_the_document_states_the_limits_and_the_strict_forms(models_dir):
    from wordlens.app.engine import Limits

    settings = Settings(models_dir=models_dir, max_batch_documents=7, limits=Limits(max_topn=50))
    document = TestClient(create_app(settings)).get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["MostSimilarRequest"]["properties"]["topn"]["maximum"] == 50
    assert schemas["MostSimilarRequest"]["properties"]["positive"]["maxItems"] == 1000
    assert schemas["MostSimilarRequest"]["properties"]["correlation_n"]["maximum"] == 50_000
    assert "anyOf" in schemas["MostSimilarRequest"]
    assert schemas["KeywordsRequest"]["oneOf"] == [{"required": ["text"]}, {"required": ["tokens"]}]
    assert schemas["KeywordsRequest"]["properties"]["text"]["maxLength"] == 1_000_000
    assert schemas["KeywordsBatchRequest"]["properties"]["documents"]["maxItems"] == 7
    assert len(schemas["SentenceSimilarityRequest"]["allOf"]) == 2
    related = document["paths"]["/related"]["get"]["parameters"]
    assert next(p for p in related if p["name"] == "topn")["schema"]["maximum"] == 50
    assert set(document["paths"]["/keywords"]["post"]["responses"]) >= {"404", "413", "422"}


def test_keywords_diversity_and_explain(client, engine):
    text = "Ｐａｒｉｓ, café and 北京? Paris again, zzz."
    options = {"topn": 3, "exclude_stopwords": False, "diversity": 0.5, "explain": True}
    body = client.post("/keywords", json={"text": text, **options}).json()
    expected = engine.get("pmi").keywords(text, **options)
    assert [(k["word"], pytest.approx(k["score"])) for k in body["keywords"]] == expected.keywords
    for keyword in body["keywords"]:
        total = sum(c["contribution"] for c in keyword["contributions"]) + keyword["other"]
        assert total == pytest.approx(keyword["score"], rel=1e-4, abs=1e-6)
        found = [text[start:end] for start, end in keyword["spans"]]
        assert found and all(engine.get("pmi").normalize(f) == keyword["word"] for f in found)
    batch = client.post("/keywords/batch", json={"documents": [{"text": text}], **options})
    assert batch.json()["results"][0]["keywords"] == body["keywords"]
    plain = client.post("/keywords", json={"text": text, "topn": 3}).json()["keywords"]
    assert all(k["contributions"] is None and k["spans"] is None for k in plain)


BAD_KEYWORD_OPTIONS = [
    {"diversity": 1.5},
    {"diversity": -0.1},
    {"diversity": "0.5"},
    {"explain": "yes"},
    {"explain": 1},
]


@pytest.mark.parametrize("option", BAD_KEYWORD_OPTIONS)
def test_bad_keyword_options_get_422(client, option):
    for path, body in (("/keywords", {"text": "w1 w2"}), ("/keywords/batch", {"documents": []})):
        response = client.post(path, json={**body, **option})
        assert response.status_code == 422, (path, option)
        assert response.json()["error"]["code"] == "invalid_request"


def test_infer(client, engine):
    contexts = ["The [flurb] said Friday an investigation of the election", "the [flurb] said"]
    body = client.post("/infer", json={"contexts": contexts, "model": "word2vec", "topn": 5})
    assert body.status_code == 200, body.text
    found = body.json()
    expected = engine.get("word2vec").infer(contexts, topn=5)
    assert found["word"] == "flurb" and found["method"] == "hs_alacarte" and not found["known"]
    assert found["vector"] == pytest.approx(expected.vector.tolist(), rel=1e-6)
    assert pairs({"neighbours": found["similar"]}) == expected.similar
    assert found["occurrences"] == 2
    assert client.post("/infer", json={"contexts": contexts, "model": "word2vec"}).json() == (
        client.post("/infer", json={"contexts": contexts, "model": "word2vec"}).json()
    )
    body = error(
        client.post("/infer", json={"contexts": contexts, "model": "imported"}),
        409,
        "unsupported_query",
    )
    error(client.post("/infer", json={"contexts": ["no marker"]}), 422, "invalid_query")
    error(client.post("/infer", json={"contexts": ["a b"], "word": "c"}), 422, "invalid_query")
    error(client.post("/infer", json={"contexts": []}), 422, "invalid_request")
    error(client.post("/infer", json={"contexts": "a [b] c"}), 422, "invalid_request")
    too_many = error(client.post("/infer", json={"contexts": ["[b] w1"] * 1001}), 413, "too_large")
    assert too_many["limit"] == 1000
    assert "/infer" in client.get("/openapi.json").json()["paths"]


def test_correlation_n_is_bounded_whatever_the_method(client):
    # The document bounds correlation_n for every method; a cosine query past it is
    # refused too (schemathesis found one accepted).
    for answer in (
        client.post("/most_similar", json={"positive": ["w1"], "correlation_n": 50_001}),
        client.get("/similarity", params={"w1": "w1", "w2": "w2", "correlation_n": 50_001}),
    ):
        assert error(answer, 422, "invalid_query")["message"].startswith("correlation_n must")
