"""Approximate nearest neighbours over a model's rows: build, save, open, search.

The one module that imports the index library (faiss, chosen by
``bench/bench_ann.py``: see the README). An index is a graph (HNSW) over one
*space* of a model's rows, each row stored as 8-bit codes (faiss's scalar
quantiser, a quarter of the float32 row: no second copy of the matrix), saved as a
file of the model folder, listed and checksummed in the manifest like every other
file, and described under the manifest's ``neighbours`` field (library, version,
type, parameters, build seconds; a cosine index also its tuned default ``effort``
and the ``recall`` measured at each effort tried, see :class:`_EffortTuning`):

==========  ==========================================  ===========================
space       rows indexed (V, d')                        a query q (d',) ranks rows by
==========  ==========================================  ===========================
``cosine``  the unit rows of the vectors, x/‖x‖ (zero   cosine: ⟨x/‖x‖, q/‖q‖⟩
            rows stay zero)
``related`` rows r_b given by the model's family (its   the inner product ⟨r_b, q⟩
            ``related_rows``: PMI vectors; Word2Vec
            output-layer rows and biases)
==========  ==========================================  ===========================

``related`` (maximum inner-product search) answers related words: for PMI the score
⟨v_a, v_b⟩ itself, for Word2Vec a linear form of it that the engine rescores. It is
faiss's HNSW with its inner-product metric on the raw rows: on the default PMI
model it finds 0.99 of the exact top 10 at effort 64,
where the known reduction to cosine search (rows [x/M, √(1 − ‖x‖²/M²)], M the
largest norm, queries [q, 0]) finds 0.65, because it piles the many short rows up
near one axis (``bench/bench_ann.py --mips-model``; README). Indexes are opened
memory-mapped (``IO_FLAG_MMAP_IFC``): several server workers share one copy in the
page cache.

Rows are stored padded with zeros to a multiple of 8 components (``_WIDTH_MULTIPLE``).

``search`` returns the rows the graph finds and its approximate scores (from the
8-bit codes); callers rescore the candidates exactly from the model's own matrix
(the engine rescores every candidate the search kept, efSearch of them, so the
codes' rounding costs no recall). Indexes of type ``HNSWFlat`` (float32 storage;
models indexed before the ``HNSWSQ8`` type) still open and are searched the same
way. ``effort`` is HNSW's ``efSearch``: the candidate list kept while walking the
graph; more effort, better recall, slower (the README's table).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wordlens.artifacts import Model, ModelFormatError, add_files, load_model, release_pages
from wordlens.processes import CORES

__all__ = [
    "DEFAULT_EFFORT",
    "INDEX_CHOICES",
    "INDEX_THRESHOLD",
    "SPACES",
    "IndexParams",
    "NeighbourIndex",
    "add_index",
    "index_wanted",
    "open_index",
    "open_indexes",
]

log = logging.getLogger(__name__)

#: ``--index`` values: ``auto`` builds an index when the vocabulary has at least
#: INDEX_THRESHOLD words, ``hnsw`` always, ``none`` never.
INDEX_CHOICES = ("auto", "hnsw", "none")

#: Vocabulary size from which ``auto`` builds an index: below it an exact scan on one
#: thread takes under about 2.5 ms (bench/bench_ann.py, README), cheaper than the
#: index's file, build time and approximate answers are worth.
INDEX_THRESHOLD = 100_000

#: efSearch when a query says nothing and the index names no effort of its own (the
#: ``related`` space, indexes built before tuning): recall@10 about 0.97 on the
#: benchmark at 1 M × 128.
DEFAULT_EFFORT = 64

#: A ``cosine`` index stores, as its ``effort``, the least of TUNING_EFFORTS whose
#: recall@10 on _TUNING_QUERIES of the model's own words reaches TARGET_RECALL (the
#: largest if none does): 32 at 1 M × 128 (recall 0.971), 256 at 3 M × 300 (0.956,
#: where 64 found 0.881; README). Below 32 a search saves little time while recall
#: falls (at 1 M: 0.954 at 24, for 10 % less time).
TARGET_RECALL = 0.95
TUNING_EFFORTS = (32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
_TUNING_QUERIES = 500
_TUNING_K = 10
_TUNING_ROWS = 4096

#: The spaces an index can cover (module docstring).
SPACES = ("cosine", "related")

_BLOCK = 16384  # rows transformed and added at a time: 8 MiB at d 128

#: Rows the scalar quantiser learns each component's range from (seeded sample).
_TRAIN_ROWS = 65536

#: Stored rows are padded with zero components to a multiple of this: faiss's 8-bit
#: distance code is vectorised only for such widths (at d 300, GoogleNews' width, the
#: build was 8.3× slower unpadded: 30,000 rows in 55.9 against 6.7 s, the same recall).
#: Zeros change no inner product and no length.
_WIDTH_MULTIPLE = 8

#: Index types this module opens (the manifest entry's ``type``), by faiss class.
_TYPES = {"HNSWSQ8": "IndexHNSWSQ", "HNSWFlat": "IndexHNSWFlat"}


@dataclass(frozen=True)
class IndexParams:
    """HNSW's build settings: ``m`` links per node (2·m on the bottom layer) and
    ``ef_construction``, the candidate list while inserting. On 1 M clustered
    vectors × 128, M 16 / efC 100 capped recall@10 near 0.93 whatever the effort
    (0.84 at effort 64); M 32 / efC 200 reached 0.98 at effort 64 (0.44 ms p50) for
    about twice the build time."""

    m: int = 32
    ef_construction: int = 200


def _faiss():
    """faiss, imported on first use: models without an index never load it."""
    # Its loader logs every CPU-specific build it tries at INFO.
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    import faiss

    return faiss


def _stored_width(dim: int) -> int:
    """The width of a new index's rows for vectors of ``dim`` components."""
    return -(-dim // _WIDTH_MULTIPLE) * _WIDTH_MULTIPLE


def _padded(rows: np.ndarray, width: int) -> np.ndarray:
    """``rows`` (n, d) float32 with zero columns up to ``width`` (≥ d), contiguous."""
    if rows.shape[1] == width:
        return np.ascontiguousarray(rows, dtype=np.float32)
    out = np.zeros((len(rows), width), dtype=np.float32)
    out[:, : rows.shape[1]] = rows
    return out


def _space_rows(vectors: np.ndarray, space: str) -> np.ndarray:
    """The rows of ``space`` (module docstring) of ``vectors`` (n, d), float32,
    padded to :func:`_stored_width`."""
    block = np.asarray(vectors, dtype=np.float32)
    if space == "cosine":  # lengths summed in float64, no float64 copy of the block
        norms = np.sqrt(np.einsum("ij,ij->i", block, block, dtype=np.float64))[:, None]
        block = np.divide(block, norms, out=np.zeros_like(block), where=norms > 0)
    return _padded(block, _stored_width(block.shape[1]))


def _space_blocks(vectors: np.ndarray, space: str) -> Iterable[np.ndarray]:
    """The rows of ``space``, _BLOCK at a time, each block's pages released after it
    (:func:`~wordlens.artifacts.release_pages`)."""
    for start in range(0, len(vectors), _BLOCK):
        yield _space_rows(vectors[start : start + _BLOCK], space)
        release_pages(vectors)


def _train_sample(vectors: np.ndarray, space: str) -> np.ndarray:
    """A seeded sample of up to _TRAIN_ROWS rows of ``space``, in row order."""
    count = min(len(vectors), _TRAIN_ROWS)
    rows = np.sort(np.random.default_rng(0).choice(len(vectors), count, replace=False))
    sample = _space_rows(vectors[rows], space)
    release_pages(vectors)
    return sample


def _file_name(space: str) -> str:
    return f"neighbours_{space}.faiss"


class _EffortTuning:
    """Chooses a ``cosine`` index's default effort while it is built: the exact best
    rows of a seeded sample of the model's own words, accumulated a block of rows at a
    time as the index takes them (no second pass over the matrix), then the index
    searched at each of TUNING_EFFORTS."""

    def __init__(self, vectors: np.ndarray):
        count = min(len(vectors), _TUNING_QUERIES)
        own = np.sort(np.random.default_rng(1).choice(len(vectors), count, replace=False))
        queries = _space_rows(vectors[own], "cosine")
        asked = queries.any(axis=1)  # a zero vector has no neighbours to find
        self.own, self.queries = own[asked], queries[asked]
        count = len(self.own)
        self.k = _TUNING_K + 1  # the word itself is among its best rows
        self.scores = np.zeros((count, 0), dtype=np.float32)
        self.rows = np.zeros((count, 0), dtype=np.int64)
        self.seen = 0  # rows taken so far

    def add(self, block: np.ndarray) -> None:
        """Take the next ``block`` (m, d') of the index's rows into account, a slice of
        _TUNING_ROWS at a time: the (queries, rows) temporaries of a whole block took
        196 MiB and the 1 M × 128 import's peak from 1.26 to 1.40 times the matrix;
        4,096 rows take 55 MiB, for 10 s of exact products per million rows against
        9.5 s (2,048: 33 MiB, 12 s)."""
        for start in range(0, len(block), _TUNING_ROWS):
            self._add(block[start : start + _TUNING_ROWS])

    def _add(self, block: np.ndarray) -> None:
        fresh = np.arange(self.seen, self.seen + len(block))
        self.seen += len(block)
        scores = np.concatenate([self.scores, self.queries @ block.T], axis=1)
        rows = np.concatenate(
            [self.rows, np.broadcast_to(fresh, (len(self.queries), len(block)))], axis=1
        )
        keep = np.argpartition(-scores, min(self.k, scores.shape[1]) - 1, axis=1)[:, : self.k]
        self.scores = np.take_along_axis(scores, keep, axis=1)
        self.rows = np.take_along_axis(rows, keep, axis=1)

    def entry(self, index: Any) -> dict[str, Any]:
        """The manifest entry's ``effort``: the least of TUNING_EFFORTS whose
        recall@_TUNING_K reaches TARGET_RECALL (the largest if none does), with the
        recall at each effort tried. Each word asks for as many candidates as the
        effort, as the engine does (it rescores them all exactly, so a true
        neighbour among them is found); the word itself is left out of both lists."""
        if not len(self.own):  # every row sampled was zero: nothing to measure
            return {}
        faiss = _faiss()
        order = np.argsort(-self.scores, axis=1, kind="stable")
        best = np.take_along_axis(self.rows, order, axis=1)
        truth = [
            set(row[row != me][:_TUNING_K].tolist()) for row, me in zip(best, self.own, strict=True)
        ]
        recalls: dict[str, float] = {}
        for effort in TUNING_EFFORTS:
            options = faiss.SearchParametersHNSW(efSearch=effort)
            found = index.search(self.queries, min(effort, index.ntotal), params=options)[1]
            hits = sum(len(t.intersection(r.tolist())) for t, r in zip(truth, found, strict=True))
            recalls[str(effort)] = round(hits / sum(map(len, truth)), 4)
            if recalls[str(effort)] >= TARGET_RECALL:
                break
        return {
            "effort": effort,
            "target_recall": TARGET_RECALL,
            "tuning_queries": len(self.own),
            "recall": recalls,
        }


def build_index(
    vectors: np.ndarray, space: str, folder: Path, params: IndexParams = IndexParams()
) -> dict[str, Any]:
    """Build the ``space`` index of ``vectors`` (V, d'): the model's vectors for
    ``cosine``, its family's related rows for ``related``; save it into ``folder`` and
    return its manifest entry. A ``cosine`` index is tuned as it is built: its entry's
    ``effort`` is the default search effort that reaches TARGET_RECALL on a seeded
    sample of the model's own words, and ``recall`` the recall@10 measured at each
    effort tried. Uses every core (faiss's OpenMP threads)."""
    if space not in SPACES:
        raise ValueError(f"unknown index space {space!r}; choose one of {', '.join(SPACES)}")
    faiss = _faiss()
    started = time.perf_counter()
    dim = vectors.shape[1]
    index = faiss.IndexHNSWSQ(
        _stored_width(dim), faiss.ScalarQuantizer.QT_8bit, params.m, faiss.METRIC_INNER_PRODUCT
    )
    index.hnsw.efConstruction = params.ef_construction
    tuning = _EffortTuning(vectors) if space == "cosine" else None
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(CORES)  # the caller's may be 1 (threadpoolctl's limits)
    try:
        index.train(_train_sample(vectors, space))
        for rows in _space_blocks(vectors, space):
            index.add(rows)
            if tuning is not None:
                tuning.add(rows)
        tuned = tuning.entry(index) if tuning is not None else {}
    finally:
        faiss.omp_set_num_threads(threads)
    name = _file_name(space)
    faiss.write_index(index, str(folder / name))
    seconds = time.perf_counter() - started
    log.info("%s index of %s rows built in %.1f s", space, f"{len(vectors):,}", seconds)
    return {
        "file": name,
        "library": "faiss",
        "library_version": faiss.__version__,
        "type": "HNSWSQ8",
        "rows": int(len(vectors)),
        "dim": int(dim),
        "metric": "inner_product",
        **asdict(params),
        **tuned,
        "build_seconds": round(seconds, 3),
    }


def index_wanted(choice: str, vocab_size: int) -> bool:
    """Whether ``--index choice`` builds an index for a vocabulary of ``vocab_size``."""
    if choice not in INDEX_CHOICES:
        raise ValueError(f"unknown --index {choice!r}; choose one of {', '.join(INDEX_CHOICES)}")
    return choice == "hnsw" or (choice == "auto" and vocab_size >= INDEX_THRESHOLD)


def add_index(
    path: str | Path,
    choice: str = "hnsw",
    related_rows: Callable[[Model], np.ndarray | None] | None = None,
    params: IndexParams = IndexParams(),
) -> dict[str, Any]:
    """Give the model at ``path`` the indexes ``choice`` calls for (``auto``: only at
    INDEX_THRESHOLD words or more), replacing any it has (``none`` removes them): a
    ``cosine`` index, and a ``related`` one over ``related_rows(model)`` unless that
    is None (the command line passes the model family's rows). The model is
    published again atomically with the index files listed and checksummed.
    Returns the manifest's new ``neighbours`` field ({} when no index)."""
    model = load_model(path)
    model.release()  # what the load's checks read: the build maps only the matrix
    old = [entry["file"] for entry in model.manifest.get("neighbours", {}).values()]
    if not index_wanted(choice, len(model)) and not old:
        return {}
    entries: dict[str, Any] = {}

    def write(folder: Path) -> Mapping[str, Any]:
        if index_wanted(choice, len(model)):
            entries["cosine"] = build_index(model.vectors, "cosine", folder, params)
            rows = None if related_rows is None else related_rows(model)
            if rows is not None:
                entries["related"] = build_index(rows, "related", folder, params)
        return {"neighbours": entries}

    add_files(path, write, remove=old)
    return entries


class NeighbourIndex:
    """One opened index (module docstring): ``search`` answers batches of queries."""

    def __init__(self, path: Path, space: str, rows: int, dim: int, effort: int = DEFAULT_EFFORT):
        faiss = _faiss()
        shown = f"{path.parent.name}/{path.name}"
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as error:
            reason = str(error).strip().splitlines()[-1][-200:]
            raise ModelFormatError(f"{shown}: not a readable faiss index ({reason})") from None
        kinds = tuple(getattr(faiss, name) for name in _TYPES.values())
        # an index stores d components (built before padding) or _stored_width(d)
        widths = (dim, _stored_width(dim))
        if not isinstance(index, kinds) or index.ntotal != rows or index.d not in widths:
            raise ModelFormatError(
                f"{shown}: a {type(index).__name__} of {index.ntotal:,} rows × {index.d}, "
                f"expected an HNSW index of {rows:,} × {dim}"
            )
        self.index = index
        self.space = space
        self.rows = rows
        self.dim = dim
        #: efSearch when a query gives none: the entry's tuned ``effort``.
        self.effort = effort
        self.file = path.name

    def search(
        self, queries: np.ndarray, k: int, effort: int | None = None, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows for each query (n, d) among the first ``limit`` rows
        (all by default), best first: rows int64 (n, k), −1 where the graph found
        fewer, and scores float32 (n, k) (cosine, or the inner product ⟨x, q⟩ for
        ``inner_product``; −inf where no row). ``effort``: efSearch (the index's own
        ``effort``), at least ``k``."""
        faiss = _faiss()
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if queries.shape[1] != self.dim:
            raise ValueError(f"queries have {queries.shape[1]} components, the index {self.dim}")
        if self.space == "cosine":  # the stored rows are unit length; so is the query
            lengths = np.linalg.norm(queries, axis=1, keepdims=True)
            queries = np.divide(queries, lengths, out=np.zeros_like(queries), where=lengths > 0)
        k = min(k, self.rows)
        options = {"efSearch": max(effort or self.effort, k)}
        if limit is not None and limit < self.rows:
            options["sel"] = faiss.IDSelectorRange(0, limit)
            k = min(k, limit)
        # faiss searches a single query on the calling thread, and a batch's queries
        # on an OpenMP team of the calling thread's size (a per-thread setting): set
        # here, so that a batch takes every core whichever thread asks (1,000
        # queries of the 1 M × 128 index: 0.26 s on one core, 0.13 s on two).
        faiss.omp_set_num_threads(CORES)
        scores, rows = self.index.search(
            _padded(queries, self.index.d), k, params=faiss.SearchParametersHNSW(**options)
        )
        rows = rows.astype(np.int64)
        return rows, np.where(rows >= 0, scores, -np.inf).astype(np.float32)


def open_index(
    model_dir: str | Path, manifest: Mapping[str, Any], space: str = "cosine"
) -> NeighbourIndex | None:
    """The model's ``space`` index, memory-mapped, or None if it has none. Raises
    ModelFormatError if the file is not an index of the model's rows."""
    entries = manifest.get("neighbours", {})
    entry = entries.get(space) if isinstance(entries, dict) else None
    if entry is None:
        return None
    name = entry.get("file") if isinstance(entry, dict) else None
    dim = entry.get("dim") if isinstance(entry, dict) else None
    effort = entry.get("effort", DEFAULT_EFFORT) if isinstance(entry, dict) else None
    if (
        not isinstance(name, str)
        or name not in manifest["files"]
        or not isinstance(dim, int)
        or not isinstance(effort, int)
        or effort < 1
    ):
        # an unlisted file would escape the size and checksum checks
        raise ModelFormatError(
            f"{Path(model_dir).name}/manifest.json: the {space} index names "
            f"{str(name)[:200]!r}, which is not one of the model's listed files, "
            "or has no dimension, or a bad effort"
        )
    return NeighbourIndex(Path(model_dir) / name, space, int(manifest["vocab_size"]), dim, effort)


def open_indexes(model: Model) -> dict[str, NeighbourIndex]:
    """Every index of a loaded model by space, its files added to those the model
    checks for changes (:meth:`~wordlens.artifacts.Model.check_unchanged`)."""
    opened = {}
    for space in model.manifest.get("neighbours", {}):
        index = open_index(model.path, model.manifest, space)
        if index is not None:
            model.watch(index.file)
            opened[space] = index
    return opened
