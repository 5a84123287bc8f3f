"""Serving at vocabulary scale: ``wordlens import`` and ``wordlens serve`` (2 workers,
127.0.0.1) on seeded synthetic vectors, against an exact scan and gensim.

For each size (100k × 100 and 1M × 128; 3M × 300 with ``--large``):

1. Synthetic clustered vectors (``bench/synthetic_vectors.py``: Zipf-sized Gaussian
   clusters, distinct made-up words) are written once as a word2vec binary file into
   ``--data`` (kept for the next run), then imported with ``wordlens import``: its
   seconds and peak resident memory (``ru_maxrss``) against the float32 matrix it
   writes; the model's size on disk and, if its manifest lists a neighbour index
   (``neighbours``), the index's build seconds.
2. ``wordlens serve --workers 2`` (checksums verified, the default): seconds from
   start until ``/readyz`` answers 200 with every worker up; each worker's RSS, PSS
   and private memory (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) at
   start and after the load runs.
3. ``GET /most_similar?positive=W&topn=10`` for 1,000 random words (``--queries``):
   latency at concurrency 1 (p50, p99) and requests/s at 16 (with p99), for
   ``--seconds`` each; the served top 10 of every word against an exact numpy top 10
   (unit rows, the word itself left out): recall@10. When the server's OpenAPI
   document lists an ``exact`` parameter, the same again with ``exact=true``; the
   ``search`` column is what the answers' ``search`` field said (``—``: no such
   field, i.e. the server scans).
4. In this process, one BLAS thread as each server worker: the engine's
   ``most_similar`` (p50, p99 over ``--timed`` words), and gensim's
   ``KeyedVectors.most_similar`` on the same vectors (an exact scan), and the ratio.

Then Word2Vec related words (``--w2v-layer``; ``--w2v-words 0`` for none):

- ``trained`` (the default): a real hierarchical-softmax model trained by ``wordlens
  train word2vec`` (skip-gram, 128 dimensions, window 5, ``--min-count 1``, one
  epoch, ``--index none``) on the seeded synthetic corpus of ``--w2v-tokens`` tokens
  (``bench/synthetic.py``, seed 14: 64M tokens give 1,269,481 words), both written
  once into ``--data`` (training: seconds and peak memory reported).
- ``--w2v-model PATH``: an existing model folder instead (e.g. a copy of the trained
  one with an index), read only; the folder holding it is served.
- ``synthetic``: a model folder of ``--w2v-words`` words written through
  ``wordlens.artifacts.write_model`` as ``wordlens train word2vec`` writes it, with a
  synthetic output layer (gensim's Huffman tree of Zipf counts, inner-node rows from
  the clustered vectors: see ``synthetic_vectors.py``), built once into ``--data``;
  if the ``wordlens`` command line has an ``index`` command and the model has no
  index, it is run (measured).

``GET /related?word=W&topn=10`` at concurrency 1 and 16, in-process ``related``, and
the top-10 overlap of the served answers with the exact context scores
(``WordModel.context_scores``) on ``--related-queries`` random words; each with the
default search and with ``exact=true`` (the scan), in the same run.

The load generator (``bench/common.py``: raw asyncio keep-alive connections) is
measured against ``/healthz`` at concurrency 16: its requests/s is the ceiling of
what this client and server can do here, and ``client CPU`` says how much of one core
the client used (near 1, the client sets the pace, not the server).

    .venv/bin/python bench/bench_scale_serve.py [--sizes 100k×100,1M×128] [--large]
        [--w2v-layer trained|synthetic] [--w2v-tokens 64M] [--w2v-words 1M]
        [--w2v-model PATH] [--w2v-score su|symmetric]
        [--seconds 5] [--queries 1000] [--timed 200]
        [--related-queries 100] [--data DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import synthetic
import synthetic_vectors
from common import (
    ROOT,
    fetch_all,
    free_port,
    load,
    process_memory,
    run_measured,
    start_server,
    table,
    worker_pids,
)

from wordlens.neighbours import INDEX_CHOICES

DEFAULT_SIZES = "100k×100,1M×128"
LARGE_SIZES = "3M×300"
MODEL = "vectors"  # the imported model's name in its models folder
W2V_MODEL = "word2vec"
W2V_DIM = 128
W2V_CORPUS_SEED = 14  # bench/synthetic.py's documented seed
MIB = 2**20


def parse_size(text: str) -> tuple[int, int]:
    """``"1M×128"`` (or ``1Mx128``) → (1_000_000, 128) rows × dimensions."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)([kKmM]?)\s*[×xX]\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"a size is ROWS×DIM, e.g. 100k×100, not {text!r}")
    scale = {"": 1, "k": 10**3, "m": 10**6}[match[2].lower()]
    return round(float(match[1]) * scale), int(match[3])


def parse_count(text: str) -> int:
    return parse_size(f"{text}×1")[0]


def label(rows: int, dim: int | None = None) -> str:
    for unit, scale in (("M", 10**6), ("k", 10**3)):
        if rows >= scale and rows % (scale // 10) == 0:
            rows_text = f"{rows / scale:g}{unit}"
            break
    else:
        rows_text = str(rows)
    return rows_text if dim is None else f"{rows_text} × {dim}"


# ------------------------------------------------------------- pure pieces


def recall_at_k(found: Sequence[Sequence[int]], exact: np.ndarray) -> float:
    """Mean over queries of |found_i ∩ exact_i| / k, with ``exact`` int (n, k) the
    true top k of each query and ``found`` the rows an answer listed (fewer than k
    count as misses; more than k are cut to the first k)."""
    exact = np.asarray(exact)
    if len(found) != len(exact):
        raise ValueError(f"{len(found)} answers for {len(exact)} queries")
    k = exact.shape[1]
    hits = [
        len(set(list(answer)[:k]) & set(truth.tolist()))
        for answer, truth in zip(found, exact, strict=True)
    ]
    return float(np.mean(hits)) / k if hits else float("nan")


def top_rows(scores: np.ndarray, k: int, exclude: np.ndarray) -> np.ndarray:
    """int64 (n, k): per row of ``scores`` (n, V), the columns of the k largest, best
    first, leaving out column ``exclude[i]`` in row i. ``scores`` is changed."""
    scores[np.arange(len(scores)), exclude] = -np.inf
    part = np.argpartition(scores, -k, axis=1)[:, -k:]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.int64)


def exact_cosine_top(
    vectors: np.ndarray, queries: np.ndarray, k: int = 10, block: int = 65536
) -> np.ndarray:
    """int64 (n, k): for each row index in ``queries`` (n,), the k rows of ``vectors``
    (V, d) of highest cosine with it, itself left out, best first; rows normalised on
    the fly a ``block`` at a time (bounded temporaries: (n, block) scores)."""

    def unit(rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.float32)
        lengths = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.divide(rows, lengths, out=np.zeros_like(rows), where=lengths > 0)

    query_units = unit(vectors[queries])
    best_rows = np.zeros((len(queries), 0), dtype=np.int64)
    best_scores = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(0, len(vectors), block):
        scores = query_units @ unit(vectors[start : start + block]).T
        inside = (queries >= start) & (queries < start + block)
        scores[inside, queries[inside] - start] = -np.inf
        rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        merged_scores = np.hstack([best_scores, scores])
        merged_rows = np.hstack([best_rows, rows])
        keep = min(k, merged_scores.shape[1])
        part = np.argpartition(-merged_scores, keep - 1, axis=1)[:, :keep]
        best_scores = np.take_along_axis(merged_scores, part, axis=1)
        best_rows = np.take_along_axis(merged_rows, part, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_rows, order, axis=1)


def percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    ordered = np.sort(np.asarray(seconds)) * 1e3
    return float(np.median(ordered)), float(ordered[int(0.99 * (len(ordered) - 1))])


def timed(function: Callable[[Any], object], items: Sequence[Any]) -> tuple[float, float]:
    """(p50, p99) ms of ``function(item)`` over ``items``, after one untimed call."""
    function(items[0])
    seconds = []
    for item in items:
        started = time.perf_counter()
        function(item)
        seconds.append(time.perf_counter() - started)
    return percentiles(seconds)


# ---------------------------------------------------------------- model files


def wordlens(*args: object) -> list[str]:
    return [sys.executable, "-m", "wordlens", *map(str, args)]


def ensure_vectors_file(data: Path, rows: int, dim: int, seed: int) -> Path:
    """The word2vec binary file of ``rows`` synthetic words × ``dim``, written once."""
    from wordlens.training.vector_formats import write_vectors

    path = data / f"vectors-{rows}x{dim}-seed{seed}-{synthetic_vectors.VERSION}.bin"
    if not path.exists():
        started = time.perf_counter()
        params = synthetic_vectors.VectorParams(seed=seed)
        vectors = synthetic_vectors.clustered_vectors(rows, dim, params)
        partial = path.with_suffix(f".partial-{os.getpid()}")
        write_vectors(partial, synthetic_vectors.words(rows), vectors, "word2vec-bin")
        os.replace(partial, path)
        print(f"wrote {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def manifest_of(model: Path) -> dict:
    return json.loads((model / "manifest.json").read_text())


def index_figures(manifest: dict) -> dict:
    """What the manifest says of neighbour indexes (its ``neighbours`` field, if any):
    their build seconds, summed, and their files' MiB."""
    entries = manifest.get("neighbours")
    if not isinstance(entries, dict) or not entries:
        return {"index build s": None, "index MiB": None}
    entries = [entry for entry in entries.values() if isinstance(entry, dict)]
    files = manifest.get("files", {})
    return {
        "index build s": sum(float(entry.get("build_seconds") or 0) for entry in entries),
        "index MiB": sum(files.get(entry.get("file"), {}).get("bytes", 0) for entry in entries)
        / MIB,
    }


def disk_mib(model: Path) -> float:
    return sum(file.stat().st_size for file in model.iterdir() if file.is_file()) / MIB


def has_command(*command: str) -> bool:
    """Whether the ``wordlens`` command line knows ``command`` (its --help succeeds)."""
    probe = subprocess.run(wordlens(*command, "--help"), cwd=ROOT, capture_output=True)
    return probe.returncode == 0


def ensure_word2vec_model(data: Path, rows: int, seed: int) -> tuple[Path, dict]:
    """A Word2Vec (hierarchical softmax) model of ``rows`` synthetic words, written once
    with ``write_model`` (module docstring); indexed by ``wordlens index`` when that
    command exists and the model has no index. Returns its path and figures."""
    from wordlens.artifacts import write_model

    models = data / f"w2v-{rows}-seed{seed}-{synthetic_vectors.VERSION}" / "models"
    model = models / W2V_MODEL
    figures: dict[str, Any] = {}
    if not (model / "manifest.json").exists():
        started = time.perf_counter()
        vocabulary = synthetic_vectors.words(rows)
        vectors = synthetic_vectors.clustered_vectors(
            rows, W2V_DIM, synthetic_vectors.VectorParams(seed=seed + 1)
        )
        counts = synthetic_vectors.zipf_counts(rows)
        layers, arrays = synthetic_vectors.word2vec_layer(vocabulary, vectors, counts)
        write_model(
            model,
            kind="word2vec",
            words=vocabulary,
            vectors=vectors,
            counts=counts,
            arrays=arrays,
            manifest={
                "tokenizer": {"name": "whitespace", "lowercase": False},
                "params": {"sg": 1, "hs": 1, "negative": 0, "vector_size": W2V_DIM},
                "output_layers": layers,
                "synthetic": {"generator": "bench/synthetic_vectors.py", "seed": seed + 1},
            },
        )
        figures["written s"] = time.perf_counter() - started
        print(f"wrote {model} in {figures['written s']:.0f} s", file=sys.stderr)
    if index_figures(manifest_of(model))["index build s"] is None and has_command("index"):
        seconds, peak, _ = run_measured(wordlens("index", model))
        figures.update({"index command s": seconds, "index command peak MiB": peak})
    return model, figures


def ensure_trained_word2vec_model(data: Path, tokens: int) -> tuple[Path, dict]:
    """A Word2Vec (hierarchical softmax) model trained by ``wordlens train word2vec``
    on the synthetic corpus of ``tokens`` tokens (module docstring), corpus and model
    written once. Returns its path and figures (training seconds and peak MiB when it
    was trained in this run)."""
    name = f"{synthetic.format_size(tokens)}-seed{W2V_CORPUS_SEED}"
    corpus = data / f"corpus-{name}.txt"
    model = data / f"w2v-trained-{name}" / "models" / W2V_MODEL
    figures: dict[str, Any] = {}
    if not (model / "manifest.json").exists():
        if not corpus.exists():
            params = synthetic.SyntheticParams(seed=W2V_CORPUS_SEED)
            written = synthetic.write_corpus(corpus, tokens, params)
            print(f"wrote {corpus} in {written['seconds']:.0f} s", file=sys.stderr)
        seconds, peak, _ = run_measured(
            wordlens(
                "train", "word2vec", "--corpus", corpus, "--tokenizer", "whitespace",
                "--dim", W2V_DIM, "--min-count", 1, "--epochs", 1,
                "--no-evaluate", "--index", "none", "--out", model,
            )
        )  # fmt: skip
        figures.update({"train s": seconds, "train peak MiB": peak})
        print(f"trained {model} in {seconds:.0f} s", file=sys.stderr)
    return model, figures


# -------------------------------------------------------------------- server


@contextlib.contextmanager
def serving(models: Path, workers: int, timeout: float) -> Iterator[dict]:
    """``wordlens serve`` on ``models``; yields {port, pid, start s}; stopped on exit."""
    port = free_port()
    server, seconds = start_server(str(models), workers, port, timeout)
    try:
        yield {"port": port, "pid": server.pid, "start s": seconds}
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def accepts(port: int, path: str, parameter: str) -> bool:
    """Whether the server's OpenAPI document lists ``parameter`` for GET ``path``."""
    import httpx2

    document = httpx2.get(f"http://127.0.0.1:{port}/openapi.json", timeout=30).json()
    listed = document.get("paths", {}).get(path, {}).get("get", {}).get("parameters", [])
    return any(entry.get("name") == parameter for entry in listed)


def workers_memory(pid: int) -> list[dict[str, float]]:
    return [process_memory(worker) for worker in sorted(worker_pids(pid))]


def served_rows(
    port: int, paths: list[str], index: dict[str, int]
) -> tuple[list[list[int]], str, int]:
    """The neighbour rows each path's answer lists, what the answers' ``search`` field
    said (``—`` if absent), and how many answers were not 200."""
    answers = asyncio.run(fetch_all(port, paths, 16))
    found, searches, failed = [], set(), 0
    for status, body in answers:
        if status != 200:
            failed += 1
            found.append([])
            continue
        document = json.loads(body)
        found.append([index[entry["word"]] for entry in document["neighbours"]])
        searches.add(str(document.get("search", "—")))
    return found, "/".join(sorted(searches)) or "—", failed


def http_rows(
    port: int, paths: list[str], seconds: float, found_index: dict[str, int], exact: np.ndarray
) -> dict:
    """Latency at concurrency 1 and 16 over ``paths``, and recall@10 of their answers
    against ``exact``."""
    one = asyncio.run(load(port, paths, 1, seconds))
    many = asyncio.run(load(port, paths, 16, seconds))
    found, search, failed = served_rows(port, paths[: len(exact)], found_index)
    return {
        "search": search,
        "c=1 p50 ms": one["p50 ms"],
        "c=1 p99 ms": one["p99 ms"],
        "c=16 requests/s": many["requests/s"],
        "c=16 p99 ms": many["p99 ms"],
        "client CPU": many["client CPU"],
        "errors": one["errors"] + many["errors"] + failed,
        "recall@10": recall_at_k(found, exact),
    }


def memory_rows(what: str, start: list[dict], after: list[dict]) -> list[dict]:
    return [
        {
            "model": what,
            "worker": k,
            "RSS MiB": f"{a['rss']:.0f} → {b['rss']:.0f}",
            "PSS MiB": f"{a['pss']:.0f} → {b['pss']:.0f}",
            "private MiB": f"{a['private']:.0f} → {b['private']:.0f}",
        }
        for k, (a, b) in enumerate(zip(start, after, strict=True), 1)
    ]


# -------------------------------------------------------------- measurements


def measure_vectors(rows: int, dim: int, args: argparse.Namespace, report: dict) -> None:
    """Steps 1–4 of the module docstring for one size; rows added to ``report``."""

    name = label(rows, dim)
    source = ensure_vectors_file(args.data, rows, dim, args.seed)
    models = args.data / f"serve-{rows}x{dim}" / "models"
    model = models / MODEL
    seconds: float | None = None
    peak: float | None = None
    if not (args.keep_model and (model / "manifest.json").exists()):
        seconds, peak, _ = run_measured(
            wordlens(
                "import", source, "--format", "word2vec-bin", "--out", model, "--index", args.index
            )
        )
    manifest = manifest_of(model)
    matrix = rows * dim * 4 / MIB
    report["import"].append(
        {
            "vectors": name,
            "import s": seconds,
            "import peak MiB": peak,
            "float32 matrix MiB": matrix,
            "peak ÷ matrix": None if peak is None else peak / matrix,
            **index_figures(manifest),
            "model MiB": disk_mib(model),
        }
    )
    vocabulary = (model / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
    index = {word: i for i, word in enumerate(vocabulary)}
    rng = np.random.default_rng(args.seed)
    queries = rng.choice(rows, size=min(args.queries, rows), replace=False)
    vectors = np.load(model / "vectors.npy", mmap_mode="r")
    started = time.perf_counter()
    exact = exact_cosine_top(vectors, queries)
    print(f"{name}: exact top 10 in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    base = [f"/most_similar?model={MODEL}&positive={vocabulary[q]}&topn=10" for q in queries]

    with serving(models, args.workers, args.ready_timeout) as server:
        port = server["port"]
        at_start = workers_memory(server["pid"])
        ceiling = asyncio.run(load(port, ["/healthz"], 16, args.seconds))
        report["ceiling"].append(
            {
                "vectors": name,
                "/healthz c=16 requests/s": ceiling["requests/s"],
                "p99 ms": ceiling["p99 ms"],
                "client CPU": ceiling["client CPU"],
            }
        )
        modes = {"default": ""}
        if accepts(port, "/most_similar", "exact"):
            modes["exact=true"] = "&exact=true"
        served = {
            mode: http_rows(port, [p + extra for p in base], args.seconds, index, exact)
            for mode, extra in modes.items()
        }
        after = workers_memory(server["pid"])
    report["memory"] += memory_rows(name, at_start, after)

    words = [vocabulary[q] for q in queries[: args.timed]]
    in_process = engine_timings(models, MODEL, "most_similar", words)
    gensim = gensim_timings(vocabulary, vectors, words)
    for mode, figures in served.items():
        p50, p99 = in_process.get(mode, (None, None))
        report["most_similar"].append(
            {
                "vectors": name,
                "asked": mode,
                **figures,
                "in-process p50 ms": p50,
                "in-process p99 ms": p99,
                "gensim p50 ms": gensim[0],
                "gensim p99 ms": gensim[1],
                "gensim ÷ in-process p50": None if p50 is None else gensim[0] / p50,
                "gensim ÷ HTTP c=1 p50": gensim[0] / figures["c=1 p50 ms"],
            }
        )
    report["summary"].append(
        {
            "vocabulary": name,
            "start to ready s": server["start s"],
            "most_similar c=1 p50 / p99 ms": f"{served['default']['c=1 p50 ms']:.1f} / "
            f"{served['default']['c=1 p99 ms']:.1f}",
            "c=16 requests/s": served["default"]["c=16 requests/s"],
            "recall@10": served["default"]["recall@10"],
            "gensim p50 / p99 ms": f"{gensim[0]:.1f} / {gensim[1]:.1f}",
            "private MiB per worker, start → after load": ", ".join(
                f"{a['private']:.0f} → {b['private']:.0f}"
                for a, b in zip(at_start, after, strict=True)
            ),
        }
    )


def engine_timings(
    models: Path, name: str, query: str, words: list[str], **options: Any
) -> dict[str, tuple[float, float]]:
    """(p50, p99) ms of the engine's ``query`` (``most_similar`` or ``related``, top 10,
    and ``options``) on each of ``words``, in this process on one BLAS thread (as each
    server worker): ``default``, and ``exact=true`` when the method takes ``exact``."""
    from threadpoolctl import threadpool_limits

    from wordlens.app.engine import Engine

    model = Engine(models, verify=False).get(name)
    method = getattr(model, query)
    first = (lambda w: [w]) if query == "most_similar" else (lambda w: w)
    with threadpool_limits(1):
        figures = {"default": timed(lambda w: method(first(w), topn=10, **options), words)}
        if "exact" in inspect.signature(method).parameters:
            figures["exact=true"] = timed(
                lambda w: method(first(w), topn=10, exact=True, **options), words
            )
    return figures


def gensim_timings(
    vocabulary: list[str], vectors: np.ndarray, words: list[str]
) -> tuple[float, float]:
    """(p50, p99) ms of gensim's ``KeyedVectors.most_similar`` (an exact scan of
    unit rows) on the same vectors, top 10, one BLAS thread."""
    from gensim.models import KeyedVectors
    from threadpoolctl import threadpool_limits

    keyed = KeyedVectors(vectors.shape[1], count=0)
    keyed.add_vectors(vocabulary, np.asarray(vectors))
    with threadpool_limits(1):
        return timed(lambda w: keyed.most_similar(w, topn=10), words)


def exact_related_top(
    engine: Any, words: list[str], rows: np.ndarray, score: str, k: int = 10
) -> np.ndarray:
    """int64 (n, k): the top k of each word's full context scores of form ``score``
    (the exact answer: every word scored by the family's formula), the word itself
    left out; one word at a time (a (V,) float64 temporary)."""
    return np.vstack(
        [
            top_rows(engine.context_scores(word, score=score)[None], k, np.array([row]))
            for word, row in zip(words, rows, strict=True)
        ]
    )


def measure_word2vec(args: argparse.Namespace, report: dict) -> None:
    """Word2Vec related words on the ``--w2v-layer`` model (module docstring)."""
    from threadpoolctl import threadpool_limits

    from wordlens.app.engine import Engine

    if args.w2v_model is not None:
        model, built = args.w2v_model.resolve(), {}
    elif args.w2v_layer == "trained":
        model, built = ensure_trained_word2vec_model(args.data, parse_count(args.w2v_tokens))
    else:
        model, built = ensure_word2vec_model(args.data, parse_count(args.w2v_words), args.seed)
    layer = model.parent.parent.name if args.w2v_model is not None else args.w2v_layer
    manifest = manifest_of(model)
    vocabulary = (model / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
    rows = len(vocabulary)
    index = {word: i for i, word in enumerate(vocabulary)}
    rng = np.random.default_rng(args.seed + 1)
    queries = rng.choice(rows, size=min(args.related_queries, rows), replace=False)
    words = [vocabulary[q] for q in queries]
    with threadpool_limits(1):
        engine = Engine(model.parent, verify=False).get(model.name)
        started = time.perf_counter()
        exact = exact_related_top(engine, words, queries, args.w2v_score)
        print(
            f"word2vec {rows:,}: exact related in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    del engine
    in_process = engine_timings(model.parent, model.name, "related", words, score=args.w2v_score)
    base = [f"/related?model={model.name}&word={w}&topn=10&score={args.w2v_score}" for w in words]
    with serving(model.parent, args.workers, args.ready_timeout) as server:
        at_start = workers_memory(server["pid"])
        modes = {"default": ""}
        if accepts(server["port"], "/related", "exact"):
            modes["exact=true"] = "&exact=true"
        served = {
            mode: http_rows(server["port"], [p + extra for p in base], args.seconds, index, exact)
            for mode, extra in modes.items()
        }
        after = workers_memory(server["pid"])
    report["memory"] += memory_rows(f"word2vec {rows:,} ({layer})", at_start, after)
    for mode, figures in served.items():
        p50, p99 = in_process.get(mode, (None, None))
        figures["overlap@10"] = figures.pop("recall@10")
        report["related"].append(
            {
                "layer": layer,
                "score": args.w2v_score,
                "words": f"{rows:,}",
                "asked": mode,
                **figures,
                "in-process p50 ms": p50,
                "in-process p99 ms": p99,
                "start to ready s": server["start s"],
                **index_figures(manifest),
                "model MiB": disk_mib(model),
                **built,
            }
        )


SECTIONS = {
    "summary": "Summary (most_similar, default search)",
    "import": "wordlens import",
    "most_similar": "most_similar over HTTP (2 workers), in-process and gensim",
    "memory": "memory per worker, at start → after the load runs",
    "ceiling": "load generator against /healthz (its ceiling)",
    "related": "Word2Vec related words (hierarchical softmax)",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="ROWS×DIM,… (%(default)s)")
    parser.add_argument("--large", action="store_true", help=f"also {LARGE_SIZES}")
    parser.add_argument(
        "--w2v-layer",
        choices=("trained", "synthetic"),
        default="trained",
        help="Word2Vec model for related words (%(default)s; module docstring)",
    )
    parser.add_argument(
        "--w2v-model",
        type=Path,
        help="an existing Word2Vec model folder to measure instead (read only; its "
        "models directory is served)",
    )
    parser.add_argument(
        "--w2v-tokens", default="64M", help="trained: synthetic corpus tokens (%(default)s)"
    )
    parser.add_argument(
        "--w2v-words", default="1M", help="synthetic: words (%(default)s); 0: no Word2Vec"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="each load run (%(default)s)")
    parser.add_argument("--queries", type=int, default=1000, help="recall queries (%(default)s)")
    parser.add_argument("--timed", type=int, default=200, help="in-process timed queries")
    parser.add_argument(
        "--related-queries", type=int, default=100, help="related words queries (%(default)s)"
    )
    parser.add_argument(
        "--w2v-score",
        choices=["su", "symmetric"],
        default="su",
        help="Word2Vec related-words score: Su's or the symmetric default, both "
        "answered by the tree walk at scale (%(default)s)",
    )
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wordlens-scale-serve",
        help="where vectors files and models are written and kept (%(default)s)",
    )
    parser.add_argument(
        "--index",
        choices=INDEX_CHOICES,
        default="auto",
        help="wordlens import's --index (%(default)s): none measures an exact scan at any size",
    )
    parser.add_argument(
        "--keep-model",
        action="store_true",
        help="serve the model an earlier run imported into --data instead of importing "
        "again (its import row then shows no seconds or peak)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    args.data = args.data.resolve()
    args.data.mkdir(parents=True, exist_ok=True)
    sizes = [parse_size(size) for size in args.sizes.split(",") if size.strip()]
    sizes += [parse_size(size) for size in LARGE_SIZES.split(",") if args.large]

    report: dict[str, list[dict]] = {section: [] for section in SECTIONS}
    for rows, dim in sizes:
        measure_vectors(rows, dim, args, report)
        print(json.dumps(report["summary"][-1], ensure_ascii=False), file=sys.stderr, flush=True)
    if parse_count(args.w2v_words):
        measure_word2vec(args, report)

    print(f"\n{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end\n")
    for section, title in SECTIONS.items():
        rows_of = report[section]
        if rows_of:
            columns = [c for c in rows_of[0] if any(row.get(c) is not None for row in rows_of)]
            shown = [{c: "—" if row.get(c) is None else row[c] for c in columns} for row in rows_of]
            print(f"### {title}\n\n{table(shown, columns)}\n")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
