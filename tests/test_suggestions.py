""" "Did you mean" (wordlens.suggestions): the words spelled like an unknown word,
from the symmetric-delete index stored with a model, in the engine's 404s and in
completion."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from wordlens import suggestions
from wordlens.app.errors import UnknownWordError
from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.artifacts import load_model, write_model

# Row order is frequency order: "form" is more frequent than "from" here.
WORDS = [
    "the",
    "form",
    "from",
    "government",
    "receive",
    "café",
    "Straße",
    "naïve",
    "résumé",
    "cafe-au-lait",
    "中国",
    "中华",
    "国家",
    "人民",
    "猫",
    "x" * 40,
]


def make_model(path, words=WORDS, tokenizer="whitespace"):
    rng = np.random.default_rng(1)
    return write_model(
        path,
        kind="pmi",
        words=words,
        vectors=rng.normal(size=(len(words), 4)).astype(np.float32),
        counts=np.arange(len(words), 0, -1) * 10,
        manifest={"tokenizer": {"name": tokenizer}},
    )


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    return load_model(make_model(tmp_path_factory.mktemp("suggest") / "m")).words


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("govenment", "government"),  # a deletion
        ("governmennt", "government"),  # an insertion
        ("goverbment", "government"),  # a substitution
        ("recieve", "receive"),  # two neighbouring characters swapped
        ("gouvernment", "government"),  # two edits
    ],
)
def test_typos(words, typo, expected):
    assert words.suggest(typo)[0] == expected


def test_closest_first_then_most_frequent(words):
    # "frm" is one edit from both "form" and "from": the more frequent first
    assert words.suggest("frm")[:2] == ["form", "from"]
    assert words.suggest("fro")[0] == "from"  # one edit against two
    assert words.suggest("frm", count=1) == ["form"]


def test_case_and_accent_variants(words):
    assert words.suggest("Cafe")[0] == "café"
    assert words.suggest("CAFÉ")[0] == "café"
    assert words.suggest("strasse")[0] == "Straße"  # ß casefolds to ss
    assert words.suggest("naive")[0] == "naïve"
    assert words.suggest("Resume") == ["résumé"]  # two accents: no edit apart, folded
    assert words.suggest("café") == []  # never the word itself


def test_chinese_words_sharing_characters(words):
    assert set(words.suggest("中岛")) == {"中国", "中华"}
    assert words.suggest("中岛")[0] == "中国"  # the more frequent
    assert "国家" in words.suggest("国人") and "人民" in words.suggest("国人")
    assert words.suggest("猫咪") == ["猫"]


def test_nothing_close_and_hostile_words(words):
    assert words.suggest("zzzzqqqq") == []
    assert words.suggest("") == []
    # longer than the deletes: found by the whole folded form only
    assert words.suggest("X" * 40) == ["x" * 40]
    assert words.suggest("x" * 41) == []
    assert words.suggest("y" * 5000) == []
    assert words.suggest("\ud800") == []  # a lone surrogate
    assert words.suggest("🐈🐈") == []


def test_stored_keys_are_those_of_each_word(tmp_path, monkeypatch):
    """The vectorised keys (prefix sums over all words, in chunks) equal the keys a
    query computes word by word: each word is stored under its folded form and each
    one-character deletion of it, and under nothing else."""
    monkeypatch.setattr(suggestions, "_CHUNK_CHARACTERS", 7)
    blob = np.frombuffer(("\n".join(WORDS) + "\n").encode(), dtype=np.uint8)
    arrays = suggestions.index_arrays(blob)
    stored = set(zip(arrays["suggest_keys"].tolist(), arrays["suggest_rows"].tolist(), strict=True))
    expected = set()
    for row, word in enumerate(WORDS):
        keys = suggestions.query_keys(word)
        if len(suggestions.fold(word)) > suggestions.MAX_DELETE_CHARACTERS:
            keys = keys[:1]
        expected |= {(key, row) for key in keys}
    assert stored == expected
    assert (np.diff(arrays["suggest_keys"].astype(np.float64)) >= 0).all()


def test_stored_arrays_are_every_key_of_every_word_sorted_by_key_then_row(monkeypatch):
    """Byte for byte what the stored format (VERSION) has always held, whatever the
    chunking: one entry per key of each word, repeats included ("aab" deletes to "ab"
    twice), ordered by key, then row (numpy's lexsort of the keys and rows, as the
    arrays were first built)."""
    rng = np.random.default_rng(3)
    letters = np.array(list("abé"))
    words = list(
        dict.fromkeys(["".join(rng.choice(letters, rng.integers(1, 36))) for _ in range(400)])
    )
    words += [word for word in WORDS if word not in words]
    monkeypatch.setattr(suggestions, "_CHUNK_CHARACTERS", 50)
    arrays = suggestions.index_arrays(
        np.frombuffer(("\n".join(words) + "\n").encode(), dtype=np.uint8)
    )
    keys, rows = [], []
    for row, word in enumerate(words):
        some = suggestions.query_keys(word)
        if len(suggestions.fold(word)) > suggestions.MAX_DELETE_CHARACTERS:
            some = some[:1]
        keys += some
        rows += [row] * len(some)
    order = np.lexsort((np.array(rows), np.array(keys, dtype=np.uint64)))
    expected_keys = np.array(keys, dtype=np.uint64)[order]
    expected_rows = np.array(rows, dtype=np.int32)[order]
    assert arrays["suggest_keys"].dtype == np.uint64 and arrays["suggest_rows"].dtype == np.int32
    assert arrays["suggest_keys"].tobytes() == expected_keys.tobytes()
    assert arrays["suggest_rows"].tobytes() == expected_rows.tobytes()


def test_stored_with_the_model_or_built_for_older_models(tmp_path, caplog):
    path = make_model(tmp_path / "m")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["word_index"]["suggestions"] == suggestions.VERSION
    assert "suggest_keys.npy" in manifest["files"]
    with caplog.at_level("INFO"):
        stored = load_model(path).words.suggest("recieve")
    assert "suggestion index" not in caplog.text
    manifest["word_index"] = {"hash": manifest["word_index"]["hash"]}
    (path / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level("INFO"):
        built = load_model(path, verify=False).words.suggest("recieve")
    assert "no stored suggestion index" in caplog.text
    assert stored == built == ["receive"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    make_model(root / "pmi", tokenizer="english")
    with TestClient(create_app(Settings(models_dir=root))) as session:
        yield session


def test_a_404_says_did_you_mean(client):
    response = client.get("/related", params={"word": "Govenment"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_word"
    assert error["missing"] == ["govenment"]  # as the English tokenizer normalised it
    assert error["suggestions"] == {"govenment": ["government"]}
    body = client.post("/n_similarity", json={"ws1": ["frm", "the", "zzz"], "ws2": ["the"]}).json()
    assert body["error"]["suggestions"] == {"frm": ["form", "from"], "zzz": []}
    batch = client.post("/related/batch", json={"words": ["the", "recieve"], "topn": 2}).json()
    assert batch["results"][1]["error"]["suggestions"] == {"recieve": ["receive"]}


def test_suggestions_for_the_first_ten_unknown_words_only(client):
    typos = [f"governmen{c}" for c in "abcdefghijkl"]
    body = client.post("/n_similarity", json={"ws1": typos, "ws2": ["the"]}).json()
    assert body["error"]["missing"] == typos
    assert list(body["error"]["suggestions"]) == typos[:10]
    assert all(found == ["government"] for found in body["error"]["suggestions"].values())


def test_an_unknown_model_error_has_no_suggestions(client):
    error = client.get("/related", params={"word": "the", "model": "nope"}).json()["error"]
    assert "suggestions" not in error


def test_completion_offers_suggestions_when_no_word_has_the_prefix(client):
    body = client.get("/complete", params={"prefix": "govem"}).json()
    assert (body["total"], body["words"], body["suggestions"]) == (0, [], [])
    body = client.get("/complete", params={"prefix": "goverment"}).json()
    assert (body["total"], body["suggestions"]) == (0, ["government"])
    body = client.get("/complete", params={"prefix": "gov"}).json()
    assert (body["words"], body["suggestions"]) == (["government"], [])


def test_the_404_body_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    error = schema["components"]["schemas"]["ErrorBody"]["properties"]
    assert error["suggestions"]["type"] == "object"
    assert "did you mean" in error["suggestions"]["description"]
    related = schema["paths"]["/related"]["get"]["responses"]["404"]
    assert related["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")


def test_unknown_word_error_bounds_what_it_echoes():
    error = UnknownWordError(["a" * 500], "m", {"a" * 500: ["b" * 500]})
    ((word, found),) = error.details["suggestions"].items()
    assert len(word) == 101 and len(found[0]) == 101
