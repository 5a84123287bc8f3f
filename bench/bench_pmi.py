"""PMI vectors: counting, both solvers and their C references, against gensim
Word2Vec, in one run on the default corpus.

Each variant runs in its own process (wall time and peak resident memory):

1. Counting X (window 10, min_count 5) from the corpus tokenised once into a plain
   text file that every counter reads: Stanford GloVe's ``vocab_count`` + ``cooccur``
   (C, built by bench/glove_reference.py), wordlens (one pass into ids and counts,
   then the counting kernel, as ``wordlens train pmi`` does them) and a plain scipy
   implementation (the whole corpus in memory, one sparse matrix per offset). GloVe
   weighs pairs by 1/distance, so all three do here; wordlens's matrix is checked
   cell by cell against GloVe's.
2. Su's AdaGrad trainer on identical records (wordlens's X, window 10, constant
   weights, one seeded shuffle): the C reference (bench/pmi_adagrad_reference.c,
   GloVe's compiler flags) against ``wordlens train pmi --solver adagrad``:
   records/s/thread and quality.
3. ``wordlens train pmi`` with the default closed-form solver and five other settings
   of it (shift, context smoothing, window and weighting: the measurements behind
   the default), with AdaGrad (window 10, 30 epochs) and with AdaGrad started from the
   closed form, and gensim Word2Vec
   (skip-gram, hierarchical softmax, 128 dimensions, window 5, 5 epochs), the
   yardstick, on the same tokenised corpus.

Every model is scored: WordSim-353 and SimLex-999 (Spearman, cosine), analogies,
and the importance property (how many of the 25 shortest vectors among the 2 000
most frequent words are stop-words; Word2Vec is scored the same way).

    .venv/bin/python bench/bench_pmi.py [--epochs 30] [--no-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, run_measured, table

CORPUS = ROOT / "corpus/data/en.txt.gz"
WINDOW, MIN_COUNT, THREADS = 10, 5, os.cpu_count() or 1


def tokenise(path: Path) -> None:
    """The default corpus through wordlens's English tokenizer, one document a line."""
    from wordlens.corpus import Corpus, get_tokenizer

    with open(path, "w", encoding="utf-8") as out:
        for tokens in Corpus(CORPUS, get_tokenizer("english")):
            out.write(" ".join(tokens) + "\n")


def read_vocabulary(text: Path):
    from wordlens.corpus import Corpus, get_tokenizer
    from wordlens.training.vocab import build_vocabulary, count_words

    corpus = Corpus(text, get_tokenizer("whitespace"))
    return corpus, build_vocabulary(count_words(corpus), MIN_COUNT)


def count_wordlens(text: Path, out: Path) -> None:
    """As ``wordlens train pmi`` counts: one pass tokenising into ids on disk, the
    vocabulary from their counts, then the counting kernel over the ids."""
    import scipy.sparse as sp

    from wordlens.corpus import Corpus, get_tokenizer
    from wordlens.training.cooccur import count_encoded
    from wordlens.training.encode import encode_corpus
    from wordlens.training.vocab import build_vocabulary

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        encoded = encode_corpus(Corpus(text, get_tokenizer("whitespace")), scratch)
        vocabulary = build_vocabulary(encoded.counter(), MIN_COUNT)
        counting = time.perf_counter()
        matrix = count_encoded(encoded, vocabulary.index, WINDOW, "distance")
    done = time.perf_counter()
    sp.save_npz(out, matrix, compressed=False)
    (out.parent / "words.txt").write_text("\n".join(vocabulary.words) + "\n")
    print(
        json.dumps(
            {"reading s": counting - started, "counting s": done - counting, "nnz": int(matrix.nnz)}
        )
    )


def count_scipy(text: Path) -> None:
    """The plain way: every token id in memory, one sparse matrix per offset."""
    import scipy.sparse as sp

    started = time.perf_counter()
    corpus, vocabulary = read_vocabulary(text)
    documents = list(corpus)
    index, size = vocabulary.index, len(vocabulary)
    ids = np.array([index.get(t, -1) for d in documents for t in d], dtype=np.int64)
    numbers = np.repeat(np.arange(len(documents)), [len(d) for d in documents])
    ids, numbers = ids[ids >= 0], numbers[ids >= 0]
    matrix = sp.csr_matrix((size, size))
    for k in range(1, WINDOW + 1):
        same = (numbers[:-k] == numbers[k:]) & (ids[:-k] != ids[k:])
        a, b = ids[:-k][same], ids[k:][same]
        matrix = matrix + sp.csr_matrix((np.full(len(a), 1.0 / k), (a, b)), shape=(size, size))
    matrix = (matrix + matrix.T).tocsr()
    print(json.dumps({"seconds": time.perf_counter() - started, "nnz": int(matrix.nnz)}))


def write_training_records(text: Path, directory: Path) -> None:
    """wordlens's X (constant weights) as GloVe records in one seeded shuffled order,
    the unigram counts and the words, for the C trainer."""
    from glove_reference import write_records

    from wordlens.training.cooccur import count_cooccurrences

    corpus, vocabulary = read_vocabulary(text)
    matrix = count_cooccurrences(corpus, vocabulary.index, WINDOW, "constant")
    write_records(directory / "records.bin", matrix, seed=1)
    np.savetxt(directory / "counts.txt", vocabulary.counts, fmt="%d")
    (directory / "words.txt").write_text("\n".join(vocabulary.words) + "\n")


def gensim_variant(text: Path, out: Path) -> None:
    from gensim.models import Word2Vec

    from wordlens.artifacts import write_model

    started = time.perf_counter()
    model = Word2Vec(
        corpus_file=str(text),
        sg=1,
        hs=1,
        negative=0,
        vector_size=128,
        window=5,
        min_count=5,
        epochs=5,
        workers=THREADS,
        seed=1,
    )
    seconds = time.perf_counter() - started
    write_model(
        out,
        kind="word2vec",
        words=model.wv.index_to_key,
        vectors=model.wv.vectors,
        manifest={"tokenizer": {"name": "english"}},
    )
    print(json.dumps({"seconds": seconds}))


VARIANTS = {
    "count-wordlens": count_wordlens,
    "count-scipy": count_scipy,
    "records": write_training_records,
    "gensim": gensim_variant,
}


def importance(model) -> int:
    from wordlens.app.keywords import default_stopwords

    stop = default_stopwords("english")
    shortest = np.argsort(np.asarray(model.norms[:2000]))[:25]
    return sum(model.words[i] in stop for i in shortest)


def scores(model) -> dict:
    from wordlens.app.engine import WordModel
    from wordlens.commands.evaluate import evaluate_model

    figures = evaluate_model(WordModel(model))
    return {
        "WS353": figures["wordsim353"]["spearman_cosine"],
        "SimLex": figures["simlex999"]["spearman_cosine"],
        "analogy 3CosAdd": figures["analogy"]["3cosadd"],
        "function words in 25 shortest": importance(model),
    }


def counting_table(script, text: Path, scratch: Path, tools: dict | None) -> None:
    import scipy.sparse as sp
    from glove_reference import read_records

    rows = []
    if tools:
        vocab, records = scratch / "glove-vocab.txt", scratch / "glove-cooccur.bin"
        first, peak_first, _ = run_measured(
            [str(tools["vocab_count"]), str(text), str(vocab), str(MIN_COUNT)]
        )
        second, peak_second, _ = run_measured(
            [
                str(tools["cooccur"]),
                str(text),
                str(vocab),
                str(records),
                str(WINDOW),
                str(scratch / "overflow"),
                "1.0",
            ]
        )
        rows.append(
            {
                "counter": "Stanford GloVe vocab_count + cooccur (C)",
                "wall s": first + second,
                "peak MiB": max(peak_first, peak_second),
                "note": f"vocab_count {first:.2f} s, cooccur {second:.2f} s",
            }
        )
    out = scratch / "count" / "wordlens.npz"
    out.parent.mkdir()
    # The first run may compile the numba kernels (cached on disk for later runs).
    first, _, _ = run_measured(script + ["--variant", "count-wordlens", str(text), str(out)])
    seconds, peak, output = run_measured(
        script + ["--variant", "count-wordlens", str(text), str(out)]
    )
    figures = json.loads(output)
    rows.append(
        {
            "counter": "wordlens (one pass to ids and counts + numba counting)",
            "wall s": seconds,
            "peak MiB": peak,
            "non-zero cells": figures["nnz"],
            "note": f"reading {figures['reading s']:.2f} s, counting "
            f"{figures['counting s']:.2f} s, rest: Python start-up and imports; "
            f"first run {first:.2f} s (compiles the kernels when not cached)",
        }
    )
    seconds, peak, output = run_measured(script + ["--variant", "count-scipy", str(text)])
    rows.append(
        {
            "counter": "plain scipy (all in memory, one matrix per offset)",
            "wall s": seconds,
            "peak MiB": peak,
            "non-zero cells": json.loads(output)["nnz"],
        }
    )
    if tools:
        ours = sp.load_npz(out)
        glove = read_records(records, ours.shape[0])
        words = (out.parent / "words.txt").read_text().split("\n")[:-1]
        glove_words = [line.split(" ")[0] for line in vocab.read_text().splitlines()]
        difference = abs(glove - ours)
        rows[0]["non-zero cells"] = glove.nnz
        check = (
            f"GloVe against wordlens: same vocabulary in the same order: "
            f"{glove_words == words}; largest difference of a cell "
            f"{difference.max():.3g} (relative to the largest cell "
            f"{difference.max() / ours.max():.2g}); GloVe's diagonal left out"
        )
    ratio = f"wall / {'GloVe' if tools else 'wordlens'}"
    for row in rows:
        row[ratio] = row["wall s"] / rows[0]["wall s"]
    print(
        f"Counting X: window {WINDOW}, 1/distance weights (GloVe's), min_count {MIN_COUNT}, "
        f"the same tokenised text for every counter\n"
    )
    print(table(rows, ["counter", "wall s", ratio, "peak MiB", "non-zero cells", "note"]))
    if tools:
        print(f"\n{check}")
    print()


def adagrad_reference_row(script, text: Path, scratch: Path, tools: dict, epochs: int) -> dict:
    from wordlens.artifacts import load_model, write_model

    directory = scratch / "records"
    directory.mkdir()
    run_measured(script + ["--variant", "records", str(text), str(directory)])
    seconds, peak, output = run_measured(
        [
            str(tools["pmi_adagrad_reference"]),
            str(directory / "records.bin"),
            str(directory / "counts.txt"),
            str(directory / "vectors.bin"),
            "128",
            str(epochs),
            str(THREADS),
        ]
    )
    speed = float(re.search(r"records/s/thread (\d+)", output).group(1))
    words = (directory / "words.txt").read_text().split("\n")[:-1]
    vectors = np.fromfile(directory / "vectors.bin", dtype=np.float64).reshape(len(words), -1)
    out = scratch / "c-reference"
    write_model(
        out,
        kind="pmi",
        words=words,
        vectors=vectors.astype(np.float32),
        manifest={"tokenizer": {"name": "english"}},
    )
    return {
        "model": f"C reference: Su's AdaGrad, window 10, {epochs} epochs, same records",
        "wall s": seconds,
        "peak MiB": peak,
        "records/s/thread": speed,
        "note": "training only (records pre-written)",
        **scores(load_model(out, verify=False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=30, help="AdaGrad epochs (30)")
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wordlens-glove-reference",
        help="where the C references are built (reused)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the C references")
    parser.add_argument("--variant", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        name, *paths = args.variant
        VARIANTS[name](*map(Path, paths))
        return

    from glove_reference import build

    from wordlens.artifacts import load_model

    tools = None
    if not args.no_reference:
        try:
            tools = build(args.reference_dir)
        except (RuntimeError, OSError) as error:
            print(f"C references unavailable, left out: {error}\n")
    script = [sys.executable, str(Path(__file__).resolve())]

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        text = scratch / "en.tok.txt"
        started = time.perf_counter()
        tokenise(text)
        print(f"corpus tokenised once into {text.name} in {time.perf_counter() - started:.1f} s\n")
        counting_table(script, text, scratch, tools)

        rows = []
        runs = [
            ("pmi eig (default: window 8, 1/distance, k = 5)", ["--solver", "eig"]),
            ("pmi eig, window 8, 1/distance, no shift (k = 1)", ["--shift", "1"]),
            ("pmi eig, window 8, 1/distance, k = 3", ["--shift", "3"]),
            ("pmi eig, window 8, 1/distance, k = 5, smoothing 0.75", ["--cds", "0.75"]),
            ("pmi eig, window 5, constant, k = 5", ["--window", "5", "--weighting", "constant"]),
            ("pmi eig, window 10, constant, k = 5", ["--window", "10", "--weighting", "constant"]),
            (
                f"pmi adagrad, window 10, {args.epochs} epochs",
                ["--solver", "adagrad", "--epochs", str(args.epochs)],
            ),
            (
                f"pmi adagrad from eig, window 10, {args.epochs} epochs",
                ["--solver", "adagrad", "--init", "eig", "--epochs", str(args.epochs)],
            ),
        ]
        for label, options in runs:
            out = scratch / f"model-{len(rows)}"
            seconds, peak, _ = run_measured(
                [
                    sys.executable,
                    "-m",
                    "wordlens",
                    "-q",
                    "train",
                    "pmi",
                    "--out",
                    str(out),
                    "--no-evaluate",
                    *options,
                ]
            )
            model = load_model(out, verify=False)
            row = {"model": label, "wall s": seconds, "peak MiB": peak, **scores(model)}
            training = model.manifest["training"]
            if "records_per_second_per_thread" in training:
                row["records/s/thread"] = training["records_per_second_per_thread"]
                row["note"] = f"training alone {training['train_seconds']:.1f} s"
            rows.append(row)
        if tools:
            rows.append(adagrad_reference_row(script, text, scratch, tools, args.epochs))
        out = scratch / "gensim"
        seconds, peak, output = run_measured(script + ["--variant", "gensim", str(text), str(out)])
        rows.append(
            {
                "model": "gensim word2vec sg hs, 5 epochs",
                "wall s": seconds,
                "peak MiB": peak,
                "note": f"training alone {json.loads(output)['seconds']:.1f} s",
                **scores(load_model(out, verify=False)),
            }
        )
    yardstick = rows[-1]["wall s"]
    for row in rows:
        row["wall / word2vec"] = row["wall s"] / yardstick
    print(
        f"Models: 128 dimensions, {THREADS} threads; wordlens rows read and tokenise the "
        f"corpus themselves, gensim reads the tokenised file\n"
    )
    print(
        table(
            rows,
            [
                "model",
                "wall s",
                "wall / word2vec",
                "peak MiB",
                "WS353",
                "SimLex",
                "analogy 3CosAdd",
                "function words in 25 shortest",
                "records/s/thread",
                "note",
            ],
        )
    )


if __name__ == "__main__":
    main()
