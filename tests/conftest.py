"""Shared fixtures: a real wordlens server on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(
    models_dir: Path, *extra_args: str, env: dict | None = None, timeout: float = 60.0
):
    """Run ``wordlens serve`` on 127.0.0.1 and yield its base URL; stop it afterwards."""
    port = free_port()
    log_path = models_dir.parent / f"server-{port}.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wordlens",
                "serve",
                "--models",
                str(models_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *extra_args,
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log_path.read_text()}")
            try:
                if httpx2.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """The first 4 000 lines of the shipped English corpus (about 90 000 tokens)."""
    import gzip
    import itertools

    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    with gzip.open(ROOT / "corpus" / "data" / "en.txt.gz", "rt", encoding="utf-8") as stream:
        path.write_text("".join(itertools.islice(stream, 4000)), encoding="utf-8")
    return path


#: A tiny Word2Vec model with negative sampling only (``train("word2vec", ...)``).
NEGATIVE_SAMPLING = ("--dim", "8", "--epochs", "1", "--min-count", "5", "--no-hs",
                     "--negative", "3", "--no-evaluate")  # fmt: skip


def train(kind: str, corpus: Path, out: Path, *options: str) -> Path:
    """Train a model with the real command line, in a subprocess.

    PYTHONHASHSEED is fixed because gensim seeds each word's initial vector with
    Python's (otherwise randomised) string hash: with one worker, runs repeat exactly.
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "wordlens",
            "-q",
            "train",
            kind,
            "--corpus",
            str(corpus),
            "--out",
            str(out),
            *options,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    return out


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory, tiny_corpus) -> Path:
    """A models directory with tiny PMI and Word2Vec models trained on the tiny corpus."""
    models = tmp_path_factory.mktemp("trained") / "models"
    train("pmi", tiny_corpus, models / "pmi", "--dim", "24", "--min-count", "3", "--no-evaluate")
    train(
        "word2vec",
        tiny_corpus,
        models / "word2vec",
        "--dim",
        "24",
        "--min-count",
        "3",
        "--epochs",
        "3",
        "--workers",
        "2",
        "--no-evaluate",
    )
    return models
