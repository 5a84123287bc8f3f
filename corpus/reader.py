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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

__all__ = [
    "CorpusError",
    "ReadStats",
    "Corpus",
    "iter_documents",
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
    _hash: "hashlib._Hash" = field(default_factory=hashlib.sha256, repr=False)

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

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "documents": self.documents,
            "skipped_lines": self.skipped_lines,
            "undecodable_lines": self.undecodable_lines,
            "malformed_json_lines": self.malformed_json_lines,
            "missing_field_lines": self.missing_field_lines,
            "bytes": self.bytes_read,
            "fingerprint": self.fingerprint,
        }


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
            raise CorpusError(
                f"no corpus files in folder {path} (expected {', '.join(_SUFFIXES)})"
            )
        return files
    if not _is_corpus_file(path):
        raise CorpusError(
            f"unsupported corpus file {path.name} (expected {', '.join(_SUFFIXES)})"
        )
    return [path]


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _read_lines(path: Path, stats: ReadStats) -> Iterator[str]:
    stats.files += 1
    stats._hash.update(path.name.encode("utf-8", "surrogateescape") + b"\0")
    try:
        with _open_binary(path) as stream:
            for raw in stream:
                stats.bytes_read += len(raw)
                stats._hash.update(raw)
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError:
                    stats.undecodable_lines += 1
    except (OSError, EOFError) as error:  # truncated or corrupt gzip, unreadable file
        raise CorpusError(f"cannot read {path}: {error}") from error


def _text_documents(path: Path, stats: ReadStats) -> Iterator[str]:
    for line in _read_lines(path, stats):
        line = line.strip()
        if line:
            yield line
        else:
            stats.empty_lines += 1


def _jsonl_documents(path: Path, stats: ReadStats, text_field: str) -> Iterator[str]:
    for line in _read_lines(path, stats):
        if not line.strip():
            stats.empty_lines += 1
            continue
        try:
            record = json.loads(line)
        except ValueError:
            stats.malformed_json_lines += 1
            continue
        text = record.get(text_field) if isinstance(record, dict) else None
        if not isinstance(text, str):
            stats.missing_field_lines += 1
            continue
        text = text.strip()
        if text:
            yield text
        else:
            stats.empty_lines += 1


def iter_documents(
    path: str | os.PathLike,
    text_field: str = "text",
    stats: ReadStats | None = None,
) -> Iterator[str]:
    """Yield the documents (non-empty, stripped strings) of a corpus path.

    ``stats`` (optional) is filled in as the iteration goes.
    """
    stats = ReadStats() if stats is None else stats
    for file in corpus_files(path):
        if file.name.endswith((".jsonl", ".jsonl.gz")):
            documents = _jsonl_documents(file, stats, text_field)
        else:
            documents = _text_documents(file, stats)
        for document in documents:
            stats.documents += 1
            yield document
    if stats.documents == 0:
        raise CorpusError(f"no documents in {path} ({stats.summary()})")


class Corpus:
    """A restartable iterable of tokenised documents (``list[str]`` each).

    Every iteration reads the files again, so it can be passed to trainers that
    make several passes (gensim's Word2Vec) without holding the corpus in memory.
    ``stats`` describes the most recent complete pass.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        tokenizer: Callable[[str], list[str]],
        text_field: str = "text",
    ):
        self.path = Path(path)
        self.tokenizer = tokenizer
        self.text_field = text_field
        self.files = corpus_files(self.path)  # fail early on a bad path
        self.stats: ReadStats | None = None

    def __iter__(self) -> Iterator[list[str]]:
        stats = ReadStats()
        for document in iter_documents(self.path, self.text_field, stats):
            yield self.tokenizer(document)
        self.stats = stats
