"""The counts folder: its writer, its reader, and what the reader refuses."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from wordlens.training.counts import (
    CountsFormatError,
    CountsWriter,
    load_counts,
    pair_ticks,
    ticks_scale,
    word_order,
)
from wordlens.training.vocab import build_vocabulary

WORDS = ["the", "cat", "über", "猫"]
# upper triangle of a 4 × 4 matrix: row 0 has 3 cells, row 1 one, row 2 one, row 3 none
INDPTR = np.array([0, 3, 4, 5, 5])
INDICES = np.array([1, 2, 3, 3, 3])
TICKS = np.array([5, 1, 2, 7, 840])


def write(path, rows=((0, 5),), **overrides):
    """Write the counts above, appending the rows in the blocks (start, end) given."""
    arguments = {
        "words": WORDS,
        "counts": np.array([9, 4, 4, 1]),
        "window": 8,
        "weighting": "distance",
        "tokenizer": {"name": "english"},
        "corpus": {"sources": [{"path": "a.txt"}], "documents": 2, "tokens": 18},
    }
    arguments.update(overrides)
    with CountsWriter(path, **arguments) as writer:
        for start, end in rows:
            first, last = INDPTR[start], INDPTR[min(end, 4)]
            writer.append(INDPTR[start : end + 1] - first, INDICES[first:last], TICKS[first:last])
    return writer.path


def test_round_trip_in_several_appends(tmp_path):
    path = write(tmp_path / "c", rows=((0, 1), (1, 1), (1, 3), (3, 4)))
    counts = load_counts(path)
    assert counts.words == WORDS and len(counts) == 4 and counts.cells == 5
    assert counts.counts.tolist() == [9, 4, 4, 1] and counts.indptr.tolist() == INDPTR.tolist()
    assert (counts.window, counts.weighting, counts.scale) == (8, "distance", 840)
    assert counts.tokenizer == {"name": "english"} and counts.corpus["tokens"] == 18
    assert isinstance(counts.counts, np.memmap)
    # plain .npy files, byte for byte what np.save writes
    for name, array, dtype in (
        ("indptr", INDPTR, np.int64),
        ("indices", INDICES, np.int32),
        ("ticks", TICKS, np.int64),
    ):
        np.save(tmp_path / f"{name}.npy", array.astype(dtype))
        assert (path / f"{name}.npy").read_bytes() == (tmp_path / f"{name}.npy").read_bytes()
    assert (path / "words.txt").read_text(encoding="utf-8") == "the\ncat\nüber\n猫\n"
    x = counts.to_csr().toarray()
    assert x[0, 1] == x[1, 0] == 5 / 840 and x[2, 3] == x[3, 2] == 1 and x.trace() == 0
    assert counts.to_csr(stop=2).toarray().tolist() == [[0, 5 / 840], [5 / 840, 0]]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "wordlens-counts" and manifest["format_version"] == 1
    assert manifest["words"] == 4 and manifest["cells"] == 5
    assert set(manifest["files"]) == {
        "words.txt",
        "counts.npy",
        "indptr.npy",
        "indices.npy",
        "ticks.npy",
    }


def test_row_blocks(tmp_path):
    counts = load_counts(write(tmp_path / "c"))
    blocks = list(counts.row_blocks(max_cells=2))
    # row 0 alone holds 3 cells, more than 2: a block by itself; rows 1 to 3 hold 2
    assert [(start, end, block.shape, block.nnz) for start, end, block in blocks] == [
        (0, 1, (1, 4), 3),
        (1, 4, (3, 4), 2),
    ]
    assert blocks[1][2].toarray().tolist() == [[0, 0, 0, 7], [0, 0, 0, 840], [0, 0, 0, 0]]
    assert blocks[0][2].dtype == np.int64 and blocks[0][2].indices.dtype == np.int32
    assert [(start, end) for start, end, _ in counts.row_blocks(100, stop=2)] == [(0, 2)]
    assert [(start, end) for start, end, _ in counts.row_blocks(1)] == [(0, 1), (1, 2), (2, 4)]


def test_equal(tmp_path):
    first = load_counts(write(tmp_path / "a"))
    second = load_counts(write(tmp_path / "b", rows=((0, 2), (2, 4))))
    assert first.equal(second) and second.equal(first)
    TICKS[4] += 1
    try:
        third = load_counts(write(tmp_path / "c"))
    finally:
        TICKS[4] -= 1
    assert not first.equal(third)
    assert not first.equal(load_counts(write(tmp_path / "d", window=7)))


def test_ticks():
    assert ticks_scale(8, "constant") == 1 and ticks_scale(8, "distance") == 840
    assert ticks_scale(20, "distance") == 232792560
    assert pair_ticks(4, "distance").tolist() == [0, 12, 6, 4, 3]
    assert pair_ticks(3, "constant").tolist() == [0, 1, 1, 1]
    with pytest.raises(ValueError, match="at most 20"):
        ticks_scale(21, "distance")
    with pytest.raises(ValueError, match="window"):
        ticks_scale(0, "constant")
    with pytest.raises(ValueError, match="weighting"):
        ticks_scale(5, "harmonic")


def test_word_order_is_the_vocabulary_order():
    counts = {"b": 3, "a": 3, "é": 3, "z": 9, "B": 3, "y": 1}
    words = list(counts)
    order = word_order(words, np.array(list(counts.values())))
    from collections import Counter

    assert [words[i] for i in order] == build_vocabulary(Counter(counts), min_count=1).words
    assert [words[i] for i in order] == ["z", "B", "a", "b", "é", "y"]


def test_the_writer_refuses_bad_rows(tmp_path):
    cells = "columns must be above their row, increasing, below 4, with positive ticks"
    bad_blocks = {
        "column not above its row": ([0, 1], [0], [1], cells),
        "columns not increasing": ([0, 2], [2, 1], [1, 1], cells),
        "column repeated": ([0, 2], [2, 2], [1, 1], cells),
        "column beyond the words": ([0, 1], [4], [1], cells),
        "no ticks": ([0, 1], [1], [0], cells),
        "pointers past the cells": ([0, 2], [1], [1], "inconsistent block"),
        "pointers decreasing": ([0, 2, 1, 2], [1, 2], [1, 1], "must not decrease"),
    }
    for name, (indptr, indices, ticks, message) in bad_blocks.items():
        with (
            pytest.raises(ValueError, match=message),
            CountsWriter(tmp_path / name, **writer_arguments()) as w,
        ):
            w.append(np.array(indptr), np.array(indices), np.array(ticks))
    with pytest.raises(ValueError, match="only 1 of 4 rows"):
        write(tmp_path / "short", rows=((0, 1),))
    with pytest.raises(ValueError, match="5 rows appended"):
        write(tmp_path / "long", rows=((0, 4), (3, 4)))
    for words, message in (
        (["a", "b", "a", "c"], "distinct"),
        (["a", "b\nc", "d", "e"], "newline"),
        (["a", "", "d", "e"], "empty"),
    ):
        with pytest.raises(ValueError, match=message):
            write(tmp_path / "words", words=words)
    assert sorted(os.listdir(tmp_path)) == []  # nothing published, no partial folder left


def writer_arguments():
    return {
        "words": WORDS,
        "counts": np.array([9, 4, 4, 1]),
        "window": 2,
        "weighting": "constant",
        "tokenizer": {},
        "corpus": {},
    }


def test_publication_is_atomic(tmp_path):
    path = write(tmp_path / "c")
    before = (path / "manifest.json").read_bytes()

    def interrupted():
        with CountsWriter(path, **writer_arguments()) as writer:
            writer.append(np.array([0, 0]), np.array([], dtype=int), np.array([], dtype=int))
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted()
    assert (path / "manifest.json").read_bytes() == before  # the old counts stay whole
    assert sorted(os.listdir(tmp_path)) == ["c"]
    load_counts(path)


def test_a_killed_writer_leaves_nothing_that_loads(tmp_path):
    # A writer killed mid-way leaves only a hidden partial folder, removed by the next.
    script = textwrap.dedent(
        f"""
        import os, numpy as np
        from wordlens.training.counts import CountsWriter
        with CountsWriter({str(tmp_path / "c")!r}, words=["a", "b"], counts=np.array([2, 1]),
                          window=2, weighting="constant", tokenizer={{}}, corpus={{}}) as w:
            w.append(np.array([0, 1]), np.array([1]), np.array([3]))
            os._exit(1)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=False)
    left = os.listdir(tmp_path)
    assert len(left) == 1 and left[0].startswith(".c.partial-")
    write(tmp_path / "c")
    assert sorted(os.listdir(tmp_path)) == ["c"]


def rewrite_manifest(path: Path, **fields):
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(fields)
    (path / "manifest.json").write_text(json.dumps(manifest))


def refresh_checksum(path: Path, name: str):
    import hashlib

    manifest = json.loads((path / "manifest.json").read_text())
    data = (path / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (path / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def folder(tmp_path):
    return write(tmp_path / "c")


def test_refuses_a_changed_byte(folder):
    data = bytearray((folder / "ticks.npy").read_bytes())
    data[-1] ^= 1
    (folder / "ticks.npy").write_bytes(bytes(data))
    with pytest.raises(CountsFormatError, match="c/ticks.npy: checksum mismatch"):
        load_counts(folder)
    assert load_counts(folder, verify=False).cells == 5  # sizes and shapes still fine


def test_refuses_a_truncated_file(folder):
    data = (folder / "indices.npy").read_bytes()
    (folder / "indices.npy").write_bytes(data[:-4])
    with pytest.raises(CountsFormatError, match="c/indices.npy: 144 bytes, the manifest says 148"):
        load_counts(folder, verify=False)


def test_refuses_a_missing_file(folder):
    (folder / "counts.npy").unlink()
    with pytest.raises(CountsFormatError, match="c/counts.npy: missing"):
        load_counts(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(CountsFormatError, match="manifest.json: missing"):
        load_counts(folder)
    with pytest.raises(CountsFormatError, match="not a directory"):
        load_counts(folder.parent / "nowhere")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"format_version": 2}, "format version 2, this wordlens reads 1"),
        ({"format": "wordlens-model"}, "not a wordlens-counts manifest"),
        ({"scale": 1}, "scale 1, the window says 840"),
        ({"window": 30}, "at most 20"),
        ({"cells": 6}, "expected \\(6,\\)"),
        ({"words": "4"}, "'words' missing or not a int"),
    ],
)
def test_refuses_a_wrong_manifest(folder, fields, message):
    rewrite_manifest(folder, **fields)
    with pytest.raises(CountsFormatError, match=message):
        load_counts(folder)


def test_refuses_wrong_arrays_even_with_their_checksums(folder):
    np.save(folder / "indices.npy", INDICES.astype(np.int64))
    refresh_checksum(folder, "indices.npy")
    with pytest.raises(CountsFormatError, match="indices.npy: shape \\(5,\\) int64, expected"):
        load_counts(folder)
    np.save(folder / "indices.npy", INDICES.astype(np.int32))
    np.save(folder / "indptr.npy", np.array([0, 3, 2, 5, 5]))
    refresh_checksum(folder, "indices.npy")
    refresh_checksum(folder, "indptr.npy")
    with pytest.raises(CountsFormatError, match="row pointers must rise"):
        load_counts(folder)
    np.save(folder / "indptr.npy", INDPTR)
    refresh_checksum(folder, "indptr.npy")
    (folder / "words.txt").write_text("the\ncat\nüber\n", encoding="utf-8")
    refresh_checksum(folder, "words.txt")
    with pytest.raises(CountsFormatError, match="3 words, expected 4"):
        load_counts(folder)
    (folder / "words.txt").write_bytes(b"the\ncat\n\xff\n\xe7\x8c\xab\n")
    refresh_checksum(folder, "words.txt")
    with pytest.raises(CountsFormatError, match="words.txt: unreadable"):
        load_counts(folder)
