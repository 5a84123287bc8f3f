"""The batch command ``wordlens keywords`` on files, standard input and resumption."""

import glob
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from wordlens.app.engine import Engine
from wordlens.artifacts import write_model
from wordlens.cli import main

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "log", "bird", "tree", "river"]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("job") / "models"
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(len(WORDS), 8)).astype(np.float32)
    write_model(
        root / "pmi",
        kind="pmi",
        words=WORDS,
        vectors=vectors,
        counts=np.arange(len(WORDS), 0, -1) * 10,
        manifest={"tokenizer": {"name": "english"}},
    )
    write_model(root / "imported", kind="imported", words=WORDS, vectors=vectors)
    return root


JOB = [sys.executable, "-m", "wordlens", "-q", "keywords", "--no-progress"]


def documents(count, seed=0):
    rng = np.random.default_rng(seed)
    vocabulary = np.array(WORDS + ["zebra", "Cat", "TREE"])
    return [" ".join(rng.choice(vocabulary, size=rng.integers(1, 15))) for _ in range(count)]


def run_job(*args):
    return main(["-q", "keywords", "--no-progress", *map(str, args)])


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_results_equal_the_engine_in_input_order(tmp_path, models_dir):
    texts = documents(700)
    source = tmp_path / "docs.txt.gz"
    with gzip.open(source, "wt", encoding="utf-8") as stream:
        stream.write("\n".join(texts) + "\n")
    out1, out2 = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert (
        run_job(source, "--model", models_dir / "pmi", "-o", out1, "--workers", 1, "--topn", 3) == 0
    )
    assert (
        run_job(source, "--model", models_dir / "pmi", "-o", out2, "--workers", 2, "--topn", 3) == 0
    )
    assert out1.read_bytes() == out2.read_bytes()
    records = read_jsonl(out1)
    pmi = Engine(models_dir).get("pmi")
    assert [r["line"] for r in records] == list(range(1, 701))
    for text, record in zip(texts[:100], records[:100], strict=True):
        expected = pmi.keywords(text, topn=3)
        assert [k["word"] for k in record["keywords"]] == [w for w, _ in expected.keywords]
        assert record["unknown"] == expected.unknown


def test_jsonl_ids_and_bad_lines(tmp_path, models_dir, capsys):
    source = tmp_path / "docs.jsonl"
    source.write_bytes(
        b'{"id": "a", "body": "the cat sat"}\n{oops\n\n{"id": 9}\n'
        b'\xff\xfe\n{"id": "e", "body": ""}\n{"id": "f", "body": "zebra"}\n'
    )
    assert run_job(source, "--model", models_dir / "pmi", "--field", "body") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["line"], r["id"]) for r in records] == [
        (1, "a"),
        (2, None),
        (4, 9),
        (5, None),
        (6, "e"),
        (7, "f"),
    ]
    assert [r["keywords"][0]["word"] for r in records[:1]] == ["cat"]
    assert [bool(r["error"]) for r in records] == [False, True, True, True, False, False]
    assert "malformed JSON" in records[1]["error"]["message"]
    assert "no string field 'body'" in records[2]["error"]["message"]
    assert records[4]["reason"] == "the text has no tokens"
    assert records[5]["unknown"] == ["zebra"] and records[5]["keywords"] == []


def test_standard_input(models_dir):
    result = subprocess.run(
        [*JOB, "--model", str(models_dir / "pmi"), "--stdin-format", "jsonl", "--topn", "1"],
        input='{"id": 1, "text": "the dog on the log"}\n',
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(result.stdout)
    assert record["id"] == 1 and len(record["keywords"]) == 1


def test_errors_are_clear(tmp_path, models_dir, capsys):
    source = tmp_path / "d.txt"
    source.write_text("the cat\n")
    assert run_job(source, "--model", models_dir / "imported") == 1
    assert "no output layer" in capsys.readouterr().err
    assert run_job(tmp_path / "missing.txt", "--model", models_dir / "pmi") == 1
    assert "corpus not found" in capsys.readouterr().err
    assert run_job(source, "--model", models_dir / "pmi", "--resume") == 1
    assert "--resume needs an output file" in capsys.readouterr().err
    assert run_job(source, "--model", tmp_path / "nomodel") == 1
    assert "not a directory" in capsys.readouterr().err


def test_resume_after_a_torn_write(tmp_path, models_dir):
    source = tmp_path / "docs.txt"
    source.write_text("\n".join(documents(1000, seed=5)) + "\n")
    full, partial = tmp_path / "full.jsonl", tmp_path / "partial.jsonl"
    assert run_job(source, "--model", models_dir / "pmi", "-o", full, "--workers", 1) == 0
    data = full.read_bytes()
    partial.write_bytes(data[: len(data) * 2 // 5 + 17])  # ends inside a line
    assert (
        run_job(source, "--model", models_dir / "pmi", "-o", partial, "--resume", "--workers", 2)
        == 0
    )
    assert partial.read_bytes() == data


def test_resume_refuses_a_foreign_output(tmp_path, models_dir, capsys):
    source, other = tmp_path / "docs.txt", tmp_path / "other.txt"
    source.write_text("the cat\nthe dog\n")
    other.write_text("a\n")
    output = tmp_path / "out.jsonl"
    assert run_job(other, "--model", models_dir / "pmi", "-o", output) == 0
    assert run_job(source, "--model", models_dir / "pmi", "-o", output, "--resume") == 1
    assert "does not match the input" in capsys.readouterr().err


@pytest.fixture(scope="module")
def long_input(tmp_path_factory, models_dir):
    """20,000 documents and the output of an uninterrupted run over them."""
    folder = tmp_path_factory.mktemp("long")
    source, reference = folder / "docs.txt", folder / "reference.jsonl"
    source.write_text("\n".join(documents(20_000, seed=9)) + "\n")
    subprocess.run(
        [*JOB, "--model", str(models_dir / "pmi"), str(source), "-o", str(reference)], check=True
    )
    return source, reference.read_bytes()


def process_status(stat_file):
    """(state, parent pid) from a /proc/PID/stat file, or None once the process is gone."""
    try:
        fields = Path(stat_file).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    return [
        int(stat_file.split("/")[2])
        for stat_file in glob.glob("/proc/[0-9]*/stat")
        if (status := process_status(stat_file)) and status[1] == pid
    ]


def command_line(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid):
    """Whether ``pid`` runs (a zombie, waiting for a parent to reap it, does not)."""
    status = process_status(f"/proc/{pid}/stat")
    return status is not None and status[0] not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("signum", "workers", "status"),
    [
        (signal.SIGKILL, 1, -signal.SIGKILL),
        (signal.SIGKILL, 2, -signal.SIGKILL),
        (signal.SIGTERM, 2, 143),
        (signal.SIGINT, 2, 130),  # to the whole process group, as Ctrl-C sends it
    ],
)
def test_a_killed_run_leaves_no_worker_and_resumes(
    tmp_path, models_dir, long_input, signum, workers, status
):
    source, reference = long_input
    output = tmp_path / "out.jsonl"
    command = [*JOB, "--model", str(models_dir / "pmi"), str(source), "-o", str(output)]
    process = subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    pool_size = workers if workers > 1 else 0  # one worker runs in the job's own process
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until every worker runs and output flows
        helpers = children(process.pid)  # the workers and multiprocessing's resource tracker
        pool = [pid for pid in helpers if b"spawn_main" in command_line(pid)]
        if len(pool) == pool_size and output.exists() and output.stat().st_size > 50_000:
            break
        time.sleep(0.01)
    assert len(pool) == pool_size
    try:
        if signum == signal.SIGINT:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
        # Standard output and error reach their end only once no process holds them open.
        _, error = process.communicate(timeout=20)
        assert process.returncode == status, error.decode()
        assert b"Traceback" not in error
        deadline = time.monotonic() + 10
        while any(map(alive, helpers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in helpers if alive(pid)], "a worker outlived the job"
    finally:  # a failure leaves nothing running
        for pid in [process.pid, *helpers]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    written = output.read_bytes()
    assert 0 < written.count(b"\n") < 20_000, "the run was not interrupted mid-way"
    if signum != signal.SIGKILL:
        assert written.endswith(b"\n"), "a stopped run ends with a whole line"
        assert b"--resume" in error
    subprocess.run([*command, "--resume", "--workers", "2"], check=True)
    assert output.read_bytes() == reference


def strict_json(line):
    """A line as a strict JSON parser reads it: UTF-8, no NaN or Infinity."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line.decode("utf-8"), parse_constant=refuse)


def test_hostile_lines_become_error_records_and_resume(tmp_path, models_dir):
    deep = b"[" * 100_000 + b"]" * 100_000
    lines = [
        b'{"id": "a", "text": "the cat sat"}',
        b'{"id": "b", "text": "the dog", "meta": ' + deep + b"}",
        b'{"id": "\\ud800", "text": "the log"}',
        b'{"id": "d", "text": "the \\udfff bird"}',
        b'{"id": NaN, "text": "the tree"}',
        b'{"id": {"k": 1e999}, "text": "the river"}',
        b'{"id": ' + b"[" * 900 + b"]" * 900 + b', "text": "the mat"}',
        b'{"id": "h", "text": "the cat on the mat"}',
    ]
    source = tmp_path / "hostile.jsonl"
    source.write_bytes(b"\n".join(lines * 100) + b"\n")
    odd_name = tmp_path / os.fsdecode(b"more-\xff.txt")
    odd_name.write_text("the dog sat\n")
    out1, out2 = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    for out, workers in ((out1, 1), (out2, 2)):
        assert (
            run_job(
                source, odd_name, "--model", models_dir / "pmi", "-o", out, "--workers", workers
            )
            == 0
        )
    assert out1.read_bytes() == out2.read_bytes()
    records = [strict_json(line) for line in out1.read_bytes().splitlines()]
    assert len(records) == 801
    assert [r["id"] for r in records[:8]] == ["a", None, None, "d", None, None, None, "h"]
    assert [r["error"] is not None for r in records[:8]] == [False] + [True] * 6 + [False]
    assert "nested deeper than 128 levels" in records[1]["error"]["message"]
    assert "lone surrogate" in records[2]["error"]["message"]
    assert records[0]["keywords"] and records[7]["keywords"]
    assert records[-1]["source"].endswith("more-\ufffd.txt") and records[-1]["keywords"]
    data = out1.read_bytes()
    out2.write_bytes(data[: len(data) // 2 + 7])
    assert run_job(source, odd_name, "--model", models_dir / "pmi", "-o", out2, "--resume") == 0
    assert out2.read_bytes() == data


def test_unwritable_values_become_error_records():
    from wordlens.app.keywords_job import json_line

    good = {"source": "s", "line": 1, "id": "é", "keywords": [], "error": None}
    assert json.loads(json_line(good)) == good
    for bad in ({"score": float("nan")}, {"id": "\ud800"}, {"unknown": ["a\udcff"]}):
        record = strict_json(json_line({**good, **bad}))
        assert record["source"] == "s" and record["line"] == 1 and record["id"] is None
        assert record["error"]["code"] == "unwritable", record


def test_output_never_overwrites_an_input(tmp_path, models_dir, capsys):
    source = tmp_path / "docs.txt"
    source.write_text("the cat sat\nthe dog\n")
    original = source.read_bytes()
    (tmp_path / "link.txt").symlink_to(source)
    os.link(source, tmp_path / "hard.txt")
    folder = tmp_path / "folder"
    folder.mkdir()
    os.link(source, folder / "inside.txt")
    for inputs, output in [
        ([source], source),
        ([source], tmp_path / "link.txt"),
        ([tmp_path / "other.txt", source], tmp_path / "hard.txt"),
        ([folder], source),
    ]:
        (tmp_path / "other.txt").write_text("the log\n")
        for resume in ([], ["--resume"]):
            assert run_job(*inputs, "--model", models_dir / "pmi", "-o", output, *resume) == 1
            assert "is the input file" in capsys.readouterr().err
            assert source.read_bytes() == original
    with open(source, "ab") as appended:  # wordlens keywords docs.txt >> docs.txt
        result = subprocess.run(
            [*JOB, "--model", str(models_dir / "pmi"), str(source)],
            stdout=appended,
            stderr=subprocess.PIPE,
            check=False,
        )
    assert result.returncode == 1 and b"is the input file" in result.stderr
    assert source.read_bytes() == original
    assert run_job(source, "--model", models_dir / "pmi", "-o", os.devnull) == 0


def test_foreign_files_are_never_changed(tmp_path, models_dir, capsys):
    source = tmp_path / "docs.txt"
    source.write_text("the cat sat\nthe dog\n")
    notes = tmp_path / "notes.txt"
    for content in (b"precious line\nprecious, unfinished", b'{"a": 1}\n', b"x"):
        notes.write_bytes(content)
        for resume in ([], ["--resume"]):
            assert run_job(source, "--model", models_dir / "pmi", "-o", notes, *resume) == 1
            assert "not a wordlens keywords output" in capsys.readouterr().err
            assert notes.read_bytes() == content
    # A previous output, or an empty file, is replaced.
    output = tmp_path / "out.jsonl"
    output.write_bytes(b"")
    assert run_job(source, "--model", models_dir / "pmi", "-o", output) == 0
    first = output.read_bytes()
    assert run_job(source, "--model", models_dir / "pmi", "-o", output, "--topn", 1) == 0
    assert output.read_bytes() != first and len(read_jsonl(output)) == 2


def test_the_job_applies_diversity_and_explain(tmp_path, models_dir, capsys):
    texts = documents(30, seed=5)
    source = tmp_path / "docs.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    options = ["--topn", 3, "--diversity", 0.6, "--explain"]
    assert run_job(source, "--model", models_dir / "pmi", "-o", out, *options) == 0
    pmi = Engine(models_dir).get("pmi")
    for text, record in zip(texts, read_jsonl(out), strict=True):
        expected = pmi.keywords(text, topn=3, diversity=0.6, explain=True)
        assert [k["word"] for k in record["keywords"]] == [w for w, _ in expected.keywords]
        for keyword, why in zip(record["keywords"], expected.explanations, strict=True):
            assert keyword["spans"] == [list(span) for span in why.spans]
            assert [c["token"] for c in keyword["contributions"]] == [
                t for t, _ in why.contributions
            ]
    for bad in ("1.5", "yes"):
        with pytest.raises(SystemExit) as exit_info:
            run_job(source, "--model", models_dir / "pmi", "--diversity", bad)
        assert exit_info.value.code == 2 and "diversity" in capsys.readouterr().err
