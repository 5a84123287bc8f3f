"""Count a corpus's words and co-occurrences into a counts folder (no training).

The counts keep every token (no minimum count: a rare word still takes its place in
the window), so counts of several corpora merge exactly (``wordlens count merge``)
and thresholds such as ``--min-count`` apply when training from them. Counting runs
on local processes (all cores by default), or with ``--scheduler`` on the workers of
a Dask cluster, which must see the corpus and the folder of ``--out`` under the same
paths (a shared file system). The corpus is cut into byte ranges of ``--shard-mb``
(default: about four per worker, 8 to 256 MiB; a .gz file is one range), counted
separately and merged two by two.
"""

from __future__ import annotations

import argparse
import time

from wordlens.commands.options import (
    add_corpus_arguments,
    add_phrase_arguments,
    corpus_from_args,
    phrase_params_from_args,
    positive_int,
)
from wordlens.training.pmi import WEIGHTINGS


def positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser)
    add_phrase_arguments(parser)
    # Not required=True: argparse would then demand it of "count merge" too.
    parser.add_argument(
        "--out", metavar="COUNTS", help="counts folder to write (required); replaced atomically"
    )
    parser.add_argument(
        "--window", type=positive_int, default=8, help="co-occurrence window (%(default)s)"
    )
    parser.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        default="distance",
        help="each neighbour counts 1/distance or 1 (constant) (default: %(default)s)",
    )
    parser.add_argument(
        "--memory-mb",
        type=positive_int,
        default=1024,
        help="memory budget, MiB: of all local processes together, or of each task on "
        "a Dask worker (%(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local processes (default: all cores; not with --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="count on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786",
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_number,
        default=10.0,
        metavar="SECONDS",
        help="with --scheduler: how long to wait for the scheduler and a first worker "
        "(%(default)s)",
    )
    parser.add_argument(
        "--shard-mb",
        type=positive_number,
        default=None,
        help="size of the byte ranges counted separately, MiB (default: about four per "
        "worker, between 8 and 256)",
    )


def counts_summary(path, seconds: float) -> str:
    """One line about a counts folder: words, cells, tokens, seconds."""
    from wordlens.training.counts import load_counts

    counts = load_counts(path, verify=False)
    tokens = counts.manifest["corpus"]["tokens"]
    return (
        f"{counts.path}: {len(counts):,} words, {counts.cells:,} cells, "
        f"{tokens:,} tokens, {seconds:.1f} s"
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wordlens.artifacts import scratch_directory
    from wordlens.training.distributed import count_corpus
    from wordlens.training.phrases import phrase_corpus

    if args.out is None:
        raise ValueError("count needs --out COUNTS, the counts folder to write")
    started = time.perf_counter()
    corpus = corpus_from_args(args)
    if phrases := phrase_params_from_args(args):
        # Learned here, on one machine; the counting processes get the table with
        # the tokenizer's spec, and the counts keep it for the model.
        with scratch_directory(args.out) as scratch:
            corpus = phrase_corpus(corpus, phrases, scratch)
    bars: list[tqdm] = []  # opened at the first report: errors found before show none

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="counting", unit=" tasks", mininterval=1.0))
        bars[0].update(done - bars[0].n)

    try:
        path = count_corpus(
            args.corpus,
            tokenizer=corpus.tokenizer,
            text_field=args.text_field,
            out=args.out,
            window=args.window,
            weighting=args.weighting,
            memory_bytes=args.memory_mb * 2**20,
            workers=args.workers,
            scheduler=args.scheduler,
            shard_bytes=None if args.shard_mb is None else max(1, round(args.shard_mb * 2**20)),
            progress=progress,
            connect_timeout=args.connect_timeout,
        )
    finally:
        for bar in bars:
            bar.close()
    print(counts_summary(path, time.perf_counter() - started))
    return 0
