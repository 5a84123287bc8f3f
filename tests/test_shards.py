"""Byte-range shards: the shards of a corpus, read in order, are the corpus."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from wordlens.corpus import Corpus, CorpusError, ReadStats, get_tokenizer
from wordlens.corpus.reader import iter_documents, iter_range_documents, iter_range_records
from wordlens.corpus.shards import ByteRange, ShardCorpus, split_corpus

TOKENIZER = get_tokenizer("english")


def awkward_text(seed: int = 0) -> bytes:
    """Lines of many lengths: empty, blank, CRLF, undecodable, one longer than most
    ranges, and a last line without a newline."""
    rng = np.random.default_rng(seed)
    words = ["alpha", "beta", "gamma", "délta", "ε", "zeta", "x"]
    lines = []
    for number in range(120):
        length = int(rng.integers(0, 12))
        line = " ".join(words[int(i)] for i in rng.integers(0, len(words), length))
        lines.append(line.encode() + (b"\r\n" if number % 7 == 0 else b"\n"))
    lines[10] = b"\n"
    lines[11] = b"   \t \n"
    lines[40] = b"bad \xff byte\n"
    lines[60] = (" ".join(["long"] * 400)).encode() + b"\n"
    lines.append(b"last line without newline")
    return b"".join(lines)


def awkward_jsonl() -> bytes:
    lines = [
        json.dumps({"text": f"document {i} with words {'w' * (i % 5)}"}).encode() + b"\n"
        for i in range(60)
    ]
    lines[5] = b"{not json\n"
    lines[9] = b'{"other": "field"}\r\n'
    lines[20] = b'{"text": "\\ud800 lone"}\n'
    lines.append(b'{"text": "final, no newline"}')
    return b"".join(lines)


def shard_documents(shards, text_field="text"):
    stats = ReadStats()
    documents = []
    for shard in shards:
        documents += list(
            iter_range_documents(shard.path, shard.start, shard.stop, text_field, stats)
        )
    return documents, stats


@pytest.mark.parametrize(("name", "make"), [("a.txt", awkward_text), ("a.jsonl", awkward_jsonl)])
@pytest.mark.parametrize("shard_bytes", [1, 2, 3, 7, 50, 333, 1000, 4096, 10**6])
def test_shards_of_a_file_are_its_documents(tmp_path, name, make, shard_bytes):
    path = tmp_path / name
    path.write_bytes(make())
    whole = ReadStats()
    expected = list(iter_documents(path, stats=whole))
    shards = split_corpus(path, shard_bytes)
    documents, stats = shard_documents(shards)
    assert documents == expected
    assert stats.documents == whole.documents
    assert stats.skipped_lines == whole.skipped_lines > 0
    assert stats.bytes_read == whole.bytes_read == path.stat().st_size
    # Planned cuts fall on line starts and tile the file.
    data = path.read_bytes()
    assert shards[0].start == 0 and shards[-1].stop == len(data)
    for before, after in zip(shards, shards[1:], strict=False):
        assert before.stop == after.start and data[after.start - 1] == ord("\n")
        assert before.size >= shard_bytes


@pytest.mark.parametrize("seed", range(6))
def test_any_partition_reads_each_line_once(tmp_path, seed):
    """Cuts anywhere, not only at line starts: a line goes to the range that holds
    its first byte."""
    path = tmp_path / "a.txt"
    path.write_bytes(awkward_text(seed))
    size = path.stat().st_size
    rng = np.random.default_rng(seed)
    cuts = sorted({0, size, *rng.integers(0, size, 1 + seed * 9).tolist()})
    shards = [ByteRange(str(path), a, b) for a, b in zip(cuts, cuts[1:], strict=False)]
    assert shard_documents(shards)[0] == list(iter_documents(path))


def test_a_whole_file_range_reads_like_the_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(awkward_text())
    whole, ranged = ReadStats(), ReadStats()
    list(iter_documents(path, stats=whole))
    list(iter_range_documents(path, 0, path.stat().st_size, stats=ranged))
    assert ranged.fingerprint == whole.fingerprint
    parts = ReadStats()
    list(iter_range_documents(path, 0, 100, stats=parts))
    assert parts.fingerprint != whole.fingerprint


def test_records_name_their_range(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\nbad \xff\nthree\n")
    records = list(iter_range_records(path, 1, 20))
    assert [r.text for r in records] == [None, "three"]
    assert records[0].source == f"{path} (bytes 1-20)" and records[0].line == 1
    assert records[0].error.startswith(f"{path} (bytes 1-20):1: not valid UTF-8")


def test_gzip_files_are_one_shard_each(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "b").mkdir(parents=True)
    (folder / "a.txt.gz").write_bytes(gzip.compress(b"one two\nthree\n" * 50))
    (folder / "b" / "c.txt").write_bytes(b"four five\nsix\n" * 50)
    (folder / "empty.txt").write_bytes(b"")
    shards = split_corpus(folder, 64)
    assert shards[0] == ByteRange(str(folder / "a.txt.gz"), 0, (folder / "a.txt.gz").stat().st_size)
    assert {s.path for s in shards[1:-1]} == {str(folder / "b" / "c.txt")} and len(shards) > 3
    assert shards[-1] == ByteRange(str(folder / "empty.txt"), 0, 0)
    assert shard_documents(shards)[0] == list(iter_documents(folder))
    with pytest.raises(CorpusError, match="gzip-compressed"):
        list(iter_range_documents(folder / "a.txt.gz", 0, 10))


def test_bad_inputs(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found"):
        split_corpus(tmp_path / "missing.txt", 100)
    with pytest.raises(ValueError, match="positive"):
        split_corpus(tmp_path, 0)
    with pytest.raises(CorpusError, match="corpus not found"):
        list(iter_range_documents(tmp_path / "gone.txt", 0, 10))
    with pytest.raises(CorpusError, match="unsupported"):
        list(iter_range_documents(tmp_path / "a.csv", 0, 10))


def test_shard_corpus_tokenises_and_describes(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(awkward_text())
    shards = split_corpus(path, 500)
    tokenised = []
    described = []
    for shard in shards:
        corpus = ShardCorpus(shard, TOKENIZER)
        documents = list(corpus)
        tokenised += documents
        described.append(corpus.describe())
    whole = Corpus(path, TOKENIZER)
    assert tokenised == list(whole)
    assert sum(d["documents"] for d in described) == whole.stats.documents
    assert sum(d["skipped_lines"] for d in described) == whole.stats.skipped_lines
    first = described[0]
    assert (first["path"], first["start"], first["stop"], first["files"]) == (
        str(path),
        0,
        shards[0].stop,
        1,
    )
    with pytest.raises(RuntimeError, match="not been read"):
        ShardCorpus(shards[0], TOKENIZER).describe()
