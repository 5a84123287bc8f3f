"""Merge counts folders into one: exactly the counts of their corpora put end to end.

Word counts and co-occurrences add up cell by cell, so counting new text alone and
merging it into older counts gives the counts of all the text, as if counted at
once. The inputs must share window, weighting and tokenizer. ``--out`` may be one of
the inputs (it is replaced once the merge is complete): ``wordlens count merge
counts new --out counts`` adds ``new`` to ``counts``.
"""

from __future__ import annotations

import argparse
import time

from wordlens.commands.options import positive_int


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", metavar="COUNTS", help="counts folders to merge")
    parser.add_argument("--out", required=True, metavar="COUNTS", help="counts folder to write")
    parser.add_argument(
        "--memory-mb", type=positive_int, default=1024, help="memory budget, MiB (%(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    from wordlens.artifacts import scratch_directory
    from wordlens.commands.count import counts_summary
    from wordlens.training.counts import load_counts
    from wordlens.training.merge import merge_counts

    started = time.perf_counter()
    inputs = [load_counts(path) for path in args.inputs]  # checked before any work
    with scratch_directory(args.out) as scratch:
        path = merge_counts(inputs, args.out, args.memory_mb * 2**20, scratch)
    print(counts_summary(path, time.perf_counter() - started))
    return 0
