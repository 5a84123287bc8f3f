"""End to end: models trained for real by the CLI, served by uvicorn on 127.0.0.1,
queried over HTTP; answers checked against the engine and against gensim."""

import gzip
import itertools
import sys

import httpx
import numpy as np
import pytest
from conftest import ROOT, running_server, train
from gensim.models import KeyedVectors

from wordlens.app.engine import Engine

sys.path.insert(0, str(ROOT / "bench"))
from su_reference import predict_proba  # noqa: E402


@pytest.fixture(scope="module")
def models_dir(trained_models, tmp_path_factory):
    """The tiny English PMI and Word2Vec models, a tiny Chinese Word2Vec model, and the
    PMI vectors exported and imported back as plain vectors."""
    chinese = tmp_path_factory.mktemp("zh") / "zh.txt"
    with gzip.open(ROOT / "corpus/data/zh.txt.gz", "rt", encoding="utf-8") as stream:
        chinese.write_text("".join(itertools.islice(stream, 3000)), encoding="utf-8")
    train(
        "word2vec",
        chinese,
        trained_models / "zh",
        "--tokenizer",
        "jieba",
        "--dim",
        "16",
        "--min-count",
        "3",
        "--epochs",
        "3",
        "--no-evaluate",
    )
    from wordlens.cli import main

    exported = trained_models.parent / "pmi.txt"
    assert (
        main(["-q", "export", str(trained_models / "pmi"), "--format", "word2vec", str(exported)])
        == 0
    )
    assert (
        main(
            [
                "-q",
                "import",
                str(exported),
                "--format",
                "word2vec",
                "--out",
                str(trained_models / "imported"),
            ]
        )
        == 0
    )
    return trained_models


@pytest.fixture(scope="module")
def client(models_dir):
    with running_server(models_dir, "--workers", "2") as url:
        with httpx.Client(base_url=url, timeout=30) as session:
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
        "models": ["imported", "pmi", "word2vec", "zh"],
        "errors": {},
    }
    kinds = {m["name"]: (m["kind"], m["output_layers"]) for m in client.get("/models").json()}
    assert kinds == {
        "imported": ("imported", []),
        "pmi": ("pmi", []),
        "word2vec": ("word2vec", ["hs"]),
        "zh": ("word2vec", ["hs"]),
    }


@pytest.mark.parametrize("name", ["pmi", "word2vec", "imported"])
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
    analogy = client.get(
        "/most_similar",
        params={"positive": ["king", "woman"], "negative": "man", "topn": 5, "model": name},
    ).json()
    assert words_of(analogy) == [
        w for w, _ in keyed.most_similar(["king", "woman"], ["man"], topn=5)
    ]
    cosmul = client.get(
        "/most_similar",
        params={
            "positive": ["king", "woman"],
            "negative": "man",
            "method": "cosmul",
            "topn": 5,
            "model": name,
        },
    ).json()
    assert words_of(cosmul) == [
        w for w, _ in keyed.most_similar_cosmul(["king", "woman"], ["man"], topn=5)
    ]
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


def test_word2vec_related_words_are_su_scores(client, engine):
    model = engine.get("word2vec")
    body = client.get(
        "/related", params={"word": "war", "topn": 8, "model": "word2vec", "prior_weight": 0.9}
    ).json()
    assert body["method"] == "hs"
    assert [
        (n["word"], pytest.approx(n["score"], rel=1e-5)) for n in body["neighbours"]
    ] == model.related("war", topn=8, prior_weight=0.9)[0]
    total = model.counts.sum()
    for neighbour in body["neighbours"][:3]:
        word = neighbour["word"]
        expected = predict_proba(model, word, "war") - 0.9 * np.log(
            model.counts[model.index[word]] / total
        )
        assert neighbour["score"] == pytest.approx(expected, rel=1e-4)
    pair = client.get(
        "/context_similarity", params={"w1": "war", "w2": word, "model": "word2vec"}
    ).json()
    assert pair["score"] == pytest.approx(body["neighbours"][2]["score"], rel=1e-5)


def test_pmi_related_words_and_information(client, engine):
    pmi = engine.get("pmi")
    body = client.get("/related", params={"word": "water", "topn": 5}).json()
    assert body["method"] == "pmi"
    related = pmi.related("water", topn=5)[0]
    assert words_of(body) == [w for w, _ in related]
    info = client.get("/words/The").json()
    assert info["word"] == "the" and info["rank"] == 1 and info["count"] == int(pmi.counts[0])
    complete = client.get("/complete", params={"prefix": "gov", "limit": 3}).json()
    assert complete["words"][0] == "government"


def test_keywords_over_http_equal_the_engine(client, engine):
    text = "The government must protect the rights of workers and their families."
    for name in ("pmi", "word2vec"):
        body = client.post("/keywords", json={"text": text, "topn": 4, "model": name}).json()
        expected = engine.get(name).keywords(text, topn=4)
        assert [
            (k["word"], pytest.approx(k["score"], rel=1e-5)) for k in body["keywords"]
        ] == expected.keywords
        assert body["method"] == expected.method
    batch = client.post(
        "/keywords/batch",
        json={
            "model": "word2vec",
            "topn": 4,
            "documents": [{"id": "a", "text": text}, {"id": "b", "tokens": []}],
        },
    ).json()
    assert [k["word"] for k in batch["results"][0]["keywords"]] == [
        w for w, _ in engine.get("word2vec").keywords(text, topn=4).keywords
    ]
    assert batch["results"][1]["reason"] == "the text has no tokens"


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


def test_imported_vectors_refuse_context_queries(client):
    for response in (
        client.get("/related", params={"word": "war", "model": "imported"}),
        client.post("/keywords", json={"text": "war and peace", "model": "imported"}),
    ):
        assert response.status_code == 409
        assert "no output layer" in response.json()["error"]["message"]
