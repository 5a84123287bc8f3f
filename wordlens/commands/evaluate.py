"""Score a model on WordSim-353, SimLex-999 and the Google analogies.

Spearman ρ by cosine, and by the context score of the model's family when it has one
(PMI: the inner product; Word2Vec: the default, symmetric form of
log p(b|a) − λ log p(b)); analogy accuracy by
3CosAdd and 3CosMul. The figures are computed on the model as served, loaded by the
query engine. The train commands end with :func:`report_model`, which loads the
query engine only to evaluate (so that training with ``--no-evaluate`` reads no file
of ``app/``: the Docker image's model stage relies on it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from wordlens.artifacts import Model, load_model, model_path, update_manifest
from wordlens.training.evaluate import evaluate_vectors, format_scores

if TYPE_CHECKING:
    from wordlens.app.engine import WordModel

__all__ = ["evaluate_model", "report_model"]


def evaluate_model(model: WordModel) -> dict:
    """Every benchmark figure of a loaded model (see :mod:`wordlens.training.evaluate`)."""
    from wordlens.app.families import ContextScore

    family = model.family

    def context_scores(rows_a, rows_b):
        return family.pair_scores(rows_a, rows_b, ContextScore())

    return evaluate_vectors(
        model.words,
        model.vectors,
        model.norms,
        normalize=model.normalize,
        context_scores=context_scores if family.answers("context_similarity") else None,
    )


def report_model(path: str | Path, evaluate: bool) -> dict:
    """Print what the trained model at ``path`` is: its corpus, its place, its size,
    its training time and, with ``evaluate``, its benchmark scores, which are then
    stored in its manifest too. Returns the scores (empty without ``evaluate``)."""
    # Just written: the checksums were computed from these very bytes.
    model = load_model(path, verify=False)
    figures: dict = {}
    if evaluate:
        figures = evaluate_model(_word_model(model))
        update_manifest(path, evaluation=figures)
    corpus = model.manifest["corpus"]
    skipped = f", {corpus['skipped_lines']:,} line(s) skipped" if corpus["skipped_lines"] else ""
    print(
        f"corpus: {corpus['documents']:,} documents from {corpus['files']} file(s), "
        f"{corpus['tokens']:,} tokens, {corpus['types']:,} distinct{skipped}"
    )
    print(f"model written to {model.path}")
    print(
        f"vocabulary {len(model.words):,} words, {model.vectors.shape[1]} dimensions, "
        f"trained in {model.manifest['training']['seconds']:.1f} s"
    )
    if alignment := model.manifest.get("alignment"):
        print(
            f"aligned to {alignment['old_model']['name']}: {alignment['shared_words']:,} "
            f"shared words; top-{alignment['neighbours']} neighbours of the "
            f"{alignment['neighbour_words']:,} most frequent overlap "
            f"{alignment['neighbour_overlap']:.3f}; cosine old–new "
            f"{alignment['cosine']:.3f} (before rotation {alignment['cosine_before']:.3f})"
        )
    if figures:
        print(format_scores(figures))
    return figures


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model directory, or a model name in the models directory "
        "($WORDLENS_MODELS, default ./models)",
    )
    parser.add_argument(
        "--save", action="store_true", help="store the figures in the model's manifest"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def _word_model(model: Model) -> WordModel:
    from wordlens.app.engine import WordModel

    return WordModel(model)


def run(args: argparse.Namespace) -> int:
    path = model_path(args.model)
    figures = evaluate_model(_word_model(load_model(path)))
    print(json.dumps(figures, indent=2) if args.json else format_scores(figures))
    if args.save:
        update_manifest(path, evaluation=figures)
    return 0
