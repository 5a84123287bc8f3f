"""Read a corpus once and report its size: documents, tokens, vocabulary, skipped
lines and tokenising throughput (tokens/s, reading and decompression included)."""

from __future__ import annotations

import argparse
import json
import time

from wordlens.commands.options import add_corpus_arguments, corpus_from_args, positive_int


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser, positional=True)
    parser.add_argument(
        "--min-count",
        type=positive_int,
        default=5,
        metavar="N",
        help="also count word types seen at least N times (default: 5)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def corpus_stats(corpus, min_count: int = 5) -> dict:
    """Figures of one pass over a :class:`corpus.Corpus`."""
    from tqdm import tqdm

    from wordlens.training.vocab import count_words

    started = time.perf_counter()
    counter = count_words(tqdm(corpus, desc="reading", unit=" docs", mininterval=1.0, leave=False))
    seconds = time.perf_counter() - started
    tokens = sum(counter.values())
    stats = corpus.stats
    return {
        "path": str(corpus.path),
        "tokenizer": corpus.tokenizer.spec,
        "files": stats.files,
        "documents": stats.documents,
        "tokens": tokens,
        "types": len(counter),
        f"types_min_count_{min_count}": sum(1 for c in counter.values() if c >= min_count),
        "skipped_lines": stats.skipped_lines,
        "undecodable_lines": stats.undecodable_lines,
        "malformed_json_lines": stats.malformed_json_lines,
        "missing_field_lines": stats.missing_field_lines,
        "seconds": round(seconds, 3),
        "tokens_per_second": round(tokens / seconds) if seconds > 0 else None,
        "fingerprint": stats.fingerprint,
    }


def run(args: argparse.Namespace) -> int:
    figures = corpus_stats(corpus_from_args(args), args.min_count)
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return 0
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value
        print(f"{key:<{width}}  {shown}")
    return 0
