"""Counting a corpus on one process, on local processes and on a Dask cluster.

    .venv/bin/python bench/bench_distributed.py [--repeat 1] [--workers 2] [--rounds 2]

The corpus is the shipped English corpus decompressed, ``--repeat`` times end to
end (25.7 MB, 4.0 M tokens each). Each configuration runs as its own command, in
the same run, alternating for ``--rounds`` rounds:

- one process: ``count_documents`` over the whole corpus, no shards;
- local processes: ``wordlens count --workers N``;
- Dask: ``wordlens count --scheduler`` on a cluster of N ``dask worker`` processes
  (one thread each) and a ``dask scheduler``, all on 127.0.0.1 and started before
  the rounds (a cluster exists before it is used).

All get the same total memory budget (``--memory-mb``; each Dask task gets its share,
as each local process does). Wall time is the command's; peak RSS is the largest
sum of the resident memory of every process involved (the command and its children;
for Dask the scheduler and the workers too), sampled every 0.1 s; CPU is the user +
system time of the same processes: the work done, whatever else runs on the machine.
The three results are checked equal, array by array. Prints a Markdown table and
the load average (other programs running meanwhile make wall times longer).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wordlens.corpus import DEFAULT_ENGLISH  # noqa: E402
from wordlens.training.local_cluster import local_dask_cluster  # noqa: E402

ONE_PROCESS = """
import sys
from wordlens.corpus import Corpus, get_tokenizer
from wordlens.training.cooccur import count_documents
corpus_path, out, scratch, window, memory_mb = sys.argv[1:]
corpus = Corpus(corpus_path, get_tokenizer("english"))
count_documents(corpus, window=int(window), weighting="distance",
    memory_bytes=int(memory_mb) * 2**20, out=out, tokenizer_spec=corpus.tokenizer.spec,
    corpus_description=lambda: corpus.describe(0, 0), scratch=scratch)
"""


class PeakMemory:
    """The largest sum of RSS over a process tree (and some other processes),
    sampled every ``interval`` seconds in a thread."""

    def __init__(self, root: int, others: list[int], interval: float = 0.1):
        self.root, self.others, self.interval = root, others, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _total(self) -> int:
        total = 0
        try:
            root = psutil.Process(self.root)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            processes = []
        processes += [psutil.Process(pid) for pid in self.others]
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def cpu_seconds(others: list[int]) -> float:
    """CPU time (user + system) of this process's waited-for descendants and of the
    processes ``others``."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = children.ru_utime + children.ru_stime
    for pid in others:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def measure(command: list[str], others: list[int] = ()) -> tuple[float, int, float]:
    """(wall seconds, peak RSS bytes, CPU seconds) of one command."""
    cpu = cpu_seconds(list(others))
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    memory = PeakMemory(process.pid, list(others))
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    cpu = cpu_seconds(list(others)) - cpu
    if process.returncode:
        raise RuntimeError(f"{command} failed:\n{stderr.decode()[-3000:]}")
    print(
        f"  {seconds:6.1f} s  {cpu:6.1f} s CPU  {peak / 2**20:7.0f} MiB  {stdout.decode().strip()}",
        flush=True,
    )
    return seconds, peak, cpu


def same_counts(a: Path, b: Path) -> bool:
    if (a / "words.txt").read_bytes() != (b / "words.txt").read_bytes():
        return False
    names = ("counts.npy", "indptr.npy", "indices.npy", "ticks.npy")
    return all(np.array_equal(np.load(a / name), np.load(b / name)) for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="copies of the corpus (1)")
    parser.add_argument("--workers", type=int, default=2, help="processes / Dask workers (2)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each (2)")
    parser.add_argument("--memory-mb", type=int, default=2048, help="total budget (2048)")
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--shard-mb", type=float, default=None, help="default: the command's")
    parser.add_argument("--work", type=Path, default=None, help="work folder (a temporary one)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-distributed-", dir=args.work))
    try:
        corpus = work / "corpus.txt"
        with gzip.open(DEFAULT_ENGLISH, "rb") as source:
            text = source.read()
        corpus.write_bytes(text * args.repeat)
        print(f"corpus: {corpus.stat().st_size / 1e6:.1f} MB, {args.workers} workers", flush=True)
        wordlens = [sys.executable, "-m", "wordlens", "-q", "count", "--corpus", str(corpus)]
        wordlens += ["--window", str(args.window)]
        if args.shard_mb:
            wordlens += ["--shard-mb", str(args.shard_mb)]
        results: dict[str, list[tuple[float, int, float]]] = {"one": [], "local": [], "dask": []}
        with local_dask_cluster(work / "cluster", workers=args.workers) as (address, pids):
            for round_number in range(args.rounds):
                print(f"round {round_number + 1}", flush=True)
                scratch = work / "scratch"
                scratch.mkdir(exist_ok=True)
                one = [sys.executable, "-c", ONE_PROCESS, str(corpus), str(work / "one")]
                one += [str(scratch), str(args.window), str(args.memory_mb)]
                results["one"].append(measure(one))
                local = [*wordlens, "--out", str(work / "local"), "--workers", str(args.workers)]
                local += ["--memory-mb", str(args.memory_mb)]
                results["local"].append(measure(local))
                dask = [*wordlens, "--out", str(work / "dask"), "--scheduler", address]
                dask += ["--memory-mb", str(args.memory_mb // args.workers)]
                results["dask"].append(measure(dask, pids))
        equal = same_counts(work / "one", work / "local") and same_counts(
            work / "one", work / "dask"
        )
        print(f"\nresults equal, array by array: {equal}\n")
        labels = {
            "one": "1 process (no shards)",
            "local": f"{args.workers} local processes",
            "dask": f"Dask, {args.workers} workers",
        }
        local_best = min(seconds for seconds, _, _ in results["local"])
        print("| counting | wall (best, median) | CPU (median) | peak RSS (max) | wall vs local |")
        print("|---|---|---|---|---|")
        for key, runs in results.items():
            seconds = [run[0] for run in runs]
            peak = max(run[1] for run in runs)
            cpu = statistics.median(run[2] for run in runs)
            print(
                f"| {labels[key]} | {min(seconds):.1f} s, {statistics.median(seconds):.1f} s "
                f"| {cpu:.1f} s | {peak / 2**30:.2f} GiB | {min(seconds) / local_best:.2f}× |"
            )
        load = os.getloadavg()
        print(
            f"\nload average at the end (1, 5, 15 min): {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
