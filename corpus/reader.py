"""Stream documents from corpus files, one at a time.

Supported inputs: ``.txt`` (one document per line), ``.jsonl`` (one JSON object per
line, the document under a configurable text field) and their ``.gz`` forms; or a
folder, read recursively in sorted path order. Nothing holds more than one line in
memory. Lines that cannot be decoded as UTF-8, malformed JSON lines and JSON lines
without the text field are skipped and counted in :class:`ReadStats`; they never
abort a run. A missing path, a folder with no corpus files, or input that yields no
document raises :class:`CorpusError`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from collections.abc import Iterator
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
    "corpus_files",
    "DEFAULT_ENGLISH",
    "DEFAULT_CHINESE",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_ENGLISH = DATA_DIR / "en.txt.gz"
DEFAULT_CHINESE = DATA_DIR / "zh.txt.gz"

_SUFFIXES = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz")


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


def _records(
    stream: IO[bytes],
    source: str,
    stats: ReadStats,
    jsonl: bool,
    text_field: str,
    id_field: str | None,
) -> Iterator[Record]:
    stats.files += 1
    stats._hash.update(source.encode("utf-8", "surrogateescape") + b"\0")
    for number, raw in enumerate(stream, 1):
        stats.bytes_read += len(raw)
        stats._hash.update(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            stats.undecodable_lines += 1
            yield Record(
                source,
                number,
                None,
                error=f"{source}:{number}: not valid UTF-8 ({error.reason} at byte {error.start})",
            )
            continue
        if not line.strip():
            stats.empty_lines += 1
            continue
        if not jsonl:
            yield Record(source, number, line.strip())
            continue
        try:
            document = json.loads(line)
        except ValueError as error:
            stats.malformed_json_lines += 1
            yield Record(source, number, None, error=f"{source}:{number}: malformed JSON ({error})")
            continue
        if not isinstance(document, dict):
            stats.malformed_json_lines += 1
            yield Record(source, number, None, error=f"{source}:{number}: not a JSON object")
            continue
        identifier = document.get(id_field) if id_field else None
        text = document.get(text_field)
        if not isinstance(text, str):
            stats.missing_field_lines += 1
            yield Record(
                source,
                number,
                None,
                identifier,
                error=f"{source}:{number}: no string field {text_field!r}",
            )
            continue
        yield Record(source, number, text.strip(), identifier)


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
            sys.stdin.buffer, "<stdin>", stats, stdin_format == "jsonl", text_field, id_field
        )
        return
    for file in corpus_files(path):
        jsonl = file.name.endswith((".jsonl", ".jsonl.gz"))
        try:
            with _open_binary(file) as stream:
                yield from _records(stream, str(file), stats, jsonl, text_field, id_field)
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
