"""Peak memory and time of ``wordlens import`` against gensim's loader.

Writes seeded random vectors (``--words`` × ``--dim``, default 1 M × 100) once per
format in a temporary folder (in a child process, so that this one stays small: the
peak RSS of a child counts its parent's pages), then, each in its own process, runs
``wordlens import --index INDEX`` on it and gensim's
``KeyedVectors.load_word2vec_format`` (``binary=True`` for word2vec-bin,
``no_header=True`` for glove). Peak memory is sampled every 20 ms from /proc: the
RSS of the command's own process (the import) and of its child processes (the index
build, which ``wordlens`` runs in a child), and the PSS of the whole process tree at
once; ``wait4``'s ru_maxrss (the largest single process, exact) is printed beside
them. Each is compared with the float32 matrix written.

    .venv/bin/python bench/bench_import.py [--words 1000000] [--dim 100]
        [--formats word2vec-bin word2vec glove] [--dtype float32] [--index none]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, run_measured, table

# Run in a child process: the peak RSS of a child started from a large process would
# count the parent's pages (Linux keeps the maximum across fork and exec).
WRITE = """
import sys
import numpy as np
from wordlens.training.vector_formats import write_vectors
words, dim = int(sys.argv[2]), int(sys.argv[3])
vectors = np.random.default_rng(0).normal(size=(words, dim)).astype(np.float32)
write_vectors(sys.argv[1], [f"w{i}" for i in range(words)], vectors, sys.argv[4])
"""

GENSIM = """
import sys
from gensim.models import KeyedVectors
fmt = sys.argv[2]
KeyedVectors.load_word2vec_format(
    sys.argv[1], binary=fmt == "word2vec-bin", no_header=fmt == "glove"
)
"""


def _memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MiB; (0, 0) once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0, 0.0
    fields = {
        line.split(":")[0]: int(line.split()[1]) / 1024
        for line in rollup.splitlines()
        if line.startswith(("Rss:", "Pss:"))
    }
    return fields.get("Rss", 0.0), fields.get("Pss", 0.0)


def _descendants(pid: int) -> list[int]:
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(x) for x in children.read_text().split()]
        except OSError:
            continue
        for child in pids:
            found += [child, *_descendants(child)]
    return found


def run_sampled(command: list[str]) -> dict[str, float]:
    """Run ``command``; its seconds and peak memory in MiB, sampled every 20 ms:
    ``own`` (the process's RSS), ``children`` (its descendants' RSS together),
    ``tree`` (the PSS of all at once: pages two processes share count once, as a
    child forked before its exec shares its parent's), and ``maxrss`` (wait4: the
    largest single process's exact peak RSS)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    peaks = {"own": 0.0, "children": 0.0, "tree": 0.0}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        own = _memory_mib(process.pid)
        children = [_memory_mib(child) for child in _descendants(process.pid)]
        sums = {
            "own": own[0],
            "children": sum(rss for rss, _ in children),
            "tree": own[1] + sum(pss for _, pss in children),
        }
        for name, value in sums.items():
            peaks[name] = max(peaks[name], value)
        time.sleep(0.02)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {status}")
    return {
        "seconds": time.perf_counter() - started,
        **peaks,
        "maxrss": usage.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--formats", nargs="+", default=["word2vec-bin", "word2vec", "glove"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--index", default="none", choices=["none", "auto", "hnsw"])
    parser.add_argument("--no-gensim", action="store_true", help="time wordlens only")
    args = parser.parse_args()

    matrix_mib = args.words * args.dim * 4 / 2**20
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        for fmt in args.formats:
            source = Path(scratch) / f"vectors.{fmt}"
            seconds, _, _ = run_measured(
                [sys.executable, "-c", WRITE, str(source), str(args.words), str(args.dim), fmt]
            )
            print(
                f"{fmt}: {source.stat().st_size / 2**20:.0f} MiB written in {seconds:.1f} s",
                flush=True,
            )
            out = Path(scratch) / "model"
            tools = {
                "wordlens import": [
                    sys.executable, "-m", "wordlens", "import", str(source),
                    "--format", fmt, "--out", str(out), "--dtype", args.dtype,
                    "--index", args.index,
                ],
            }  # fmt: skip
            if not args.no_gensim:
                tools["gensim load_word2vec_format"] = [
                    sys.executable, "-c", GENSIM, str(source), fmt
                ]  # fmt: skip
            for tool, command in tools.items():
                run = run_sampled(command)
                rows.append(
                    {
                        "format": fmt,
                        "reader": tool,
                        "seconds": run["seconds"],
                        "peak RSS MiB: process": run["own"],
                        "index child": run["children"],
                        "whole tree": run["tree"],
                        "wait4 maxrss": run["maxrss"],
                        "process / matrix": run["own"] / matrix_mib,
                        "child / matrix": run["children"] / matrix_mib,
                        "tree / matrix": run["tree"] / matrix_mib,
                    }
                )
            source.unlink()
    print()
    print(
        f"{args.words:,} words × {args.dim}: float32 matrix {matrix_mib:.0f} MiB; "
        f"--index {args.index}"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
