"""``wordlens upgrade MODEL ...``: write models made by an older wordlens again in
today's format, so that every worker shares their word index instead of building it
in memory (24 bytes a word per worker, about 2 s per million words at each start).
Vectors, counts, output layers and manifest fields are kept; a model already current
is left alone."""

from __future__ import annotations

import argparse
import time

from wordlens.artifacts import model_path, upgrade_model


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models",
        metavar="MODEL",
        nargs="+",
        help="model directory, or a model name in the models directory",
    )


def run(args: argparse.Namespace) -> int:
    for name in args.models:
        path = model_path(name)
        started = time.perf_counter()
        if upgrade_model(path):
            print(f"{path}: upgraded in {time.perf_counter() - started:.1f} s")
        else:
            print(f"{path}: already current")
    return 0
