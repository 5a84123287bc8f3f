"""Train Word2Vec (gensim skip-gram) and keep its output layer.

Defaults: hierarchical softmax, 128 dimensions, window 5, min_count 5, 5 epochs,
all cores. The model keeps what the server needs to compute p(word | word) without
gensim: ``syn1`` and the Huffman paths (hierarchical softmax), ``syn1neg``
(negative sampling). Training ends with the WordSim-353, SimLex-999 and analogy
scores, stored in the manifest.
"""

from __future__ import annotations

import argparse

from wordlens.commands.options import (
    add_corpus_arguments,
    add_index_argument,
    add_phrase_arguments,
    add_training_arguments,
    build_index,
    corpus_from_args,
    output_path,
    phrase_params_from_args,
    positive_int,
)
from wordlens.training.word2vec import Word2VecParams, train_word2vec

DEFAULTS = Word2VecParams()


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser)
    add_training_arguments(
        parser,
        "word2vec",
        dim=DEFAULTS.vector_size,
        min_count=DEFAULTS.min_count,
        seed=DEFAULTS.seed,
    )
    parser.add_argument(
        "--window", type=positive_int, default=DEFAULTS.window, help="context window (%(default)s)"
    )
    parser.add_argument(
        "--sample",
        type=float,
        default=DEFAULTS.sample,
        help="down-sampling threshold of frequent words (%(default)s)",
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=DEFAULTS.epochs, help="passes (%(default)s)"
    )
    parser.add_argument(
        "--negative",
        type=int,
        default=DEFAULTS.negative,
        help="negative samples per word; 0 = none (%(default)s)",
    )
    parser.add_argument(
        "--no-hs", action="store_true", help="no hierarchical softmax (then --negative must be > 0)"
    )
    parser.add_argument(
        "--ns-exponent",
        type=float,
        default=DEFAULTS.ns_exponent,
        help="exponent of the negative-sampling noise distribution (%(default)s)",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=DEFAULTS.learning_rate,
        help="initial learning rate, gensim's alpha (%(default)s)",
    )
    parser.add_argument(
        "--min-learning-rate",
        type=float,
        default=DEFAULTS.min_learning_rate,
        help="final learning rate, gensim's min_alpha (%(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=DEFAULTS.workers,
        help="training threads (default: all cores)",
    )
    add_phrase_arguments(parser)
    add_index_argument(parser)


def run(args: argparse.Namespace) -> int:
    from wordlens.commands.evaluate import report_model

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
        learning_rate=args.learning_rate,
        min_learning_rate=args.min_learning_rate,
        workers=args.workers,
        seed=args.seed,
        dtype=args.dtype,
    )
    path = train_word2vec(
        corpus_from_args(args),
        params,
        output_path(args, "word2vec"),
        phrases=phrase_params_from_args(args),
    )
    build_index(path, args.index)
    report_model(path, evaluate=not args.no_evaluate)
    return 0
