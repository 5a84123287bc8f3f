"""``wordlens count`` and ``wordlens count merge`` on the command line."""

from __future__ import annotations

import gzip
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from wordlens.cli import main
from wordlens.corpus import DEFAULT_ENGLISH
from wordlens.training.counts import load_counts

ARRAYS = ("counts.npy", "indptr.npy", "indices.npy", "ticks.npy")
SUMMARY = re.compile(
    r"^(?P<path>.+): (?P<words>[\d,]+) words, (?P<cells>[\d,]+) cells, "
    r"(?P<tokens>[\d,]+) tokens, [\d.]+ s$"
)


@pytest.fixture(scope="module")
def halves(tmp_path_factory) -> Path:
    """A folder whose two files, a.txt then b.txt, are the two halves of a corpus."""
    folder = tmp_path_factory.mktemp("halves")
    with gzip.open(DEFAULT_ENGLISH, "rt", encoding="utf-8") as source:
        lines = list(itertools.islice(source, 1200))
    (folder / "a.txt").write_text("".join(lines[:500]), encoding="utf-8")
    (folder / "b.txt").write_text("".join(lines[500:]), encoding="utf-8")
    return folder


def count(corpus: Path, out: Path, *extra: str) -> int:
    arguments = ["count", "--corpus", str(corpus), "--out", str(out), "--window", "4"]
    return main([*arguments, "--workers", "2", *extra])


def summary(capsys) -> dict:
    line = capsys.readouterr().out.strip()
    match = SUMMARY.match(line)
    assert match, line
    return {key: value.replace(",", "") for key, value in match.groupdict().items()}


def assert_same_counts(path_a: Path, path_b: Path) -> None:
    a, b = load_counts(path_a), load_counts(path_b)
    assert a.words == b.words
    for name in ARRAYS:
        assert np.array_equal(np.load(path_a / name), np.load(path_b / name)), name
    assert a.manifest["corpus"]["tokens"] == b.manifest["corpus"]["tokens"]


def test_count_then_merge_equals_counting_the_whole(halves, tmp_path, capsys):
    assert count(halves, tmp_path / "whole", "--shard-mb", "0.02") == 0
    figures = summary(capsys)
    whole = load_counts(tmp_path / "whole")
    assert figures["path"] == str((tmp_path / "whole").absolute())
    assert int(figures["words"]) == len(whole) > 1000
    assert int(figures["cells"]) == whole.cells
    assert int(figures["tokens"]) == whole.manifest["corpus"]["tokens"] == whole.counts.sum()
    assert (whole.window, whole.weighting) == (4, "distance")

    assert count(halves / "a.txt", tmp_path / "a") == 0
    assert count(halves / "b.txt", tmp_path / "b", "--shard-mb", "0.01") == 0
    capsys.readouterr()
    assert (
        main(
            [
                "count",
                "merge",
                str(tmp_path / "a"),
                str(tmp_path / "b"),
                "--out",
                str(tmp_path / "ab"),
            ]
        )
        == 0
    )
    assert int(summary(capsys)["cells"]) == whole.cells
    assert_same_counts(tmp_path / "ab", tmp_path / "whole")
    sources = load_counts(tmp_path / "ab").manifest["corpus"]["sources"]
    assert [Path(s["path"]).name for s in sources][0] == "a.txt"
    assert [Path(s["path"]).name for s in sources][-1] == "b.txt"

    # Adding new counts to older ones in place: --out is one of the inputs.
    assert (
        main(
            [
                "count",
                "merge",
                str(tmp_path / "a"),
                str(tmp_path / "b"),
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    assert_same_counts(tmp_path / "a", tmp_path / "whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "ab", "b", "whole"]


def test_constant_weighting_and_tokenizer_options(halves, tmp_path, capsys):
    out = tmp_path / "counts"
    assert count(halves / "a.txt", out, "--weighting", "constant", "--tokenizer", "whitespace") == 0
    counts = load_counts(out)
    assert (counts.weighting, counts.scale) == ("constant", 1)
    assert counts.tokenizer == {"name": "whitespace", "lowercase": False}
    assert "the" in counts.words and "The" in counts.words


def errors(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_count_errors_are_one_line(halves, tmp_path, capsys):
    missing = tmp_path / "missing.txt"
    assert count(missing, tmp_path / "out") == 1
    assert errors(capsys) == [f"wordlens: error: corpus not found: {missing}"]

    assert main(["count", "--corpus", str(halves)]) == 1
    assert errors(capsys) == [
        "wordlens: error: count needs --out COUNTS, the counts folder to write"
    ]

    assert count(halves, tmp_path / "out", "--window", "21") == 1
    (line,) = errors(capsys)
    assert line.startswith("wordlens: error: ") and "20" in line

    assert (
        count(
            halves, tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0.5"
        )
        == 1
    )
    (line,) = errors(capsys)
    assert line.startswith("wordlens: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")

    for bad in (["--shard-mb", "0"], ["--workers", "0"], ["--weighting", "cubic"]):
        with pytest.raises(SystemExit) as exit_info:
            count(halves, tmp_path / "out", *bad)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith("wordlens count: error:")
    assert list(tmp_path.iterdir()) == []


def test_merge_errors_are_one_line(halves, tmp_path, capsys):
    assert count(halves / "a.txt", tmp_path / "w4") == 0
    assert count(halves / "a.txt", tmp_path / "w3", "--window", "3") == 0
    capsys.readouterr()
    out = str(tmp_path / "out")
    assert main(["count", "merge", str(tmp_path / "w4"), str(tmp_path / "w3"), "--out", out]) == 1
    (line,) = errors(capsys)
    assert line.startswith("wordlens: error: ") and "window" in line

    assert main(["count", "merge", str(tmp_path / "w4"), str(halves), "--out", out]) == 1
    (line,) = errors(capsys)
    assert line.startswith("wordlens: error: ") and str(halves.name) in line

    with pytest.raises(SystemExit) as exit_info:
        main(["count", "merge", str(tmp_path / "w4")])
    assert exit_info.value.code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w3", "w4"]
