"""The shared word index (wordlens.vocabulary): lookups, completion and corrupted
files, against what a Python list, dict and bisect gave before."""

import bisect
import json

import numpy as np
import pytest

from wordlens import suggestions, vocabulary
from wordlens.app.engine import WordModel
from wordlens.artifacts import ModelFormatError, load_model, write_model
from wordlens.cli import main

# ASCII, Latin-1, CJK, an emoji (4 UTF-8 bytes), a long word, words that prefix
# one another, and a word whose bytes sort after every other (U+10FFFF).
WORDS = [
    "the",
    "cat",
    "cats",
    "über",
    "übung",
    "猫",
    "猫咪",
    "🐈",
    "x" * 300,
    "ca",
    "dog",
    "\U0010ffff",
    "\U0010ffff\U0010ffff",
]


def make_model(path, words=WORDS):
    rng = np.random.default_rng(0)
    return write_model(
        path,
        kind="imported",
        words=words,
        vectors=rng.normal(size=(len(words), 4)).astype(np.float32),
        manifest={"tokenizer": {"name": "whitespace"}},
    )


def check_lookups(words, model_words):
    """Every word finds its row, by each way of asking, as a dict and list gave."""
    index = {word: row for row, word in enumerate(words)}
    assert len(model_words) == len(words) and list(model_words) == words
    assert model_words[3:0:-1] == words[3:0:-1] and model_words[-1] == words[-1]
    assert model_words[np.int64(1)] == words[1] and model_words[np.int32(-2)] == words[-2]
    for word, row in index.items():
        assert model_words[row] == word
        assert word in model_words and model_words.rows[word] == row
        assert model_words.get(word) == row and model_words.index(word) == row
    assert model_words.lookup(list(index)).tolist() == list(index.values())


# Among them words of the same first byte and length as known ones ("cot", "dig"):
# the same hash as theirs when the tests force collisions.
UNKNOWN = [
    "",
    "c",
    "cot",
    "dig",
    "catss",
    "CAT",
    "the ",
    "\ud800",
    "猫猫",
    "x" * 299,
    "x" * 100_000,
]


def check_unknown(model_words):
    for word in UNKNOWN:
        assert word not in model_words and model_words.get(word) is None
        with pytest.raises(KeyError):
            model_words.rows[word]
        with pytest.raises(ValueError, match="is not in the vocabulary"):
            model_words.index(word)
    assert model_words.lookup(UNKNOWN).tolist() == [-1] * len(UNKNOWN)
    assert None not in model_words and 3 not in model_words and b"cat" not in model_words
    mixed = model_words.lookup(["dog", "nope", "dog", "ü"])
    assert mixed.tolist() == [WORDS.index("dog"), -1, WORDS.index("dog"), -1]
    with pytest.raises(IndexError):
        model_words[len(model_words)]


def test_lookups_equal_a_dict_and_a_list(tmp_path):
    model = load_model(make_model(tmp_path / "m"))
    assert isinstance(model.words._hashes, np.memmap | np.ndarray)
    assert model.manifest["word_index"] == {
        "hash": vocabulary.HASH,
        "suggestions": suggestions.VERSION,
    }
    check_lookups(WORDS, model.words)
    check_unknown(model.words)
    assert model.index["猫"] == 5 and model.index.get("nope", -1) == -1
    assert dict(model.index) == {word: row for row, word in enumerate(WORDS)}


def test_every_word_of_a_trained_model(trained_models):
    model = load_model(trained_models / "word2vec")
    words = (trained_models / "word2vec" / "words.txt").read_text("utf-8").split("\n")[:-1]
    check_lookups(words, model.words)


def test_hash_collisions_are_resolved_by_the_words_bytes(tmp_path, monkeypatch):
    """With a hash of the first byte only, most words share their hash with others:
    each still finds its own row, and other words with those hashes find none."""

    monkeypatch.setattr(vocabulary, "_hash", lambda word: word[0] if word else 0)
    model = load_model(make_model(tmp_path / "m"))
    hashes = np.asarray(model.words._hashes)
    assert len(np.unique(hashes)) < len(hashes) - 3  # collisions, really
    check_lookups(WORDS, model.words)
    check_unknown(model.words)


def old_complete(words, prefix, limit, offset):
    """What WordModel.complete answered with a sorted list and bisect."""
    order = sorted(range(len(words)), key=words.__getitem__)
    ordered = [words[i] for i in order]
    start = bisect.bisect_left(ordered, prefix)
    stop = bisect.bisect_left(ordered, prefix + "\U0010ffff", lo=start)
    rows = np.sort(np.asarray(order, dtype=np.int64)[start:stop])
    return [words[i] for i in rows[offset : offset + limit]], stop - start


def test_completion_equals_the_bisect_answer(trained_models):
    model = WordModel(load_model(trained_models / "pmi"))
    words = list(model.words)
    prefixes = {"", "zzzz", "\ud800"} | {w[:n] for w in words[::7] for n in (1, 2, 3)}
    for prefix in sorted(prefixes):
        for limit, offset in ((10, 0), (3, 2), (1000, 0), (5, 40)):
            assert model.complete(prefix, limit, offset) == old_complete(
                words, prefix, limit, offset
            ), (prefix, limit, offset)


def test_completion_of_prefixes_of_every_kind(tmp_path):
    model = WordModel(load_model(make_model(tmp_path / "m")))
    assert model.complete("ca") == (["cat", "cats", "ca"], 3)
    assert model.complete("ca", limit=1, offset=1) == (["cats"], 3)
    assert model.complete("ca", offset=5) == ([], 3)
    assert model.complete("猫") == (["猫", "猫咪"], 2)
    assert model.complete("ü") == (["über", "übung"], 2)
    # Beyond the old bisect: words after prefix + U+10FFFF are found too.
    assert model.complete("\U0010ffff") == (["\U0010ffff", "\U0010ffff\U0010ffff"], 2)
    assert model.complete("")[1] == len(WORDS)


def test_character_lengths_without_decoding(tmp_path):
    model = load_model(make_model(tmp_path / "m"))
    rows = np.array([8, 0, 5, 7, 3, 7, 11, 12])
    assert model.words.char_lengths(rows).tolist() == [len(WORDS[r]) for r in rows]
    assert model.words.char_lengths(np.array([], dtype=np.int64)).tolist() == []


def test_the_words_of_many_rows_at_once(tmp_path):
    model = load_model(make_model(tmp_path / "m"))
    rows = np.array([8, 0, 5, 7, 3, 7, 12, 11])
    assert model.words.take(rows) == [WORDS[r] for r in rows]
    assert model.words.take(np.array([], dtype=np.int64)) == []
    for outside in (-1, len(WORDS)):
        with pytest.raises(IndexError, match="outside a vocabulary of 13 words"):
            model.words.take(np.array([0, outside]))


def strip_word_index(path):
    """Make ``path`` a model as written before the word index."""
    manifest = json.loads((path / "manifest.json").read_text())
    for name in vocabulary.ARRAYS:
        del manifest["arrays"][name], manifest["files"][f"{name}.npy"]
        (path / f"{name}.npy").unlink()
    del manifest["word_index"]
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_models_written_before_the_index_still_load(tmp_path, caplog):
    path = make_model(tmp_path / "m")
    strip_word_index(path)
    with caplog.at_level("INFO"):
        model = load_model(path)
    assert "built in memory" in caplog.text
    check_lookups(WORDS, model.words)
    check_unknown(model.words)
    assert WordModel(model).complete("ca") == (["cat", "cats", "ca"], 3)


def test_upgrade_stores_the_index_and_keeps_the_rest(tmp_path, capsys):
    path = write_model(
        tmp_path / "m",
        kind="pmi",
        words=WORDS,
        vectors=np.arange(len(WORDS) * 3, dtype=np.float32).reshape(-1, 3),
        counts=np.arange(len(WORDS), 0, -1),
        arrays={"syn1": np.ones((len(WORDS), 3), dtype=np.float32)},
        manifest={"tokenizer": {"name": "whitespace"}, "params": {"dim": 3}},
    )
    before = json.loads((path / "manifest.json").read_text())
    strip_word_index(path)
    assert main(["-q", "upgrade", str(path)]) == 0
    assert "upgraded" in capsys.readouterr().out
    after = json.loads((path / "manifest.json").read_text())
    assert after == before  # the same files, checksums and fields, created included
    model = load_model(path)
    check_lookups(WORDS, model.words)
    assert main(["-q", "upgrade", str(path)]) == 0
    assert "already current" in capsys.readouterr().out


def resave(path, name, edit):
    array = np.load(path / f"{name}.npy")
    edit(array)
    np.save(path / f"{name}.npy", array)  # same shape and dtype: same size


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("word_offsets", lambda a: a.__setitem__(2, a[2] + 1), "not the starts of the lines"),
        ("word_offsets", lambda a: a.__setitem__(-1, a[-1] - 1), "do not span"),
        ("word_hashes", lambda a: a.__setitem__(slice(None), a[::-1].copy()), "not sorted"),
        ("word_order", lambda a: a.__setitem__(0, len(a)), "word_order has rows outside"),
        ("word_hash_rows", lambda a: a.__setitem__(3, -1), "word_hash_rows has rows outside"),
    ],
)
def test_corrupted_index_files_are_refused(tmp_path, name, edit, message):
    path = make_model(tmp_path / "m")
    resave(path, name, edit)
    with pytest.raises(ModelFormatError, match="checksum mismatch"):
        load_model(path)
    with pytest.raises(ModelFormatError, match=f"^m/words.txt: .*{message}"):
        load_model(path, verify=False)


def test_corrupted_words_file_is_refused(tmp_path):
    path = make_model(tmp_path / "m")
    text = (path / "words.txt").read_bytes()
    for broken, message in (
        (text.replace(b"cat\n", b"cat "), "12 lines for 13 words"),
        (text.replace(b"dog", b"d\xffg"), "unreadable .*invalid start byte"),
        (text.replace(b"cat\n", b"ca\nt"), "word_offsets are not the starts"),
    ):
        (path / "words.txt").write_bytes(broken)
        with pytest.raises(ModelFormatError, match="^m/words.txt: " + message):
            load_model(path, verify=False)


def test_short_or_missing_index_files_are_refused(tmp_path):
    path = make_model(tmp_path / "m")
    with open(path / "word_order.npy", "r+b") as stream:
        stream.truncate(100)
    with pytest.raises(ModelFormatError, match="m/word_order.npy: 100 bytes"):
        load_model(path, verify=False)

    path = make_model(tmp_path / "n")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["arrays"]["word_hashes"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"n/words.txt: its index \['word_hashes'\]"):
        load_model(path)


def test_a_words_file_changed_while_served_is_noticed(tmp_path):
    path = make_model(tmp_path / "m")
    model = load_model(path)
    model.check_unchanged()
    with open(path / "words.txt", "ab") as stream:
        stream.write(b"more\n")
    with pytest.raises(ModelFormatError, match="m/words.txt: changed on disk"):
        model.check_unchanged()


def test_an_empty_vocabulary_is_refused(tmp_path):
    with pytest.raises(ValueError, match="the vocabulary is empty"):
        make_model(tmp_path / "m", words=[])


def test_checks_and_iteration_in_small_chunks(tmp_path, monkeypatch):
    """The bounded chunks of the load-time checks and of iteration join up: with
    chunks of 2 rows and 7 bytes, everything reads as in one piece, and two hashes out
    of order across a chunk boundary are still caught."""
    monkeypatch.setattr(vocabulary, "_CHUNK", 2)
    monkeypatch.setattr(vocabulary, "_TEXT_CHUNK", 7)
    path = make_model(tmp_path / "m")
    check_lookups(WORDS, load_model(path).words)

    def swap_across_a_boundary(hashes):
        hashes[1], hashes[2] = hashes[2], hashes[1]

    resave(path, "word_hashes", swap_across_a_boundary)
    with pytest.raises(ModelFormatError, match="word_hashes are not sorted"):
        load_model(path, verify=False)

    # Offsets that rise past the end of the file within a chunk (and fall in the next)
    path = make_model(tmp_path / "n")
    resave(path, "word_offsets", lambda offsets: offsets.__setitem__(2, 10**9))
    with pytest.raises(ModelFormatError, match="word_offsets are not the starts"):
        load_model(path, verify=False)
