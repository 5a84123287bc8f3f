"""Phrases: learned from a corpus whose phrases are known, joined at query time as in
training, served as words by both families, in-process and over HTTP."""

from __future__ import annotations

import random
import subprocess
import sys

import httpx2
import numpy as np
import pytest
from conftest import ROOT, running_server, train
from fastapi.testclient import TestClient
from phrase_corpus import FILLER, PHRASES, write_phrase_corpus
from test_explorer import CHROMIUM, browser  # noqa: F401 (a fixture)

from wordlens.app.engine import Engine
from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.artifacts import load_model
from wordlens.corpus import Corpus, get_tokenizer
from wordlens.corpus.phrases import Phrase, PhraseTable, PhraseTokenizer, from_spec
from wordlens.training.encode import encode_corpus
from wordlens.training.phrases import PhraseParams, learn_corpus_phrases, learn_phrases

PARAMS = PhraseParams(threshold=0.5, min_count=5, passes=2)
OPTIONS = ("--dim", "16", "--min-count", "3", "--no-evaluate", "--phrases")
PHRASE_OPTIONS = ("--phrase-min-count", "5")


@pytest.fixture(scope="module")
def corpus_path(tmp_path_factory):
    return write_phrase_corpus(tmp_path_factory.mktemp("phrases") / "phrases.txt")


@pytest.fixture(scope="module")
def models(tmp_path_factory, corpus_path):
    root = tmp_path_factory.mktemp("phrase-models") / "models"
    train("pmi", corpus_path, root / "pmi", *OPTIONS, *PHRASE_OPTIONS)
    train(
        "word2vec",
        corpus_path,
        root / "word2vec",
        *OPTIONS,
        *PHRASE_OPTIONS,
        "--epochs",
        "3",
        "--workers",
        "1",
    )
    return root


def test_learned_table_holds_the_known_phrases_and_no_chance_pair(corpus_path, tmp_path):
    encoded = encode_corpus(Corpus(corpus_path, get_tokenizer("english")), tmp_path)
    table = learn_phrases(encoded, PARAMS, ["the"])
    tokens = {phrase.token for phrase in table.phrases}
    # "zed qua" meets at every line break, never inside a line: documents bound pairs;
    # "the" is a stop-word: "the new" never joins.
    assert tokens == set(PHRASES)
    assert all(phrase.score > 0.5 and phrase.count >= 5 for phrase in table.phrases)
    # Without the stop-word list, "the new" is a frequent pair too; filler pairs
    # never are.
    loose = {p.token for p in learn_phrases(encoded, PARAMS, []).phrases}
    assert "the new" in loose
    assert not loose & {f"{a} {b}" for a in FILLER for b in FILLER}


def test_passes_join_greedily_from_the_left_and_never_across_documents():
    table = PhraseTable(
        [Phrase(1, "new", "york"), Phrase(1, "york", "city"), Phrase(2, "new york", "city")]
    )
    assert table.join(["in", "new", "york", "city", "now"]) == ["in", "new york city", "now"]
    assert table.join(["york", "city", "new"]) == ["york city", "new"]
    one_pass = PhraseTable([Phrase(1, "new", "york"), Phrase(1, "york", "city")])
    assert one_pass.join(["new", "york", "city"]) == ["new york", "city"]
    assert table.runs(["a", "new", "york"]) == [(0, 1), (1, 3)]
    ids = table.token_ids(["new", "york", "new", "york"])
    joined, starts = table.join_ids(ids, breaks=np.array([True, False, False, True]))
    assert starts.tolist() == [0, 2, 3]  # "york" starts a document: "new" stays alone
    text = table.to_text()
    assert PhraseTable.from_text(text).digest == table.digest
    with pytest.raises(ValueError, match="phrases.tsv:1"):
        PhraseTable.from_text("1\tnew\n")


def test_a_pair_of_words_first_joined_in_a_later_pass_is_joined():
    """Texts whose adjacent pairs are in no pass skip the passes; a pair of plain words
    a later pass learned is no such text."""
    table = PhraseTable([Phrase(1, "new", "york"), Phrase(2, "big", "apple")])
    assert table.join(["the", "big", "apple"]) == ["the", "big apple"]
    assert table.runs(["big", "apple", "new", "york"]) == [(0, 2), (2, 4)]
    assert table.join(["apple", "big", "york"]) == ["apple", "big", "york"]


def test_no_phrase_is_learned_or_joined_across_punctuation(tmp_path):
    """Every line holds "… in new york. plans …": "york plans" is as frequent a pair
    as "new york", but across a full stop; it is never learned, and a table that has
    it never joins it across punctuation (a hyphen inside a word aside)."""
    rng = random.Random(3)
    lines = []
    for _ in range(600):
        words = rng.choices(FILLER, k=10)
        lines.append(f"{' '.join(words[:5])} in new york. plans {' '.join(words[5:])}\n")
    path = tmp_path / "sentences.txt"
    path.write_text("".join(lines), encoding="utf-8")
    english = get_tokenizer("english")
    learned = learn_corpus_phrases(Corpus(path, english), PARAMS, tmp_path)
    tokens = {phrase.token for phrase in learned.phrases}
    assert "new york" in tokens and not any("york plans" in token for token in tokens)

    joins = PhraseTokenizer(english, PhraseTable([Phrase(1, "york", "plans")]))
    assert joins("York plans, York. Plans") == ["york plans", "york", "plans"]
    assert joins("york-plans york - plans york…plans") == ["york plans", *["york", "plans"] * 2]
    assert joins.spans("york; plans york plans") == [
        ("york", 0, 4),
        ("plans", 6, 11),
        ("york plans", 12, 22),
    ]
    chinese = PhraseTokenizer(get_tokenizer("jieba"), PhraseTable([Phrase(1, "无线", "网卡")]))
    assert chinese("无线，网卡") == ["无线", "网卡"]


def test_a_query_word_the_tokenizer_splits_into_a_phrase_is_that_phrase():
    chinese = PhraseTokenizer(get_tokenizer("jieba"), PhraseTable([Phrase(1, "无线", "网卡")]))
    assert chinese("买了无线网卡") == ["买", "了", "无线 网卡"]
    assert chinese.normalize("无线网卡") == chinese.normalize("无线 网卡") == "无线 网卡"
    english = PhraseTokenizer(get_tokenizer("english"), PhraseTable([Phrase(1, "new", "york")]))
    assert english.normalize("New-York") == "new york"
    assert english.normalize("C++") == "c++" and english.normalize("new") == "new"


def test_the_tokenizer_joins_as_training_did_and_normalises_query_words(models):
    for name in ("pmi", "word2vec"):
        model = load_model(models / name)
        words = set(model.words)
        assert set(PHRASES) <= words and "york" not in words and "rates" not in words
        tokenizer = Engine(models).get(name).tokenizer
        assert isinstance(tokenizer, PhraseTokenizer)
        assert tokenizer("Rates at THE New York bank; interest  rates rose") == [
            "rates",
            "at",
            "the",
            "new york",
            "bank",
            "interest rates",
            "rose",
        ]
        for spelling in ("New York", "new_york", " new   york ", "NEW__YORK"):
            assert tokenizer.normalize(spelling) == "new york"
        # The spec a counting process gets rebuilds the same tokenizer.
        assert from_spec(tokenizer.spec)("new york") == ["new york"]


@pytest.mark.parametrize("name", ["pmi", "word2vec"])
def test_phrases_are_words_of_the_api(models, name):
    with TestClient(create_app(Settings(models_dir=models))) as client:
        info = client.get("/words/New York", params={"model": name})
        assert info.status_code == 200, info.text
        assert info.json()["word"] == "new york"
        similar = client.get("/most_similar", params={"positive": "new_york", "model": name})
        assert similar.status_code == 200, similar.text
        assert "new york" not in [n["word"] for n in similar.json()["neighbours"]]
        related = client.get("/related", params={"word": "interest rates", "model": name})
        assert related.status_code == 200, related.text
        complete = client.get("/complete", params={"prefix": "new y", "model": name}).json()
        assert complete["words"] == ["new york"]
        vector = client.get("/vector", params={"word": "New York", "model": name}).json()
        assert len(vector["vector"]) == 16
        pair = client.get(
            "/similarity", params={"w1": "new york", "w2": "interest rates", "model": name}
        )
        assert pair.status_code == 200, pair.text
        text = " ".join(["the new york interest rates"] * 3 + FILLER[:20])
        keywords = client.post("/keywords", json={"text": text, "model": name, "topn": 50})
        assert keywords.status_code == 200, keywords.text
        assert {"new york", "interest rates"} <= {k["word"] for k in keywords.json()["keywords"]}
        assert client.get("/words/york", params={"model": name}).status_code == 404


def test_a_phrase_spans_its_words_as_written(models):
    text = "Rates at THE New  York bank; ＩＮＴＥＲＥＳＴ rates rose"
    tokenizer = Engine(models).get("pmi").tokenizer
    spans = tokenizer.spans(text)
    assert [token for token, _, _ in spans] == tokenizer(text)
    assert {token: text[start:end] for token, start, end in spans}["new york"] == "New  York"
    assert {token: text[start:end] for token, start, end in spans}["interest rates"] == (
        "ＩＮＴＥＲＥＳＴ rates"
    )
    with TestClient(create_app(Settings(models_dir=models))) as client:
        answer = client.post(
            "/keywords", json={"text": text, "model": "pmi", "topn": 50, "explain": True}
        )
        assert answer.status_code == 200, answer.text
        located = {k["word"]: k["spans"] for k in answer.json()["keywords"]}
        assert [text[start:end] for start, end in located["new york"]] == ["New  York"]


def test_phrases_over_http(models):
    with running_server(models) as url:
        answer = httpx2.get(f"{url}/most_similar", params={"positive": "New_York", "topn": 3})
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == "pmi"
        word = httpx2.get(f"{url}/words/new%20york", params={"model": "word2vec"})
        assert word.status_code == 200 and word.json()["word"] == "new york"


def test_counts_carry_the_table_to_the_model(corpus_path, tmp_path):
    command = [sys.executable, "-m", "wordlens", "-q"]
    subprocess.run(
        [*command, "count", "--corpus", str(corpus_path), "--out", str(tmp_path / "counts"),
         "--workers", "2", "--phrases", *PHRASE_OPTIONS],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [*command, "train", "pmi", "--counts", str(tmp_path / "counts"), "--out",
         str(tmp_path / "pmi"), "--dim", "16", "--min-count", "3", "--no-evaluate"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    model = load_model(tmp_path / "pmi")
    table = PhraseTable.from_text(model.phrases_text() or "")
    assert {phrase.token for phrase in table.phrases} == set(PHRASES)
    assert model.manifest["tokenizer"]["phrases"]["sha256"] == table.digest
    assert "new york" in model.words


@pytest.mark.parametrize("fmt", ["word2vec", "word2vec-bin"])
def test_export_and_import_keep_phrases(models, tmp_path, fmt):
    command = [sys.executable, "-m", "wordlens", "-q"]
    exported = tmp_path / "vectors.txt"
    subprocess.run(
        [*command, "export", str(models / "pmi"), "--format", fmt, str(exported)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    assert b"new_york " in exported.read_bytes()
    imported = tmp_path / "models" / "imported"
    subprocess.run(
        [*command, "import", str(exported), "--format", fmt, "--out", str(imported)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    original, model = load_model(models / "pmi"), load_model(imported)
    assert list(model.words) == list(original.words)
    np.testing.assert_allclose(model.vectors, original.vectors, rtol=1e-6)
    with TestClient(create_app(Settings(models_dir=imported.parent))) as client:
        for spelling in ("new_york", "new york"):
            word = client.get(f"/words/{spelling}", params={"model": "imported"})
            assert word.status_code == 200 and word.json()["word"] == "new york"


def test_import_reads_underscores_as_phrases(tmp_path):
    source = tmp_path / "google.txt"
    source.write_text(
        "4 2\nNew_York 1 0\nNew__York 0 1\n__init__ 1 1\nYork 0.5 0.5\n", encoding="utf-8"
    )
    command = [sys.executable, "-m", "wordlens", "-q", "import", str(source), "--format"]
    subprocess.run(
        [*command, "word2vec", "--out", str(tmp_path / "m")], cwd=ROOT, check=True,
        capture_output=True,
    )  # fmt: skip
    assert list(load_model(tmp_path / "m").words) == ["New York", "__init__", "York"]
    subprocess.run(
        [*command, "word2vec", "--out", str(tmp_path / "k"), "--keep-underscores"], cwd=ROOT,
        check=True, capture_output=True,
    )  # fmt: skip
    assert list(load_model(tmp_path / "k").words)[:2] == ["New_York", "New__York"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_the_explorer_completes_shows_and_highlights_phrases(models, browser):  # noqa: F811
    with running_server(models) as url:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "/")
        page.wait_for_selector("#model option", state="attached")
        assert "english + 2 phrases" in page.inner_text("#models")
        page.fill("#word", "New Y")
        page.wait_for_selector("#suggestions li")
        assert page.locator("#suggestions li").all_inner_texts() == ["new york"]
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_selector(".column.similar li")
        assert "“new york”" in page.inner_text("#word-info")
        text = "Rates at the New  York bank: interest-rates " + " ".join(FILLER[:20])
        page.fill("#text", text)
        page.fill("#keyword-topn", "30")
        page.click("#keywords-form button")
        page.wait_for_selector("#highlighted mark")
        marks = page.locator("#highlighted mark").evaluate_all(
            "marks => marks.map(m => [m.firstChild.textContent, m.dataset.rank])"
        )
        marked = dict(marks)
        assert {"New  York", "interest-rates"} <= set(marked)
        assert "0" not in marked.values()  # each one found its keyword
        page.close()
        assert errors == []
