import gzip
import json
import os

import pytest

from wordlens.corpus import (
    Corpus,
    CorpusError,
    ReadStats,
    get_tokenizer,
    iter_documents,
    iter_records,
)


def write(path, data: bytes):
    if path.name.endswith(".gz"):
        with gzip.open(path, "wb") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["docs.txt", "docs.txt.gz"])
def test_text_lines_are_documents(tmp_path, name):
    path = write(tmp_path / name, b"first line\n\n  second line  \nthird\n")
    stats = ReadStats()
    assert list(iter_documents(path, stats=stats)) == ["first line", "second line", "third"]
    assert stats.documents == 3 and stats.empty_lines == 1 and stats.skipped_lines == 0


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz"])
def test_jsonl_with_broken_lines(tmp_path, name):
    lines = [
        json.dumps({"id": 1, "body": "good one"}),
        "{not json",
        json.dumps({"id": 2, "text": "no body field"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": 3, "body": 42}),
        json.dumps({"id": 4, "body": "good two ünïcode"}),
    ]
    path = write(tmp_path / name, ("\n".join(lines) + "\n").encode())
    stats = ReadStats()
    documents = list(iter_documents(path, text_field="body", stats=stats))
    assert documents == ["good one", "good two ünïcode"]
    assert stats.malformed_json_lines == 2  # "{not json" and a JSON list
    assert stats.missing_field_lines == 2
    assert stats.skipped_lines == 4
    assert "skipped 4 line(s)" in stats.summary()


def test_records_keep_bad_lines_with_their_reason(tmp_path):
    lines = [
        b'{"id": "a", "text": "one"}',
        b"{broken",
        b'{"id": 7}',
        b"",
        b'{"id": "b", "text": "  "}',
        b'{"text": "\xff"}',
    ]
    path = write(tmp_path / "docs.jsonl", b"\n".join(lines) + b"\n")
    records = list(iter_records(path, id_field="id"))
    assert [(r.line, r.id, r.text) for r in records] == [
        (1, "a", "one"),
        (2, None, None),
        (3, 7, None),
        (5, "b", ""),
        (6, None, None),
    ]
    assert "docs.jsonl:2: malformed JSON" in records[1].error
    assert "docs.jsonl:3: no string field 'text'" in records[2].error
    assert "docs.jsonl:6: not valid UTF-8" in records[4].error
    assert records[0].error is None and records[3].error is None


def test_undecodable_lines_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "bad.txt", b"fine\n\xff\xfe broken \xc3\x28\nalso fine\n")
    stats = ReadStats()
    assert list(iter_documents(path, stats=stats)) == ["fine", "also fine"]
    assert stats.undecodable_lines == 1


def test_folder_is_read_recursively_in_order(tmp_path):
    (tmp_path / "b").mkdir()
    write(tmp_path / "b" / "2.txt", b"two\n")
    write(tmp_path / "a.txt.gz", b"one\n")
    write(tmp_path / "c.jsonl", b'{"text": "three"}\n')
    write(tmp_path / "ignored.csv", b"nope\n")
    assert list(iter_documents(tmp_path)) == ["one", "two", "three"]


def test_missing_empty_and_unsupported_inputs(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found"):
        list(iter_documents(tmp_path / "nowhere.txt"))
    with pytest.raises(CorpusError, match="no corpus files"):
        list(iter_documents(tmp_path))
    with pytest.raises(CorpusError, match="unsupported corpus file"):
        list(iter_documents(write(tmp_path / "data.csv", b"x\n")))
    with pytest.raises(CorpusError, match="no documents"):
        list(iter_documents(write(tmp_path / "empty.txt", b"\n\n")))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = write(tmp_path / "docs.txt.gz", b"some text\n" * 10_000)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorpusError, match="cannot read"):
        list(iter_documents(path))


def test_fingerprint_depends_on_content(tmp_path):
    first = write(tmp_path / "a.txt", b"same\n")
    stats_a, stats_b, stats_c = ReadStats(), ReadStats(), ReadStats()
    list(iter_documents(first, stats=stats_a))
    list(iter_documents(first, stats=stats_b))
    write(first, b"other\n")
    list(iter_documents(first, stats=stats_c))
    assert stats_a.fingerprint == stats_b.fingerprint != stats_c.fingerprint


def test_corpus_is_restartable_and_tokenised(tmp_path):
    path = write(tmp_path / "docs.txt", b"The cat sat.\nA dog, barking!\n")
    corpus = Corpus(path, get_tokenizer("english"))
    first, second = list(corpus), list(corpus)
    assert first == second == [["the", "cat", "sat"], ["a", "dog", "barking"]]
    assert corpus.stats.documents == 2


def test_corpus_describes_a_complete_pass_only(tmp_path):
    path = write(tmp_path / "docs.txt", b"one two\n\xff\nthree\n")
    corpus = Corpus(path, get_tokenizer("whitespace"))
    with pytest.raises(RuntimeError, match="not been read through"):
        corpus.describe(tokens=3, types=3)
    next(iter(corpus))  # a pass left unfinished describes nothing either
    with pytest.raises(RuntimeError, match="not been read through"):
        corpus.stats  # noqa: B018
    list(corpus)
    assert corpus.describe(tokens=3, types=3) == {
        "path": str(path),
        "fingerprint": corpus.stats.fingerprint,
        "files": 1,
        "documents": 2,
        "tokens": 3,
        "types": 3,
        "skipped_lines": 1,
    }


def test_corpus_fails_early_on_a_bad_path(tmp_path):
    with pytest.raises(CorpusError):
        Corpus(tmp_path / "missing.txt", get_tokenizer("english"))


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# Lines an attacker (or a broken exporter) can write: each must become one error record,
# never an exception that ends the pass. (line, id, part of the error or None)
TOO_DEEP = "nested deeper than 128 levels"
HOSTILE_LINES = [
    (b'{"id": "a", "text": "the cat"}', "a", None),
    (b'{"id": "b", "text": "x", "meta": ' + nested(100_000) + b"}", None, TOO_DEEP),
    (nested(100_000), None, TOO_DEEP),
    # Deep enough to fail in Python's parser, or not, depending on the caller's stack.
    (b'{"id": "c", "text": "x", "meta": ' + nested(960) + b"}", None, TOO_DEEP),
    (b'{"id": "c", "text": "x", "meta": ' + nested(128) + b"}", None, TOO_DEEP),
    (b'{"id": ' + nested(127) + b', "text": "the mat"}', nested(127), None),
    (b'{"id": "e", "text": "[[[' + b"[" * 200 + b'", "v": [' + b"[1]," * 300 + b"[2]]}", "e", None),
    (b'{"id": "\\ud800", "text": "the dog"}', None, "'id' holds a lone surrogate"),
    (b'{"id": {"\\udfff": 1}, "text": "the dog"}', None, "'id' holds a lone surrogate"),
    (b'{"id": "d", "text": "the \\udfff log"}', "d", "'text' holds a lone surrogate"),
    (b'{"id": NaN, "text": "the bird"}', None, "'id' holds NaN or Infinity"),
    (b'{"id": [1e999], "text": "the bird"}', None, "'id' holds NaN or Infinity"),
    (b'{"id": "\\ud83d\\ude00", "text": "the \\u00e9t\\u00e9"}', "\U0001f600", None),
]


def test_hostile_json_lines_become_error_records(tmp_path):
    path = write(tmp_path / "hostile.jsonl", b"\n".join(line for line, _, _ in HOSTILE_LINES))
    records = list(iter_records(path, id_field="id"))
    assert [r.line for r in records] == list(range(1, len(HOSTILE_LINES) + 1))
    for record, (_, identifier, error) in zip(records, HOSTILE_LINES, strict=True):
        if error is None:
            assert record.error is None and record.text, record
        else:
            assert error in record.error and record.text is None, record
        if isinstance(identifier, bytes):
            assert json.dumps(record.id, separators=(",", ":")).encode() == identifier
        else:
            assert record.id == identifier
    assert records[-1].text == "the été"


def test_hostile_json_lines_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "hostile.jsonl", b"\n".join(line for line, _, _ in HOSTILE_LINES))
    stats = ReadStats()
    # Without an id field only the text matters: the bad ids are no reason to skip.
    assert len(list(iter_documents(path, stats=stats))) == 8
    assert stats.malformed_json_lines == 4 and stats.undecodable_lines == 1
    assert "skipped 5 line(s)" in stats.summary()


def test_undecodable_file_names_give_unicode_sources(tmp_path):
    path = write(tmp_path / os.fsdecode(b"docs-\xff.txt"), b"one\n")
    (record,) = iter_records(path)
    assert record.source == str(tmp_path / "docs-\ufffd.txt")
    record.source.encode("utf-8")
