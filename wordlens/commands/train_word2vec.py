"""Train Word2Vec (gensim skip-gram) and keep its output layer.

Defaults: hierarchical softmax, 128 dimensions, window 5, min_count 5, 5 epochs,
all cores. The model keeps what the server needs to compute p(word | word) without
gensim: ``syn1`` and the Huffman paths (hierarchical softmax), ``syn1neg``
(negative sampling). Training ends with the WordSim-353, SimLex-999 and analogy
scores, stored in the manifest.
"""

from __future__ import annotations

import argparse
import os
import time

from wordlens.commands.options import (
    add_corpus_arguments,
    add_output_argument,
    corpus_from_args,
    output_path,
    positive_int,
)

COMMAND = ("train", "word2vec")
HELP = "train Word2Vec (skip-gram, hierarchical softmax) vectors with gensim"


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser)
    add_output_argument(parser, "word2vec")
    parser.add_argument("--dim", type=positive_int, default=128, help="vector dimensions (128)")
    parser.add_argument("--window", type=positive_int, default=5, help="context window (5)")
    parser.add_argument(
        "--min-count", type=positive_int, default=5, help="ignore words seen fewer times (5)"
    )
    parser.add_argument(
        "--max-vocab", type=positive_int, default=None, help="keep at most this many words"
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=1e-3,
        help="down-sampling threshold of frequent words (1e-3)",
    )
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes (5)")
    parser.add_argument(
        "--negative", type=int, default=0, help="negative samples per word; 0 = none (default)"
    )
    parser.add_argument(
        "--no-hs", action="store_true", help="no hierarchical softmax (then --negative must be > 0)"
    )
    parser.add_argument(
        "--ns-exponent",
        type=float,
        default=0.75,
        help="exponent of the negative-sampling noise distribution (0.75)",
    )
    parser.add_argument("--alpha", type=float, default=0.025, help="initial learning rate")
    parser.add_argument("--min-alpha", type=float, default=0.0001, help="final learning rate")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="training threads (default: all cores)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--no-evaluate", action="store_true", help="skip the benchmark scores at the end"
    )


def run(args: argparse.Namespace) -> int:
    import gensim

    from wordlens.artifacts import write_model
    from wordlens.training.publish import report_model
    from wordlens.training.word2vec import Word2VecParams, output_layer_arrays, train_word2vec

    params = Word2VecParams(
        vector_size=args.dim,
        window=args.window,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        sample=args.sample,
        epochs=args.epochs,
        hs=0 if args.no_hs else 1,
        negative=args.negative,
        ns_exponent=args.ns_exponent,
        alpha=args.alpha,
        min_alpha=args.min_alpha,
        workers=args.workers,
        seed=args.seed,
    )
    params.check()
    corpus = corpus_from_args(args)
    out = output_path(args, "word2vec")
    started = time.perf_counter()
    model, counter, figures = train_word2vec(corpus, params, scratch_dir=None)
    layers, arrays = output_layer_arrays(model)
    wv = model.wv
    counts = wv.expandos["count"]
    seconds = time.perf_counter() - started
    path = write_model(
        out,
        kind="word2vec",
        words=list(wv.index_to_key),
        vectors=wv.vectors,
        counts=counts,
        arrays=arrays,
        manifest={
            "tokenizer": corpus.tokenizer.spec,
            "corpus": corpus.describe(sum(counter.values()), len(counter)),
            "params": {"sg": 1, **vars(params)},
            "training": {
                "seconds": round(seconds, 3),
                "epochs": params.epochs,
                "workers": params.workers,
                "gensim": gensim.__version__,
                **figures,
            },
            "output_layers": layers,
        },
    )
    report_model(path, evaluate=not args.no_evaluate)
    return 0
