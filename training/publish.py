"""Last step of every train command: score the model as written, store the scores in
its manifest, print a summary.

The evaluation runs on the model as written (memory-mapped from disk), so the
figures stored in its manifest are those of exactly the files served.
"""

from __future__ import annotations

from pathlib import Path

from wordlens.artifacts import load_model, update_manifest
from wordlens.training.evaluate import evaluate_model, format_scores

__all__ = ["report_model"]


def report_model(path: str | Path, evaluate: bool) -> dict:
    """Print what the trained model at ``path`` is: its corpus, its place, its size,
    its training time and, with ``evaluate``, its benchmark scores, which are then
    stored in its manifest too.

    Returns the scores (:func:`training.evaluate.evaluate_model`; empty without
    ``evaluate``).
    """
    # Just written: the checksums were computed from these very bytes.
    model = load_model(path, verify=False)
    figures: dict = {}
    if evaluate:
        figures = evaluate_model(model)
        update_manifest(path, evaluation=figures)
    corpus = model.manifest["corpus"]
    skipped = f", {corpus['skipped_lines']:,} line(s) skipped" if corpus["skipped_lines"] else ""
    print(
        f"corpus: {corpus['documents']:,} documents from {corpus['files']} file(s), "
        f"{corpus['tokens']:,} tokens, {corpus['types']:,} distinct{skipped}"
    )
    print(f"model written to {model.path}")
    print(
        f"vocabulary {len(model.words):,} words, {model.dim} dimensions, "
        f"trained in {model.manifest['training']['seconds']:.1f} s"
    )
    if figures:
        print(format_scores(figures))
    return figures
