"""Build (or rebuild, or remove) a model's approximate neighbour index.

Models trained or imported with ``--index none``, below the vocabulary threshold, or
before indexes existed get one this way; the server uses it from its next start.
The model is published again atomically with the index files listed and
checksummed in its manifest; its other files are carried over unchanged.
"""

from __future__ import annotations

import argparse

from wordlens.artifacts import model_path
from wordlens.commands.options import add_index_argument, build_index


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="model directory, or a model name in the models directory"
    )
    add_index_argument(parser, default="hnsw")


def run(args: argparse.Namespace) -> int:
    build_index(model_path(args.model), args.index)
    return 0
