"""Faults of the models folder and its files, as the engine and the server meet them:
a missing or empty folder, entries that are not models, a default model that failed,
files changed or truncated while they are served, corrupted values."""

import logging
import os
import subprocess
import sys
import textwrap

import httpx2
import numpy as np
import pytest
from conftest import ROOT, running_server

from wordlens.app.engine import Engine
from wordlens.app.errors import QueryError
from wordlens.artifacts import write_model

WORDS = [f"w{i}" for i in range(2000)]


def make_model(path, seed=0):
    vectors = np.random.default_rng(seed).normal(size=(len(WORDS), 16))
    return write_model(
        path,
        kind="imported",
        words=WORDS,
        vectors=vectors,
        manifest={"tokenizer": {"name": "whitespace"}},
    )


def unavailable(engine, name=None) -> str:
    """The message of the error a query on model ``name`` ends with; it must say the
    model is unavailable (not unknown, and not another model's answer)."""
    with pytest.raises(QueryError) as info:
        engine.get(name).similarity("w1", "w2")
    assert info.value.code == "model_unavailable", info.value.message
    return info.value.message


def test_a_missing_or_empty_models_folder_is_a_stated_reason(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        missing = Engine(tmp_path / "nowhere")
    assert not missing.ready and missing.errors == {}
    assert missing.reason == "the models folder 'nowhere' does not exist"
    assert missing.reason in caplog.text
    assert unavailable(missing) == f"no model is available: {missing.reason}"

    (tmp_path / "empty").mkdir()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        empty = Engine(tmp_path / "empty")
    assert not empty.ready
    assert (
        empty.reason == "the models folder 'empty' holds no model (no folder with a manifest.json)"
    )
    assert empty.reason in caplog.text and empty.reason in unavailable(empty)


def test_entries_that_are_not_models_are_skipped_with_a_log_line(tmp_path, caplog):
    models = tmp_path / "models"
    make_model(models / "good")
    (models / "lost+found").mkdir()
    (models / ".cache").mkdir()
    (models / "stray").symlink_to(tmp_path / "gone")
    (models / "notes.txt").write_text("not a model")
    data_only = make_model(models / "data-only")
    (data_only / "manifest.json").unlink()
    with caplog.at_level(logging.INFO):
        engine = Engine(models)
    assert engine.ready and engine.reason is None and engine.errors == {}
    assert engine.names == ["good"] and engine.default == "good"
    for name in ("lost+found", ".cache", "stray", "notes.txt", "data-only"):
        assert f"skipping {name!r}" in caplog.text


def test_a_folder_with_a_manifest_that_fails_still_counts(tmp_path):
    models = tmp_path / "models"
    make_model(models / "good")
    broken = make_model(models / "broken")
    (broken / "vectors.npy").write_bytes(b"garbage")
    engine = Engine(models.absolute())
    assert not engine.ready and engine.names == ["good"]
    assert engine.errors["broken"].startswith("broken/vectors.npy: 7 bytes")
    assert str(tmp_path) not in engine.errors["broken"]  # no absolute path
    assert engine.reason == "models that did not load: broken"
    assert "broken/vectors.npy" in unavailable(engine, "broken")


def test_a_failed_default_model_is_not_replaced_by_another(tmp_path):
    """Requests that name no model go to the default model or fail with its reason;
    they never go silently to whichever model loaded."""
    models = tmp_path / "models"
    make_model(models / "other")
    pmi = make_model(models / "pmi")
    (pmi / "words.txt").write_text("too few\n")
    engine = Engine(models)
    assert engine.default == "pmi"  # the implicit default, though it failed
    assert "model 'pmi' is unavailable: pmi/words.txt: 8 bytes" in unavailable(engine)
    assert engine.get("other").similarity("w1", "w1") == pytest.approx(1.0)

    configured = Engine(models, default="other2")
    assert configured.default == "other2"
    assert "the default model 'other2' is not in the models folder" in unavailable(configured)
    assert "other2" in configured.errors and not configured.ready


def test_non_finite_vectors_are_refused_with_checksums_off(tmp_path):
    models = tmp_path / "models"
    path = make_model(models / "m")
    vectors = np.load(path / "vectors.npy", mmap_mode="r+")
    vectors[3, 5] = np.nan
    vectors.flush()
    del vectors
    engine = Engine(models, verify=False)
    assert engine.errors == {"m": "m/vectors.npy: 1 value is not finite (NaN or infinite)"}
    assert "m/vectors.npy" in unavailable(engine, "m")


def test_a_file_rewritten_in_place_while_served_takes_the_model_out(tmp_path, caplog):
    models = tmp_path / "models"
    path = make_model(models / "m")
    make_model(models / "n")
    engine = Engine(models)
    assert engine.get("m").similarity("w1", "w2") != 0
    other = make_model(tmp_path / "other", seed=1)
    with open(path / "vectors.npy", "r+b") as stream:  # same size, same inode: in place
        stream.write((other / "vectors.npy").read_bytes())
    os.utime(path / "vectors.npy", ns=(0, 0))  # a changed mtime, whatever the clock
    with caplog.at_level(logging.ERROR):
        message = unavailable(engine, "m")
    assert "m/vectors.npy: changed on disk while served" in message
    assert not engine.ready and "m" in engine.errors and engine.names == ["n"]
    assert "m/vectors.npy" in caplog.text
    assert engine.get("n").similarity("w1", "w1") == pytest.approx(1.0)


def test_a_file_replaced_by_rename_is_harmless(tmp_path):
    """Replacing a file by rename (as write_model does) leaves the mapped one intact:
    the model stays served as loaded."""
    models = tmp_path / "models"
    path = make_model(models / "m")
    engine = Engine(models)
    before = engine.get("m").similarity("w1", "w2")
    other = make_model(tmp_path / "other", seed=1)
    os.replace(other / "vectors.npy", path / "vectors.npy")
    assert engine.get("m").similarity("w1", "w2") == before and engine.ready


TRUNCATE_WHILE_SERVED = """
import os, sys
from wordlens.app.engine import Engine
from wordlens.app.errors import QueryError
engine = Engine(sys.argv[1])
model = engine.get("m")
model.most_similar(["w1"])
vectors = os.path.join(sys.argv[1], "m", "vectors.npy")
os.truncate(vectors, os.path.getsize(vectors) // 2)
try:
    engine.get("m").most_similar(["w1"])
except QueryError as error:
    print(error.code, error.message)
"""


def test_a_file_truncated_while_served_is_reported_not_a_crash(tmp_path):
    """Memory-mapped pages past the new end of a truncated file raise SIGBUS when
    touched: the engine checks the files before each query and refuses the model
    instead, naming the file."""
    models = tmp_path / "models"
    make_model(models / "m")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(TRUNCATE_WHILE_SERVED), str(models)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"exit status {result.returncode}: {result.stderr[-2000:]}"
    assert "model_unavailable model 'm' is unavailable: m/vectors.npy: changed" in result.stdout


def test_the_server_survives_a_model_file_truncated_under_it(tmp_path):
    models = tmp_path / "models"
    path = make_model(models / "m")
    make_model(models / "n")
    with running_server(models) as url:
        query = {"positive": ["w1"], "model": "m"}
        assert httpx2.post(f"{url}/most_similar", json=query).status_code == 200
        vectors = path / "vectors.npy"
        os.truncate(vectors, vectors.stat().st_size // 2)
        error = httpx2.post(f"{url}/most_similar", json=query).json()["error"]
        assert error["code"] == "model_unavailable"
        assert "m/vectors.npy: changed on disk while served" in error["message"]
        assert httpx2.get(f"{url}/healthz").status_code == 200
        ready = httpx2.get(f"{url}/readyz")
        assert ready.status_code == 503 and "m/vectors.npy" in ready.json()["errors"]["m"]
        assert httpx2.post(f"{url}/most_similar", json={**query, "model": "n"}).status_code == 200
