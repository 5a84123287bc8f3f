"""Approximate nearest neighbours: faiss, hnswlib and usearch on the same vectors.

Seeded synthetic clustered unit vectors (``--size`` × ``--dim``): ``--clusters``
Gaussian centres on the unit sphere whose cluster sizes follow Zipf's law (cluster r
holds a share ∝ 1/(r + 1)), each vector its centre plus isotropic noise, normalised.
1,000 queries are drawn the same way but are not in the index; the truth is their
exact top-10 by inner product (numpy, blocked). For each library and setting it
prints: build seconds (all cores), index bytes on disk, recall@10 and single-query
latency p50 / p99 on one thread at several search efforts, and the private memory
of a *second* process that opens the saved index while the first holds it open
(memory-mapped where the library allows, so the pages are shared; the figure is the
growth of Private_Clean + Private_Dirty of /proc/self/smaps_rollup across the open
and 200 queries).

    .venv/bin/python bench/bench_ann.py                 # 200 k × 128, a few minutes
    .venv/bin/python bench/bench_ann.py --size 1000000  # the issue's scale
    .venv/bin/python bench/bench_ann.py --only usearch  # one library
    .venv/bin/python bench/bench_ann.py --mips-model models/pmi

``--mips-model MODEL`` measures instead maximum inner-product search (PMI related
words) on a model's own vectors: faiss HNSW with its inner-product metric on the
raw rows against the reduction to cosine search (rows [x/M, √(1 − ‖x‖²/M²)], M the
largest norm, queries [q, 0]), recall@10 of 1,000 of the model's words (the word
itself left out) at several efforts. The first table also gives the exact scan's
single-query latency by vocabulary size, which sets the vocabulary from which
``--index auto`` builds an index.

Libraries that are not installed are skipped with a line saying so (hnswlib has no
wheel on PyPI: it builds from source, so it needs a C++ compiler).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table  # noqa: E402

QUERIES = 1000
TOPK = 10
EFFORTS = (16, 32, 64, 128, 256)
COLUMNS = (
    "library",
    "settings",
    "effort",
    "build s",
    "index MiB",
    "recall@10",
    "p50 ms",
    "p99 ms",
    "2nd process private MiB",
)


def clustered_unit_vectors(
    size: int, dim: int, clusters: int, spread: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(``size`` vectors, ``QUERIES`` queries), float32 unit rows, drawn alike from
    Zipf-sized Gaussian clusters around random unit centres (module docstring)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    share = 1.0 / np.arange(1, clusters + 1)
    share /= share.sum()

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 65536):  # bounded temporaries
            stop = min(start + 65536, count)
            labels = rng.choice(clusters, size=stop - start, p=share)
            noise = rng.standard_normal((stop - start, dim), dtype=np.float32)
            block = centres[labels] + noise * np.float32(spread / np.sqrt(dim))
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            out[start:stop] = block
        return out

    return draw(size), draw(QUERIES)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Rows (len(queries), k) of the k largest inner products, best first."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    rows = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(data), 131072):
        scores = queries @ data[start : start + 131072].T
        both = np.concatenate([best, scores], axis=1)
        ids = np.concatenate(
            [rows, np.arange(start, start + scores.shape[1])[None, :].repeat(len(queries), 0)],
            axis=1,
        )
        pick = np.argpartition(-both, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(both, pick, axis=1)
        rows = np.take_along_axis(ids, pick, axis=1)
    order = np.argsort(-best, axis=1)
    return np.take_along_axis(rows, order, axis=1)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(f[f >= 0], t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def latency(search_one: Callable[[np.ndarray], object], queries: np.ndarray) -> tuple[float, float]:
    """p50 and p99 of single-query calls, milliseconds."""
    for query in queries[:20]:
        search_one(query)
    times = []
    for query in queries:
        started = time.perf_counter()
        search_one(query)
        times.append(time.perf_counter() - started)
    p50, p99 = np.percentile(times, [50, 99]) * 1000
    return float(p50), float(p99)


# ---------------------------------------------------------------- libraries
# Each: build(data, path) saves an index to path; open(path, shared) opens it;
# set_effort(index, effort); search(index, queries (n, d), k) -> rows (n, k).


class Faiss:
    name = "faiss HNSW flat"
    module = "faiss"
    links, ef_construction = 16, 100
    params = "M=16, efConstruction=100"

    @classmethod
    def build(cls, data: np.ndarray, path: str) -> None:
        import faiss

        index = faiss.IndexHNSWFlat(data.shape[1], cls.links, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = cls.ef_construction
        index.add(data)
        faiss.write_index(index, path)

    @staticmethod
    def open(path: str, shared: bool):
        import faiss

        # IO_FLAG_MMAP_IFC reads the index in place from a memory map; the second
        # process's private memory shows how much of it is still copied.
        return faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC if shared else 0)

    @staticmethod
    def set_effort(index, effort: int) -> None:
        index.hnsw.efSearch = effort

    @staticmethod
    def search(index, queries: np.ndarray, k: int) -> np.ndarray:
        return index.search(queries, k)[1]


class FaissM32(Faiss):
    links, ef_construction = 32, 200
    params = "M=32, efConstruction=200"


class Wordlens:
    """wordlens's own index (wordlens.neighbours.build_index: HNSW over 8-bit codes),
    searched as the engine does: the whole candidate list (efSearch rows) rescored
    exactly from the rows, memory-mapped beside the index."""

    name = "wordlens: faiss HNSW SQ8 + exact rescoring"
    module = "faiss"
    params = "M=32, efConstruction=200"

    @staticmethod
    def _rows_path(path: str) -> Path:
        return Path(path).with_suffix(".rows.npy")

    @staticmethod
    def build(data: np.ndarray, path: str) -> None:
        from wordlens.neighbours import build_index

        rows_path = Wordlens._rows_path(path)
        np.save(rows_path, data)
        folder = Path(path).parent
        entry = build_index(np.load(rows_path, mmap_mode="r"), "cosine", folder)
        os.replace(folder / entry["file"], path)

    @staticmethod
    def open(path: str, shared: bool):
        from wordlens.neighbours import NeighbourIndex

        rows = np.load(Wordlens._rows_path(path), mmap_mode="r")
        return {"index": NeighbourIndex(Path(path), "cosine", *rows.shape), "rows": rows}

    @staticmethod
    def set_effort(index, effort: int) -> None:
        index["effort"] = effort

    @staticmethod
    def search(index, queries: np.ndarray, k: int) -> np.ndarray:
        effort = index.get("effort", 64)
        found = index["index"].search(queries, max(k, effort), effort)[0]
        scores = np.einsum("qkd,qd->qk", index["rows"][np.maximum(found, 0)], queries)
        scores[found < 0] = -np.inf
        return np.take_along_axis(found, np.argsort(-scores, axis=1)[:, :k], axis=1)


class FaissIVFPQ(Faiss):
    name = "faiss IVF-PQ"
    params = "nlist=4·√n, PQ 32×8 bits, refine none"

    @staticmethod
    def build(data: np.ndarray, path: str) -> None:
        import faiss

        nlist = int(4 * np.sqrt(len(data)))
        quantizer = faiss.IndexFlatIP(data.shape[1])
        index = faiss.IndexIVFPQ(quantizer, data.shape[1], nlist, 32, 8, faiss.METRIC_INNER_PRODUCT)
        sample = data[
            np.random.default_rng(0).choice(len(data), min(len(data), 64 * nlist), replace=False)
        ]
        index.train(sample)
        index.add(data)
        faiss.write_index(index, path)

    @staticmethod
    def open(path: str, shared: bool):
        import faiss

        return faiss.read_index(path, faiss.IO_FLAG_MMAP if shared else 0)

    @staticmethod
    def set_effort(index, effort: int) -> None:
        index.nprobe = max(1, effort // 4)  # effort 16 … 256 → 4 … 64 lists


class Hnswlib:
    name = "hnswlib"
    module = "hnswlib"
    params = "M=16, ef_construction=100"

    @staticmethod
    def build(data: np.ndarray, path: str) -> None:
        import hnswlib

        index = hnswlib.Index(space="ip", dim=data.shape[1])
        index.init_index(max_elements=len(data), M=16, ef_construction=100)
        index.add_items(data, np.arange(len(data)), num_threads=os.cpu_count())
        index.save_index(path)

    @staticmethod
    def open(path: str, shared: bool):
        import hnswlib

        dim = int(os.environ["BENCH_ANN_DIM"])  # hnswlib's files do not say
        index = hnswlib.Index(space="ip", dim=dim)
        index.load_index(path)  # no memory-mapped mode: always read into the process
        index.set_num_threads(1)
        return index

    @staticmethod
    def set_effort(index, effort: int) -> None:
        index.set_ef(max(effort, TOPK))

    @staticmethod
    def search(index, queries: np.ndarray, k: int) -> np.ndarray:
        return index.knn_query(queries, k=k)[0].astype(np.int64)


class Usearch:
    name = "usearch"
    module = "usearch"
    params = "connectivity=16, expansion_add=100, f32"
    dtype = "f32"

    @classmethod
    def build(cls, data: np.ndarray, path: str) -> None:
        from usearch.index import Index

        index = Index(
            ndim=data.shape[1], metric="ip", dtype=cls.dtype, connectivity=16, expansion_add=100
        )
        index.add(np.arange(len(data)), data, threads=os.cpu_count() or 1)
        index.save(path)

    @staticmethod
    def open(path: str, shared: bool):
        from usearch.index import Index

        return Index.restore(path, view=shared)

    @staticmethod
    def set_effort(index, effort: int) -> None:
        index.expansion_search = effort

    @staticmethod
    def search(index, queries: np.ndarray, k: int) -> np.ndarray:
        found = index.search(queries, k, threads=1)
        return np.asarray(found.keys, dtype=np.int64).reshape(len(queries), -1)


class UsearchF16(Usearch):
    name = "usearch f16"
    params = "connectivity=16, expansion_add=100, f16"
    dtype = "f16"


LIBRARIES = {
    "faiss-hnsw": Faiss,
    "faiss-hnsw-m32": FaissM32,
    "wordlens": Wordlens,
    "faiss-ivfpq": FaissIVFPQ,
    "hnswlib": Hnswlib,
    "usearch": Usearch,
    "usearch-f16": UsearchF16,
}


def private_kib() -> int:
    """Private_Clean + Private_Dirty of this process, KiB."""
    total = 0
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def child(library: str, path: str, queries_path: str) -> None:
    """The second process: open the index shared, run 200 queries, print the growth of
    its private memory (KiB) as JSON."""
    lib = LIBRARIES[library]
    queries = np.load(queries_path)
    __import__(lib.module)  # the library's own code is not the index's memory
    before = private_kib()
    index = lib.open(path, shared=True)
    lib.set_effort(index, 64)
    for query in queries[:200]:
        lib.search(index, query[None, :], TOPK)
    print(json.dumps({"private_kib": private_kib() - before}))


def measure(
    key: str, data: np.ndarray, queries: np.ndarray, truth: np.ndarray, folder: Path
) -> list[dict]:
    lib = LIBRARIES[key]
    try:
        __import__(lib.module)
    except ImportError:
        print(f"{lib.name}: not installed, skipped", flush=True)
        return []
    path = str(folder / f"{key}.index")
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    lib.build(data, path)  # on every core
    build = time.perf_counter() - started
    limit = threadpool_limits(1)  # searches on one thread, as in a server worker
    size = os.path.getsize(path)
    index = lib.open(path, shared=True)  # held open while the second process opens it
    lib.set_effort(index, 64)
    for query in queries[:200]:
        lib.search(index, query[None, :], TOPK)
    queries_path = str(folder / "queries.npy")
    np.save(queries_path, queries)
    output = subprocess.run(
        [sys.executable, __file__, "--child", key, path, queries_path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    second = json.loads(output.splitlines()[-1])["private_kib"] / 1024
    rows = []
    for effort in EFFORTS:
        lib.set_effort(index, effort)
        found = lib.search(index, queries, TOPK)
        p50, p99 = latency(lambda q, index=index: lib.search(index, q[None, :], TOPK), queries)
        rows.append(
            {
                "library": lib.name,
                "settings": lib.params,
                "effort": effort,
                "build s": build,
                "index MiB": size / 2**20,
                "recall@10": recall(found, truth),
                "p50 ms": p50,
                "p99 ms": p99,
                "2nd process private MiB": second,
            }
        )
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    del index
    os.unlink(path)
    limit.unregister()
    return rows


def mips(model_dir: str, seed: int) -> None:
    """Direct inner-product HNSW against the reduction to cosine (module docstring)."""
    import faiss

    from wordlens.artifacts import load_model

    vectors = np.asarray(load_model(model_dir, verify=False).vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1)
    rows = np.random.default_rng(seed).choice(len(vectors), QUERIES, replace=False)
    queries = vectors[rows]
    scores = queries @ vectors.T
    scores[np.arange(QUERIES), rows] = -np.inf
    truth = np.argsort(-scores, axis=1)[:, :TOPK]
    largest = norms.max()
    reduced = np.hstack(
        [vectors / largest, np.sqrt(np.maximum(0, 1 - (norms / largest) ** 2))[:, None]]
    )
    variants = {
        "HNSW, inner-product metric, raw rows": (vectors, queries),
        "reduction to cosine (d + 1 unit rows)": (
            reduced.astype(np.float32),
            np.hstack([queries, np.zeros((QUERIES, 1), np.float32)]),
        ),
    }
    results = []
    for name, (data, query) in variants.items():
        index = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 100
        started = time.perf_counter()
        index.add(data)
        build = time.perf_counter() - started
        for effort in EFFORTS:
            index.hnsw.efSearch = effort
            found = index.search(query, TOPK + 1)[1]
            found = np.array([f[f != r][:TOPK] for f, r in zip(found, rows, strict=True)])
            results.append(
                {
                    "index": name,
                    "build s": build,
                    "effort": effort,
                    "recall@10": recall(found, truth),
                }
            )
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print(
        f"\n{model_dir}: {len(vectors):,} × {vectors.shape[1]}, "
        f"norms {norms.min():.3g} to {largest:.3g}"
    )
    print(table(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--clusters", type=int, default=None, help="default: size / 250")
    parser.add_argument("--spread", type=float, default=0.9, help="noise length / centre length")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--only", nargs="*", choices=list(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--mips-model", metavar="MODEL", help="compare MIPS indexes instead")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.mips_model:
        mips(args.mips_model, args.seed)
        return
    from threadpoolctl import threadpool_limits

    os.environ["BENCH_ANN_DIM"] = str(args.dim)
    clusters = args.clusters or max(1, args.size // 250)
    data, queries = clustered_unit_vectors(args.size, args.dim, clusters, args.spread, args.seed)
    started = time.perf_counter()
    truth = exact_top(data, queries, TOPK)
    exact_seconds = time.perf_counter() - started
    print(
        f"{args.size:,} × {args.dim} unit vectors, {clusters:,} Zipf-sized clusters, "
        f"{QUERIES:,} queries; exact top-{TOPK} of all queries in {exact_seconds:.1f} s",
        flush=True,
    )
    scans = []
    with threadpool_limits(1):  # the exact scan of one query, as a server worker runs it
        for rows in (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000):
            if rows <= args.size:
                head = data[:rows]
                p50, p99 = latency(
                    lambda q, head=head: np.argpartition(-(head @ q), TOPK)[:TOPK], queries[:200]
                )
                scans.append({"rows": f"{rows:,}", "exact scan p50 ms": p50, "p99 ms": p99})
    print(table(scans), flush=True)
    print(table([dict.fromkeys(COLUMNS, "")]).splitlines()[0], flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ann-") as folder:
        for key in args.only:
            rows += measure(key, data, queries, truth, Path(folder))
    if rows:
        print()
        print(table(rows))


if __name__ == "__main__":
    main()
