"""Extract the keywords of every document of large inputs, as JSON Lines.

INPUT is any number of ``.txt`` (one document per line), ``.jsonl`` (the text under
``--field``, an id under ``--id-field`` carried over) files, their ``.gz`` forms, or
``-`` for standard input (``--stdin-format``). One output line per non-empty input
line, in input order::

    {"source": "docs.jsonl", "line": 3, "id": "a17", "method": "hs",
     "keywords": [{"word": "...", "score": -12.3}, ...], "tokens": 42,
     "unknown": [...], "reason": null, "error": null}

A bad line (undecodable, malformed JSON, no text field, too long) gives a record with
``error`` set, never an abort. Work is spread over ``--workers`` processes (default:
all cores) in bounded batches, so memory stays constant whatever the input size.
``--resume`` continues an interrupted ``-o`` file: finished documents are neither
redone nor duplicated (a half-written last line is discarded and redone).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path

COMMAND = ("keywords",)
HELP = "extract keywords from files of documents (JSON Lines out)"

BATCH_SIZE = 256
_worker_state: dict = {}


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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _options(args: argparse.Namespace) -> dict:
    return {
        "topn": args.topn,
        "exclude_stopwords": not args.include_stopwords,
        "stopwords": tuple(args.stopwords),
        "min_length": args.min_length,
        "min_count": args.min_count,
        "variant": args.variant,
    }


def _start_worker(model_path: str, options: dict) -> None:
    from threadpoolctl import threadpool_limits

    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model

    # Small matrix products: BLAS threads in every worker would only fight over cores.
    threadpool_limits(1)
    # The parent verified the checksums; workers only map the same files.
    _worker_state["model"] = WordModel(load_model(model_path, verify=False))
    _worker_state["options"] = options


def keyword_record(model, record, options: dict) -> dict:
    """The output record of one input record (a :class:`corpus.Record`)."""
    from wordlens.app.errors import QueryError

    line = {
        "source": record.source,
        "line": record.line,
        "id": record.id,
        "method": None,
        "keywords": [],
        "tokens": 0,
        "unknown": [],
        "reason": None,
        "error": None,
    }
    if record.error is not None:
        line["error"] = {"code": "bad_input", "message": record.error}
        return line
    try:
        result = model.keywords(record.text, **options)
    except QueryError as error:
        line["error"] = {"code": error.code, "message": error.message}
        return line
    line.update(
        method=result.method,
        tokens=result.tokens,
        unknown=result.unknown,
        reason=result.reason,
        keywords=[{"word": w, "score": round(x, 6)} for w, x in result.keywords],
    )
    return line


def _process_batch(records: list) -> str:
    model, options = _worker_state["model"], _worker_state["options"]
    return "".join(
        json.dumps(keyword_record(model, r, options), ensure_ascii=False) + "\n" for r in records
    )


def _records(inputs: list[str], args: argparse.Namespace) -> Iterator:
    from wordlens.corpus import iter_records

    for source in inputs:
        yield from iter_records(
            source, text_field=args.field, id_field=args.id_field, stdin_format=args.stdin_format
        )


def _batches(records: Iterable, size: int) -> Iterator[list]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _finished_lines(path: Path) -> tuple[int, tuple | None]:
    """Complete lines of an interrupted output, truncating a half-written last line.

    Returns (count, (source, line) of the last complete record or None).
    """
    count, last_good, offset = 0, b"", 0
    with open(path, "rb") as stream:
        for raw in stream:
            if not raw.endswith(b"\n"):
                break
            count += 1
            offset += len(raw)
            last_good = raw
    os.truncate(path, offset)
    if not count:
        return 0, None
    try:
        last = json.loads(last_good)
        return count, (last["source"], last["line"])
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path} is not a wordlens keywords output; cannot resume it") from None


def _skip_finished(records: Iterator, count: int, last: tuple | None, output: Path) -> Iterator:
    skipped = deque(islice(records, count), maxlen=1)
    record = skipped[0] if skipped else None
    if count and last is not None and (record is None or (record.source, record.line) != last):
        raise ValueError(
            f"{output} does not match the input: its last record is "
            f"{last[0]}:{last[1]}, input record {count} is "
            f"{'missing' if record is None else f'{record.source}:{record.line}'}"
        )
    return records


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model, model_path

    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.resume and args.output == "-":
        raise ValueError("--resume needs an output file (-o OUT)")
    path = model_path(args.model)
    options = _options(args)
    model = WordModel(load_model(path))  # verifies the model once, and the options
    model.keywords([], **options)

    records = _records(args.inputs, args)
    done = 0
    if args.output == "-":
        output = sys.stdout
    else:
        output_path = Path(args.output)
        if args.resume and output_path.exists():
            done, last = _finished_lines(output_path)
            records = _skip_finished(records, done, last, output_path)
        output = open(output_path, "a" if args.resume else "w", encoding="utf-8")

    progress = tqdm(
        unit=" docs",
        desc="keywords",
        initial=done,
        disable=args.no_progress,
        mininterval=1.0,
        file=sys.stderr,
    )
    started, written = time.perf_counter(), 0
    try:
        if args.workers == 1:
            from threadpoolctl import threadpool_limits

            _worker_state.update(model=model, options=options)
            with threadpool_limits(1):  # as in the workers: the same sums, the same scores
                for batch in _batches(records, BATCH_SIZE):
                    output.write(_process_batch(batch))
                    output.flush()
                    written += len(batch)
                    progress.update(len(batch))
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                args.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(str(path), options),
            ) as pool:
                pending: deque = deque()
                for batch in _batches(records, BATCH_SIZE):
                    pending.append((len(batch), pool.submit(_process_batch, batch)))
                    while len(pending) > 2 * args.workers:  # bounded: constant memory
                        written += _write_next(pending, output, progress)
                while pending:
                    written += _write_next(pending, output, progress)
    finally:
        progress.close()
        if output is not sys.stdout:
            output.close()
    seconds = time.perf_counter() - started
    rate = written / seconds if seconds > 0 else 0.0
    print(
        f"wordlens keywords: {written:,} documents in {seconds:.1f} s "
        f"({rate:,.0f} documents/s, {args.workers} worker(s))"
        + (f"; {done:,} already done" if done else ""),
        file=sys.stderr,
    )
    return 0


def _write_next(pending: deque, output, progress) -> int:
    size, future = pending.popleft()
    output.write(future.result())
    output.flush()
    progress.update(size)
    return size
