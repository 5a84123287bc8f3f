"""Keywords of every document of large inputs, as JSON Lines (``wordlens keywords``).

Inputs are any number of ``.txt`` (one document per line), ``.jsonl`` (the text under
a field, an id under another carried over) files, their ``.gz`` forms, or ``-`` for
standard input. One output line per non-empty input line, in input order::

    {"source": "docs.jsonl", "line": 3, "id": "a17", "method": "hs",
     "keywords": [{"word": "...", "score": -12.3}, ...], "tokens": 42,
     "unknown": [...], "reason": null, "error": null}

Output is strict JSON in UTF-8. A bad line (see :mod:`wordlens.corpus.reader`:
undecodable, malformed or too deeply nested JSON, no text field, an id that cannot be
written back; or a text over the limits) gives a record with ``error`` set, never an
abort. Work is spread over worker processes in bounded batches, so memory stays
constant whatever the input size.

The job never destroys data: an output that is one of the input files is refused, and
so is an existing file that is not a wordlens keywords output (an empty file is
replaced). Resuming continues an interrupted output file: finished documents are
neither redone nor duplicated, a half-written last line is discarded and redone, and a
file that is not such an output, or does not match the input, is refused unchanged.

SIGINT and SIGTERM stop the job cleanly: the output holds whole lines only and resuming
continues it. Workers ignore both signals: they drop their work when the job stops
early, exit at once when its process is gone, however it ended, and never hold its
standard output open.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

BATCH_SIZE = 256
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How every output line starts: keyword_record's first field, as json.dumps writes it.
RECORD_START = b'{"source": '
_worker_state: dict = {}
_dropping = threading.Event()  # set in a worker when the job no longer wants its results


def _start_worker(model_path: str, options: dict, lifeline: Connection) -> None:
    threading.Thread(target=_follow_job, args=(lifeline,), daemon=True).start()
    # The job's process decides when work stops, though a Ctrl-C reaches the whole
    # process group. It blocked both signals while starting this worker, so none can
    # have killed it before they are ignored here.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    # Results travel through the pool: the caller's standard output must reach its end
    # when the job ends, not when the last worker does.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)

    from threadpoolctl import threadpool_limits

    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model

    # Small matrix products: BLAS threads in every worker would only fight over cores.
    threadpool_limits(1)
    # The parent verified the checksums; workers only map the same files.
    _worker_state["model"] = WordModel(load_model(model_path, verify=False))
    _worker_state["options"] = options


def _follow_job(lifeline: Connection) -> None:
    """In a worker: drop the work in hand once the job closes its end of ``lifeline`` (a
    pipe), which it does when it stops early and the kernel does when its process dies,
    SIGKILL included; then exit at once if the job's process is gone. (A worker ended
    while it sends a result would leave the pool waiting for the rest of it forever, so
    a living job gets empty results instead.)"""
    wait([lifeline])
    _dropping.set()
    wait([multiprocessing.parent_process().sentinel])  # type: ignore[union-attr]
    os._exit(1)


def _blank_record(source: str, line: int, identifier: Any = None) -> dict:
    return {
        "source": source,
        "line": line,
        "id": identifier,
        "method": None,
        "keywords": [],
        "tokens": 0,
        "unknown": [],
        "reason": None,
        "error": None,
    }


def keyword_record(model, record, options: dict) -> dict:
    """The output record of one input record (a :class:`corpus.Record`)."""
    from wordlens.app.errors import QueryError

    line = _blank_record(record.source, record.line, record.id)
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
    for keyword, explanation in zip(line["keywords"], result.explanations or (), strict=False):
        keyword.update(
            contributions=[
                {"token": t, "contribution": round(c, 6)} for t, c in explanation.contributions
            ],
            other=round(explanation.other, 6),
            spans=[list(span) for span in explanation.spans],
        )
    return line


def json_line(record: dict) -> bytes:
    """``record`` as one line of strict JSON (no NaN or Infinity) in UTF-8, newline
    included. A record that cannot be written so (a NaN score from a corrupt model, a
    string that is not valid Unicode) becomes an ``unwritable`` error record of the same
    source line, id null."""
    try:
        return (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except (ValueError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        source = str(record["source"]).encode("utf-8", "replace").decode("utf-8")
        replacement = _blank_record(source, record["line"])
        replacement["error"] = {
            "code": "unwritable",
            "message": f"the record cannot be written as JSON ({error})",
        }
        return (json.dumps(replacement, ensure_ascii=False) + "\n").encode("utf-8")


def _process_batch(records: list) -> bytes:
    model, options = _worker_state["model"], _worker_state["options"]
    lines = []
    for record in records:
        if _dropping.is_set():
            return b""
        lines.append(json_line(keyword_record(model, record, options)))
    return b"".join(lines)


def _records(job: KeywordJob) -> Iterator:
    from wordlens.corpus import iter_records

    for source in job.inputs:
        yield from iter_records(
            source, text_field=job.text_field, id_field=job.id_field, stdin_format=job.stdin_format
        )


def _batches(records: Iterable, size: int) -> Iterator[list]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def _stream_status(stream) -> os.stat_result | None:
    """fstat of a standard stream, None when it has no file descriptor (a test's)."""
    try:
        return os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _regular_file(status: os.stat_result | None) -> tuple[int, int] | None:
    """(device, inode) of a regular file, the identity every path to it shares."""
    if status is None or not stat.S_ISREG(status.st_mode):
        return None
    return status.st_dev, status.st_ino


def _refuse_writing_over_an_input(job: KeywordJob) -> None:
    """Raise ValueError if the output is one of the input files, by any path (a link, a
    folder's file, standard output redirected to it): writing would destroy it."""
    from wordlens.corpus import corpus_files

    if job.output == "-":
        output, shown = _regular_file(_stream_status(sys.stdout)), "standard output"
    else:
        path = Path(job.output)
        output = _regular_file(path.stat()) if path.exists() else None
        shown = f"-o {job.output}"
    for source in job.inputs:
        if source == "-":
            files = [("standard input", _stream_status(sys.stdin))]
        else:
            files = [(str(file), file.stat()) for file in corpus_files(source)]
        for name, status in files:
            if output is not None and _regular_file(status) == output:
                raise ValueError(f"{shown} is the input file {name}; refusing to write over it")


def _starts_a_record(stream: IO[bytes], offset: int = 0) -> bool:
    """Whether the bytes at ``offset`` start an output line (or a torn one), or end the
    file: an empty file counts as an output."""
    stream.seek(offset)
    return RECORD_START.startswith(stream.read(len(RECORD_START)))


def _not_output(path: Path, action: str) -> ValueError:
    return ValueError(f"{path} is not a wordlens keywords output; {action}")


def _check_replaceable(path: Path) -> None:
    """Raise ValueError if ``path`` is a regular file holding something other than a
    wordlens keywords output. Devices and pipes (/dev/null) may be written to."""
    if not path.exists() or not path.is_file():
        return
    with open(path, "rb") as stream:
        if not _starts_a_record(stream):
            raise _not_output(path, "refusing to replace it (remove it or choose another -o)")


def _finished_lines(path: Path) -> tuple[int, tuple | None, int]:
    """What an interrupted output holds, read without changing a byte of it.

    Returns (complete lines, (source, line) of the last one or None, bytes the complete
    lines take: a half-written line may follow). Raises ValueError if ``path`` is not a
    wordlens keywords output.
    """
    if not path.is_file():
        raise ValueError(f"--resume needs a regular file; {path} is not one")
    count = complete = start = 0  # start: where the last complete line begins
    with open(path, "rb") as stream:
        if not _starts_a_record(stream):
            raise _not_output(path, "cannot resume it")
        stream.seek(0)
        position = 0
        while chunk := stream.read(1 << 20):
            if (newlines := chunk.count(b"\n")) > 0:
                count += newlines
                end = chunk.rindex(b"\n")
                before = chunk.rfind(b"\n", 0, end)
                start = position + before + 1 if before >= 0 else complete
                complete = position + end + 1
            position += len(chunk)
        if not _starts_a_record(stream, complete):  # the half-written line, if any
            raise _not_output(path, "cannot resume it")
        if not count:
            return 0, None, 0
        stream.seek(start)
        last = stream.read(complete - start)
    try:
        record = json.loads(last)
        return count, (record["source"], record["line"]), complete
    except (ValueError, KeyError, TypeError):
        raise _not_output(path, "cannot resume it") from None


def _drop_torn_tail(path: Path, offset: int) -> None:
    """Cut a half-written last line off an output about to be resumed."""
    os.truncate(path, offset)


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


class _Stopped(Exception):
    """The job was asked to stop by ``signum``."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopSignals:
    """Turns the first SIGINT or SIGTERM into :class:`_Stopped`, raised where stopping
    is safe: at once while the job reads input, computes or waits for results; at the
    end of a :meth:`deferred` block otherwise. A second signal acts as it would without
    the job (its previous handler is back). Handlers can only be set in the main thread;
    elsewhere signals keep their usual effect."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._deferring = False
        self._previous: dict = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            if handler is not None:
                signal.signal(signum, handler)
        self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        self._restore()
        self.received = signum
        if not self._deferring:
            raise _Stopped(signum)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a stop until the block is done: writing a batch (the output keeps whole
        lines) or handing one to the pool (its bookkeeping stays whole, and a worker it
        starts inherits the blocked signals until it ignores them)."""
        self._deferring = True
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            self._deferring = False
        if self.received is not None:
            raise _Stopped(self.received)


@dataclass(frozen=True)
class KeywordJob:
    """One batch run. ``output`` ``"-"`` is standard output; ``options`` are the
    fields of :class:`~wordlens.app.keywords.KeywordOptions`; ``text_field`` and
    ``id_field`` name the JSON fields; ``stdin_format`` is ``txt`` or ``jsonl``."""

    inputs: list[str]
    model: Path
    output: str = "-"
    options: dict[str, Any] = field(default_factory=dict)
    workers: int = 1
    resume: bool = False
    text_field: str = "text"
    id_field: str = "id"
    stdin_format: str = "txt"
    progress: bool = True


@dataclass(frozen=True)
class JobResult:
    """``written``: documents this run wrote; ``done``: documents found finished when
    resuming; ``seconds``: time spent on them; ``stopped_by``: the signal that stopped
    the run before the end of its input, or None."""

    written: int
    done: int
    seconds: float
    stopped_by: int | None = None


def run_job(job: KeywordJob) -> JobResult:
    """Run ``job``. Raises ValueError, before anything is written, if it could destroy
    data or cannot resume."""
    from tqdm import tqdm

    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model

    if job.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {job.workers}")
    if job.resume and job.output == "-":
        raise ValueError("--resume needs an output file (-o OUT)")
    _refuse_writing_over_an_input(job)
    model = WordModel(load_model(job.model))  # verifies the model once, and the options
    model.keywords([], **job.options)

    records = _records(job)
    done = 0
    output: IO[bytes]
    if job.output == "-":
        sys.stdout.flush()
        output = sys.stdout.buffer
    else:
        output_path = Path(job.output)
        if job.resume and output_path.exists():
            done, last, complete = _finished_lines(output_path)
            records = _skip_finished(records, done, last, output_path)
            _drop_torn_tail(output_path, complete)
        else:
            _check_replaceable(output_path)
        output = open(output_path, "ab" if job.resume else "wb")  # noqa: SIM115

    progress = tqdm(
        unit=" docs",
        desc="keywords",
        initial=done,
        disable=not job.progress,
        mininterval=1.0,
        file=sys.stderr,
    )
    started, written, stopped_by = time.perf_counter(), 0, None

    def write(data: bytes, size: int) -> None:
        nonlocal written
        output.write(data)
        output.flush()
        written += size
        progress.update(size)

    try:
        with _StopSignals() as stop:
            if job.workers == 1:
                _run_here(job, model, records, write, stop)
            else:
                _run_in_pool(job, records, write, stop)
    except _Stopped as stopped:
        stopped_by = stopped.signum
    finally:
        progress.close()
        if output is not sys.stdout.buffer:
            output.close()
    return JobResult(written, done, time.perf_counter() - started, stopped_by)


def _run_here(job: KeywordJob, model, records: Iterator, write, stop: _StopSignals) -> None:
    from threadpoolctl import threadpool_limits

    _worker_state.update(model=model, options=job.options)
    with threadpool_limits(1):  # as in the workers: the same sums, the same scores
        for batch in _batches(records, BATCH_SIZE):
            data = _process_batch(batch)
            with stop.deferred():
                write(data, len(batch))


def _run_in_pool(job: KeywordJob, records: Iterator, write, stop: _StopSignals) -> None:
    # Workers work for the job as long as it holds the write end of this pipe open.
    lifeline, keep_alive = multiprocessing.Pipe(duplex=False)
    pool = ProcessPoolExecutor(
        job.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(str(job.model), job.options, lifeline),
    )
    pending: deque = deque()

    def write_next() -> None:
        size, future = pending.popleft()
        data = future.result()
        with stop.deferred():
            write(data, size)

    try:
        for batch in _batches(records, BATCH_SIZE):
            with stop.deferred():
                pending.append((len(batch), pool.submit(_process_batch, batch)))
            while len(pending) > 2 * job.workers:  # bounded: constant memory
                write_next()
        while pending:
            write_next()
    except BaseException:
        keep_alive.close()  # stopped or failed: the workers drop the batches in hand
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        keep_alive.close()
        lifeline.close()
