"""Last stage of every trainer: write the model atomically, score it, report.

The evaluation runs on the model as written (memory-mapped from disk), so the
figures stored in its manifest are those of exactly the files served.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from wordlens.artifacts import load_model, update_manifest, write_model
from wordlens.training.evaluate import evaluate_model, format_scores

log = logging.getLogger(__name__)

__all__ = ["publish_model"]


def publish_model(
    path: str | Path,
    *,
    kind: str,
    words: list[str],
    vectors: np.ndarray,
    counts: np.ndarray | None,
    arrays: dict | None = None,
    manifest: dict | None = None,
    evaluate: bool = True,
) -> dict:
    """Write the model at ``path``, evaluate it, store and print the figures.

    Returns the evaluation figures (empty when ``evaluate`` is false).
    """
    path = write_model(
        path,
        kind=kind,
        words=words,
        vectors=vectors,
        counts=counts,
        arrays=arrays,
        manifest=manifest,
    )
    figures: dict = {}
    if evaluate:
        figures = evaluate_model(load_model(path, verify=False))
        update_manifest(path, evaluation=figures)
    training = (manifest or {}).get("training", {})
    print(f"model written to {path}")
    print(
        f"vocabulary {len(words):,} words, {vectors.shape[1]} dimensions, "
        f"trained in {training.get('seconds', float('nan')):.1f} s"
    )
    if figures:
        print(format_scores(figures))
    return figures
