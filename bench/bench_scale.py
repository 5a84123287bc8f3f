"""PMI training at corpus scale: wall time, peak memory and stage times against corpus
size, on the seeded synthetic corpora of bench/synthetic.py (Heaps-law vocabulary,
topics).

For each size (4M, 16M, 64M tokens; 256M and 1B with ``--large``) the corpus is
generated once into ``--data`` (kept for the next run), then the pipeline runs as
subprocesses of this script:

- ``new`` (default): ``wordlens count --corpus F --out COUNTS --memory-mb M``, then
  ``wordlens train pmi --counts COUNTS --out MODEL --memory-mb M --no-evaluate``;
- ``old``: ``wordlens train pmi --corpus F --out MODEL --memory-mb M --no-evaluate``
  (counting and training in one process, as before issue 14).

Each command's wall time and the peak resident memory of its whole process tree (the
RSS of the process and all its descendants, summed, sampled every 0.1 s; pages shared
between processes count once per process) are measured, with ``ru_maxrss`` (the
largest single process of the tree, exact). Vocabulary (words seen at least 5 times),
cells and stage seconds (tokenise, count, merge, solve, write) are read from the counts
manifest and the model manifest's ``training`` block; a stage a manifest does not
report shows as "—". Growth exponents are least-squares slopes in log-log space.

At one size (``--dask-size``, 16M by default; 0 for none) the counting also runs on a
Dask cluster started by this script on 127.0.0.1 (``dask scheduler`` and two ``dask
worker`` processes of one thread each), against local processes (``--workers 2``) in
the same run; the two counts folders must be identical file for file. Peak memory of
that row includes the scheduler and the workers.

    .venv/bin/python bench/bench_scale.py [--sizes 4M,16M,64M] [--large]
        [--pipeline new|old] [--memory-mb 4000] [--dask-size 16M] [--data DIR]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import synthetic
from common import ROOT, table

DEFAULT_SIZES = "4M,16M,64M"
LARGE_SIZES = ("256M", "1B")
MIN_COUNT = 5
GIB = 2**30
# Files whose checksums say whether two counts folders hold the same counts.
COUNTS_DATA = ("words.txt", "counts.npy", "indptr.npy", "indices.npy", "ticks.npy")


@dataclass
class Measured:
    """One command's run: wall ``seconds``, ``tree_peak`` (bytes, summed RSS of its
    process tree, sampled), ``max_rss`` (bytes, ru_maxrss: the largest single process
    among it and its waited-for descendants)."""

    seconds: float
    tree_peak: int
    max_rss: int


class TreeSampler:
    """Samples, every ``interval`` seconds in a thread, the summed RSS (bytes) of some
    processes and all their descendants; keeps the largest sum in ``peak``."""

    def __init__(self, pids: list[int], interval: float = 0.1):
        import psutil

        self._psutil = psutil
        self._roots = [psutil.Process(pid) for pid in pids]
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0

    def add(self, pid: int) -> None:
        self._roots.append(self._psutil.Process(pid))

    def _sample(self) -> int:
        total = 0
        for root in list(self._roots):
            try:
                processes = [root, *root.children(recursive=True)]
            except self._psutil.Error:  # ended between two samples
                continue
            for process in processes:
                with contextlib.suppress(self._psutil.Error):
                    total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(command: list[str], also: Sequence[int] = (), log: Path | None = None) -> Measured:
    """Run ``command`` (from the project root), measuring its wall time and memory; the
    processes ``also`` (e.g. a cluster) count in the tree's peak. Its output goes to
    ``log`` (or is discarded); a failure raises with the log's tail."""
    started = time.perf_counter()
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        with TreeSampler([process.pid, *also]) as sampler:
            _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace")[-3000:] if log else ""
        raise RuntimeError(f"{' '.join(command)} failed ({status}):\n{tail}")
    return Measured(seconds, sampler.peak, usage.ru_maxrss * 1024)


def wordlens(*args: object) -> list[str]:
    return [sys.executable, "-m", "wordlens", "-q", *map(str, args)]


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def pick(block: dict, *names: str) -> float | None:
    """The first of ``names`` that ``block`` holds (manifests name stages variously)."""
    for name in names:
        if block.get(name) is not None:
            return block[name]
    return None


def count_stages(manifest: dict) -> dict:
    """Stage seconds of ``wordlens count`` from its counts manifest's ``figures``
    (seconds summed over the parallel tasks): tokenise_seconds (reading, tokenising and
    encoding to ids), count_seconds (the counting kernel and sorted runs), merge_seconds
    (merging shards' partial counts)."""
    timing = manifest.get("figures") or {}
    return {
        "tokenise s": pick(timing, "tokenise_seconds", "read_seconds", "encode_seconds"),
        "count s": pick(timing, "count_seconds"),
        "merge s": pick(timing, "merge_seconds"),
        "count write s": pick(timing, "write_seconds"),
    }


def new_pipeline(corpus: Path, work: Path, memory_mb: int, workers: int, logs: Path) -> dict:
    """``wordlens count`` (``workers`` local processes) then ``wordlens train pmi
    --counts``: measures and figures."""
    counts, model = work / "counts", work / "model"
    counting = run_measured(
        wordlens(
            "count",
            "--corpus",
            corpus,
            "--out",
            counts,
            "--memory-mb",
            memory_mb,
            "--workers",
            workers,
        ),
        log=logs / f"{corpus.stem}-count.log",
    )
    training = run_measured(
        wordlens(
            "train",
            "pmi",
            "--counts",
            counts,
            "--out",
            model,
            "--memory-mb",
            memory_mb,
            "--no-evaluate",
        ),
        log=logs / f"{corpus.stem}-train.log",
    )
    counts_manifest, model_manifest = read_manifest(counts), read_manifest(model)
    block = model_manifest.get("training", {})
    word_counts = np.load(counts / "counts.npy", mmap_mode="r")
    row = {
        "vocabulary": int((word_counts >= MIN_COUNT).sum()),
        "words": int(counts_manifest["words"]),
        "cells": int(counts_manifest["cells"]),
        "PPMI cells": pick(block, "ppmi_cells", "cells", "pairs"),
        "count wall s": counting.seconds,
        "train wall s": training.seconds,
        "wall s": counting.seconds + training.seconds,
        "peak GiB": max(counting.tree_peak, training.tree_peak) / GIB,
        "count peak GiB": counting.tree_peak / GIB,
        "train peak GiB": training.tree_peak / GIB,
        "ru_maxrss GiB": max(counting.max_rss, training.max_rss) / GIB,
        **count_stages(counts_manifest),
        "PPMI s": pick(block, "ppmi_seconds"),
        "solve s": pick(block, "solve_seconds", "eig_seconds"),
    }
    # The model is written after its manifest's training block is filled: writing is
    # the rest of the command (interpreter start-up included, about 1 s).
    row["train write s"] = _rest(training.seconds, block)
    row["_counts"] = counts_manifest
    return row


def old_pipeline(corpus: Path, work: Path, memory_mb: int, logs: Path) -> dict:
    """``wordlens train pmi --corpus`` (counting inside training): measures and figures."""
    model = work / "model"
    training = run_measured(
        wordlens(
            "train",
            "pmi",
            "--corpus",
            corpus,
            "--out",
            model,
            "--memory-mb",
            memory_mb,
            "--no-evaluate",
        ),
        log=logs / f"{corpus.stem}-train-old.log",
    )
    manifest = read_manifest(model)
    block = manifest.get("training", {})
    return {
        "vocabulary": manifest["vocab_size"],
        "cells": block.get("pairs"),  # both triangles, kept words only
        "wall s": training.seconds,
        "peak GiB": training.tree_peak / GIB,
        "ru_maxrss GiB": training.max_rss / GIB,
        "tokenise s": block.get("read_seconds"),
        "count s": block.get("count_seconds"),
        "solve s": block.get("eig_seconds"),
        "train write s": _rest(training.seconds, block),
    }


def _rest(wall: float, block: dict) -> float | None:
    inside = block.get("seconds")
    return None if inside is None else max(wall - inside, 0.0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """A Dask cluster on 127.0.0.1: ``dask scheduler`` and ``workers`` ``dask worker``
    processes (one thread each, no memory limit: the count's own budget bounds it),
    started here and stopped on exit; their logs in ``folder``. Yields (scheduler
    address, their pids)."""
    from distributed import Client

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    commands = {"scheduler": [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port)]}
    for index in range(workers):
        commands[f"worker-{index}"] = [
            *dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
            "--memory-limit", "0", "--name", f"worker-{index}",
            "--local-directory", str(folder / f"worker-{index}"),
        ]  # fmt: skip
    processes: list[subprocess.Popen] = []
    with contextlib.ExitStack() as logs:
        try:
            for name, command in commands.items():
                log = logs.enter_context(open(folder / f"{name}.log", "wb"))
                processes.append(
                    subprocess.Popen(
                        [*command, "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT
                    )
                )
            with Client(address, timeout=60) as client:
                client.wait_for_workers(workers, timeout=120)
            yield address, [process.pid for process in processes]
        finally:
            for process in reversed(processes):  # workers first, then the scheduler
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def dask_rows(
    corpus: Path, work: Path, memory_mb: int, workers: int, local: dict, logs: Path
) -> list[dict]:
    """Counting ``corpus`` on ``workers`` local Dask workers against the local
    processes' count (``local``, measured in this run with as many processes)."""
    counts = work / "counts-dask"
    with dask_cluster(work / "cluster", workers) as (address, pids):
        measured = run_measured(
            wordlens(
                "count",
                "--corpus",
                corpus,
                "--out",
                counts,
                "--memory-mb",
                memory_mb,
                "--scheduler",
                address,
            ),
            also=pids,
            log=logs / f"{corpus.stem}-count-dask.log",
        )
    files = read_manifest(counts)["files"]
    local_files = local["_counts"]["files"]
    same = all(files[name]["sha256"] == local_files[name]["sha256"] for name in COUNTS_DATA)
    return [
        {
            "counting": f"local processes ({workers})",
            "wall s": local["count wall s"],
            "peak GiB": local["count peak GiB"],
            "ratio": 1.0,
            "identical": "—",
        },
        {
            "counting": f"Dask, {workers} local workers",
            "wall s": measured.seconds,
            "peak GiB": measured.tree_peak / GIB,
            "ratio": measured.seconds / local["count wall s"],
            "identical": "yes" if same else "NO",
        },
    ]


def exponents(rows: list[dict]) -> list[dict]:
    """Growth exponents: slopes of log(time) and log(peak) against log(tokens), and of
    log(time) against log(cells)."""
    pairs = [("tokens", y) for y in ("wall s", "count wall s", "train wall s", "peak GiB")]
    pairs.append(("cells", "wall s"))
    return [
        {
            "growth": f"{y} vs {x}",
            "exponent": synthetic.fit_exponent([r[x] for r in rows], [r[y] for r in rows]),
        }
        for x, y in pairs
        if all(row.get(x) and row.get(y) for row in rows)
    ]


COLUMNS = [
    "tokens",
    "vocabulary",
    "words",
    "cells",
    "PPMI cells",
    "wall s",
    "count wall s",
    "train wall s",
    "peak GiB",
    "count peak GiB",
    "train peak GiB",
    "ru_maxrss GiB",
    "tokenise s",
    "count s",
    "merge s",
    "count write s",
    "PPMI s",
    "solve s",
    "train write s",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="corpus sizes (%(default)s)")
    parser.add_argument("--large", action="store_true", help="also 256M and 1B tokens")
    parser.add_argument("--pipeline", choices=("new", "old"), default="new")
    parser.add_argument("--memory-mb", type=int, default=4000, help="(%(default)s)")
    parser.add_argument(
        "--dask-size", default="16M", help="size of the Dask row; 0 for none (%(default)s)"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wordlens-scale",
        help="where the corpora are generated and kept (%(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="counting processes, and Dask workers (%(default)s)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    sizes = [synthetic.parse_size(size) for size in args.sizes.split(",") if size]
    sizes += [synthetic.parse_size(size) for size in LARGE_SIZES if args.large]
    dask_size = synthetic.parse_size(args.dask_size)
    if args.pipeline == "old":
        dask_size = 0  # the old pipeline has no separate counting to distribute

    rows, dask_table = [], []
    logs = args.data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for tokens in sorted(sizes):
        corpus, figures = synthetic.ensure_corpus(args.data, tokens)
        print(
            f"{synthetic.format_size(tokens)}: {corpus} ({figures['bytes'] / GIB:.2f} GiB)",
            file=sys.stderr,
            flush=True,
        )
        work = Path(tempfile.mkdtemp(prefix=f"scale-{tokens}-", dir=args.data))
        try:
            if args.pipeline == "new":
                row = new_pipeline(corpus, work, args.memory_mb, args.workers, logs)
                if tokens == dask_size:
                    dask_table = dask_rows(corpus, work, args.memory_mb, args.workers, row, logs)
            else:
                row = old_pipeline(corpus, work, args.memory_mb, logs)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        row.pop("_counts", None)
        rows.append({"tokens": synthetic.format_size(tokens), **row})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    columns = [c for c in COLUMNS if any(row.get(c) is not None for row in rows)]
    shown = [{c: "—" if row.get(c) is None else row[c] for c in columns} for row in rows]
    print(f"\n{args.pipeline} pipeline, --memory-mb {args.memory_mb}\n")
    print(table(shown, columns))
    numeric = [{**row, "tokens": synthetic.parse_size(row["tokens"])} for row in rows]
    if len(rows) > 1:
        print()
        print(table(exponents(numeric)))
    if dask_table:
        print(f"\ncounting {synthetic.format_size(dask_size)} tokens\n")
        print(table(dask_table))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "dask": dask_table}, indent=1))


if __name__ == "__main__":
    main()
