"""PMI vectors: counting speed, both solvers, against gensim Word2Vec, in one run.

Each variant runs in its own process (wall time and peak resident memory):

- counting X (window 10) from tokenised documents held in memory: wordlens's kernel
  against a plain scipy implementation (one sparse matrix per window offset);
- ``wordlens train pmi`` with the default closed-form solver, with Su's AdaGrad
  trainer (window 10, 30 epochs), and with AdaGrad started from the closed form;
- gensim Word2Vec (skip-gram, hierarchical softmax, 128 dimensions, window 5,
  5 epochs) on the same tokenised corpus, the yardstick.

Then every model is scored: WordSim-353 and SimLex-999 (Spearman, cosine) and the
importance property (how many of the 25 shortest vectors among the 2 000 most
frequent words are function words; Word2Vec is scored the same way).

    .venv/bin/python bench/bench_pmi.py [--epochs 30]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, run_measured, table

CORPUS = ROOT / "corpus/data/en.txt.gz"


def count_variant(name: str) -> None:
    import scipy.sparse as sp

    from corpus import Corpus, get_tokenizer
    from training.cooccur import count_cooccurrences
    from training.vocab import build_vocabulary, count_words

    documents = list(Corpus(CORPUS, get_tokenizer("english")))
    vocabulary = build_vocabulary(count_words(documents), 5)
    index, size = vocabulary.index, len(vocabulary)
    started = time.perf_counter()
    if name == "count-wordlens":
        matrix = count_cooccurrences(documents, index, window=10)
    else:  # the plain way: encode everything, then one sparse matrix per offset
        ids = np.array([index.get(t, -1) for d in documents for t in d], dtype=np.int64)
        docs = np.repeat(np.arange(len(documents)), [len(d) for d in documents])
        ids, docs = ids[ids >= 0], docs[ids >= 0]
        matrix = sp.csr_matrix((size, size))
        for k in range(1, 11):
            same = (docs[:-k] == docs[k:]) & (ids[:-k] != ids[k:])
            a, b = ids[:-k][same], ids[k:][same]
            matrix = matrix + sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(size, size))
        matrix = (matrix + matrix.T).tocsr()
    print(json.dumps({"seconds": time.perf_counter() - started, "nnz": int(matrix.nnz),
                      "total": float(matrix.sum())}))


def gensim_variant() -> None:
    import os

    from gensim.models import Word2Vec

    from app.artifacts import write_model
    from corpus import Corpus, get_tokenizer

    sentences = [t for t in Corpus(CORPUS, get_tokenizer("english")) if t]
    started = time.perf_counter()
    model = Word2Vec(sentences, sg=1, hs=1, negative=0, vector_size=128, window=5,
                     min_count=5, epochs=5, workers=os.cpu_count(), seed=1)
    seconds = time.perf_counter() - started
    write_model(sys.argv[-1], kind="word2vec", words=model.wv.index_to_key,
                vectors=model.wv.vectors, manifest={"tokenizer": {"name": "english"}})
    print(json.dumps({"seconds": seconds}))


def importance(model) -> int:
    from app.keywords import default_stopwords

    stop = default_stopwords("english")
    shortest = np.argsort(np.asarray(model.norms[:2000]))[:25]
    return sum(model.words[i] in stop for i in shortest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.variant == "gensim":
        return gensim_variant()
    if args.variant:
        return count_variant(args.variant)

    from app.artifacts import load_model
    from training.evaluate import evaluate_model

    script = [sys.executable, str(Path(__file__).resolve())]
    env = {"PYTHONPATH": str(ROOT)}
    counting = []
    for name, label in (("count-scipy", "plain scipy, one matrix per offset"),
                        ("count-wordlens", "wordlens (numba kernel, chunked)")):
        _, peak, output = run_measured(script + ["--variant", name], env=env)
        figures = json.loads(output)
        counting.append({"counting X, window 10": label, "seconds": figures["seconds"],
                         "non-zero cells": figures["nnz"], "peak MiB (process)": peak})
    counting[1]["speed-up"] = counting[0]["seconds"] / counting[1]["seconds"]
    print(table(counting))
    print()

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        runs = [
            ("pmi eig (default)", ["--solver", "eig"]),
            (f"pmi adagrad, window 10, {args.epochs} epochs",
             ["--solver", "adagrad", "--epochs", str(args.epochs)]),
            (f"pmi adagrad from eig, window 10, {args.epochs} epochs",
             ["--solver", "adagrad", "--init", "eig", "--epochs", str(args.epochs)]),
        ]
        for label, options in runs:
            out = Path(scratch) / label.split(",")[0].replace(" ", "-")
            seconds, peak, _ = run_measured(
                [sys.executable, "-m", "app.cli", "-q", "train", "pmi", "--out", str(out),
                 "--no-evaluate", *options])
            rows.append({"model": label, "path": out, "wall s": seconds, "peak MiB": peak})
        out = Path(scratch) / "gensim"
        seconds, peak, output = run_measured(script + ["--variant", "gensim", str(out)], env=env)
        rows.append({"model": "gensim word2vec sg hs, 5 epochs", "path": out,
                     "wall s": seconds, "peak MiB": peak,
                     "note": f"training alone {json.loads(output)['seconds']:.1f} s"})
        for row in rows:
            model = load_model(row.pop("path"), verify=False)
            scores = evaluate_model(model)
            row["WS353"] = scores["wordsim353"]["spearman_cosine"]
            row["SimLex"] = scores["simlex999"]["spearman_cosine"]
            row["analogy 3CosAdd"] = scores["analogy"]["3cosadd"]
            row["function words in 25 shortest"] = importance(model)
            training = model.manifest.get("training", {})
            if "records_per_second_per_thread" in training:
                row["records/s/thread"] = training["records_per_second_per_thread"]
    yardstick = rows[-1]["wall s"]
    for row in rows:
        row["wall / word2vec"] = row["wall s"] / yardstick
    print(table(rows, ["model", "wall s", "wall / word2vec", "peak MiB", "WS353", "SimLex",
                       "analogy 3CosAdd", "function words in 25 shortest", "records/s/thread",
                       "note"]))


if __name__ == "__main__":
    main()
