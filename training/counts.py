"""The counts artifact: a corpus's word counts and co-occurrence matrix, as a folder.

    COUNTS/
      manifest.json  {"format": "wordlens-counts", "format_version": 1, "window",
                      "weighting", "scale", "tokenizer", "corpus": {"sources": [...],
                      "documents", "tokens"}, "words": V, "cells": nnz, "created",
                      "figures": {...how it was made...}, "files": {name: {"sha256", "bytes"}}}
      words.txt      V words, "\\n"-separated UTF-8, in row order
      counts.npy     int64 (V,) how often each word occurs
      indptr.npy     int64 (V+1,) CSR row pointers of the upper triangle
      indices.npy    int32 (nnz,) the column of each cell, > its row, increasing in a row
      ticks.npy      int64 (nnz,) X_ij × scale

The rules that make counts add up (two corpora's counts, merged, are exactly the
counts of their concatenation, file for file):

- Every token keeps its place in the window; no word is dropped when counting.
  ``min_count`` and ``max_vocab`` apply when training, by taking leading rows.
- Cells are exact integers, "ticks": X_ij = ticks / scale, scale 1 for ``constant``
  weighting and lcm(1..window) for ``distance`` weighting, where a pair at distance d
  adds scale // d ticks (:func:`ticks_scale`, :func:`pair_ticks`). Integer sums do not
  depend on their order.
- Only the upper triangle is stored (column > row); X is symmetric with a zero
  diagonal, so Z = Σ_{i≠j} X_ij is twice the sum of the stored ticks, over scale.
- Rows are words by count descending, ties by the word in code-point order
  (:func:`word_order`), so the words a ``min_count`` keeps are a prefix.

A folder is published atomically (:func:`wordlens.artifacts.publish_directory`).
:func:`load_counts` checks the format, the files' sizes and (``verify=True``)
checksums, the arrays' shapes and dtypes and the row pointers, and refuses anything
else with :class:`CountsFormatError`. The big arrays are read a block of rows at a
time with plain reads (:meth:`Counts.row_blocks`), not kept mapped, so a reader's
memory stays bounded whatever the size of the matrix.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from wordlens.artifacts import file_checksums, json_default, publish_directory

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_DISTANCE_WINDOW",
    "WEIGHTINGS",
    "Counts",
    "replace_figures",
    "CountsFormatError",
    "CountsWriter",
    "load_counts",
    "pair_ticks",
    "ticks_scale",
    "word_order",
]

FORMAT = "wordlens-counts"
FORMAT_VERSION = 1
WEIGHTINGS = ("constant", "distance")
# lcm(1..20) = 232,792,560 ticks per unit: a cell still holds 4·10^10 pair counts at
# distance 1 before int64 overflows; lcm(1..23) would already be 5.4·10^9.
MAX_DISTANCE_WINDOW = 20
MANIFEST = "manifest.json"
WORDS = "words.txt"
# (name, dtype): the arrays of the folder, in the order they are checked.
ARRAYS = (
    ("counts", np.dtype("<i8")),
    ("indptr", np.dtype("<i8")),
    ("indices", np.dtype("<i4")),
    ("ticks", np.dtype("<i8")),
)
DATA_FILES = (WORDS, *(f"{name}.npy" for name, _ in ARRAYS))
_READ_CELLS = 1 << 22  # cells compared at a time by Counts.equal
# .npy headers are written at this fixed size (what np.save writes for a 1-D array),
# so a file whose length is known only at the end can be streamed and its header
# rewritten in place, and the bytes equal np.save's.
_NPY_HEADER_BYTES = 128


class CountsFormatError(ValueError):
    """A counts folder is missing, partial, corrupted or of another format."""


def ticks_scale(window: int, weighting: str) -> int:
    """Ticks per unit of X: 1 for ``constant`` weighting, lcm(1..window) for
    ``distance`` (so every 1/d is a whole number of ticks). Refuses a window below 1,
    an unknown weighting, and distance weighting beyond :data:`MAX_DISTANCE_WINDOW`."""
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be an integer of at least 1, got {window!r}")
    if weighting == "constant":
        return 1
    if weighting == "distance":
        if window > MAX_DISTANCE_WINDOW:
            raise ValueError(
                f"distance weighting takes a window of at most {MAX_DISTANCE_WINDOW} "
                f"(exact ticks are multiples of lcm(1..window), which would overflow); "
                f"got {window}: use a smaller window or constant weighting"
            )
        return math.lcm(*range(1, int(window) + 1))
    raise ValueError(f"weighting must be {' or '.join(WEIGHTINGS)}, got {weighting!r}")


def pair_ticks(window: int, weighting: str) -> np.ndarray:
    """int64 (window + 1,): the ticks a pair at distance d adds, at index d (index 0,
    distance 0, is unused and 0): 1, or scale // d for distance weighting."""
    scale = ticks_scale(window, weighting)
    distances = np.arange(window + 1, dtype=np.int64)
    ticks = np.ones(window + 1, dtype=np.int64)
    if weighting == "distance":
        ticks[1:] = scale // distances[1:]
    ticks[0] = 0
    return ticks


def word_order(words: Sequence[str], counts: np.ndarray) -> np.ndarray:
    """int64 (V,): the positions of ``words`` in row order, by ``counts`` descending,
    ties by the word (code-point order), as :func:`training.vocab.build_vocabulary`
    sorts. ``counts`` int (V,)."""
    alphabetical = np.array(sorted(range(len(words)), key=words.__getitem__), dtype=np.int64)
    by_count = np.argsort(-np.asarray(counts, dtype=np.int64)[alphabetical], kind="stable")
    return alphabetical[by_count]


def _npy_header(dtype: np.dtype, length: int) -> bytes:
    """The .npy (version 1.0) header of a 1-D C-order array of ``length`` items, padded
    to :data:`_NPY_HEADER_BYTES`, byte for byte as ``np.save`` writes it."""
    text = f"{{'descr': '{dtype.str}', 'fortran_order': False, 'shape': ({length},), }}"
    prefix = b"\x93NUMPY\x01\x00"
    padded = text.ljust(_NPY_HEADER_BYTES - len(prefix) - 2 - 1) + "\n"
    return prefix + struct.pack("<H", len(padded)) + padded.encode("latin1")


def _read_npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran_order, data offset in bytes) of a .npy file."""
    with open(path, "rb") as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        return shape, dtype, fortran, stream.tell()


def _check_words(words: Sequence[str]) -> str:
    """words.txt's text for ``words``, refusing what it could not give back: an empty
    word, a word with a newline, or the same word twice."""
    distinct = set(words)
    if len(distinct) != len(words):
        raise ValueError("the words must be distinct")
    if "" in distinct:
        raise ValueError("a word is empty")
    text = "\n".join(words)
    if text.count("\n") != max(len(words) - 1, 0):  # one per separator, none inside
        raise ValueError("a word holds a newline")
    return text + "\n" if words else ""


@njit(cache=True)
def _first_bad_cell(indptr, indices, ticks, first_row, vocabulary):
    """Index of the first cell of rows ``first_row``.. breaking the format (column not
    above its row, not increasing within its row, beyond V, or not a positive
    count), or −1 when all are sound."""
    for local in range(indptr.shape[0] - 1):
        row = first_row + local
        previous = row
        for k in range(indptr[local], indptr[local + 1]):
            column = indices[k]
            if column <= previous or column >= vocabulary or ticks[k] <= 0:
                return k
            previous = column
    return -1


class CountsWriter:
    """Writes a counts folder at ``out``: rows streamed to disk in order with
    :meth:`append`, published atomically when the ``with`` block ends without an
    error (checked complete, flushed, checksummed, renamed into place); on an error
    nothing appears at ``out``.

    Parameters
    ----------
    out : the folder to write; what is there is replaced.
    words : V distinct words in row order (:func:`word_order`).
    counts : int (V,) how often each word occurs.
    window, weighting : the counting's, recorded with their ``scale``.
    tokenizer : the tokenizer's spec (``Tokenizer.spec``).
    corpus : ``{"sources": [...], "documents": D, "tokens": N}``.

    ``figures`` (a dict, empty at first) is written to the manifest as ``figures``:
    the writer's caller records there how the counts were made (seconds, spills…).
    """

    def __init__(
        self,
        out: str | os.PathLike,
        *,
        words: Sequence[str],
        counts: np.ndarray,
        window: int,
        weighting: str,
        tokenizer: Mapping[str, Any],
        corpus: Mapping[str, Any],
    ):
        self.scale = ticks_scale(window, weighting)
        self.words = list(words)
        self._words_text = _check_words(self.words)
        self.counts = np.ascontiguousarray(counts, dtype="<i8")
        if self.counts.shape != (len(self.words),):
            raise ValueError(f"counts have shape {self.counts.shape}, expected ({len(words)},)")
        self.window, self.weighting = int(window), weighting
        self.tokenizer, self.corpus = dict(tokenizer), dict(corpus)
        self.path = Path(out).absolute()
        self.figures: dict[str, Any] = {}
        self.rows = 0  # rows appended so far
        self.cells = 0  # cells appended so far
        self._context: contextlib.AbstractContextManager | None = None
        self._streams: dict[str, Any] = {}

    def __enter__(self) -> CountsWriter:
        self._context = self._publication()
        self._context.__enter__()
        return self

    def __exit__(self, exc_type, exc, traceback) -> bool | None:
        assert self._context is not None
        return self._context.__exit__(exc_type, exc, traceback)

    @contextlib.contextmanager
    def _publication(self) -> Iterator[None]:
        with publish_directory(self.path) as partial:
            (partial / WORDS).write_bytes(self._words_text.encode("utf-8"))
            np.save(partial / "counts.npy", self.counts, allow_pickle=False)
            try:
                for name, dtype in ARRAYS[1:]:
                    stream = open(partial / f"{name}.npy", "wb")  # noqa: SIM115 closed below
                    self._streams[name] = stream
                    length = len(self.words) + 1 if name == "indptr" else 0
                    stream.write(_npy_header(dtype, length))
                self._streams["indptr"].write(np.zeros(1, dtype="<i8"))
                yield
                self._finish(partial)
            finally:
                for stream in self._streams.values():
                    stream.close()

    def append(self, indptr: np.ndarray, indices: np.ndarray, ticks: np.ndarray) -> None:
        """Write the next rows: ``indptr`` int (rows + 1,) their pointers into
        ``indices`` int (cells,) (columns, each above its row and increasing within
        it) and ``ticks`` int64 (cells,) (positive), starting at 0."""
        if self._context is None or not self._streams:
            raise RuntimeError("CountsWriter.append outside its with block")
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.ascontiguousarray(indices, dtype="<i4")
        ticks = np.ascontiguousarray(ticks, dtype="<i8")
        rows = len(indptr) - 1
        if rows < 0 or indptr[0] != 0 or indptr[-1] != len(indices) or len(ticks) != len(indices):
            raise ValueError(
                f"inconsistent block: indptr {indptr[:1]}…{indptr[-1:]}, "
                f"{len(indices)} indices, {len(ticks)} ticks"
            )
        if np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must not decrease")
        if self.rows + rows > len(self.words):
            raise ValueError(f"{self.rows + rows} rows appended, there are {len(self.words)}")
        bad = _first_bad_cell(indptr, indices, ticks, self.rows, len(self.words))
        if bad >= 0:
            row = self.rows + int(np.searchsorted(indptr, bad, side="right")) - 1
            raise ValueError(
                f"cell {bad} of the block (row {row}, column {indices[bad]}, "
                f"{ticks[bad]} ticks): columns must be above their row, increasing, "
                f"below {len(self.words)}, with positive ticks"
            )
        self._streams["indptr"].write(np.ascontiguousarray(indptr[1:] + self.cells, dtype="<i8"))
        self._streams["indices"].write(indices)
        self._streams["ticks"].write(ticks)
        self.rows += rows
        self.cells += len(indices)

    def _finish(self, partial: Path) -> None:
        if self.rows != len(self.words):
            raise ValueError(f"only {self.rows} of {len(self.words)} rows were appended")
        for name, dtype in ARRAYS[2:]:
            stream = self._streams[name]
            stream.seek(0)
            stream.write(_npy_header(dtype, self.cells))
        for stream in self._streams.values():
            stream.close()
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "window": self.window,
            "weighting": self.weighting,
            "scale": self.scale,
            "tokenizer": self.tokenizer,
            "corpus": self.corpus,
            "words": len(self.words),
            "cells": self.cells,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "figures": self.figures,
            "files": file_checksums(partial),
        }
        (partial / MANIFEST).write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n",
            encoding="utf-8",
        )


def replace_figures(path: str | os.PathLike, figures: Mapping[str, Any]) -> None:
    """Set the ``figures`` of the counts folder at ``path`` (not yet published: the
    manifest is rewritten in place), e.g. to describe a whole parallel run rather
    than its last step."""
    manifest_path = Path(path) / MANIFEST
    document = json.loads(manifest_path.read_text(encoding="utf-8"))
    document["figures"] = dict(figures)
    manifest_path.write_text(
        json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n",
        encoding="utf-8",
    )


class Counts:
    """A counts folder opened read-only by :func:`load_counts`.

    ``words`` the V words in row order; ``counts`` int64 (V,) and ``indptr`` int64
    (V + 1,) memory-mapped; the cells (``indices`` int32, ``ticks`` int64, nnz each)
    are read a block at a time by :meth:`row_blocks` and :meth:`read_cells`.
    """

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        words: list[str],
        counts: np.ndarray,
        indptr: np.ndarray,
        offsets: dict[str, int],
    ):
        self.path = path
        self.manifest = manifest
        self.words = words
        self.counts = counts
        self.indptr = indptr
        self._offsets = offsets

    @property
    def window(self) -> int:
        return int(self.manifest["window"])

    @property
    def weighting(self) -> str:
        return str(self.manifest["weighting"])

    @property
    def scale(self) -> int:
        """Ticks per unit of X (:func:`ticks_scale`)."""
        return int(self.manifest["scale"])

    @property
    def tokenizer(self) -> dict[str, Any]:
        return dict(self.manifest["tokenizer"])

    @property
    def corpus(self) -> dict[str, Any]:
        """``{"sources": [...], "documents": D, "tokens": N}``."""
        return dict(self.manifest["corpus"])

    def __len__(self) -> int:
        return len(self.words)

    @property
    def cells(self) -> int:
        """nnz, the stored cells of the upper triangle."""
        return int(self.manifest["cells"])

    def __repr__(self) -> str:
        return f"<Counts {self.path.name}: {len(self):,} words, {self.cells:,} cells>"

    def read_cells(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Cells ``start:stop`` of the whole matrix (row-major): (columns int32,
        ticks int64), read from disk into new arrays."""
        if not 0 <= start <= stop <= self.cells:
            raise IndexError(f"cells {start}:{stop} out of 0:{self.cells}")
        columns = np.fromfile(
            self.path / "indices.npy",
            dtype="<i4",
            count=stop - start,
            offset=self._offsets["indices"] + 4 * start,
        )
        ticks = np.fromfile(
            self.path / "ticks.npy",
            dtype="<i8",
            count=stop - start,
            offset=self._offsets["ticks"] + 8 * start,
        )
        return columns, ticks

    def row_blocks(
        self, max_cells: int, stop: int | None = None
    ) -> Iterator[tuple[int, int, sp.csr_matrix]]:
        """(start, end, block) over the rows [0, ``stop``) (default: all), in order:
        ``block`` the rows start..end − 1 as a CSR matrix (end − start, V) of ticks
        (int64; columns above the row only), at most ``max_cells`` cells each unless a
        single row holds more (it is then a block by itself)."""
        stop = len(self) if stop is None else min(int(stop), len(self))
        indptr = self.indptr
        start = 0
        while start < stop:
            limit = indptr[start] + max(int(max_cells), 1)
            end = int(np.searchsorted(indptr, limit, side="right")) - 1
            end = min(max(end, start + 1), stop)
            first, last = int(indptr[start]), int(indptr[end])
            columns, ticks = self.read_cells(first, last)
            # int32 pointers keep scipy from widening the int32 columns to int64.
            pointer_type = np.int32 if last - first < 2**31 else np.int64
            pointers = (np.asarray(indptr[start : end + 1]) - first).astype(pointer_type)
            block = sp.csr_matrix((ticks, columns, pointers), shape=(end - start, len(self)))
            yield start, end, block
            start = end

    def to_csr(self, stop: int | None = None) -> sp.csr_matrix:
        """X of the leading ``stop`` words (default all) as a full symmetric CSR
        matrix, float64 (stop, stop), zero diagonal, ticks / scale. For small counts
        and tests: it holds the whole matrix twice."""
        stop = len(self) if stop is None else min(int(stop), len(self))
        upper = sp.csr_matrix((stop, stop), dtype=np.float64)
        if stop:
            blocks = [block[:, :stop] for _, _, block in self.row_blocks(1 << 24, stop)]
            upper = sp.vstack(blocks, format="csr").astype(np.float64)
        full = (upper + upper.T).tocsr()
        full.data /= self.scale  # divided, not multiplied by 1 / scale: ticks / scale exactly
        full.sort_indices()
        return full

    def equal(self, other: Counts) -> bool:
        """Whether ``other`` holds the same counts: window, weighting, scale,
        tokenizer, words, word counts and every cell (the corpus description and
        figures may differ)."""
        same = (
            (self.window, self.weighting, self.scale, self.tokenizer)
            == (other.window, other.weighting, other.scale, other.tokenizer)
            and self.words == other.words
            and self.cells == other.cells
            and np.array_equal(self.counts, other.counts)
            and np.array_equal(self.indptr, other.indptr)
        )
        for start in range(0, self.cells if same else 0, _READ_CELLS):
            stop = min(start + _READ_CELLS, self.cells)
            mine, theirs = self.read_cells(start, stop), other.read_cells(start, stop)
            if not (np.array_equal(mine[0], theirs[0]) and np.array_equal(mine[1], theirs[1])):
                return False
        return same


def _shown(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise CountsFormatError(f"counts {path.name!r} not found: not a directory")
    manifest_path = path / MANIFEST
    shown = _shown(manifest_path)
    if not manifest_path.is_file():
        raise CountsFormatError(f"{shown}: missing, {path.name!r} is not a complete counts folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise CountsFormatError(f"{shown}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CountsFormatError(f"{shown}: not a {FORMAT} manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise CountsFormatError(
            f"{shown}: format version {version!r}, this wordlens reads {FORMAT_VERSION}"
        )
    for key, kind in (
        ("window", int),
        ("weighting", str),
        ("scale", int),
        ("tokenizer", dict),
        ("corpus", dict),
        ("words", int),
        ("cells", int),
        ("files", dict),
    ):
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise CountsFormatError(f"{shown}: field {key!r} missing or not a {kind.__name__}")
    try:
        scale = ticks_scale(manifest["window"], manifest["weighting"])
    except ValueError as error:
        raise CountsFormatError(f"{shown}: {error}") from None
    if manifest["scale"] != scale:
        raise CountsFormatError(f"{shown}: scale {manifest['scale']}, the window says {scale}")
    if min(manifest["words"], manifest["cells"]) < 0:
        raise CountsFormatError(f"{shown}: negative words or cells")
    if set(manifest["files"]) != set(DATA_FILES):
        raise CountsFormatError(
            f"{shown}: files {sorted(manifest['files'])}, expected {sorted(DATA_FILES)}"
        )
    return manifest


def _check_file(path: Path, name: str, expected: Any, verify: bool) -> None:
    file = path / name
    if not isinstance(expected, dict):
        raise CountsFormatError(f"{_shown(path / MANIFEST)}: files[{name!r}] is not an object")
    if not file.is_file() or file.is_symlink():
        raise CountsFormatError(f"{_shown(file)}: missing (or not a plain file)")
    size = file.stat().st_size
    if size != expected.get("bytes"):
        raise CountsFormatError(
            f"{_shown(file)}: {size} bytes, the manifest says {expected.get('bytes')} "
            "(truncated or replaced)"
        )
    if verify:
        digest = hashlib.sha256()
        with open(file, "rb") as stream:
            while chunk := stream.read(1 << 22):
                digest.update(chunk)
        if digest.hexdigest() != expected.get("sha256"):
            raise CountsFormatError(f"{_shown(file)}: checksum mismatch (corrupted or modified)")


def load_counts(path: str | os.PathLike, verify: bool = True) -> Counts:
    """Open a counts folder, checking it first; ``verify=False`` skips the SHA-256 of
    the files (sizes, shapes, dtypes and row pointers are still checked). Raises
    :class:`CountsFormatError` naming the file at fault (``COUNTS/FILE``)."""
    path = Path(path).absolute()
    manifest = _read_manifest(path)
    for name in DATA_FILES:
        _check_file(path, name, manifest["files"][name], verify)
    vocabulary, cells = manifest["words"], manifest["cells"]
    lengths = {"counts": vocabulary, "indptr": vocabulary + 1, "indices": cells, "ticks": cells}
    offsets = {}
    for name, dtype in ARRAYS:
        file = path / f"{name}.npy"
        try:
            shape, found, fortran, offset = _read_npy_header(file)
        except (ValueError, OSError) as error:
            raise CountsFormatError(
                f"{_shown(file)}: not a readable .npy array ({error})"
            ) from None
        if shape != (lengths[name],) or found != dtype or fortran:
            raise CountsFormatError(
                f"{_shown(file)}: shape {shape} {found}, expected ({lengths[name]},) {dtype}"
            )
        if file.stat().st_size != offset + dtype.itemsize * lengths[name]:
            raise CountsFormatError(f"{_shown(file)}: size does not match its header")
        offsets[name] = offset
    counts = np.load(path / "counts.npy", mmap_mode="r")
    indptr = np.load(path / "indptr.npy", mmap_mode="r")
    if indptr[0] != 0 or indptr[-1] != cells or np.any(np.diff(indptr) < 0):
        raise CountsFormatError(
            f"{_shown(path / 'indptr.npy')}: row pointers must rise from 0 to {cells}"
        )
    try:
        text = (path / WORDS).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CountsFormatError(f"{_shown(path / WORDS)}: unreadable ({error})") from None
    words = text.split("\n")[:-1]
    if len(words) != vocabulary or (text and not text.endswith("\n")):
        raise CountsFormatError(
            f"{_shown(path / WORDS)}: {len(words)} words, expected {vocabulary}"
        )
    return Counts(path, manifest, words, counts, indptr, offsets)
