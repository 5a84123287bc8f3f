"""Export a model's vectors to a standard format, or import published vectors.

``wordlens export MODEL --format word2vec|word2vec-bin|glove OUT`` writes files that
gensim's ``KeyedVectors.load_word2vec_format`` reads back (``binary=True`` for
word2vec-bin, ``no_header=True`` for glove). ``--format projector OUT`` writes the
folder OUT with ``vectors.tsv`` and ``metadata.tsv`` (word, rank, count, norm) for
the TensorFlow Embedding Projector (https://projector.tensorflow.org, "Load").
``--limit N`` writes only the N most frequent words.

``wordlens import FILE --format ... --out MODEL`` turns pretrained vectors (e.g.
published GloVe or word2vec files) into a servable model: cosine queries work;
related words and keywords need an output layer and counts that such files lack, so
the server answers those with a clear 409 error. Query words are matched as the
``--tokenizer`` normalises them: ``whitespace`` (default) keeps them exact and
case-sensitive, as in word2vec's published files; ``--lowercase`` folds case (GloVe
files are lower-case); ``english`` also applies that tokenizer's Unicode folding.

Phrases: export writes a phrase's spaces as underscores ("new_york", the formats end
a word at a space); import reads underscores joining two parts of a word as a phrase
("New_York" → "New York", as GoogleNews spells phrases; ``--keep-underscores`` keeps
them), and query words of such a model are spelt as phrases ("New_York" and "New
York" both find it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from wordlens.artifacts import (
    load_model,
    model_path,
    release_pages,
    scratch_directory,
    write_model,
)
from wordlens.commands.options import (
    add_dtype_argument,
    add_index_argument,
    add_tokenizer_arguments,
    build_index,
    positive_int,
    tokenizer_from_args,
)
from wordlens.training.vector_formats import (
    EXPORT_FORMATS,
    FORMATS,
    UNICODE_ERRORS,
    phrases_from_underscores,
    read_vectors,
    write_projector,
    write_vectors,
)

#: Rows past which the Embedding Projector, which holds every row in the browser,
#: gets slow; an export beyond it says how to write fewer.
PROJECTOR_ROWS = 100_000
#: Values moved at a time when an import leaves rows out (a bounded temporary).
_KEEP_VALUES = 1 << 20
_SCRATCH_VECTORS = "vectors.npy"  # the scratch file an import reads the matrix into


class Export:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "model",
            metavar="MODEL",
            help="model directory, or a model name in the models directory",
        )
        parser.add_argument("--format", required=True, choices=EXPORT_FORMATS)
        parser.add_argument(
            "out",
            metavar="OUT",
            help="file to write; for projector, the folder to write vectors.tsv and "
            "metadata.tsv into (created if missing)",
        )
        parser.add_argument(
            "--limit",
            type=positive_int,
            default=None,
            help="write only the N most frequent words (the first N rows)",
        )

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        model = load_model(model_path(args.model))
        rows = slice(0, args.limit)
        words, vectors = model.words[rows], model.vectors[rows]
        if args.format != "projector":
            write_vectors(args.out, words, vectors, args.format)
            print(f"{len(words):,} vectors of {model.dim} dimensions written to {args.out}")
            return 0
        columns = {"rank": np.arange(1, len(words) + 1)}
        if model.counts is not None:
            columns["count"] = model.counts[rows]
        columns["norm"] = model.norms[rows]
        paths = write_projector(args.out, words, vectors, columns)
        print(
            f"{len(words):,} vectors of {model.dim} dimensions written to "
            f"{paths[0]} and {paths[1]}: load both at https://projector.tensorflow.org"
        )
        if len(words) > PROJECTOR_ROWS:
            print(
                f"the projector gets slow past {PROJECTOR_ROWS:,} rows: "
                "--limit N writes the N most frequent words"
            )
        return 0


class Import:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", type=Path, help="vectors file")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument(
            "--out", required=True, metavar="MODEL", help="model directory to write"
        )
        parser.add_argument(
            "--limit", type=positive_int, default=None, help="read only the first N words"
        )
        parser.add_argument(
            "--unicode-errors",
            choices=UNICODE_ERRORS,
            default="strict",
            help="what to do with bytes that are not UTF-8",
        )
        parser.add_argument(
            "--keep-underscores",
            action="store_true",
            help="keep underscores inside words (default: 'New_York' is the phrase 'New York')",
        )
        add_tokenizer_arguments(parser, default="whitespace")
        add_dtype_argument(parser)
        add_index_argument(parser)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        path = Import.write(args)
        build_index(path, args.index)
        return 0

    @staticmethod
    def write(args: argparse.Namespace) -> Path:
        """Read the vectors file and publish the model; the words and the matrix read
        are freed on return, before any index is built.

        The matrix is read into a memory-mapped scratch file beside the model, and
        every pass over it releases its pages a block at a time: the word index built
        meanwhile (the did-you-mean arrays: 266 MiB at a million words) never adds to
        a resident matrix."""
        if not args.file.is_file():
            raise ValueError(f"vectors file not found: {args.file}")
        with scratch_directory(args.out) as scratch:
            words, vectors = read_vectors(
                args.file,
                args.format,
                args.limit,
                args.unicode_errors,
                into=scratch / _SCRATCH_VECTORS,
            )
            spec = tokenizer_from_args(args).spec
            if not args.keep_underscores:
                words, kept = phrases_from_underscores(words)
                if len(kept) < len(vectors):
                    print(f"{len(vectors) - len(kept):,} words left out: spelt as an earlier one")
                    vectors = _keep_rows(vectors, kept)
                if any(" " in word for word in words):
                    spec["phrases"] = []  # query words spelt as phrases; no table to join text
            path = write_model(
                args.out,
                kind="imported",
                words=words,
                vectors=vectors,
                manifest={
                    "tokenizer": spec,
                    "source": {"file": str(args.file), "format": args.format, "limit": args.limit},
                },
                dtype=args.dtype,
            )
            print(f"{len(words):,} vectors of {vectors.shape[1]} dimensions imported into {path}")
        return path


def _keep_rows(vectors: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``vectors[kept]`` for increasing row numbers ``kept``, moved up in place a block
    of rows at a time (no copy of the matrix; row kept[i] ≥ i is read before any block
    at or past it is written), its pages released after each block."""
    step = max(1, _KEEP_VALUES // max(vectors.shape[1], 1))
    for start in range(0, len(kept), step):
        rows = kept[start : start + step]
        vectors[start : start + len(rows)] = vectors[rows]
        release_pages(vectors)
    return vectors[: len(kept)]
