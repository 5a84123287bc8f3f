"""The server needs none of the pipeline's dependencies (the ``train`` extra: gensim,
scipy, numba), and a command that needs them says how to install them. Each check
runs in a fresh interpreter where importing those modules fails, as in the Docker
image's runtime stage."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import ROOT

from wordlens.cli import TRAINING_MODULES

BLOCK = "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in TRAINING_MODULES)


def run_without_training(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_server_answers_every_family_without_them(trained_models, tmp_path):
    done = run_without_training(f"""
        from fastapi.testclient import TestClient
        from wordlens.app.server import create_app
        from wordlens.app.settings import Settings

        with TestClient(create_app(Settings(models_dir={str(trained_models)!r}))) as client:
            assert client.get("/readyz").status_code == 200
            for model in ("pmi", "word2vec"):
                for path, query in (("/most_similar", {{"positive": "war"}}),
                                    ("/related", {{"word": "war"}})):
                    answer = client.get(path, params={{**query, "model": model}})
                    assert answer.status_code == 200, answer.text
                answer = client.post("/keywords", json={{"text": "war and peace", "model": model}})
                assert answer.status_code == 200, answer.text
        print("served")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "served", done.stderr


def test_training_without_them_says_what_to_install(tmp_path):
    done = run_without_training(f"""
        from wordlens.cli import main
        sys.exit(main(["train", "pmi", "--out", {str(tmp_path / "pmi")!r}]))
    """)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "wordlens: error: this command needs the pipeline's dependencies (scipy is not "
        "installed): pip install 'wordlens[train]'"
    )


def test_training_without_evaluation_reads_nothing_of_the_app(tmp_path):
    # The Docker image's model stage trains without app/, so that edits there keep it.
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat with another cat\n" * 200)
    for kind in ("pmi", "word2vec"):
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(f"""
                import sys
                sys.modules["wordlens.app"] = None
                from wordlens.cli import main
                sys.exit(main(["-q", "train", {kind!r}, "--corpus", {str(corpus)!r},
                               "--min-count", "1", "--dim", "4", "--no-evaluate",
                               "--out", {str(tmp_path / kind)!r}]))
            """)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert (tmp_path / kind / "manifest.json").exists()
