"""Read and write word vectors in the formats other tools publish them in.

``word2vec``      text: a header line "V d", then one "word x1 … xd" line per word
``word2vec-bin``  binary (the word2vec C tool's): the header line, then per word its
                  UTF-8 bytes, a space, d little-endian float32 and a newline
``glove``         text without header: one "word x1 … xd" line per word

Files written here load back unchanged with gensim's
``KeyedVectors.load_word2vec_format`` (``binary=True`` for word2vec-bin,
``no_header=True`` for glove): text values carry 9 significant digits, enough to
round-trip float32 exactly. Readers stream, and stop at the first malformed entry
with a :class:`VectorFormatError` naming its line (text) or word number (binary).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["FORMATS", "UNICODE_ERRORS", "VectorFormatError", "read_vectors", "write_vectors"]

FORMATS = ("word2vec", "word2vec-bin", "glove")
UNICODE_ERRORS = ("strict", "replace", "ignore")  # as bytes.decode's errors, and gensim's
_ROWS_PER_BLOCK = 4096


class VectorFormatError(ValueError):
    """A vectors file that does not follow its format."""


def write_vectors(path: str | Path, words: Sequence[str], vectors: np.ndarray, fmt: str) -> None:
    """Write ``words`` and their ``vectors`` (V, d) in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    vectors = np.asarray(vectors, dtype=np.float32)
    with open(path, "wb") as stream:
        if fmt != "glove":
            stream.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for start in range(0, len(words), _ROWS_PER_BLOCK):
            block = vectors[start : start + _ROWS_PER_BLOCK]
            names = words[start : start + _ROWS_PER_BLOCK]
            if fmt == "word2vec-bin":
                little = block.astype("<f4")
                stream.write(
                    b"".join(
                        name.encode("utf-8") + b" " + row.tobytes() + b"\n"
                        for name, row in zip(names, little, strict=True)
                    )
                )
            else:
                text = io.StringIO()
                np.savetxt(text, block, fmt="%.9g")
                stream.write(
                    "".join(
                        f"{name} {line}\n"
                        for name, line in zip(names, text.getvalue().splitlines(), strict=True)
                    ).encode("utf-8")
                )


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


def _text_entries(
    stream: BinaryIO, path: Path, header: bool, unicode_errors: str
) -> Iterator[tuple[str, np.ndarray]]:
    dim = expected = None
    first = 1
    if header:
        expected, dim = _header(stream.readline(), path)
        first = 2
    entries = 0
    for number, raw in enumerate(stream, first):
        where = f"{path}:{number}"
        if not raw.strip():
            continue
        word, _, values = _decode(raw, where, unicode_errors).rstrip("\n").partition(" ")
        try:
            vector = np.array(values.split(), dtype=np.float32)
        except ValueError:
            raise VectorFormatError(f"{where}: values of {word!r} are not numbers") from None
        if dim is None:
            dim = len(vector)
            if dim == 0:
                raise VectorFormatError(f"{where}: no values after {word!r}")
        if len(vector) != dim:
            raise VectorFormatError(f"{where}: {word!r} has {len(vector)} values, expected {dim}")
        entries += 1
        yield word, vector
    if expected is not None and entries != expected:
        raise VectorFormatError(
            f"{path}: the header announces {expected} words, the file has {entries}"
        )


def _binary_entries(
    stream: BinaryIO, path: Path, unicode_errors: str
) -> Iterator[tuple[str, np.ndarray]]:
    count, dim = _header(stream.readline(), path)
    size = 4 * dim
    for number in range(1, count + 1):
        name = bytearray()
        while True:
            byte = stream.read(1)
            if not byte:
                raise VectorFormatError(
                    f"{path}: word {number} of {count}: the file ends "
                    "(truncated, or the header count is wrong)"
                )
            if byte == b" ":
                break
            if byte != b"\n" or name:  # a newline before the word ends the previous entry
                name += byte
            if len(name) > 10_000:
                raise VectorFormatError(
                    f"{path}: word {number}: no space after 10 000 bytes "
                    "(not a word2vec binary file?)"
                )
        data = stream.read(size)
        if len(data) != size:
            raise VectorFormatError(
                f"{path}: word {number} of {count}: {len(data)} of "
                f"{size} vector bytes (truncated file)"
            )
        yield (
            _decode(bytes(name), f"{path}: word {number}", unicode_errors),
            np.frombuffer(data, dtype="<f4").astype(np.float32),
        )


def read_vectors(
    path: str | Path, fmt: str, limit: int | None = None, unicode_errors: str = "strict"
) -> tuple[list[str], np.ndarray]:
    """Read a vectors file: (words, vectors float32 (V, d)), in file order.

    ``limit`` reads only the first words (as gensim's ``limit``); ``unicode_errors``
    is ``strict``, ``replace`` or ``ignore`` (as gensim's). A word that appears
    again is skipped (the first one is kept), with a warning.
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
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    duplicates = 0
    with open(path, "rb") as stream:
        entries = (
            _binary_entries(stream, path, unicode_errors)
            if fmt == "word2vec-bin"
            else _text_entries(stream, path, fmt == "word2vec", unicode_errors)
        )
        for word, vector in entries:
            if not word or word in seen:
                duplicates += bool(word)
                continue
            seen.add(word)
            words.append(word)
            rows.append(vector)
            if limit is not None and len(words) >= limit:
                break
    if not words:
        raise VectorFormatError(f"{path}: no vectors")
    if duplicates:
        log.warning(
            "%s: %d repeated word(s) skipped (the first vector of each kept)", path, duplicates
        )
    return words, np.vstack(rows)
