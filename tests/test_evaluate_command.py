"""wordlens evaluate, and the last step of the train commands: score the written
model through its family, store the scores, print them."""

import json

import numpy as np
from scipy.stats import spearmanr

from wordlens.artifacts import write_model
from wordlens.cli import main
from wordlens.commands.evaluate import report_model
from wordlens.training.evaluate import _read_pairs

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


VECTORS = np.random.default_rng(0).normal(size=(len(WORDS), 4)).astype(np.float32)


def written_model(path, kind="pmi"):
    return write_model(
        path,
        kind=kind,
        words=WORDS,
        vectors=VECTORS,
        counts=None if kind == "imported" else np.arange(len(WORDS), 0, -1),
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


def test_pmi_models_are_scored_by_their_inner_products_too(tmp_path, capsys):
    """The family's context score (for PMI, ⟨v_a, v_b⟩) against the human ratings."""
    figures = report_model(written_model(tmp_path / "m"), evaluate=True)
    index = {w: i for i, w in enumerate(WORDS)}
    pairs = [(index[a], index[b], s) for a, b, s in _read_pairs("wordsim353.tsv")
             if a in index and b in index]  # fmt: skip
    dots = [float(VECTORS[a].astype(np.float64) @ VECTORS[b]) for a, b, _ in pairs]
    expected = spearmanr([s for _, _, s in pairs], dots).statistic
    assert figures["wordsim353"]["spearman_context"] == round(float(expected), 4)
    assert "context score" in capsys.readouterr().out


def test_evaluate_command_on_imported_vectors(tmp_path, capsys):
    path = written_model(tmp_path / "glove", kind="imported")
    assert main(["-q", "evaluate", str(path), "--json", "--save"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["wordsim353"]["pairs"] >= 3
    assert "spearman_context" not in figures["wordsim353"]  # cosine only
    assert json.loads((path / "manifest.json").read_text())["evaluation"] == figures
