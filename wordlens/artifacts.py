"""The model artifact format: the one place that writes and reads trained models.

A model is a directory::

    NAME/
      manifest.json      format version, kind, sizes, tokenizer, corpus, parameters,
                         training log, evaluation scores, output layers, and the
                         SHA-256 and size of every data file below
      words.txt          the vocabulary, one word per line ("\\n"-separated, UTF-8),
                         most frequent first; row i of every matrix is word i
      counts.npy         int64 (V,) corpus counts (absent for imported vectors)
      vectors.npy        float32 (V, d) word vectors
      vectors_norm.npy   float32 (V, d) the same rows scaled to unit length
                         (an all-zero row stays zero); written here, never by callers
      norms.npy          float32 (V,) the Euclidean length of each row of vectors;
                         written here too
      <extra>.npy        model-specific arrays, e.g. for Word2Vec:
                         syn1 float32 (V, d) (the V − 1 inner nodes of the Huffman
                         tree, and gensim's unused last row), hs_points int32 (V, L),
                         hs_codes int8 (V, L), hs_lengths int32 (V,), syn1neg float32 (V, d)

Matrices are opened with ``mmap_mode="r"``, so several server workers share the page
cache instead of holding copies. Writing is atomic: everything is built in a hidden
sibling directory (``.NAME.partial-PID``) and renamed into place at the end, so an
interrupted run never leaves something that looks like a model. Loading checks the
format version, the files' sizes and (unless ``verify=False``) their checksums, and
refuses a broken or partial model with :class:`ModelFormatError` naming the file.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FORMAT_VERSION",
    "Model",
    "ModelFormatError",
    "find_models",
    "load_model",
    "model_path",
    "models_dir",
    "update_manifest",
    "write_model",
]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WORDS = "words.txt"
_CHUNK = 1 << 22


class ModelFormatError(ValueError):
    """A model directory is missing, partial, corrupted or of another format."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unit_rows(vectors: np.ndarray, norms: np.ndarray) -> np.ndarray:
    norms = norms[:, None]
    return np.divide(vectors, norms, out=np.zeros(vectors.shape), where=norms > 0)


@dataclass
class Model:
    """A loaded model: manifest, vocabulary and memory-mapped arrays.

    ``arrays`` maps names (``vectors``, ``vectors_norm``, ``syn1``, …) to
    read-only ``np.memmap`` views. ``counts`` is ``None`` for imported vectors.
    """

    path: Path
    manifest: dict[str, Any]
    words: list[str]
    counts: np.ndarray | None
    arrays: dict[str, np.ndarray]
    _index: dict[str, int] | None = field(default=None, repr=False)

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
    def vectors_norm(self) -> np.ndarray:
        return self.arrays["vectors_norm"]

    @property
    def norms(self) -> np.ndarray:
        return self.arrays["norms"]

    @property
    def index(self) -> dict[str, int]:
        """word → row, built on first use."""
        if self._index is None:
            self._index = {word: i for i, word in enumerate(self.words)}
        return self._index

    def __len__(self) -> int:
        return len(self.words)


def _check_vocabulary(words: list[str], counts: np.ndarray | None, rows: int) -> None:
    if len(words) != rows:
        raise ValueError(f"{len(words)} words but {rows} vector rows")
    if len(set(words)) != len(words):
        raise ValueError("the vocabulary has duplicate words")
    for word in words:
        if not word or "\n" in word:
            raise ValueError(f"invalid vocabulary word {word!r} (empty or with a newline)")
    if counts is not None and counts.shape != (rows,):
        raise ValueError(f"counts have shape {counts.shape}, expected ({rows},)")


def _remove_stale_partials(parent: Path, name: str) -> None:
    """Remove ``.NAME.partial-PID-*`` left by writers that died (their PID is gone)."""
    for partial in parent.glob(f".{name}.partial-*"):
        try:
            pid = int(partial.name.rsplit("partial-", 1)[1].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(partial, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            continue


def write_model(
    path: str | os.PathLike,
    *,
    kind: str,
    words: list[str],
    vectors: np.ndarray,
    counts: np.ndarray | None = None,
    arrays: Mapping[str, np.ndarray] | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model directory atomically, replacing any model already at ``path``.

    Parameters
    ----------
    kind : what trained the vectors, a lower-case name: ``"pmi"``, ``"word2vec"``,
        ``"imported"``, … (the server chooses the model's family from the kind and
        the ``output_layers`` manifest field; an unknown kind serves as plain vectors).
    words : list of V distinct words, row order of every matrix.
    vectors : array (V, d), stored as float32.
    counts : int array (V,) of corpus counts, or None when unknown.
    arrays : further named arrays stored as given (names must be identifiers).
    manifest : further manifest fields (``tokenizer``, ``corpus``, ``params``,
        ``training``, ``evaluation``, ``output_layers``, …).

    Returns the final path.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"invalid model kind {kind!r}: a lower-case name such as 'pmi'")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (V, d), got shape {vectors.shape}")
    if counts is not None:
        counts = np.ascontiguousarray(counts, dtype=np.int64)
    words = list(words)
    _check_vocabulary(words, counts, vectors.shape[0])
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)  # float32 squares overflow
    data = {
        "vectors": vectors,
        "vectors_norm": _unit_rows(vectors, norms).astype(np.float32),
        "norms": norms.astype(np.float32),
    }
    if counts is not None:
        data["counts"] = counts
    for name, array in (arrays or {}).items():
        if not name.isidentifier() or name in data or name in ("words", "manifest", "counts"):
            raise ValueError(f"invalid or reserved array name {name!r}")
        data[name] = np.ascontiguousarray(array)

    target = Path(path).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target.parent, target.name)
    partial = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    partial.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        (partial / WORDS).write_text("\n".join(words) + "\n", encoding="utf-8")
        for name, array in data.items():
            np.save(partial / f"{name}.npy", array, allow_pickle=False)
        for file in sorted(p for p in partial.iterdir()):
            _fsync(file)
            files[file.name] = {"sha256": _sha256(file), "bytes": file.stat().st_size}
        document = {
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "dim": int(vectors.shape[1]),
            "vocab_size": len(words),
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "output_layers": [],
            **dict(manifest or {}),
            "arrays": {
                name: {"shape": list(array.shape), "dtype": str(array.dtype)}
                for name, array in data.items()
            },
            "files": files,
        }
        (partial / MANIFEST).write_text(
            json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n",
            encoding="utf-8",
        )
        _fsync(partial / MANIFEST)
        _fsync(partial)
        if target.exists():
            retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(target, retired)
            os.rename(partial, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(partial, target)
        _fsync(target.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_dir():
        raise ModelFormatError(f"model not found: {path} is not a directory")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelFormatError(f"{manifest_path}: missing, {path} is not a complete model")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelFormatError(f"{manifest_path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelFormatError(f"{manifest_path}: not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{manifest_path}: format version {version!r}, this wordlens reads {FORMAT_VERSION}"
        )
    for key in ("kind", "dim", "vocab_size", "files", "arrays"):
        if key not in manifest:
            raise ModelFormatError(f"{manifest_path}: missing field {key!r}")
    return manifest


def load_model(path: str | os.PathLike, verify: bool = True) -> Model:
    """Open a model directory; arrays are memory-mapped read-only.

    ``verify=False`` skips the SHA-256 checks (sizes and shapes are still checked).
    Raises :class:`ModelFormatError` naming the file at fault.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    for name, expected in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise ModelFormatError(f"{file}: missing")
        if file.stat().st_size != expected.get("bytes"):
            raise ModelFormatError(
                f"{file}: {file.stat().st_size} bytes, the manifest says {expected.get('bytes')} "
                "(truncated or replaced)"
            )
        if verify and _sha256(file) != expected.get("sha256"):
            raise ModelFormatError(f"{file}: checksum mismatch (corrupted or modified)")

    arrays: dict[str, np.ndarray] = {}
    for name, spec in manifest["arrays"].items():
        file = path / f"{name}.npy"
        if file.name not in manifest["files"]:
            raise ModelFormatError(f"{file}: not listed in the manifest's files")
        try:
            array = np.load(file, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            raise ModelFormatError(f"{file}: not a readable .npy array ({error})") from None
        if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
            raise ModelFormatError(
                f"{file}: shape {array.shape} {array.dtype}, "
                f"the manifest says {tuple(spec['shape'])} {spec['dtype']}"
            )
        arrays[name] = array

    words_file = path / WORDS
    try:
        words = words_file.read_text(encoding="utf-8").split("\n")[:-1]
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFormatError(f"{words_file}: unreadable ({error})") from None
    for required in ("vectors", "vectors_norm", "norms"):
        if required not in arrays:
            raise ModelFormatError(f"{path / (required + '.npy')}: missing from the manifest")
    vectors = arrays["vectors"]
    if vectors.shape != (manifest["vocab_size"], manifest["dim"]):
        raise ModelFormatError(
            f"{path / 'vectors.npy'}: shape {vectors.shape}, the manifest says "
            f"({manifest['vocab_size']}, {manifest['dim']})"
        )
    if len(words) != vectors.shape[0]:
        raise ModelFormatError(f"{words_file}: {len(words)} words for {vectors.shape[0]} vectors")
    return Model(
        path=path,
        manifest=manifest,
        words=words,
        counts=arrays.pop("counts", None),
        arrays=arrays,
    )


def update_manifest(path: str | os.PathLike, **fields: Any) -> dict[str, Any]:
    """Set top-level manifest fields (e.g. ``evaluation``) in place, atomically.

    Only descriptive fields may change; the data files and their checksums cannot.
    """
    path = Path(path)
    manifest = _read_manifest(path)
    protected = {"format_version", "kind", "dim", "vocab_size", "files", "arrays"}
    if protected & fields.keys():
        raise ValueError(f"cannot change {sorted(protected & fields.keys())}")
    manifest.update(fields)
    temporary = path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default) + "\n",
        encoding="utf-8",
    )
    _fsync(temporary)
    os.replace(temporary, path / MANIFEST)
    return manifest


def find_models(models_dir: str | os.PathLike) -> dict[str, Path]:
    """name → path of every model directory under ``models_dir``.

    Hidden directories (partial writes, retired models) are ignored; a directory
    without a manifest is listed too, so that loading it reports what is wrong.
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(models_dir.iterdir())
        if entry.is_dir() and not entry.name.startswith(".")
    }


def models_dir() -> Path:
    """The models directory: ``$WORDLENS_MODELS``, or ``./models``."""
    return Path(os.environ.get("WORDLENS_MODELS", "models"))


def model_path(name_or_path: str | os.PathLike) -> Path:
    """A model given as a directory path, or as a name inside :func:`models_dir`."""
    path = Path(name_or_path)
    if path.is_dir() or len(path.parts) > 1:
        return path
    return models_dir() / path
