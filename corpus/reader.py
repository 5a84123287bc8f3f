"""Stream documents from corpus files, one at a time.

Supported inputs: ``.txt`` (one document per line), ``.jsonl`` (one JSON object per
line, the document under a configurable text field) and their ``.gz`` forms; or a
folder, read recursively in sorted path order. Nothing holds more than one line in
memory. Bad lines are skipped and counted in :class:`ReadStats`, never abort a run:

- undecodable: not UTF-8, or a JSON string of the line that is used (the text; the id
  when one is asked for) holds a lone surrogate escape such as ``"\\ud800"``, which no
  UTF-8 can encode;
- malformed JSON: not JSON, arrays and objects nested deeper than
  :data:`MAX_JSON_DEPTH` levels, not an object; or an asked-for id that could not be
  written back as strict JSON (NaN or Infinity);
- missing field: no string under the text field.

A missing path, a folder with no corpus files, or input that yields no document raises
:class:`CorpusError`. File names are given as text with undecodable bytes replaced by
U+FFFD.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from wordlens.corpus.tokenizers import Tokenizer

__all__ = [
    "CorpusError",
    "ReadStats",
    "Record",
    "Corpus",
    "iter_documents",
    "iter_records",
    "iter_range_records",
    "iter_range_documents",
    "next_line_start",
    "corpus_files",
    "DEFAULT_ENGLISH",
    "DEFAULT_CHINESE",
    "MAX_JSON_DEPTH",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ENGLISH = DATA_DIR / "en.txt.gz"
DEFAULT_CHINESE = DATA_DIR / "zh.txt.gz"

_SUFFIXES = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz")

# Deepest nesting of arrays and objects in a JSON line: deep enough for any real
# document, far below where Python's parser (about 1,000 levels, less the caller's
# stack) and pickling a value to a worker process (about 490) give up, so that a line
# gets the same verdict wherever it is read.
MAX_JSON_DEPTH = 128
_STRICT_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


class CorpusError(ValueError):
    """The corpus cannot be read at all (missing, empty, unsupported)."""


@dataclass
class ReadStats:
    """What one pass over a corpus saw."""

    files: int = 0
    documents: int = 0
    empty_lines: int = 0
    undecodable_lines: int = 0
    malformed_json_lines: int = 0
    missing_field_lines: int = 0
    bytes_read: int = 0
    _hash: hashlib._Hash = field(default_factory=hashlib.sha256, repr=False)

    @property
    def skipped_lines(self) -> int:
        return self.undecodable_lines + self.malformed_json_lines + self.missing_field_lines

    @property
    def fingerprint(self) -> str:
        """SHA-256 over the names and bytes of every file read, in order."""
        return self._hash.hexdigest()

    def summary(self) -> str:
        parts = [f"{self.documents:,} documents from {self.files} file(s)"]
        if self.skipped_lines:
            parts.append(
                f"skipped {self.skipped_lines:,} line(s): "
                f"{self.undecodable_lines:,} undecodable, "
                f"{self.malformed_json_lines:,} malformed JSON, "
                f"{self.missing_field_lines:,} without the text field"
            )
        return "; ".join(parts)


def _is_corpus_file(path: Path) -> bool:
    return path.name.endswith(_SUFFIXES)


def corpus_files(path: str | os.PathLike) -> list[Path]:
    """The files a corpus path stands for: itself, or a folder's corpus files."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"corpus not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_corpus_file(p))
        if not files:
            raise CorpusError(f"no corpus files in folder {path} (expected {', '.join(_SUFFIXES)})")
        return files
    if not _is_corpus_file(path):
        raise CorpusError(f"unsupported corpus file {path.name} (expected {', '.join(_SUFFIXES)})")
    return [path]


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


@dataclass
class Record:
    """One non-empty input line: its text, or the reason it has none.

    ``line`` is 1-based within ``source``; ``id`` is the JSON ``id_field`` value when
    one was asked for; ``error`` is set (and ``text`` is None) for a bad line.
    """

    source: str
    line: int
    text: str | None
    id: Any = None
    error: str | None = None


class _BadLine(Exception):
    """Why a line gives no text; ``counter`` names the :class:`ReadStats` field that
    counts it."""

    def __init__(self, counter: str, reason: str, identifier: Any = None):
        super().__init__(reason)
        self.counter, self.reason, self.identifier = counter, reason, identifier


def _depth(value: Any, limit: int) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0),
    counted up to ``limit + 1``."""
    depth, level = 0, [value]
    while depth <= limit:
        containers = [item for item in level if isinstance(item, (list, dict))]
        if not containers:
            break
        depth += 1
        level = [
            child
            for item in containers
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def _too_deep() -> _BadLine:
    return _BadLine(
        "malformed_json_lines", f"malformed JSON (nested deeper than {MAX_JSON_DEPTH} levels)"
    )


def _check_id(identifier: Any, id_field: str) -> None:
    """Raise :class:`_BadLine` if ``identifier`` cannot be written back as strict UTF-8
    JSON."""
    try:
        _STRICT_JSON.encode(identifier).encode("utf-8")
    except UnicodeEncodeError:
        raise _BadLine("undecodable_lines", f"{id_field!r} holds a lone surrogate") from None
    except ValueError:
        raise _BadLine("malformed_json_lines", f"{id_field!r} holds NaN or Infinity") from None


def _parse(line: str, jsonl: bool, text_field: str, id_field: str | None) -> tuple[str, Any]:
    """(text, id) of one decoded, non-empty line; raises :class:`_BadLine`."""
    if not jsonl:
        return line.strip(), None
    try:
        document = json.loads(line)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        raise _BadLine("malformed_json_lines", f"malformed JSON ({error})") from None
    brackets = line.count("[") + line.count("{")  # at least the depth: a cheap first test
    if brackets > MAX_JSON_DEPTH and _depth(document, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise _too_deep()
    if not isinstance(document, dict):
        raise _BadLine("malformed_json_lines", "not a JSON object")
    # Decoded UTF-8 holds no lone surrogate: only a \u escape can put one in.
    escaped = "\\u" in line
    identifier = None
    if id_field:
        identifier = document.get(id_field)
        if isinstance(identifier, (float, list, dict)) or (escaped and isinstance(identifier, str)):
            _check_id(identifier, id_field)
    text = document.get(text_field)
    if not isinstance(text, str):
        raise _BadLine("missing_field_lines", f"no string field {text_field!r}", identifier)
    if escaped and not _is_unicode(text):
        raise _BadLine("undecodable_lines", f"{text_field!r} holds a lone surrogate", identifier)
    return text.strip(), identifier


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _records(
    stream: IO[bytes] | Iterable[bytes],
    name: bytes,
    stats: ReadStats,
    jsonl: bool,
    text_field: str,
    id_field: str | None,
    source: str | None = None,
) -> Iterator[Record]:
    """Records of the lines of ``stream``; ``name`` (file name bytes) goes into the
    fingerprint, ``source`` (default: ``name`` as text) into the records."""
    source = name.decode("utf-8", "replace") if source is None else source
    stats.files += 1
    stats._hash.update(name + b"\0")
    for number, raw in enumerate(stream, 1):
        stats.bytes_read += len(raw)
        stats._hash.update(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            stats.undecodable_lines += 1
            reason = f"not valid UTF-8 ({error.reason} at byte {error.start})"
            yield Record(source, number, None, error=f"{source}:{number}: {reason}")
            continue
        if not line.strip():
            stats.empty_lines += 1
            continue
        try:
            text, identifier = _parse(line, jsonl, text_field, id_field)
        except _BadLine as bad:
            setattr(stats, bad.counter, getattr(stats, bad.counter) + 1)
            yield Record(
                source, number, None, bad.identifier, error=f"{source}:{number}: {bad.reason}"
            )
            continue
        yield Record(source, number, text, identifier)


def iter_records(
    path: str | os.PathLike,
    text_field: str = "text",
    id_field: str | None = None,
    stats: ReadStats | None = None,
    stdin_format: str = "txt",
) -> Iterator[Record]:
    """Yield every non-empty line of a corpus path as a :class:`Record`, bad ones
    included (with their error), in input order.

    ``path`` ``"-"`` reads standard input, as ``stdin_format`` (``txt`` or ``jsonl``).
    """
    stats = ReadStats() if stats is None else stats
    if str(path) == "-":
        if stdin_format not in ("txt", "jsonl"):
            raise CorpusError(f"unknown input format {stdin_format!r}; use txt or jsonl")
        yield from _records(
            sys.stdin.buffer, b"<stdin>", stats, stdin_format == "jsonl", text_field, id_field
        )
        return
    for file in corpus_files(path):
        jsonl = file.name.endswith((".jsonl", ".jsonl.gz"))
        try:
            with _open_binary(file) as stream:
                yield from _records(stream, os.fsencode(file), stats, jsonl, text_field, id_field)
        except (OSError, EOFError) as error:  # truncated or corrupt gzip, unreadable file
            raise CorpusError(f"cannot read {file}: {error}") from error


def iter_documents(
    path: str | os.PathLike,
    text_field: str = "text",
    stats: ReadStats | None = None,
) -> Iterator[str]:
    """Yield the documents (non-empty, stripped strings) of a corpus path; bad lines
    are skipped and counted in ``stats`` (optional), filled in as the iteration goes.
    """
    stats = ReadStats() if stats is None else stats
    for record in iter_records(path, text_field, stats=stats):
        if record.text:
            stats.documents += 1
            yield record.text
        elif record.error is None:
            stats.empty_lines += 1
    if stats.documents == 0:
        raise CorpusError(f"no documents in {path} ({stats.summary()})")


def next_line_start(stream: IO[bytes], position: int, block_bytes: int = 1 << 16) -> int:
    """The first line start at or after byte ``position`` of a seekable binary
    ``stream`` (a line starts at byte 0 or just after a ``\n``; the end of the
    stream if no line starts there), with the stream left at it. Reads in blocks, so
    that a long line is never held whole."""
    if position <= 0:
        stream.seek(0)
        return 0
    stream.seek(position - 1)
    skipped = 0
    while block := stream.read(block_bytes):
        at = block.find(b"\n")
        if at >= 0:
            stream.seek(at + 1 - len(block), os.SEEK_CUR)
            return position - 1 + skipped + at + 1
        skipped += len(block)
    return position - 1 + skipped


def _range_lines(stream: IO[bytes], start: int, stop: int) -> Iterator[bytes]:
    """The lines whose first byte lies in [start, stop), each read whole (the last
    may run past ``stop``)."""
    position = next_line_start(stream, start)
    while position < stop:
        raw = stream.readline()
        if not raw:
            return
        position += len(raw)
        yield raw


def iter_range_records(
    path: str | os.PathLike,
    start: int,
    stop: int,
    text_field: str = "text",
    id_field: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Record]:
    """Like :func:`iter_records`, for the lines of one corpus file whose first byte
    lies in the byte range [start, stop): the ranges of a partition of a file give,
    one after the other, exactly the records of the whole file, whether or not the
    boundaries fall on line starts. A ``.gz`` file cannot be entered in the middle
    and is read whole, so its only range is [0, its size in bytes).

    ``stats`` counts the range as one file; its fingerprint covers the file's name
    and the bytes of the lines read (for a whole file, the same as
    :func:`iter_records`' fingerprint of that file). ``Record.line`` counts from the
    range's first line and ``Record.source`` names the range.
    """
    stats = ReadStats() if stats is None else stats
    file = Path(path)
    if not _is_corpus_file(file):
        raise CorpusError(f"unsupported corpus file {file.name} (expected {', '.join(_SUFFIXES)})")
    if not 0 <= start <= stop:
        raise ValueError(f"invalid byte range [{start}, {stop}) of {file}")
    jsonl = file.name.endswith((".jsonl", ".jsonl.gz"))
    name = os.fsencode(file)
    try:
        if file.name.endswith(".gz"):
            size = file.stat().st_size
            if (start, stop) != (0, size):
                raise CorpusError(
                    f"{file} is gzip-compressed: it is read whole, as the range [0, {size})"
                )
            with gzip.open(file, "rb") as stream:
                yield from _records(stream, name, stats, jsonl, text_field, id_field)
            return
        with open(file, "rb") as stream:
            source = f"{name.decode('utf-8', 'replace')} (bytes {start}-{stop})"
            lines = _range_lines(stream, start, stop)
            yield from _records(lines, name, stats, jsonl, text_field, id_field, source)
    except FileNotFoundError as error:
        raise CorpusError(f"corpus not found: {file}") from error
    except (OSError, EOFError) as error:
        raise CorpusError(f"cannot read {file}: {error}") from error


def iter_range_documents(
    path: str | os.PathLike,
    start: int,
    stop: int,
    text_field: str = "text",
    stats: ReadStats | None = None,
) -> Iterator[str]:
    """The documents of one byte range of a corpus file (see
    :func:`iter_range_records`), as :func:`iter_documents` gives them, bad lines
    counted in ``stats``. A range may hold no document: that is no error here."""
    stats = ReadStats() if stats is None else stats
    for record in iter_range_records(path, start, stop, text_field, stats=stats):
        if record.text:
            stats.documents += 1
            yield record.text
        elif record.error is None:
            stats.empty_lines += 1


class Corpus:
    """A restartable iterable of tokenised documents (``list[str]`` each).

    Every iteration reads the files again, so it can be passed to trainers that
    make several passes (gensim's Word2Vec) without holding the corpus in memory.
    ``stats`` describes the most recent complete pass.
    """

    def __init__(self, path: str | os.PathLike, tokenizer: Tokenizer, text_field: str = "text"):
        self.path = Path(path)
        self.tokenizer = tokenizer
        self.text_field = text_field
        self.files = corpus_files(self.path)  # fail early on a bad path
        self._stats: ReadStats | None = None

    def __iter__(self) -> Iterator[list[str]]:
        stats = ReadStats()
        for document in iter_documents(self.path, self.text_field, stats):
            yield self.tokenizer(document)
        self._stats = stats

    @property
    def stats(self) -> ReadStats:
        """What the most recent complete pass saw."""
        if self._stats is None:
            raise RuntimeError(f"{self.path} has not been read through yet")
        return self._stats

    def describe(self, tokens: int, types: int) -> dict[str, Any]:
        """The ``corpus`` block of a model manifest, after a complete pass.

        ``tokens`` and ``types`` (distinct tokens) are the trainer's counts: reading
        counts documents and lines, not tokens.
        """
        stats = self.stats
        return {
            "path": str(self.path),
            "fingerprint": stats.fingerprint,
            "files": stats.files,
            "documents": stats.documents,
            "tokens": tokens,
            "types": types,
            "skipped_lines": stats.skipped_lines,
        }
