"""The model artifact format: the one place that writes and reads trained models.

A model is a directory::

    NAME/
      manifest.json      format version, kind, sizes, tokenizer, corpus, parameters,
                         training log, evaluation scores, output layers, and the
                         SHA-256 and size of every data file below
      words.txt          the vocabulary, one word per line ("\\n"-separated, UTF-8),
                         most frequent first; row i of every matrix is word i
      word_*.npy         its index, memory-mapped by every worker: offsets, sorted
                         hashes and their rows, rows in byte order (see
                         :mod:`wordlens.vocabulary`); written here, never by callers
      counts.npy         int64 (V,) corpus counts (absent for imported vectors)
      vectors.npy        float32 (V, d) word vectors, or float16 (``dtype``)
      norms.npy          float32 (V,) the Euclidean length of each stored row of
                         vectors, written here: cosine similarity divides by it, so
                         no unit-length copy of the matrix is kept (models written
                         before kept one, ``vectors_norm.npy``: still checked, never
                         mapped)
      .verified.json     not listed in the manifest: when each file was last found
                         to match its checksum (see below)
      <extra>.npy        model-specific arrays, e.g. for Word2Vec:
                         syn1 float32 (V, d) (the V − 1 inner nodes of the Huffman
                         tree, and gensim's unused last row), hs_points int32 (V, L),
                         hs_codes int8 (V, L), hs_lengths int32 (V,), syn1neg float32 (V, d),
                         alacarte float32 (d, d) (the à la carte map of inferred
                         vectors, :mod:`wordlens.training.alacarte`)
      phrases.tsv        the learned phrase table, for models trained with phrases
                         (:mod:`wordlens.corpus.phrases` reads and writes its text;
                         the manifest's tokenizer names it by digest)
      neighbours_*.faiss approximate neighbour indexes, optional, described under the
                         manifest's ``neighbours`` field (:mod:`wordlens.neighbours`
                         writes them through :func:`add_files`)

Matrices are opened with ``mmap_mode="r"``, so several server workers share the page
cache instead of holding copies. Writing is atomic: everything is built in a hidden
sibling directory (``.NAME.partial-PID-*``) and renamed into place at the end, so an
interrupted run never leaves something that looks like a model. The model it replaces
is first renamed to ``.NAME.old-PID-*``; trainers keep their temporary files in
``.NAME.scratch-PID-*`` (:func:`scratch_directory`). What a killed process leaves of
these is dealt with by the next writer of NAME: removed, except a previous model whose
replacement never arrived, which is put back (:func:`find_models` puts it back too).

Loading checks the format version, that the manifest names only plain files of the
model folder and the files' sizes. The SHA-256 of every file, and that every
floating-point array is finite, are checked once and remembered in ``.verified.json``
(written when the model is published, and by the first load that verifies files
the stamp does not describe): per file its size and mtime (ns) and a digest of 20
sampled blocks. A later load whose files still match the stamp skips reading them
whole (``verify=True``, the default); ``verify="full"`` always reads them;
``verify=False`` checks sizes and finite values only. The stamp names no device,
inode or ctime, so it survives a copy that keeps times (``cp -p``, ``rsync -a``,
``tar``, Docker's ``COPY``, which may drop the mtime's fraction of a second): a copy
is trusted as verified where the stamp was written. What the stamp cannot see: bytes
that change without the size or mtime changing (bit rot, a raw device write, a
corrupted copy, a write whose mtime was set back) outside the sampled blocks;
``verify="full"`` (``wordlens verify``) finds those. Anyone who can write the folder
can also rewrite the stamp: it is a cache of a verification, not a signature. A
broken or partial model is refused with :class:`ModelFormatError`. Messages name
files relative to the models folder (``pmi/vectors.npy``), never by absolute path.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import json
import logging
import mmap
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from wordlens import suggestions, vocabulary
from wordlens.vocabulary import Vocabulary

__all__ = [
    "DTYPES",
    "FORMAT_VERSION",
    "Model",
    "ModelFormatError",
    "Verify",
    "add_files",
    "find_models",
    "json_default",
    "load_model",
    "file_checksums",
    "model_path",
    "models_dir",
    "publish_directory",
    "read_manifest",
    "release_pages",
    "scratch_directory",
    "update_manifest",
    "upgrade_model",
    "verify_model",
    "write_model",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WORDS = "words.txt"
PHRASES = "phrases.tsv"
STAMP = ".verified.json"
#: How ``vectors`` may be stored: float16 halves the matrix (see the README's figures).
DTYPES = ("float32", "float16")
#: A unit-row copy of ``vectors`` that models written before kept: checked, not mapped.
_LEGACY_ARRAYS = ("vectors_norm",)
_SAMPLES = 16  # evenly spaced blocks of a file in its stamp's digest, besides its ends
_SAMPLE_BYTES = 1 << 12
_END_BYTES = 1 << 16
_CHUNK = 1 << 22
_FINITE_CHUNK = 1 << 20  # values checked at a time: a bounded temporary whatever the size
# What the manifest may list: a plain file name of the model folder (no folder part,
# not hidden, so neither "." nor "..").
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# What writers leave beside a model NAME while they work: .NAME.KIND-PID-RANDOM.
_WORK_DIR = re.compile(r"\.(?P<name>.+)\.(?P<kind>partial|old|scratch)-(?P<pid>\d+)-[0-9a-f]+")


class ModelFormatError(ValueError):
    """A model directory is missing, partial, corrupted or of another format."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(status: os.stat_result) -> list[int]:
    """What changes whenever a file is written, replaced, copied or touched: device,
    inode, size, mtime and ctime (ns); ctime cannot be set back by any program."""
    return [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]


def _same_fingerprint(now: Sequence[int], stamped: object) -> bool:
    """Whether a file's [size, mtime ns] now is the stamped one, or that with the
    mtime cut to whole seconds, as a copy by Docker's classic builder leaves it."""
    if not isinstance(stamped, list) or len(stamped) != 2:
        return False
    size, mtime = stamped
    if not isinstance(size, int) or not isinstance(mtime, int):
        return False
    return now[0] == size and now[1] in (mtime, mtime - mtime % 1_000_000_000)


def _sample_digest(descriptor: int, size: int) -> str:
    """SHA-256 of a file's first and last 64 KiB and of _SAMPLES evenly spaced 4 KiB
    blocks between (the whole file if it is small): about 150 KiB read per file."""
    digest = hashlib.sha256()
    if size <= 2 * _END_BYTES + _SAMPLES * _SAMPLE_BYTES:
        spans = [(0, size)]
    else:
        step = (size - 2 * _END_BYTES) // (_SAMPLES + 1)
        spans = [
            (0, _END_BYTES),
            *((_END_BYTES + k * step, _SAMPLE_BYTES) for k in range(1, _SAMPLES + 1)),
            (size - _END_BYTES, _END_BYTES),
        ]
    for offset, length in spans:
        digest.update(os.pread(descriptor, length, offset))
    return digest.hexdigest()


def _stamp_entry(file: Path) -> dict[str, Any]:
    """A file's fingerprint ([size, mtime ns]: what a copy that keeps times keeps, and
    a write changes) and sampled digest, as the stamp records them."""
    descriptor = os.open(file, os.O_RDONLY)
    try:
        status = os.fstat(descriptor)
        return {
            "fingerprint": [status.st_size, status.st_mtime_ns],
            "sample": _sample_digest(descriptor, status.st_size),
        }
    finally:
        os.close(descriptor)


def _write_stamp(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Record that the files of ``entries`` (name → checksum, fingerprint and sampled
    digest, as :func:`_stamp_holds` compares them) match their checksums and hold
    finite values; atomic, best effort."""
    stamp = {
        "verified": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "files": dict(entries),
    }
    temporary = path / f"{STAMP}.{uuid.uuid4().hex[:8]}"
    try:
        temporary.write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path / STAMP)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        log.info(
            "model %s: cannot record its verification (%s); its files will be read "
            "whole at every load",
            path.name,
            _reason(error),
        )


def _stamp_holds(path: Path, files: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether the stamp says every file of ``files`` was verified against these very
    checksums and none changed since (fingerprint and sampled digest)."""
    try:
        stamped = json.loads((path / STAMP).read_text(encoding="utf-8"))["files"]
        if not isinstance(stamped, dict) or stamped.keys() != files.keys():
            return False
        for name, entry in files.items():
            now = _stamp_entry(path / name)
            if not (
                isinstance(stamped[name], dict)
                and stamped[name].get("sha256") == entry.get("sha256")
                and stamped[name].get("sample") == now["sample"]
                and _same_fingerprint(now["fingerprint"], stamped[name].get("fingerprint"))
            ):
                return False
        return True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shown(path: Path) -> str:
    """A model file as messages name it: ``MODEL/FILE``, relative to the models folder."""
    return f"{path.parent.name}/{path.name}"


def _reason(error: Exception) -> str:
    """What went wrong, without the absolute path an OSError's text carries."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def _non_finite(array: np.ndarray) -> int:
    """How many values of a floating-point array are NaN or infinite, a chunk at a time
    (a bounded temporary however large the array); 0 for other dtypes."""
    if array.dtype.kind not in "fc":
        return 0
    flat = array.reshape(-1)
    chunks = (flat[start : start + _FINITE_CHUNK] for start in range(0, flat.size, _FINITE_CHUNK))
    return sum(chunk.size - int(np.count_nonzero(np.isfinite(chunk))) for chunk in chunks)


def _values(count: int) -> str:
    return "1 value is" if count == 1 else f"{count:,} values are"


def release_pages(array: np.ndarray) -> None:
    """Drop the pages of ``array``'s shared memory map (``np.load``'s ``mmap_mode`` "r"
    or "r+", ``np.lib.format.open_memmap``) from this process's resident memory: they
    stay in the page cache, written ones included, and are read back from it when
    touched again. A pass over a mapped matrix that releases each block thus holds one
    block resident, never the whole matrix. No-op for arrays in memory and for
    copy-on-write maps (mode "c"), whose changes would be lost."""
    base: object = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap) and base.mode == "c":
            return
        base = base.base
    if isinstance(base, mmap.mmap):
        base.madvise(mmap.MADV_DONTNEED)


def _row_blocks(array: np.ndarray) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, ``array[rows]``) for successive slices of about _FINITE_CHUNK values:
    how whole matrices are converted, measured and written with a bounded temporary. A
    memory-mapped ``array`` has its pages released after each block
    (:func:`release_pages`)."""
    width = int(np.prod(array.shape[1:], dtype=np.int64))
    step = max(1, _FINITE_CHUNK // max(width, 1))
    for start in range(0, len(array), step):
        rows = slice(start, min(start + step, len(array)))
        yield rows, array[rows]
        release_pages(array)


def _save(file: Path, array: np.ndarray, dtype: np.dtype) -> None:
    """``array`` written to the .npy ``file`` as ``dtype``, converted a chunk of rows at
    a time (no whole copy, whatever the input's dtype or layout)."""
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": array.shape,
    }
    with open(file, "wb") as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        for _, block in _row_blocks(array):
            stream.write(np.ascontiguousarray(block, dtype=dtype).tobytes())


def _row_norms(vectors: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float32 (V,) Euclidean lengths of the rows of ``vectors`` as stored in ``dtype``,
    summed in float64 (float32 squares overflow) a chunk at a time."""
    norms = np.empty(len(vectors), dtype=np.float32)
    for rows, block in _row_blocks(vectors):
        stored = np.asarray(block, dtype=dtype).astype(np.float64)
        norms[rows] = np.sqrt(np.einsum("ij,ij->i", stored, stored))
    return norms


def _non_finite_as(array: np.ndarray, dtype: np.dtype) -> int:
    """How many values of ``array`` are not finite once stored as ``dtype`` (a
    chunk at a time)."""
    with np.errstate(over="ignore"):  # what overflows is counted, not warned about
        return sum(_non_finite(np.asarray(block, dtype=dtype)) for _, block in _row_blocks(array))


@dataclass
class Model:
    """A loaded model: manifest, vocabulary and memory-mapped arrays.

    ``arrays`` maps names (``vectors``, ``norms``, ``syn1``, …) to
    read-only ``np.memmap`` views. ``counts`` is ``None`` for imported vectors.
    ``mapped`` lists the mapped files as they were when opened, for
    :meth:`check_unchanged`. ``words`` is the vocabulary (row → word, as a list;
    ``word in words``), :attr:`index` the same as a word → row mapping.
    """

    path: Path
    manifest: dict[str, Any]
    words: Vocabulary
    counts: np.ndarray | None
    arrays: dict[str, np.ndarray]
    mapped: list[_MappedFile] = field(default_factory=list, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    @property
    def vectors(self) -> np.ndarray:
        return self.arrays["vectors"]

    @property
    def norms(self) -> np.ndarray:
        return self.arrays["norms"]

    @property
    def index(self) -> Mapping[str, int]:
        """word → row (KeyError for an unknown word), from the shared word index."""
        return self.words.rows

    def __len__(self) -> int:
        return len(self.words)

    def phrases_text(self) -> str | None:
        """The text of the model's phrase table (``phrases.tsv``, checked as every
        listed file is when the model loaded), or None for a model without one."""
        if PHRASES not in self.manifest["files"]:
            return None
        try:
            return (self.path / PHRASES).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ModelFormatError(f"{_shown(self.path / PHRASES)}: unreadable ({error})") from None

    def watch(self, name: str) -> None:
        """Add the model file ``name``, memory-mapped by a caller (an index), to the
        files :meth:`check_unchanged` checks."""
        self.mapped.append(_MappedFile(self.path / name))

    def release(self) -> None:
        """Drop the pages of the model's mapped files (arrays, words and word index)
        from this process's resident memory (:func:`release_pages`): loading reads
        all of the word index to check it, and a process that then uses only some
        files (an index build, the matrix) holds only those."""
        for array in (*self.arrays.values(), *self.words.arrays.values()):
            release_pages(array)

    def check_unchanged(self) -> None:
        """Raise ModelFormatError naming the first mapped file that was changed in place
        since it was opened (an ``fstat`` a file: about 2 µs).

        A file truncated under a memory map raises SIGBUS, which kills the process,
        when a page past its new end is touched; one rewritten in place changes the
        values under the vocabulary. A file replaced by rename (as :func:`write_model`
        does) or deleted is harmless: the map keeps the old file, and so does the
        descriptor this checks.
        """
        for file in self.mapped:
            now = os.fstat(file.descriptor)
            if (now.st_size, now.st_mtime_ns) != (file.size, file.mtime):
                raise ModelFormatError(
                    f"{file.name}: changed on disk while served "
                    f"({now.st_size:,} bytes, {file.size:,} when loaded); "
                    "restart the server to load the model again"
                )


class _MappedFile:
    """A memory-mapped file of a model: an open descriptor of it (of its inode,
    whatever becomes of its name), and its size and mtime (ns) when it was mapped."""

    def __init__(self, file: Path):
        self.name = _shown(file)
        self.descriptor = os.open(file, os.O_RDONLY)
        status = os.fstat(self.descriptor)
        self.size, self.mtime = status.st_size, status.st_mtime_ns

    def __del__(self, close=os.close) -> None:  # os may be gone at interpreter exit
        close(self.descriptor)


def _check_vocabulary(words: list[str], counts: np.ndarray | None, rows: int) -> None:
    if not words:
        raise ValueError("the vocabulary is empty")
    if len(words) != rows:
        raise ValueError(f"{len(words)} words but {rows} vector rows")
    if len(set(words)) != len(words):
        raise ValueError("the vocabulary has duplicate words")
    for word in words:
        if not word or "\n" in word:
            raise ValueError(f"invalid vocabulary word {word!r} (empty or with a newline)")
    if counts is not None and counts.shape != (rows,):
        raise ValueError(f"counts have shape {counts.shape}, expected ({rows},)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _work_dir(target: Path, kind: str) -> Path:
    """A new name for a writer's ``kind`` directory beside the model ``target``."""
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _left_behind(target: Path) -> list[tuple[str, Path]]:
    """(kind, path) of the work directories of model ``target`` whose writer is dead."""
    found = []
    for entry in sorted(target.parent.glob(f".{glob.escape(target.name)}.*-*")):
        match = _WORK_DIR.fullmatch(entry.name)
        if match and match["name"] == target.name and not _alive(int(match["pid"])):
            found.append((match["kind"], entry))
    return found


def _restore_retired(target: Path) -> None:
    """Put back the previous model a writer retired and died before replacing: the
    model is missing and a dead writer's ``.NAME.old-*`` holds a complete one."""
    if target.exists():
        return
    for kind, entry in _left_behind(target):
        if kind == "old" and (entry / MANIFEST).is_file():
            try:
                os.rename(entry, target)
            except OSError as error:  # read-only, or another process was quicker
                log.warning("could not restore model %s: %s", target.name, _reason(error))
            else:
                log.warning("model %s restored: a writer died while replacing it", target.name)
            return


def _clean_up_after_dead_writers(target: Path) -> None:
    """What killed writers of model ``target`` left: a previous model put back if the
    model is missing, every other work directory (partial, scratch, old) removed."""
    _restore_retired(target)
    for _, entry in _left_behind(target):
        shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _work_directory(out: str | os.PathLike, kind: str) -> Iterator[tuple[Path, Path]]:
    """(the model path ``out`` made absolute, a new ``kind`` work directory beside it),
    after cleaning up what dead writers of that model left; the work directory is
    removed on exit unless it was renamed into place."""
    target = Path(out).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_up_after_dead_writers(target)
    directory = _work_dir(target, kind)
    directory.mkdir()
    try:
        yield target, directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def scratch_directory(out: str | os.PathLike) -> Iterator[Path]:
    """A private directory for a trainer's temporary files, beside the model it will
    write at ``out`` (``.NAME.scratch-PID-*``, so on the same disk and hidden from
    :func:`find_models`). Removed on exit; if the process is killed first, the next
    writer of NAME removes it (as it removes dead writers' partial models)."""
    with _work_directory(out, "scratch") as (_, directory):
        yield directory


@contextlib.contextmanager
def publish_directory(out: str | os.PathLike) -> Iterator[Path]:
    """Build a folder and publish it at ``out`` atomically (models and counts alike).

    Yields a new hidden sibling ``.NAME.partial-PID-*`` (what dead writers of NAME
    left is cleaned up first) for the caller to fill, its manifest included (see
    :func:`file_checksums`). When the block ends without an error, every file and the
    folder are flushed to disk (fsync) and the folder is renamed to ``out``, replacing
    what was there; the previous folder waits as ``.NAME.old-PID-*`` meanwhile, so a
    process killed in between leaves it for the next reader or writer to put back. On
    an error the partial folder is removed and nothing at ``out`` changes.
    """
    with _work_directory(out, "partial") as (target, partial):
        yield partial
        for file in sorted(partial.iterdir()):
            _fsync(file)
        _fsync(partial)
        if target.exists():
            # Killed between these two renames, this process leaves the old folder only
            # in .NAME.old-PID-*: the next reader or writer puts it back.
            retired = _work_dir(target, "old")
            os.rename(target, retired)
            try:
                os.rename(partial, target)
            except BaseException:
                os.rename(retired, target)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(partial, target)
        _fsync(target.parent)


def file_checksums(directory: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The manifest's ``files`` block: ``{name: {"sha256", "bytes"}}`` of every file of
    ``directory`` but the manifest itself, by name; what :func:`load_model` (and the
    counts reader) check."""
    return {
        file.name: {"sha256": _sha256(file), "bytes": file.stat().st_size}
        for file in sorted(Path(directory).iterdir())
        if file.name != MANIFEST
    }


def write_model(
    path: str | os.PathLike,
    *,
    kind: str,
    words: list[str],
    vectors: np.ndarray,
    counts: np.ndarray | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    manifest: Mapping[str, Any] | None = None,
    dtype: str = "float32",
    phrases: str | None = None,
) -> Path:
    """Write a model directory atomically, replacing any model already at ``path``.

    Parameters
    ----------
    kind : what trained the vectors, a lower-case name: ``"pmi"``, ``"word2vec"``,
        ``"imported"``, … (the server chooses the model's family from the kind and
        the ``output_layers`` manifest field; an unknown kind serves as plain vectors).
    words : list of V distinct words, row order of every matrix.
    vectors : array (V, d) of any float dtype (a memory map is fine: it is read a
        chunk of rows at a time, never copied whole, each chunk's pages released
        after it), stored as ``dtype``.
    counts : int array (V,) of corpus counts, or None when unknown.
    arrays : further named arrays stored as given (names must be identifiers).
    manifest : further manifest fields (``tokenizer``, ``corpus``, ``params``,
        ``training``, ``evaluation``, ``output_layers``, …).
    dtype : how ``vectors`` are stored, one of :data:`DTYPES`; ``norms`` are those of
        the stored rows, float32.
    phrases : the text of the phrase table the tokenizer joins with
        (``PhraseTable.to_text()``), stored as ``phrases.tsv``; None: no phrases.

    Returns the final path. The model is published already verified (its stamp
    written): its checksums are computed from the files as written.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"invalid model kind {kind!r}: a lower-case name such as 'pmi'")
    if dtype not in DTYPES:
        raise ValueError(f"vectors dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    stored = np.dtype(dtype)
    vectors = np.asarray(vectors)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (V, d), got shape {vectors.shape}")
    if counts is not None:
        counts = np.ascontiguousarray(counts, dtype=np.int64)
    words = list(words)
    _check_vocabulary(words, counts, vectors.shape[0])
    if count := _non_finite_as(vectors, stored):  # what loading would refuse is not written
        beyond = (
            f" (float16 holds at most ±{np.finfo(np.float16).max:g})" if dtype == "float16" else ""
        )
        raise ValueError(f"vectors: {_values(count)} not finite{beyond} (NaN or infinite)")
    data: dict[str, tuple[np.ndarray, np.dtype]] = {
        "vectors": (vectors, stored),
        "norms": (_row_norms(vectors, stored), np.dtype(np.float32)),
    }
    if counts is not None:
        data["counts"] = (counts, counts.dtype)
    words_text = ("\n".join(words) + "\n").encode("utf-8")
    for name, array in vocabulary.index_arrays(np.frombuffer(words_text, dtype=np.uint8)).items():
        data[name] = (array, array.dtype)
    for name, array in (arrays or {}).items():
        if (
            not name.isidentifier()
            or name in data
            or name in ("words", "manifest", "counts", *_LEGACY_ARRAYS)
        ):
            raise ValueError(f"invalid or reserved array name {name!r}")
        array = np.ascontiguousarray(array)
        if count := _non_finite(array):
            raise ValueError(f"{name}: {_values(count)} not finite (NaN or infinite)")
        data[name] = (array, array.dtype)

    with publish_directory(path) as partial:
        (partial / WORDS).write_bytes(words_text)
        if phrases is not None:
            (partial / PHRASES).write_text(phrases, encoding="utf-8")
        for name, (array, as_dtype) in data.items():
            _save(partial / f"{name}.npy", array, as_dtype)
        document = {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "dim": int(vectors.shape[1]),
            "vocab_size": len(words),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "output_layers": [],
            **dict(manifest or {}),
            "word_index": {"hash": vocabulary.HASH, "suggestions": suggestions.VERSION},
            "arrays": {
                name: {"shape": list(array.shape), "dtype": str(as_dtype)}
                for name, (array, as_dtype) in data.items()
            },
            "files": file_checksums(partial),
        }
        (partial / MANIFEST).write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n",
            encoding="utf-8",
        )
        # Renaming the folder keeps the files' inodes and times: the stamp holds.
        _write_stamp(
            partial,
            {
                name: {"sha256": entry["sha256"], **_stamp_entry(partial / name)}
                for name, entry in document["files"].items()
            },
        )
    return Path(path).absolute()


def add_files(
    path: str | os.PathLike,
    write: Callable[[Path], Mapping[str, Any]],
    remove: Iterable[str] = (),
) -> Path:
    """Publish the model at ``path`` again with files added: ``write(folder)`` writes
    them into the new model folder and returns manifest fields to set (describing
    them); the files ``remove`` are left out. The other files are carried over (hard
    links where the file system allows, else copies) after their sizes and checksums
    are checked, so a corrupted file is never carried into a fresh manifest; the new
    files are listed and checksummed in ``files``. Atomic as :func:`write_model`.
    """
    path = Path(path)
    manifest = read_manifest(path)
    removed = set(remove)
    kept = {name: entry for name, entry in manifest["files"].items() if name not in removed}
    for name, expected in kept.items():
        _check_file(path, name, expected, verify=True)
    protected = {"format_version", "kind", "dim", "vocab_size", "files", "arrays"}
    with publish_directory(path) as partial:
        for name in kept:
            try:
                os.link(path / name, partial / name)
            except OSError:
                shutil.copy2(path / name, partial / name)
        fields = dict(write(partial))
        if protected & fields.keys():
            raise ValueError(f"cannot change {sorted(protected & fields.keys())}")
        added = {
            file.name: {"sha256": _sha256(file), "bytes": file.stat().st_size}
            for file in sorted(partial.iterdir())
            if file.name not in kept and file.name != MANIFEST
        }
        document = {**manifest, **fields, "files": {**kept, **added}}
        (partial / MANIFEST).write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=json_default) + "\n",
            encoding="utf-8",
        )
    return path.absolute()


def json_default(value: Any) -> Any:
    """``json.dumps``' ``default`` for manifests: numpy scalars and arrays, paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the model at ``path``, checked for its format version and
    required fields (no other file is read); :class:`ModelFormatError` if not a
    model."""
    if not path.is_dir():
        raise ModelFormatError(f"model {path.name!r} not found: not a directory")
    manifest_path = path / MANIFEST
    shown = _shown(manifest_path)
    if not manifest_path.is_file():
        raise ModelFormatError(f"{shown}: missing, {path.name!r} is not a complete model")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise ModelFormatError(f"{shown}: not valid JSON ({_reason(error)})") from None
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{shown}: not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{shown}: format version {version!r}, this wordlens reads {FORMAT_VERSION}"
        )
    for key in ("kind", "dim", "vocab_size", "files", "arrays"):
        if key not in manifest:
            raise ModelFormatError(f"{shown}: missing field {key!r}")
    for key in ("files", "arrays"):
        if not isinstance(manifest[key], dict) or not all(
            isinstance(entry, dict) for entry in manifest[key].values()
        ):
            raise ModelFormatError(f"{shown}: {key!r} is not an object of objects")
    return manifest


def _check_file(
    path: Path, name: str, expected: dict[str, Any], verify: bool
) -> dict[str, Any] | None:
    """Refuse the file ``name`` the manifest lists unless it is a plain file of the model
    folder ``path`` of the listed size (and checksum, with ``verify``). With ``verify``,
    returns the file's stamp entry, taken before reading it (and unchanged after)."""
    if not _FILE_NAME.fullmatch(name):
        raise ModelFormatError(
            f"{_shown(path / MANIFEST)}: {name[:200]!r} is not a plain file name "
            "of the model folder"
        )
    file = path / name
    if not file.is_file():
        raise ModelFormatError(f"{_shown(file)}: missing")
    if file.resolve().parent != path.resolve():
        raise ModelFormatError(f"{_shown(file)}: a link that leads outside the model folder")
    size = file.stat().st_size
    if size != expected.get("bytes"):
        raise ModelFormatError(
            f"{_shown(file)}: {size} bytes, the manifest says {expected.get('bytes')} "
            "(truncated or replaced)"
        )
    if not verify:
        return None
    before = _identity(file.stat())
    entry = {"sha256": expected.get("sha256"), **_stamp_entry(file)}
    if _sha256(file) != expected.get("sha256"):
        raise ModelFormatError(f"{_shown(file)}: checksum mismatch (corrupted or modified)")
    if _identity(file.stat()) != before:
        raise ModelFormatError(f"{_shown(file)}: changed while being verified")
    return entry


def _load_array(
    path: Path, name: str, spec: dict[str, Any], files: dict[str, Any], finite: bool
) -> np.ndarray:
    """The array ``name`` memory-mapped, refused unless its file is listed (so checked),
    its shape and dtype are as ``spec`` says and (with ``finite``) its values finite."""
    if not name.isidentifier():
        raise ModelFormatError(
            f"{_shown(path / MANIFEST)}: array name {name[:200]!r} is not an identifier"
        )
    file = path / f"{name}.npy"
    if file.name not in files:
        raise ModelFormatError(f"{_shown(file)}: not listed in the manifest's files")
    try:
        array = np.load(file, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ModelFormatError(
            f"{_shown(file)}: not a readable .npy array ({_reason(error)})"
        ) from None
    if list(array.shape) != spec.get("shape") or str(array.dtype) != spec.get("dtype"):
        raise ModelFormatError(
            f"{_shown(file)}: shape {array.shape} {array.dtype}, "
            f"the manifest says {spec.get('shape')} {spec.get('dtype')}"
        )
    if finite and (count := _non_finite(array)):
        raise ModelFormatError(f"{_shown(file)}: {_values(count)} not finite (NaN or infinite)")
    return array


Verify = bool | Literal["full"]


def load_model(path: str | os.PathLike, verify: Verify = True) -> Model:
    """Open a model directory; arrays are memory-mapped read-only.

    File names, sizes and shapes are always checked. ``verify=True`` checks the
    SHA-256 of every file and that float arrays are finite unless the model's stamp
    says this was done and no file changed since (then a load reads about 150 KiB
    per file); a load that verifies records the stamp (if the folder is writable).
    ``verify="full"`` verifies whatever the stamp says; ``verify=False`` skips the
    checksums (finite values are still checked). Raises :class:`ModelFormatError`
    naming the file at fault relative to the models folder (``MODEL/FILE``).
    """
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest["files"]
    stamped = verify is True and _stamp_holds(path, files)
    hash_files = bool(verify) and not stamped
    entries = {
        name: _check_file(path, name, expected, hash_files) for name, expected in files.items()
    }
    arrays = {
        name: _load_array(path, name, spec, files, finite=not stamped)
        for name, spec in manifest["arrays"].items()
        if name not in _LEGACY_ARRAYS
    }

    words = _open_vocabulary(path, manifest, arrays)
    for required in ("vectors", "norms"):
        if required not in arrays:
            raise ModelFormatError(
                f"{_shown(path / (required + '.npy'))}: missing from the manifest"
            )
    vectors = arrays["vectors"]
    if vectors.shape != (manifest["vocab_size"], manifest["dim"]):
        raise ModelFormatError(
            f"{_shown(path / 'vectors.npy')}: shape {vectors.shape}, the manifest says "
            f"({manifest['vocab_size']}, {manifest['dim']})"
        )
    if vectors.dtype.name not in DTYPES:
        raise ModelFormatError(
            f"{_shown(path / 'vectors.npy')}: dtype {vectors.dtype}, not one of {', '.join(DTYPES)}"
        )
    if len(words) != vectors.shape[0]:
        raise ModelFormatError(
            f"{_shown(path / WORDS)}: {len(words)} words for {vectors.shape[0]} vectors"
        )
    if hash_files:
        _write_stamp(path, {name: entry for name, entry in entries.items() if entry})
    mapped = [_MappedFile(path / f"{name}.npy") for name in arrays]
    return Model(
        path=path,
        manifest=manifest,
        words=words,
        counts=arrays.pop("counts", None),
        arrays=arrays,
        mapped=[*mapped, _MappedFile(path / WORDS)],
    )


def _open_vocabulary(
    path: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Vocabulary:
    """The vocabulary of the model at ``path``: words.txt memory-mapped, with the index
    arrays taken out of ``arrays``, or (a model written before them, or with another
    hash) the index built in memory."""
    words_file = path / WORDS
    shown = _shown(words_file)
    try:
        blob = np.memmap(words_file, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as error:  # ValueError: an empty file
        raise ModelFormatError(f"{shown}: unreadable ({_reason(error)})") from None
    index = {name: np.asarray(arrays.pop(name)) for name in vocabulary.ARRAYS if name in arrays}
    suggest = {name: np.asarray(arrays.pop(name)) for name in suggestions.ARRAYS if name in arrays}
    stored = manifest.get("word_index")
    try:
        if isinstance(stored, dict) and stored.get("hash") == vocabulary.HASH:
            if len(index) < len(vocabulary.ARRAYS):
                missing = sorted(vocabulary.ARRAYS.keys() - index.keys())
                raise ModelFormatError(f"{shown}: its index {missing} is missing")
            if stored.get("suggestions") != suggestions.VERSION:
                started = time.perf_counter()
                suggest = suggestions.index_arrays(np.asarray(blob))
                log.info(
                    "model %s has no stored suggestion index (written before wordlens "
                    "stored one): built in memory in %.1f s, about 120 bytes a word in "
                    "each process; `wordlens upgrade %s` stores it",
                    path.name,
                    time.perf_counter() - started,
                    path.name,
                )
            elif len(suggest) < len(suggestions.ARRAYS):
                missing = sorted(suggestions.ARRAYS.keys() - suggest.keys())
                raise ModelFormatError(f"{shown}: its index {missing} is missing")
            return Vocabulary(np.asarray(blob), {**index, **suggest})
        started = time.perf_counter()
        words = Vocabulary.build(np.asarray(blob))
    except UnicodeDecodeError as error:
        raise ModelFormatError(f"{shown}: unreadable ({error})") from None
    except ValueError as error:
        if isinstance(error, ModelFormatError):
            raise
        raise ModelFormatError(f"{shown}: {error}, or its index does not match it") from None
    log.info(
        "model %s has no stored word index (written before wordlens stored one): "
        "built in memory in %.1f s, 24 bytes a word in each process; "
        "`wordlens upgrade %s` stores it",
        path.name,
        time.perf_counter() - started,
        path.name,
    )
    return words


# Manifest fields write_model computes from the data (the others are descriptive).
_COMPUTED_FIELDS = ("format_version", "kind", "dim", "vocab_size", "arrays", "files", "word_index")


def upgrade_model(path: str | os.PathLike) -> bool:
    """Write the model at ``path`` again, atomically, so that it has what
    :func:`write_model` writes today (the shared word index); its vectors, counts,
    other arrays and descriptive manifest fields (``created`` included) stay as they
    are. The model is verified first. Returns False, changing nothing, if it is
    already current."""
    model = load_model(path)
    stored = model.manifest.get("word_index")
    if stored == {"hash": vocabulary.HASH, "suggestions": suggestions.VERSION}:
        return False
    derived = ("vectors", "vectors_norm", "norms")  # written from the vectors
    write_model(
        path,
        kind=model.kind,
        words=list(model.words),
        vectors=model.vectors,
        counts=model.counts,
        dtype=model.vectors.dtype.name,
        arrays={name: array for name, array in model.arrays.items() if name not in derived},
        manifest={k: v for k, v in model.manifest.items() if k not in _COMPUTED_FIELDS},
    )
    return True


def verify_model(path: str | os.PathLike) -> Model:
    """Load the model at ``path`` reading every file whole (``verify="full"``), and
    record the result in its stamp; ModelFormatError if anything is wrong."""
    return load_model(path, verify="full")


def update_manifest(path: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Set top-level manifest fields (e.g. ``evaluation``) in place, atomically.

    Only descriptive fields may change; the data files and their checksums cannot.
    """
    path = Path(path)
    manifest = read_manifest(path)
    protected = {"format_version", "kind", "dim", "vocab_size", "files", "arrays"}
    if protected & fields.keys():
        raise ValueError(f"cannot change {sorted(protected & fields.keys())}")
    manifest.update(fields)
    temporary = path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=json_default) + "\n",
        encoding="utf-8",
    )
    _fsync(temporary)
    os.replace(temporary, path / MANIFEST)
    return manifest


def _not_a_model(entry: Path) -> str | None:
    """Why an entry of the models folder is not a model folder (None if it is one)."""
    if entry.name.startswith("."):
        return "hidden (work folders of writers are)"
    if not entry.exists():
        return "a link that leads nowhere"
    if not entry.is_dir():
        return "not a folder"
    if not (entry / MANIFEST).is_file():
        return f"no {MANIFEST}, so not a model"
    return None


def find_models(models_dir: str | os.PathLike) -> dict[str, Path]:
    """name → path of every model folder of ``models_dir``: the folders that hold a
    manifest (loading one that is broken reports what is wrong). Every other entry
    (hidden, a file, ``lost+found``, a link to nothing) is skipped with a log line.
    A model that a writer killed mid-replace left only as ``.NAME.old-*`` is put back
    first.
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return {}
    for entry in models_dir.glob(".*.old-*-*"):
        if match := _WORK_DIR.fullmatch(entry.name):
            _restore_retired(models_dir / match["name"])
    found = {}
    for entry in sorted(models_dir.iterdir()):
        if why := _not_a_model(entry):
            log.info("skipping %r in the models folder: %s", entry.name, why)
        else:
            found[entry.name] = entry
    return found


def models_dir() -> Path:
    """The models directory: ``$WORDLENS_MODELS``, or ``./models``."""
    return Path(os.environ.get("WORDLENS_MODELS", "models"))


def model_path(name_or_path: str | os.PathLike) -> Path:
    """A model given as a directory path, or as a name inside :func:`models_dir`."""
    path = Path(name_or_path)
    if path.is_dir() or len(path.parts) > 1:
        return path
    return models_dir() / path
