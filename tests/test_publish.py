"""The last step of the train commands: score the written model, store, print."""

import json

import numpy as np

from wordlens.artifacts import write_model
from wordlens.training.publish import report_model

WORDS = ["tiger", "cat", "computer", "keyboard", "money", "cash", "king", "queen"]
CORPUS = {
    "path": "c.txt",
    "fingerprint": "0" * 64,
    "files": 1,
    "documents": 1200,
    "tokens": 45_000,
    "types": 3000,
    "skipped_lines": 2,
}


def written_model(path):
    vectors = np.random.default_rng(0).normal(size=(len(WORDS), 4))
    return write_model(
        path,
        kind="pmi",
        words=WORDS,
        vectors=vectors,
        counts=np.arange(len(WORDS), 0, -1),
        manifest={
            "tokenizer": {"name": "english"},
            "corpus": CORPUS,
            "training": {"seconds": 1.5},
        },
    )


def test_scores_are_stored_and_printed(tmp_path, capsys):
    path = written_model(tmp_path / "m")
    figures = report_model(path, evaluate=True)
    assert figures["wordsim353"]["pairs"] >= 3
    assert json.loads((path / "manifest.json").read_text())["evaluation"] == figures
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [
        "corpus: 1,200 documents from 1 file(s), 45,000 tokens, 3,000 distinct, 2 line(s) skipped",
        f"model written to {path}",
        "vocabulary 8 words, 4 dimensions, trained in 1.5 s",
    ]
    assert printed[3].startswith("WordSim-353")


def test_without_evaluation_only_the_summary(tmp_path, capsys):
    path = written_model(tmp_path / "m")
    assert report_model(path, evaluate=False) == {}
    assert "evaluation" not in json.loads((path / "manifest.json").read_text())
    assert len(capsys.readouterr().out.splitlines()) == 3
