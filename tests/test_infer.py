"""Vectors inferred for unknown words (``WordModel.infer``, ``POST /infer``) on the
tiny trained models: a known word's own corpus sentences, its row left out of the
fit, give a vector near it, for each family; bad requests are refused."""

import json

import numpy as np
import pytest
from conftest import train

from wordlens.app.engine import Engine, Limits, WordModel
from wordlens.app.errors import InvalidQueryError, LimitExceededError
from wordlens.app.infer import FREQUENCY_PRIOR, Fit
from wordlens.artifacts import ModelFormatError, load_model


@pytest.fixture(scope="module")
def models(trained_models, tiny_corpus, tmp_path_factory):
    ns = train(
        "word2vec",
        tiny_corpus,
        tmp_path_factory.mktemp("ns") / "ns",
        "--dim", "24", "--min-count", "3", "--epochs", "3", "--workers", "1",
        "--no-hs", "--negative", "5", "--no-evaluate",
    )  # fmt: skip
    engine = Engine(trained_models)
    return {
        "pmi": engine.get("pmi"),
        "hs": engine.get("word2vec"),
        "ns": WordModel(load_model(ns)),
    }


def sentences(path, word, count):
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if word in line.lower().split()][:count]


@pytest.mark.parametrize("family", ["pmi", "hs", "ns"])
def test_a_known_word_left_out_lands_near_itself(models, tiny_corpus, family):
    model = models[family]
    assert model.family.name == family
    texts = sentences(tiny_corpus, "jury", 20)
    found = model.infer(texts, word="jury", topn=100, leave_out=True)
    method = family if family == "pmi" else f"{family}_alacarte"
    assert found.known and found.left_out and found.method == method
    # the tiny models (24 dimensions, 90,000 tokens) are rough: "jury" is among the
    # nearest 15 % of the vocabulary (pmi 0, hs 3 %, ns 10 %; the default models:
    # bench/bench_infer.py)
    unit = (found.vector / np.linalg.norm(found.vector)).astype(np.float32)
    cosines = model.unit.scores(unit, len(model))
    rank = int((cosines > cosines[model.id("jury")]).sum())
    assert rank < 0.15 * len(model), rank
    true = model.vector("jury")
    cosine = found.vector @ true / np.linalg.norm(found.vector) / np.linalg.norm(true)
    assert cosine > 0.3
    # deterministic: the same request, the same answer
    again = model.infer(texts, word="jury", topn=100, leave_out=True)
    assert np.array_equal(again.vector, found.vector) and again.similar == found.similar


@pytest.mark.parametrize("family", ["pmi", "hs", "ns"])
def test_similar_words_are_ranked_with_the_frequency_prior(models, tiny_corpus, family):
    model = models[family]
    texts = sentences(tiny_corpus, "jury", 5)
    found = model.infer(texts, word="jury", topn=30, leave_out=True, exact=True)
    unit = (found.vector / np.linalg.norm(found.vector)).astype(np.float32)
    cosines = model.unit.scores(unit, len(model)).astype(np.float64)
    cosines[model.norms == 0] = -np.inf
    ranking = cosines + FREQUENCY_PRIOR * np.log(np.maximum(model.counts, 1))
    expected = np.argsort(-ranking, kind="stable")[:30]
    assert [word for word, _ in found.similar] == [model.words[row] for row in expected]
    # the pairs carry cosines, and the prior changed the list
    assert np.allclose([score for _, score in found.similar], cosines[expected], atol=1e-6)
    assert set(expected) != set(np.argsort(-cosines, kind="stable")[:30])


def test_a_zero_vector_is_refused(models, monkeypatch):
    model = models["pmi"]
    zero = Fit(np.zeros(model.vectors.shape[1]), 0.0, 0)
    monkeypatch.setattr(model.family, "infer", lambda *args: zero)
    with pytest.raises(InvalidQueryError, match="no direction"):
        model.infer(["the [flurb] said"])


def test_markers_and_words_agree(models):
    model = models["hs"]
    marked = model.infer(["The [flurb] said Friday an investigation of the election"])
    named = model.infer(["The flurb said Friday an investigation of the election"], word="Flurb")
    assert marked.word == named.word == "flurb" and not marked.known
    assert np.array_equal(marked.vector, named.vector)
    assert marked.occurrences == 1 and marked.context_words >= 3


def test_bad_requests(models):
    model = models["pmi"]
    with pytest.raises(InvalidQueryError, match="does not contain"):
        model.infer(["the jury said"], word="flurb")
    with pytest.raises(InvalidQueryError, match="square brackets"):
        model.infer(["no marker here"])
    with pytest.raises(InvalidQueryError, match="one unknown word"):
        model.infer(["a [flurb] b", "a [blorp] b"])
    with pytest.raises(InvalidQueryError, match="no word of the vocabulary"):
        model.infer(["qqqzz [flurb] zzqqq"])
    with pytest.raises(InvalidQueryError, match="at least one"):
        model.infer([])
    small = WordModel(model.model, Limits(max_infer_contexts=2))
    with pytest.raises(LimitExceededError) as error:
        small.infer(["the [flurb] said"] * 3)
    assert error.value.details["limit"] == 2


def test_command_line(trained_models, capsys):
    from wordlens.cli import main

    model = str(trained_models / "word2vec")
    assert main(["infer", "--model", model, "--json", "the [flurb] said", "a [flurb] jury"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["word"] == "flurb" and answer["occurrences"] == 2
    assert len(answer["similar"]) == 10 and answer["method"] == "hs_alacarte"


@pytest.mark.parametrize("family", ["hs", "ns"])
def test_the_alacarte_map_is_stored_and_centres_the_fit(models, tiny_corpus, family, monkeypatch):
    model = models[family]
    assert "alacarte.npy" in model.manifest["files"]  # listed with its checksum
    assert model.manifest["files"]["alacarte.npy"]["sha256"]
    assert model.family.alacarte.shape == (24, 24)
    assert model.manifest["training"]["alacarte_seconds"] >= 0
    texts = sentences(tiny_corpus, "jury", 5)
    centred = model.infer(texts, word="jury", leave_out=True)
    monkeypatch.setattr(model.family, "alacarte", None)  # a model trained before A
    plain = model.infer(texts, word="jury", leave_out=True)
    assert plain.method == family and centred.method == f"{family}_alacarte"
    assert not np.allclose(plain.vector, centred.vector)


def test_a_broken_alacarte_file_is_a_load_error(trained_models, tmp_path):
    import shutil

    path = shutil.copytree(trained_models / "word2vec", tmp_path / "word2vec")
    data = bytearray((path / "alacarte.npy").read_bytes())
    data[-1] ^= 0xFF
    (path / "alacarte.npy").write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match=r"alacarte\.npy: checksum mismatch"):
        load_model(path)
