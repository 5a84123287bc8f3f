"""Extract the keywords of every document of large inputs, as JSON Lines.

INPUT is any number of ``.txt`` (one document per line), ``.jsonl`` (the text under
``--field``, an id under ``--id-field`` carried over) files, their ``.gz`` forms, or
``-`` for standard input (``--stdin-format``). One output line per non-empty input
line, in input order::

    {"source": "docs.jsonl", "line": 3, "id": "a17", "method": "hs",
     "keywords": [{"word": "...", "score": -12.3}, ...], "tokens": 42,
     "unknown": [...], "reason": null, "error": null}

A bad line (undecodable, malformed or too deeply nested JSON, no text field, an id
that cannot be written back as JSON, too long) gives a record with ``error`` set,
never an abort. Work is spread over ``--workers`` processes (default: all cores) in
bounded batches, so memory stays constant whatever the input size.

The output is never one of the inputs, and an existing file that is not a wordlens
keywords output is never replaced: both are refused. ``--resume`` continues an
interrupted ``-o`` file: finished documents are neither redone nor duplicated (a
half-written last line is discarded and redone). SIGINT and SIGTERM stop the job
cleanly (exit status 130 or 143): the output holds whole lines, ready for ``--resume``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="*",
        default=["-"],
        metavar="INPUT",
        help="input files (.txt, .jsonl, optionally .gz) or - for standard input (default)",
    )
    parser.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help="model directory, or a model name in the models directory",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="output JSON Lines file (default: standard output)",
    )
    parser.add_argument("--topn", type=int, default=10, metavar="N", help="keywords per document")
    parser.add_argument("--field", default="text", help="JSON field holding the text")
    parser.add_argument("--id-field", default="id", help="JSON field carried over as id")
    parser.add_argument(
        "--stdin-format",
        choices=["txt", "jsonl"],
        default="txt",
        help="format of standard input (default: txt)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help="worker processes (default: all cores)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted output file instead of replacing it",
    )
    parser.add_argument(
        "--include-stopwords", action="store_true", help="keep stop-words among the candidates"
    )
    parser.add_argument(
        "--stopwords", nargs="+", default=[], metavar="WORD", help="further words never to return"
    )
    parser.add_argument(
        "--min-length", type=int, default=1, metavar="N", help="shortest keyword in characters"
    )
    parser.add_argument(
        "--min-count", type=int, default=1, metavar="N", help="least corpus count of a keyword"
    )
    parser.add_argument(
        "--variant",
        choices=["default", "cosine"],
        default="default",
        help="cosine: rank by cos(Σ v_u, v_w) (PMI models)",
    )
    parser.add_argument(
        "--diversity",
        type=_diversity,
        default=0.0,
        metavar="D",
        help="0 to 1: trade score for keywords unlike those already picked (default 0)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="give each keyword its top contributing tokens and its character spans",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _diversity(value: str) -> float:
    diversity = float(value)
    if not 0.0 <= diversity <= 1.0:
        raise argparse.ArgumentTypeError(f"diversity must be between 0 and 1, got {value}")
    return diversity


def _options(args: argparse.Namespace) -> dict:
    """The KeywordOptions fields the options stand for."""
    return {
        "topn": args.topn,
        "exclude_stopwords": not args.include_stopwords,
        "stopwords": tuple(args.stopwords),
        "min_length": args.min_length,
        "min_count": args.min_count,
        "variant": args.variant,
        "diversity": args.diversity,
        "explain": args.explain,
    }


def run(args: argparse.Namespace) -> int:
    from wordlens.app.keywords_job import KeywordJob, run_job
    from wordlens.artifacts import model_path

    job = KeywordJob(
        inputs=args.inputs,
        model=model_path(args.model),
        output=args.output,
        options=_options(args),
        workers=args.workers,
        resume=args.resume,
        text_field=args.field,
        id_field=args.id_field,
        stdin_format=args.stdin_format,
        progress=not args.no_progress,
    )
    result = run_job(job)
    rate = result.written / result.seconds if result.seconds > 0 else 0.0
    print(
        f"wordlens keywords: {result.written:,} documents in {result.seconds:.1f} s "
        f"({rate:,.0f} documents/s, {args.workers} worker(s))"
        + (f"; {result.done:,} already done" if result.done else ""),
        file=sys.stderr,
    )
    if result.stopped_by is None:
        return 0
    name = signal.Signals(result.stopped_by).name
    print(
        f"wordlens keywords: stopped by {name}; the output holds whole lines"
        + ("" if args.output == "-" else ": run again with --resume to continue it"),
        file=sys.stderr,
    )
    return 128 + result.stopped_by
