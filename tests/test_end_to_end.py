"""End to end: models trained for real by the CLI, served by uvicorn with 2 workers on
127.0.0.1, queried over HTTP. One test per model family (PMI, hierarchical softmax,
negative sampling, imported vectors), answers checked against gensim and against
Su's plain formulas; plus Chinese. The API contract itself is tests/test_server.py.
"""

import gzip
import itertools

import httpx2
import numpy as np
import pytest
from conftest import ROOT, running_server, train
from gensim.models import KeyedVectors
from su_reference import predict_proba

from wordlens.app.engine import Engine
from wordlens.cli import main


@pytest.fixture(scope="module")
def models_dir(trained_models, tiny_corpus, tmp_path_factory):
    """The tiny English PMI and Word2Vec models (linked, never written to), and trained
    here: Word2Vec with negative sampling only, a tiny Chinese Word2Vec model, and the
    PMI vectors exported and imported back as plain vectors."""
    root = tmp_path_factory.mktemp("e2e")
    models = root / "models"
    models.mkdir()
    for name in ("pmi", "word2vec"):
        (models / name).symlink_to(trained_models / name)
    train(
        "word2vec", tiny_corpus, models / "ns", "--dim", "16", "--min-count", "3",
        "--epochs", "2", "--no-hs", "--negative", "5", "--workers", "1", "--no-evaluate",
    )  # fmt: skip
    chinese = root / "zh.txt"
    with gzip.open(ROOT / "corpus/data/zh.txt.gz", "rt", encoding="utf-8") as stream:
        chinese.write_text("".join(itertools.islice(stream, 3000)), encoding="utf-8")
    train(
        "word2vec", chinese, models / "zh", "--tokenizer", "jieba", "--dim", "16",
        "--min-count", "3", "--epochs", "3", "--no-evaluate",
    )  # fmt: skip
    exported = root / "pmi.txt"
    assert main(["-q", "export", str(models / "pmi"), "--format", "word2vec", str(exported)]) == 0
    imported = ["-q", "import", str(exported), "--format", "word2vec", "--out"]
    assert main([*imported, str(models / "imported")]) == 0
    return models


@pytest.fixture(scope="module")
def client(models_dir):
    with (
        running_server(models_dir, "--workers", "2") as url,
        httpx2.Client(base_url=url, timeout=30) as session,
    ):
        yield session


@pytest.fixture(scope="module")
def engine(models_dir):
    return Engine(models_dir)


def keyed_vectors(model) -> KeyedVectors:
    keyed = KeyedVectors(model.vectors.shape[1])
    keyed.add_vectors(model.words, np.asarray(model.vectors))
    return keyed


def words_of(body):
    return [n["word"] for n in body["neighbours"]]


def test_all_models_served(client):
    ready = client.get("/readyz").json()
    assert ready == {
        "ready": True,
        "default_model": "pmi",
        "models": ["imported", "ns", "pmi", "word2vec", "zh"],
        "errors": {},
        "reason": None,
    }
    families = {m["name"]: (m["kind"], m["family"]) for m in client.get("/models").json()}
    assert families == {
        "imported": ("imported", "vectors"),
        "ns": ("word2vec", "ns"),
        "pmi": ("pmi", "pmi"),
        "word2vec": ("word2vec", "hs"),
        "zh": ("word2vec", "hs"),
    }


@pytest.mark.parametrize("name", ["pmi", "word2vec", "ns", "imported"])
def test_cosine_queries_match_gensim(client, engine, name):
    model = engine.get(name)
    keyed = keyed_vectors(model)
    for word in ("government", "war", "man", "water"):
        body = client.get(
            "/most_similar", params={"positive": word, "topn": 10, "model": name}
        ).json()
        expected = keyed.most_similar(word, topn=10)
        assert words_of(body) == [w for w, _ in expected]
        np.testing.assert_allclose(
            [n["score"] for n in body["neighbours"]], [s for _, s in expected], rtol=1e-4
        )
    analogy = {"positive": ["king", "woman"], "negative": "man", "topn": 5, "model": name}
    body = client.get("/most_similar", params=analogy).json()
    assert words_of(body) == [w for w, _ in keyed.most_similar(["king", "woman"], ["man"], topn=5)]
    body = client.get("/most_similar", params={**analogy, "method": "cosmul"}).json()
    expected = keyed.most_similar_cosmul(["king", "woman"], ["man"], topn=5)
    assert words_of(body) == [w for w, _ in expected]
    # trained models fold case as their tokenizer does; imported ones match exactly
    first = "king" if name == "imported" else "King"
    similarity = client.get(
        "/similarity", params={"w1": first, "w2": "queen", "model": name}
    ).json()["similarity"]
    assert similarity == pytest.approx(float(keyed.similarity("king", "queen")), rel=1e-4)
    odd = client.post(
        "/doesnt_match", json={"words": ["war", "battle", "army", "water"], "model": name}
    ).json()["word"]
    assert odd == keyed.doesnt_match(["war", "battle", "army", "water"])


def test_pmi_related_words_are_inner_products(client, engine):
    pmi = engine.get("pmi")
    body = client.get("/related", params={"word": "water", "topn": 5}).json()
    assert body["method"] == "pmi"
    vector = pmi.vector("water").astype(np.float64)
    scores = {w: float(pmi.vector(w) @ vector) for w in words_of(body)}
    assert [n["score"] for n in body["neighbours"]] == [
        pytest.approx(scores[w], rel=1e-4) for w in words_of(body)
    ]
    info = client.get("/words/The").json()
    assert info["word"] == "the" and info["rank"] == 1 and info["count"] == int(pmi.counts[0])
    complete = client.get("/complete", params={"prefix": "gov", "limit": 3}).json()
    assert complete["words"][0] == "government"


def test_hierarchical_softmax_related_words_are_su_scores(client, engine):
    model = engine.get("word2vec")
    params = {"word": "war", "topn": 8, "model": "word2vec", "prior_weight": 0.9, "score": "su"}
    body = client.get("/related", params=params).json()
    assert body["method"] == "hs_su"
    total = model.counts.sum()
    for neighbour in body["neighbours"][:3]:
        word = neighbour["word"]
        expected = predict_proba(model, word, "war") - 0.9 * np.log(
            model.counts[model.index[word]] / total
        )
        # a difference of float32 log-probabilities (magnitude ~10): near 0 it keeps
        # an absolute error of about 1e-6, which a relative tolerance alone rejects
        assert neighbour["score"] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    pair = client.get(
        "/context_similarity", params={"w1": "war", "w2": word, "model": "word2vec", "score": "su"}
    ).json()
    assert pair["score"] == pytest.approx(body["neighbours"][2]["score"], rel=1e-5)


def test_related_words_score_forms(client, engine):
    """The default score is the symmetric one (λ 0.4), the same in both directions;
    an unknown form is a 422 with the JSON error body, on each route."""
    model = engine.get("word2vec")
    body = client.get("/related", params={"word": "war", "topn": 5, "model": "word2vec"}).json()
    assert body["method"] == "hs"
    assert [(n["word"], n["score"]) for n in body["neighbours"]] == [
        (w, pytest.approx(s)) for w, s in model.related("war", 5, 0.4, score="symmetric")[0]
    ]
    partner = body["neighbours"][0]["word"]
    there, back = (
        client.get("/context_similarity", params={"w1": a, "w2": b, "model": "word2vec"}).json()
        for a, b in (("war", partner), (partner, "war"))
    )
    assert there["score"] == pytest.approx(back["score"]) == body["neighbours"][0]["score"]
    for path, params in (
        ("/related", {"word": "war", "score": "cosine"}),
        ("/context_similarity", {"w1": "war", "w2": "peace", "score": "SU"}),
    ):
        response = client.get(path, params={**params, "model": "word2vec"})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"
    response = client.post("/related/batch", json={"words": ["war"], "score": "pmi"})
    assert response.status_code == 422
    batch = client.post(
        "/related/batch", json={"words": ["war"], "score": "su", "model": "word2vec"}
    ).json()
    assert batch["method"] == "hs_su"


def test_negative_sampling_related_words_and_keywords(client, engine):
    model = engine.get("ns")
    body = client.get("/related", params={"word": "war", "topn": 5, "model": "ns"}).json()
    assert body["method"] == "ns"
    assert [(n["word"], pytest.approx(n["score"], rel=1e-5)) for n in body["neighbours"]] == (
        model.related("war", topn=5)[0]
    )
    text = "The government must protect the rights of workers and their families."
    body = client.post("/keywords", json={"text": text, "topn": 3, "model": "ns"}).json()
    assert body["method"] == "ns"
    assert [k["word"] for k in body["keywords"]] == [
        w for w, _ in model.keywords(text, topn=3).keywords
    ]


def test_chinese_end_to_end(client, engine):
    zh = engine.get("zh")
    word = next(w for w in zh.words[:300] if len(w) >= 2 and not w.isascii())
    body = client.get("/most_similar", params={"positive": word, "topn": 5, "model": "zh"}).json()
    assert words_of(body) == [w for w, _ in zh.most_similar([word], topn=5)]
    related = client.get("/related", params={"word": word, "model": "zh"}).json()
    assert related["method"] == "hs" and len(related["neighbours"]) == 10
    text = "这本书的内容很好，物流也很快，价格便宜。"
    keywords = client.post("/keywords", json={"text": text, "model": "zh", "topn": 3}).json()
    assert [k["word"] for k in keywords["keywords"]] == [
        w for w, _ in zh.keywords(text, topn=3).keywords
    ]
    assert keywords["keywords"] and not {"的", "很", "也"} & {
        k["word"] for k in keywords["keywords"]
    }
    missing = client.get("/similarity", params={"w1": word, "w2": "不存在的词语", "model": "zh"})
    assert missing.status_code == 404 and missing.json()["error"]["missing"] == ["不存在的词语"]


@pytest.mark.parametrize("name", ["pmi", "word2vec", "ns", "imported", "zh"])
def test_batches_answer_as_single_requests(client, engine, name):
    """Over HTTP, on two workers: each result of a batch is the single request's answer."""
    model = engine.get(name)
    words = [model.words[i] for i in range(0, 400, 20)] + ["zzunknownzz"]
    queries = [{"positive": [w]} for w in words] + [{"positive": words[:2], "negative": words[2:3]}]
    batch = client.post(
        "/most_similar/batch", json={"queries": queries, "topn": 5, "model": name}
    ).json()["results"]
    for query, result in zip(queries, batch, strict=True):
        alone = client.post("/most_similar", json={**query, "topn": 5, "model": name}).json()
        assert result.get("neighbours") == alone.get("neighbours", [])
        assert result["error"] == alone.get("error")
    assert batch[-2]["error"]["code"] == "unknown_word"
    related = client.post("/related/batch", json={"words": words, "topn": 5, "model": name})
    if not model.family.answers("context_similarity"):
        assert related.status_code == 409
        return
    for word, result in zip(words, related.json()["results"], strict=True):
        alone = client.get("/related", params={"word": word, "topn": 5, "model": name}).json()
        assert result.get("neighbours") == alone.get("neighbours", [])
        assert result["error"] == alone.get("error")
