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

``seconds`` is the training as timed inside each process (for the gensim variants,
vocabulary scan and training; tokenising beforehand not counted; for the command,
its whole run); ``process s`` is the whole process's wall time, start-up and
preparation included. For the file modes ``prepare s`` is what precedes training
(gensim: its scan of the token file for the vocabulary; wordlens: tokenising into
that file, counting on the way) and ``train s`` gensim's training itself. With ``--synthetic
SIZE`` the corpus is the seeded synthetic one of bench/synthetic.py (e.g. 16M tokens,
generated into ``--data`` once); issue 14 asks that ``wordlens train word2vec`` stay
within 1.1× of gensim's corpus_file mode there. ``--repeat N`` runs the variants N
times, interleaved, and keeps each one's fastest (the machine is shared and noisy).

    .venv/bin/python bench/bench_word2vec.py [--corpus corpus/data/en.txt.gz]
        [--synthetic 16M] [--variants gensim-file,wordlens-command] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import synthetic
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
    """Runs inside the child process; prints {"seconds": training wall time} and, for
    the file modes, "prepare s" (gensim's vocabulary scan of the file, or wordlens's
    tokenising into it) and "train s" (gensim's training)."""
    import os

    from gensim.models import Word2Vec

    from wordlens.corpus import Corpus, get_tokenizer

    workers = os.cpu_count()
    documents = Corpus(corpus, get_tokenizer("english"))
    figures = {}
    if name == "gensim-list":
        sentences = [tokens for tokens in documents if tokens]
        started = time.perf_counter()
        Word2Vec(sentences, workers=workers, **SETTINGS)
    elif name == "gensim-file":
        path = Path(scratch) / "tokens.txt"
        with open(path, "w") as stream:
            stream.writelines(" ".join(t) + "\n" for t in documents if t)
        # What Word2Vec(corpus_file=path, ...) does, in its two steps, timed apart.
        started = time.perf_counter()
        model = Word2Vec(workers=workers, **SETTINGS)
        model.build_vocab(corpus_file=str(path))
        scanned = time.perf_counter()
        model.train(
            corpus_file=str(path),
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=model.epochs,
        )
        figures = {"prepare s": scanned - started, "train s": time.perf_counter() - scanned}
    else:
        from wordlens.training.word2vec import Word2VecParams, fit_word2vec

        started = time.perf_counter()
        _, _, fitted, _ = fit_word2vec(documents, Word2VecParams(workers=workers), scratch)
        figures = {"prepare s": fitted["tokenise_seconds"], "train s": fitted["train_seconds"]}
    print(json.dumps({"seconds": time.perf_counter() - started, **figures}))


VARIANTS = {
    "gensim-list": "gensim (list)",
    "gensim-file": "gensim (corpus_file)",
    "wordlens-stage": "wordlens (stage)",
    "wordlens-command": "wordlens train word2vec",
}


def measure(name: str, corpus: str, scratch: str) -> dict:
    """One variant in its own process: its timed seconds, process wall and peak."""
    if name == "wordlens-command":
        model = Path(scratch) / "model"
        seconds, peak, _ = run_measured(
            [
                sys.executable,
                "-m",
                "wordlens",
                "-q",
                "train",
                "word2vec",
                "--corpus",
                corpus,
                "--out",
                str(model),
                "--no-evaluate",
            ]
        )
        training = json.loads((model / "manifest.json").read_text())["training"]
        return {
            "seconds": seconds,
            "process s": seconds,
            "peak MiB": peak,
            "prepare s": training["tokenise_seconds"],
            "train s": training["train_seconds"],
        }
    script = [sys.executable, str(Path(__file__).resolve())]
    wall, peak, output = run_measured(
        script + ["--variant", name, "--corpus", corpus, "--scratch", scratch],
        env={"PYTHONPATH": str(ROOT)},
    )
    return {**json.loads(output), "process s": wall, "peak MiB": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT / "corpus/data/en.txt.gz"))
    parser.add_argument(
        "--synthetic", metavar="SIZE", help="use the synthetic corpus of SIZE tokens instead"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wordlens-scale",
        help="where the synthetic corpus is generated and kept (%(default)s)",
    )
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="which, in order (%(default)s)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (%(default)s)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        variant(args.variant, args.corpus, args.scratch)
        return
    corpus = args.corpus
    if args.synthetic:
        corpus = str(synthetic.ensure_corpus(args.data, synthetic.parse_size(args.synthetic))[0])
    names = args.variants.split(",")
    unknown = set(names) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {list(VARIANTS)}")

    best: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.repeat):
            for name in names:
                measured = measure(name, corpus, scratch)
                print(name, json.dumps(measured), file=sys.stderr, flush=True)
                if name not in best or measured["seconds"] < best[name]["seconds"]:
                    best[name] = measured
    rows = [{"variant": VARIANTS[name], **best[name]} for name in names]
    for baseline in ("gensim-list", "gensim-file"):
        if baseline in best:
            for row, name in zip(rows, names, strict=True):
                row[f"ratio to {VARIANTS[baseline]}"] = (
                    best[name]["seconds"] / best[baseline]["seconds"]
                )
    columns = ["variant", "seconds", "prepare s", "train s", "process s", "peak MiB"]
    print(f"corpus: {corpus}\n")
    print(table(rows, columns + [c for c in rows[0] if c.startswith("ratio")]))


if __name__ == "__main__":
    main()
