"""Run every benchmark in turn and print their tables (the README's Results), then a
summary: each script, the arguments it ran with, its wall time and whether it passed.

    make bench                                    # or: .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --full      # the configurations the README quotes
    .venv/bin/python bench/run_all.py --only bench_batch bench_import

By default each benchmark runs its quick configuration (smaller sizes, fewer
repeats: about 40 minutes on 2 cores); ``--full`` runs each as the README quotes it
(several hours: the 1M-word indexes take about 10 minutes each to build, the corpus
scale rows about 10). Neither runs 3M × 300 (``bench_scale_serve.py --large``) or the
1 B-token corpus (``bench_scale.py --large``). A benchmark that fails is reported
and the others still run; the exit status says whether all passed.

Needs the default models (``make models``) and, for the Chinese keyword comparison,
``wordlens train word2vec --corpus corpus/data/zh.txt.gz --tokenizer jieba
--out models/word2vec-zh``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import table

HERE = Path(__file__).resolve().parent

#: (script, quick arguments, full arguments), in the README's order.
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("bench_scale.py", ["--sizes", "4M", "--dask-size", "0"], []),
    ("bench_tokenizers.py", [], []),
    ("bench_pmi.py", ["--no-reference"], []),
    ("bench_word2vec.py", [], []),
    ("bench_ann.py", ["--size", "50000"], []),
    ("bench_engine.py", [], []),
    ("bench_vocabulary.py", ["--sizes", "100k"], []),
    ("bench_suggestions.py", ["--sizes", "100k", "--queries", "500", "--seconds", "2"], []),
    ("bench_batch.py", ["--repeat", "1"], []),
    ("bench_dtype.py", [], []),
    ("bench_import.py", ["--words", "100000", "--formats", "word2vec-bin"], ["--index", "auto"]),
    ("bench_scale_serve.py", ["--sizes", "100k×100", "--w2v-words", "0"], []),
    ("bench_server.py", ["--seconds", "3"], []),
    ("bench_soak.py", ["--seconds", "20"], []),
    ("bench_keywords.py", [], []),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="the README's configurations")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these (bench_batch or bench_batch.py)"
    )
    args = parser.parse_args()
    wanted = {name.removesuffix(".py") + ".py" for name in args.only or []}
    unknown = wanted - {script for script, _, _ in BENCHMARKS}
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    summary = []
    for script, quick, full in BENCHMARKS:
        if wanted and script not in wanted:
            continue
        arguments = full if args.full else quick
        print(f"\n## {script} {' '.join(arguments)}\n", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *arguments], cwd=HERE.parent)
        summary.append(
            {
                "benchmark": script,
                "arguments": " ".join(arguments) or "(defaults)",
                "minutes": (time.perf_counter() - started) / 60,
                "result": "ok" if done.returncode == 0 else f"failed ({done.returncode})",
            }
        )
    print("\n## Summary\n")
    print(table(summary))
    return 0 if all(row["result"] == "ok" for row in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
