"""Peak memory and time of ``wordlens import`` against gensim's loader.

Writes seeded random vectors (``--words`` × ``--dim``, default 1 M × 100) once per
format in a temporary folder (in a child process, so that this one stays small: the
peak RSS of a child counts its parent's pages), then, each in its own process, runs
``wordlens import``
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
from pathlib import Path

from common import run_measured, table

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--formats", nargs="+", default=["word2vec-bin", "word2vec", "glove"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
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
