"""Read and write word vectors in the formats other tools publish them in.

``word2vec``      text: a header line "V d", then one "word x1 … xd" line per word
``word2vec-bin``  binary (the word2vec C tool's): the header line, then per word its
                  UTF-8 bytes, a space, d little-endian float32 and a newline
``glove``         text without header: one "word x1 … xd" line per word
``projector``     (export only) a folder for the TensorFlow Embedding Projector:
                  ``vectors.tsv`` (one row of tab-separated values per word, no
                  header) and ``metadata.tsv`` (a header, then one row per word)

Files written here load back unchanged with gensim's
``KeyedVectors.load_word2vec_format`` (``binary=True`` for word2vec-bin,
``no_header=True`` for glove): text values carry 9 significant digits, enough to
round-trip float32 exactly. Readers stream, and stop at the first malformed entry
with a :class:`VectorFormatError` naming its line (text) or word number (binary).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from wordlens.artifacts import release_pages

log = logging.getLogger(__name__)

__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "PROJECTOR_FILES",
    "UNICODE_ERRORS",
    "VectorFormatError",
    "phrases_from_underscores",
    "read_vectors",
    "write_projector",
    "write_vectors",
]

FORMATS = ("word2vec", "word2vec-bin", "glove")
EXPORT_FORMATS = (*FORMATS, "projector")
PROJECTOR_FILES = ("vectors.tsv", "metadata.tsv")
UNICODE_ERRORS = ("strict", "replace", "ignore")  # as bytes.decode's errors, and gensim's
_ROWS_PER_BLOCK = 4096
_BLOCK_BYTES = 1 << 20  # text parsed (or _ROWS_PER_BLOCK lines), bytes read, at a time
_MAX_WORD_BYTES = 10_000
_RELEASE_ROWS = 1 << 16  # rows written to a mapped matrix between releases of its pages


class VectorFormatError(ValueError):
    """A vectors file that does not follow its format."""


def _float32_blocks(vectors: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, block float32) for consecutive blocks of ``vectors`` (V, d): a float16
    or memory-mapped matrix is converted a block at a time, never copied whole."""
    for start in range(0, len(vectors), _ROWS_PER_BLOCK):
        rows = slice(start, start + _ROWS_PER_BLOCK)
        yield rows, np.asarray(vectors[rows], dtype=np.float32)


def _text_lines(block: np.ndarray, delimiter: str) -> list[str]:
    """The rows of ``block`` (k, d) as text, 9 significant digits (float32 exactly)."""
    text = io.StringIO()
    np.savetxt(text, block, fmt="%.9g", delimiter=delimiter)
    return text.getvalue().splitlines()


def write_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, fmt: str) -> None:
    """Write ``words`` and their ``vectors`` (V, d) in format ``fmt`` (one of
    :data:`FORMATS`). The formats end a word at a space: a phrase's spaces are
    written as underscores ("new_york"), as word2vec's published GoogleNews vectors
    spell phrases."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    words = [word.replace(" ", "_") for word in words]
    with open(path, "wb") as stream:
        if fmt != "glove":
            stream.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for rows, block in _float32_blocks(vectors):
            names = words[rows]
            if fmt == "word2vec-bin":
                little = block.astype("<f4")
                stream.write(
                    b"".join(
                        name.encode("utf-8") + b" " + row.tobytes() + b"\n"
                        for name, row in zip(names, little, strict=True)
                    )
                )
            else:
                stream.write(
                    "".join(
                        f"{name} {line}\n"
                        for name, line in zip(names, _text_lines(block, " "), strict=True)
                    ).encode("utf-8")
                )


def write_projector(
    folder: str | Path,
    words: Sequence[str],
    vectors: np.ndarray,
    columns: Mapping[str, np.ndarray],
) -> tuple[Path, Path]:
    """Write ``vectors`` (V, d) and their ``words`` for the TensorFlow Embedding
    Projector into ``folder`` (created if missing): ``vectors.tsv``, one row of d
    tab-separated values per word and no header, and ``metadata.tsv``, a header
    ``word`` + the names of ``columns`` (each a (V,) array: numbers written as
    they are, floats with 6 significant digits), then one row per word. Returns the
    two paths.

    Several columns, so always a header: the projector reads a first metadata line
    holding a tab as the column names, and skips blank lines, which a word alone
    could be. A phrase keeps its spaces; a tab inside a word (which would split the
    row) is written as a space.
    """
    if not columns:
        raise ValueError("the projector's metadata needs a column besides the word")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file: the projector format writes a folder")
    folder.mkdir(parents=True, exist_ok=True)
    vectors_path, metadata_path = (folder / name for name in PROJECTOR_FILES)
    with open(vectors_path, "w", encoding="utf-8", newline="\n") as stream:
        for _, block in _float32_blocks(vectors):
            stream.writelines(f"{line}\n" for line in _text_lines(block, "\t"))
    values = [
        np.char.mod("%.6g" if array.dtype.kind == "f" else "%d", np.asarray(array)).tolist()
        for array in columns.values()
    ]
    with open(metadata_path, "w", encoding="utf-8", newline="\n") as stream:
        stream.write("\t".join(["word", *columns]) + "\n")
        stream.writelines(
            "\t".join([word.replace("\t", " "), *row]) + "\n"
            for word, *row in zip(words, *values, strict=True)
        )
    return vectors_path, metadata_path


_JOINING_UNDERSCORES = re.compile(r"(?<=[^_])_+(?=[^_])")


def phrases_from_underscores(words: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Words with their joining underscores as single spaces ("New_York" → "New
    York"; "_", "__init__" keep theirs), and the rows kept (int64): a word that becomes
    one seen before is left out (the first, most frequent, stays)."""
    spelt = [_JOINING_UNDERSCORES.sub(" ", word) for word in words]
    _, first = np.unique(np.array(spelt, dtype=object), return_index=True)
    kept = np.sort(first)
    return [spelt[row] for row in kept.tolist()], kept


def _decode(raw: bytes, where: str, unicode_errors: str) -> str:
    try:
        return raw.decode("utf-8", errors=unicode_errors)
    except UnicodeDecodeError as error:
        raise VectorFormatError(
            f"{where}: not valid UTF-8 ({error.reason} at byte "
            f"{error.start}); use --unicode-errors replace or ignore"
        ) from None


def _header(line: bytes, path: Path) -> tuple[int, int]:
    parts = line.split()
    try:
        count, dim = (int(part) for part in parts)
    except ValueError:
        raise VectorFormatError(
            f"{path}:1: bad header {line[:80]!r}, expected '<number of words> <dimensions>'"
        ) from None
    if count < 0 or dim < 1:
        raise VectorFormatError(f"{path}:1: bad header {line[:80]!r}")
    return count, dim


def _check_room(
    count: int, dim: int, limit: int | None, path: Path, start: int, binary: bool
) -> None:
    """VectorFormatError when the file cannot hold the entries to be read (the
    ``count`` its header announces, or the first ``limit``), found before a matrix of
    that size is allocated: each entry needs at least a one-byte word and a separator,
    then 4 bytes a value (binary) or one digit and a separator a value (text; the last
    line may lack its newline)."""
    room = path.stat().st_size - start
    most = room // (4 * dim + 2) if binary else (room + 1) // (2 * dim + 2)
    if min(count, limit or count) > most:
        raise VectorFormatError(
            f"{path}: the header announces {count:,} words of {dim:,} values; the "
            f"{room:,} bytes after it hold at most {most:,}"
        )


def _line_values(number: int, word: str, values: bytes, dim: int | None, path: Path) -> np.ndarray:
    """The values of one text line, float32 (d,), or the VectorFormatError naming it."""
    where = f"{path}:{number}"
    try:
        vector = np.array(values.split(), dtype=np.float32)
    except ValueError:
        raise VectorFormatError(f"{where}: values of {word!r} are not numbers") from None
    if len(vector) == 0:
        raise VectorFormatError(f"{where}: no values after {word!r}")
    if dim is not None and len(vector) != dim:
        raise VectorFormatError(f"{where}: {word!r} has {len(vector)} values, expected {dim}")
    return vector


def _count_lines(path: Path) -> int:
    """Lines of a file (one more if the last has no newline): how many rows a GloVe
    file may hold, counted at disk speed before any row is stored."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as stream:
        while chunk := stream.read(_BLOCK_BYTES):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _text_blocks(
    stream: BinaryIO, path: Path, header: bool, unicode_errors: str
) -> Iterator[tuple[int, list[str], np.ndarray]]:
    """(dim, words, values (k, dim) float32) for consecutive blocks of the lines of a
    text file (blank lines skipped). A block's values are parsed in one ``np.loadtxt``
    call; a block it refuses is parsed line by line, to name the line at fault."""
    dim = None
    first = 1
    if header:
        _, dim = _header(stream.readline(), path)
        first = 2
    lines = enumerate(stream, first)
    pending = next(lines, None)  # the first line of the next block
    while pending is not None:
        numbers: list[int] = []
        words: list[str] = []
        values: list[bytes] = []
        size = 0
        while pending is not None and len(numbers) < _ROWS_PER_BLOCK and size < _BLOCK_BYTES:
            number, raw = pending
            pending = next(lines, None)
            size += len(raw)
            if not raw.strip():
                continue
            word, _, rest = raw.rstrip(b"\n").partition(b" ")
            numbers.append(number)
            words.append(_decode(word, f"{path}:{number}", unicode_errors))
            values.append(rest)
        if not numbers:  # only blank lines
            continue
        if dim is None:
            dim = len(_line_values(numbers[0], words[0], values[0], None, path))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an empty input warns: refuse it too
                block = np.loadtxt(values, dtype=np.float32, comments=None, ndmin=2)
            if block.shape != (len(values), dim):
                raise ValueError("wrong number of values")
        except (ValueError, UserWarning):
            block = np.stack(
                [
                    _line_values(number, word, line, dim, path)
                    for number, word, line in zip(numbers, words, values, strict=True)
                ]
            )
        yield dim, words, block


def _binary_entries(
    stream: BinaryIO, path: Path, count: int, dim: int, unicode_errors: str
) -> Iterator[tuple[str, memoryview]]:
    """(word, its d little-endian float32 as bytes) of each entry of a binary file,
    parsed from buffered chunks (no read call per byte)."""
    size = 4 * dim
    buffer = b""
    at = 0

    def fill(needed: int) -> bool:
        """At least ``needed`` bytes from ``at`` in the buffer, unless the file ends."""
        nonlocal buffer, at
        if len(buffer) - at >= needed:
            return True
        buffer = buffer[at:] + stream.read(max(needed, _BLOCK_BYTES))
        at = 0
        return len(buffer) >= needed

    for number in range(1, count + 1):
        fill(1)
        if buffer[at : at + 1] == b"\n":  # a newline before the word ends the previous entry
            at += 1
        while (space := buffer.find(b" ", at, at + _MAX_WORD_BYTES + 1)) < 0:
            if len(buffer) - at > _MAX_WORD_BYTES:
                raise VectorFormatError(
                    f"{path}: word {number}: no space after 10 000 bytes "
                    "(not a word2vec binary file?)"
                )
            if not fill(len(buffer) - at + 1):
                raise VectorFormatError(
                    f"{path}: word {number} of {count}: the file ends "
                    "(truncated, or the header count is wrong)"
                )
        name = buffer[at:space]
        at = space + 1
        if not fill(size):
            raise VectorFormatError(
                f"{path}: word {number} of {count}: {len(buffer) - at} of "
                f"{size} vector bytes (truncated file)"
            )
        yield (
            _decode(name, f"{path}: word {number}", unicode_errors),
            memoryview(buffer)[at : at + size],
        )
        at += size


class _Rows:
    """Rows stored one after another into a matrix allocated once, at its final size
    (its pages are only committed as rows arrive), with their words; a word seen
    before is skipped (the first kept) and counted. With ``into``, the matrix is a
    memory map of that new .npy file, its pages released every _RELEASE_ROWS rows."""

    def __init__(self, rows: int, dim: int, into: Path | None = None):
        self.matrix = (
            np.empty((rows, dim), dtype=np.float32)
            if into is None or not rows
            else np.lib.format.open_memmap(into, mode="w+", dtype=np.float32, shape=(rows, dim))
        )
        self.words: list[str] = []
        self.seen: set[str] = set()
        self.duplicates = 0

    @property
    def full(self) -> bool:
        return len(self.words) == len(self.matrix)

    def add(self, word: str, values: np.ndarray | memoryview) -> bool:
        """Store one row unless its word is empty or known; False once full."""
        if self.full:
            return False
        if not word or word in self.seen:
            self.duplicates += bool(word)
            return True
        self.seen.add(word)
        self.matrix[len(self.words)] = (
            np.frombuffer(values, dtype="<f4") if isinstance(values, memoryview) else values
        )
        self.words.append(word)
        if len(self.words) % _RELEASE_ROWS == 0:
            release_pages(self.matrix)
        return True


def read_vectors(
    path: str | Path,
    fmt: str,
    limit: int | None = None,
    unicode_errors: str = "strict",
    into: Path | None = None,
) -> tuple[list[str], np.ndarray]:
    """Read a vectors file: (words, vectors float32 (V, d)), in file order.

    ``limit`` reads only the first words (as gensim's ``limit``); ``unicode_errors``
    is ``strict``, ``replace`` or ``ignore`` (as gensim's). A word that appears
    again is skipped (the first one is kept), with a warning.

    Memory: the matrix is allocated once at its final size (the header's word count,
    a GloVe file's line count, or ``limit``) and filled row by row, so reading holds
    the matrix, the words and one block of 4,096 lines: about 1.3 × the matrix at
    1 M words × 100 dimensions (``bench/bench_import.py``). The vectors returned may
    be a view of a larger allocation whose unused rows were never touched.

    ``into``: a new .npy file (on disk, e.g. in a scratch directory) to hold the
    matrix instead of memory, through a shared memory map whose pages are released
    every 65,536 rows (:func:`~wordlens.artifacts.release_pages`): reading then holds
    the words and one stretch of rows, and the matrix returned is that map (its pages
    in the page cache, not in this process's memory).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if unicode_errors not in UNICODE_ERRORS:
        raise ValueError(
            f"unicode_errors must be one of {', '.join(UNICODE_ERRORS)}, got {unicode_errors!r}"
        )
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    path = Path(path)
    with open(path, "rb") as stream:
        if fmt == "word2vec-bin":
            rows = _read_binary(stream, path, limit, unicode_errors, into)
        else:
            rows = _read_text(stream, path, fmt == "word2vec", limit, unicode_errors, into)
    if not rows.words:
        raise VectorFormatError(f"{path}: no vectors")
    if rows.duplicates:
        log.warning(
            "%s: %d repeated word(s) skipped (the first vector of each kept)",
            path,
            rows.duplicates,
        )
    return rows.words, rows.matrix[: len(rows.words)]


def _read_binary(
    stream: BinaryIO, path: Path, limit: int | None, unicode_errors: str, into: Path | None
) -> _Rows:
    count, dim = _header(stream.readline(), path)
    _check_room(count, dim, limit, path, stream.tell(), binary=True)
    rows = _Rows(min(count, limit or count), dim, into)
    for word, values in _binary_entries(stream, path, count, dim, unicode_errors):
        if not rows.add(word, values):
            break
    return rows


def _read_text(
    stream: BinaryIO,
    path: Path,
    header: bool,
    limit: int | None,
    unicode_errors: str,
    into: Path | None,
) -> _Rows:
    if header:
        expected, dim = _header(stream.readline(), path)
        _check_room(expected, dim, limit, path, stream.tell(), binary=False)
        stream.seek(0)
        capacity = expected
    else:
        expected, capacity = None, _count_lines(path)
    rows: _Rows | None = None
    entries = 0
    for dim, words, block in _text_blocks(stream, path, header, unicode_errors):
        if rows is None:
            rows = _Rows(min(capacity, limit or capacity), dim, into)
        for word, values in zip(words, block, strict=True):
            entries += 1
            if expected is not None and entries > expected:
                continue  # counted, to say how many the file has
            if not rows.add(word, values):
                return rows  # limit reached
    if expected is not None and entries != expected:
        raise VectorFormatError(
            f"{path}: the header announces {expected} words, the file has {entries}"
        )
    return rows if rows is not None else _Rows(0, 1)
