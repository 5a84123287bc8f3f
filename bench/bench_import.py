"""Peak memory and time of ``wordlens import`` against gensim's loader.

Writes seeded random vectors (``--words`` × ``--dim``, default 1 M × 100) once per
format in a temporary folder, then, each in its own process, runs ``wordlens import``
on it and gensim's ``KeyedVectors.load_word2vec_format`` (``binary=True`` for
word2vec-bin, ``no_header=True`` for glove). Peak RSS is the child's own maximum
resident set (``wait4``'s ru_maxrss), compared with the float32 matrix written.

    .venv/bin/python bench/bench_import.py [--words 1000000] [--dim 100]
        [--formats word2vec-bin word2vec glove] [--dtype float32]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import run_measured, table

from wordlens.training.vector_formats import write_vectors

GENSIM = """
import sys
from gensim.models import KeyedVectors
fmt = sys.argv[2]
KeyedVectors.load_word2vec_format(
    sys.argv[1], binary=fmt == "word2vec-bin", no_header=fmt == "glove"
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--formats", nargs="+", default=["word2vec-bin", "word2vec", "glove"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--no-gensim", action="store_true", help="time wordlens only")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.words, args.dim)).astype(np.float32)
    words = [f"w{i}" for i in range(args.words)]
    matrix_mib = vectors.nbytes / 2**20
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as scratch:
        for fmt in args.formats:
            source = Path(scratch) / f"vectors.{fmt}"
            started = time.perf_counter()
            write_vectors(source, words, vectors, fmt)
            print(
                f"{fmt}: {source.stat().st_size / 2**20:.0f} MiB written in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            out = Path(scratch) / "model"
            tools = {
                "wordlens import": [
                    sys.executable, "-m", "wordlens", "import", str(source),
                    "--format", fmt, "--out", str(out), "--dtype", args.dtype,
                ],
            }  # fmt: skip
            if not args.no_gensim:
                tools["gensim load_word2vec_format"] = [
                    sys.executable, "-c", GENSIM, str(source), fmt
                ]  # fmt: skip
            for tool, command in tools.items():
                seconds, peak, _ = run_measured(command)
                rows.append(
                    {
                        "format": fmt,
                        "reader": tool,
                        "seconds": seconds,
                        "peak RSS MiB": peak,
                        "peak / float32 matrix": peak / matrix_mib,
                    }
                )
            source.unlink()
    print()
    print(f"{args.words:,} words × {args.dim}: float32 matrix {matrix_mib:.0f} MiB")
    print(table(rows))


if __name__ == "__main__":
    main()
