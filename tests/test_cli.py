import json

import pytest

from wordlens.cli import main


def test_corpus_stats_prints_figures(tmp_path, capsys):
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(b"the cat sat\nthe dog\n\xff bad line\n\nthe end\n")
    assert main(["-q", "corpus", "stats", str(corpus), "--min-count", "2", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["documents"] == 3
    assert figures["tokens"] == 7
    assert figures["types"] == 5
    assert figures["types_min_count_2"] == 1
    assert figures["undecodable_lines"] == 1 and figures["skipped_lines"] == 1
    assert figures["tokens_per_second"] > 0


def test_corpus_stats_counts_hostile_lines(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    deep = b"[" * 100_000 + b"]" * 100_000
    corpus.write_bytes(
        b'{"text": "the cat sat"}\n{"text": "x", "meta": ' + deep + b"}\n"
        b'{"text": "the \\ud800 dog"}\n{"text": "the end"}\n'
    )
    assert main(["-q", "corpus", "stats", str(corpus), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["documents"] == 2 and figures["tokens"] == 5
    assert figures["malformed_json_lines"] == 1 and figures["undecodable_lines"] == 1


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["corpus", "stats", str(tmp_path / "missing.txt")]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"wordlens: error: corpus not found: {tmp_path / 'missing.txt'}"]


def test_every_subcommand_has_help(capsys):
    from wordlens.cli import COMMANDS, build_parser

    build_parser()  # every command configured at once: no clashes
    for words, _, _ in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([*words, "--help"])
        assert exit_info.value.code == 0
        assert "usage: wordlens " + " ".join(words) in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())  # help lines wrap
    assert all(help_line in listing for words, help_line, _ in COMMANDS if len(words) == 1)
