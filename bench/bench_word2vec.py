"""Word2Vec: wordlens's training pipeline against calling gensim directly.

Same settings everywhere (skip-gram, hierarchical softmax, 128 dimensions, window 5,
min_count 5, 5 epochs, sample 1e-3, all cores, seed 1), same corpus, one run, each
variant in its own process:

- ``gensim (list)``: gensim given the corpus tokenised beforehand (by the same
  tokenizer, not timed) as an in-memory list of sentences, the ordinary way;
- ``gensim (corpus_file)``: gensim's file mode on the same tokens written beforehand
  to a whitespace-separated file (not timed);
- ``wordlens (stage)``: ``training.word2vec.fit_word2vec`` from the raw gzip corpus:
  streaming read + tokenising + temporary file + gensim training;
- ``wordlens train word2vec``: the whole command, also writing the model (no
  evaluation).

    .venv/bin/python bench/bench_word2vec.py [--corpus corpus/data/en.txt.gz]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, run_measured, table

SETTINGS = {
    "sg": 1,
    "hs": 1,
    "negative": 0,
    "vector_size": 128,
    "window": 5,
    "min_count": 5,
    "epochs": 5,
    "sample": 1e-3,
    "seed": 1,
}


def variant(name: str, corpus: str, scratch: str) -> None:
    """Runs inside the child process; prints {"seconds": training wall time}."""
    import os

    from gensim.models import Word2Vec

    from wordlens.corpus import Corpus, get_tokenizer

    workers = os.cpu_count()
    documents = Corpus(corpus, get_tokenizer("english"))
    if name == "gensim-list":
        sentences = [tokens for tokens in documents if tokens]
        started = time.perf_counter()
        Word2Vec(sentences, workers=workers, **SETTINGS)
    elif name == "gensim-file":
        path = Path(scratch) / "tokens.txt"
        with open(path, "w") as stream:
            stream.writelines(" ".join(t) + "\n" for t in documents if t)
        started = time.perf_counter()
        Word2Vec(corpus_file=str(path), workers=workers, **SETTINGS)
    else:
        from wordlens.training.word2vec import Word2VecParams, fit_word2vec

        started = time.perf_counter()
        fit_word2vec(documents, Word2VecParams(workers=workers), scratch_dir=scratch)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT / "corpus/data/en.txt.gz"))
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        variant(args.variant, args.corpus, args.scratch)
        return

    rows = []
    script = [sys.executable, str(Path(__file__).resolve())]
    with tempfile.TemporaryDirectory() as scratch:
        for name, label in (
            ("gensim-list", "gensim (list)"),
            ("gensim-file", "gensim (corpus_file)"),
            ("wordlens-stage", "wordlens (stage)"),
        ):
            _, peak, output = run_measured(
                script + ["--variant", name, "--corpus", args.corpus, "--scratch", scratch],
                env={"PYTHONPATH": str(ROOT)},
            )
            rows.append(
                {"variant": label, "seconds": json.loads(output)["seconds"], "peak MiB": peak}
            )
        seconds, peak, _ = run_measured(
            [
                sys.executable,
                "-m",
                "wordlens",
                "-q",
                "train",
                "word2vec",
                "--corpus",
                args.corpus,
                "--out",
                str(Path(scratch) / "model"),
                "--no-evaluate",
            ]
        )
        rows.append({"variant": "wordlens train word2vec", "seconds": seconds, "peak MiB": peak})
    baseline = rows[0]["seconds"]
    for row in rows:
        row["ratio to gensim (list)"] = row["seconds"] / baseline
    print(table(rows))


if __name__ == "__main__":
    main()
