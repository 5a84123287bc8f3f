"""Command-line options shared by the commands: corpus, tokenizer, output model."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from wordlens.artifacts import DTYPES, Model, models_dir, read_manifest
from wordlens.corpus import DEFAULT_ENGLISH, TOKENIZER_NAMES, Corpus, Tokenizer, get_tokenizer

__all__ = [
    "add_corpus_arguments",
    "add_dtype_argument",
    "add_index_argument",
    "add_output_argument",
    "add_training_arguments",
    "add_tokenizer_arguments",
    "build_index",
    "corpus_from_args",
    "output_path",
    "positive_int",
    "tokenizer_from_args",
]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_corpus_arguments(parser: argparse.ArgumentParser, positional: bool = False) -> None:
    """``--corpus PATH`` (or a positional PATH), ``--text-field``, and the tokenizer
    options (:func:`add_tokenizer_arguments`)."""
    help_text = (
        "corpus file (.txt, .jsonl, optionally .gz) or folder of them "
        f"(default: the shipped English corpus, {DEFAULT_ENGLISH.name})"
    )
    if positional:
        parser.add_argument(
            "corpus", nargs="?", default=DEFAULT_ENGLISH, metavar="PATH", help=help_text
        )
    else:
        parser.add_argument("--corpus", default=DEFAULT_ENGLISH, metavar="PATH", help=help_text)
    parser.add_argument(
        "--text-field",
        default="text",
        metavar="NAME",
        help="JSON field holding the text in .jsonl input (default: text)",
    )
    add_tokenizer_arguments(parser, default="english")


def add_tokenizer_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    """``--tokenizer`` and its settings, read back by :func:`tokenizer_from_args`."""
    parser.add_argument(
        "--tokenizer",
        default=default,
        choices=TOKENIZER_NAMES,
        help="how text becomes tokens and query words are normalised (default: %(default)s)",
    )
    parser.add_argument(
        "--lowercase", action="store_true", help="whitespace tokenizer: lower-case tokens"
    )
    parser.add_argument(
        "--no-hmm", action="store_true", help="jieba tokenizer: no HMM guessing of unknown words"
    )


def tokenizer_from_args(args: argparse.Namespace) -> Tokenizer:
    """The tokenizer that :func:`add_tokenizer_arguments`' options describe."""
    if args.tokenizer == "whitespace":
        return get_tokenizer("whitespace", lowercase=args.lowercase)
    if args.tokenizer == "jieba":
        return get_tokenizer("jieba", hmm=not args.no_hmm)
    return get_tokenizer(args.tokenizer)


def corpus_from_args(args: argparse.Namespace) -> Corpus:
    return Corpus(args.corpus, tokenizer_from_args(args), text_field=args.text_field)


def add_phrase_arguments(parser: argparse.ArgumentParser) -> None:
    """``--phrases`` and its settings, read back by :func:`phrase_params_from_args`."""
    from wordlens.training.phrases import PhraseParams

    defaults = PhraseParams()
    parser.add_argument(
        "--phrases",
        action="store_true",
        help="learn phrases (adjacent pairs with high normalised PMI, e.g. 'new york') "
        "from the corpus first, and treat them as single words",
    )
    parser.add_argument(
        "--phrase-threshold",
        type=float,
        default=defaults.threshold,
        help="with --phrases: join pairs whose normalised PMI is above this, in (-1, 1) "
        "(%(default)s)",
    )
    parser.add_argument(
        "--phrase-min-count",
        type=positive_int,
        default=defaults.min_count,
        help="with --phrases: join pairs seen at least this many times (%(default)s)",
    )
    parser.add_argument(
        "--phrase-passes",
        type=positive_int,
        default=defaults.passes,
        help="with --phrases: passes of joining; pass 2 joins phrases into longer ones "
        "(%(default)s)",
    )


def phrase_params_from_args(args: argparse.Namespace):
    """The :class:`~wordlens.training.phrases.PhraseParams` of ``--phrases``, or None."""
    from wordlens.training.phrases import PhraseParams

    if not args.phrases:
        return None
    return PhraseParams(args.phrase_threshold, args.phrase_min_count, args.phrase_passes)


def add_output_argument(parser: argparse.ArgumentParser, default_name: str) -> None:
    """``--out DIR``: where the model is written (default: models directory / name)."""
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"model directory to write (default: $WORDLENS_MODELS/{default_name}, "
        f"i.e. models/{default_name}); an existing model there is replaced atomically",
    )


def add_dtype_argument(parser: argparse.ArgumentParser) -> None:
    """``--dtype float32|float16``: how the model stores its word vectors."""
    parser.add_argument(
        "--dtype",
        choices=DTYPES,
        default=DTYPES[0],
        help="how the word vectors are stored: float16 halves their memory and disk "
        "size, for slower exact scans (default: %(default)s)",
    )


def add_training_arguments(
    parser: argparse.ArgumentParser, default_name: str, *, dim: int, min_count: int, seed: int
) -> None:
    """What every trainer takes: ``--out`` (:func:`add_output_argument`), ``--dtype``,
    ``--dim``, ``--min-count``, ``--max-vocab``, ``--seed`` and ``--no-evaluate``; the
    defaults come from the trainer's parameter object."""
    add_output_argument(parser, default_name)
    add_dtype_argument(parser)
    parser.add_argument(
        "--dim", type=positive_int, default=dim, help="vector dimensions (%(default)s)"
    )
    parser.add_argument(
        "--min-count",
        type=positive_int,
        default=min_count,
        help="ignore words seen fewer times (%(default)s)",
    )
    parser.add_argument(
        "--max-vocab", type=positive_int, default=None, help="keep at most this many words"
    )
    parser.add_argument("--seed", type=int, default=seed, help="random seed (%(default)s)")
    parser.add_argument(
        "--no-evaluate", action="store_true", help="skip the benchmark scores at the end"
    )


def add_index_argument(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--index auto|hnsw|none``, for :func:`build_index`."""
    from wordlens.neighbours import INDEX_CHOICES, INDEX_THRESHOLD

    parser.add_argument(
        "--index",
        choices=INDEX_CHOICES,
        default=default,
        help=f"approximate neighbour index (HNSW) stored with the model: auto builds one "
        f"from {INDEX_THRESHOLD:,} words, hnsw always, none never (default: %(default)s)",
    )


def build_index(path: Path, choice: str) -> None:
    """Give the model at ``path`` the index ``--index choice`` asks for, and say so.

    The index is built in a child process that maps the published model and reads
    it a block at a time: its memory (the 8-bit codes and the graph, about 0.75x the
    float32 matrix at M 32, and one block) never adds to what the training or import
    still holds, and is returned to the system when the child exits. No child starts
    when there is nothing to do."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from wordlens.neighbours import index_wanted

    # The manifest is enough to decide: loading the model would check the values of
    # the whole matrix, making it resident in this process again. A malformed size is
    # left to the child's load_model to report.
    manifest = read_manifest(path)
    rows = manifest["vocab_size"]
    if isinstance(rows, int) and not index_wanted(choice, rows) and not manifest.get("neighbours"):
        return
    # spawn: a fresh interpreter, no copy of this process's pages or threads
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        entries = child.submit(_add_index, str(path), choice).result()
    for space, entry in entries.items():
        tuned = ""
        if "effort" in entry:
            recall = entry["recall"][str(entry["effort"])]
            tuned = f"; default effort {entry['effort']} (recall@10 {recall:.3f})"
        print(
            f"{space} index: {entry['rows']:,} rows, HNSW M={entry['m']}, "
            f"built in {entry['build_seconds']:.1f} s{tuned}"
        )


def _add_index(path: str, choice: str) -> dict:
    """:func:`build_index`'s child: add_index with the model family's related rows."""
    from wordlens.neighbours import add_index

    return add_index(path, choice, _related_rows)


def _related_rows(model: Model) -> np.ndarray | None:
    # The query engine is loaded only when an index is built: training a model
    # without one reads no file of app/ (the Docker image's model stage relies on it).
    from wordlens.app.families import family_of

    return family_of(model).related_rows()


def output_path(args: argparse.Namespace, default_name: str) -> Path:
    return Path(args.out) if args.out is not None else models_dir() / default_name
