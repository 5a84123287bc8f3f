"""The ``wordlens`` command line: one tool, one subcommand per job.

:data:`COMMANDS` lists every subcommand: its words on the command line (e.g.
``("train", "pmi")``), one line for ``wordlens --help``, and the module (or a class
of one, named ``module:Class``) that does the work, which exposes

- ``configure(parser)``: adds its arguments;
- ``run(args) -> int``: does the work and returns the exit status.

A command may head a group of its own as well (``count``, and ``count merge``): it
comes before them in :data:`COMMANDS`.

Only the modules of the command group being run are imported (the help of every
other command is in the table), and those modules import their heavy dependencies
inside ``run``: ``--help`` and every subcommand start quickly, and ``wordlens
serve``'s supervisor imports neither numpy nor the pipeline before it starts the
workers. Errors print as one line (``wordlens: error: …``); set
``WORDLENS_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from wordlens import __version__

COMMANDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("corpus", "stats"),
        "read a corpus and print its size and tokenising speed",
        "wordlens.commands.corpus_stats",
    ),
    (
        ("count",),
        "count co-occurrences into a counts folder (local processes or a Dask cluster)",
        "wordlens.commands.count",
    ),
    (
        ("count", "merge"),
        "merge counts folders (exact: the counts of the corpora together)",
        "wordlens.commands.count_merge",
    ),
    (
        ("train", "pmi"),
        "train PMI word vectors (closed form or Su's AdaGrad trainer)",
        "wordlens.commands.train_pmi",
    ),
    (
        ("train", "word2vec"),
        "train Word2Vec (skip-gram, hierarchical softmax) vectors with gensim",
        "wordlens.commands.train_word2vec",
    ),
    (
        ("evaluate",),
        "score a model on WordSim-353, SimLex-999 and the Google analogies",
        "wordlens.commands.evaluate",
    ),
    (
        ("verify",),
        "read every file of models whole and check their checksums",
        "wordlens.commands.verify",
    ),
    (
        ("export",),
        "write a model's vectors as word2vec, GloVe or Embedding Projector files",
        "wordlens.commands.convert:Export",
    ),
    (
        ("import",),
        "turn word2vec or GloVe vector files into a servable model",
        "wordlens.commands.convert:Import",
    ),
    (
        ("index",),
        "build a model's approximate neighbour index (for models made without one)",
        "wordlens.commands.index",
    ),
    (
        ("upgrade",),
        "write older models again in the current format (the shared word index)",
        "wordlens.commands.upgrade",
    ),
    (("serve",), "start the HTTP server", "wordlens.commands.serve"),
    (
        ("keywords",),
        "extract keywords from files of documents (JSON Lines out)",
        "wordlens.commands.keywords",
    ),
    (
        ("infer",),
        "infer a vector for an unknown word from example sentences",
        "wordlens.commands.infer",
    ),
)


def command_module(entry: str) -> tuple[Any, str | None]:
    """The object a :data:`COMMANDS` entry names (a module, or ``module:Class``),
    imported, and its description (its docstring, else its module's)."""
    module_name, _, attribute = entry.partition(":")
    module = importlib.import_module(module_name)
    command = getattr(module, attribute) if attribute else module
    return command, command.__doc__ or module.__doc__


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every subcommand. With ``argv``, only the commands of the group
    it names (its first word that is not an option: ``serve``, ``train``, …) are
    imported and given their arguments; the others are listed by their help line
    alone, since argparse will not parse them. Without, all are."""
    named = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    parser = argparse.ArgumentParser(
        prog="wordlens",
        description="Train PMI and Word2Vec word vectors and serve similar words, "
        "related words and keywords.",
    )
    parser.add_argument("--version", action="version", version=f"wordlens {__version__}")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors in the log"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    leaves: dict[str, argparse.ArgumentParser] = {}
    for words, help_line, entry in COMMANDS:
        *group_path, leaf = words
        subparsers = commands
        for word in group_path:
            if word not in groups:
                if word in leaves:  # a command of its own too: "count" and "count merge"
                    groups[word] = leaves[word].add_subparsers(
                        title=f"{word} commands", metavar="COMMAND", required=False
                    )
                else:
                    group = subparsers.add_parser(word, help=f"{word} commands")
                    groups[word] = group.add_subparsers(
                        title=f"{word} commands", metavar="COMMAND", required=True
                    )
            subparsers = groups[word]
        command = subparsers.add_parser(
            leaf, help=help_line, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        if named is None or words[0] == named:
            module, command.description = command_module(entry)
            module.configure(command)
            command.set_defaults(run=module.run)
        if not group_path:
            leaves[leaf] = command
    return parser


#: What the ``train`` extra installs: the server runs without them.
TRAINING_MODULES = ("gensim", "scipy", "numba")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("wordlens: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one place errors become one line
        if os.environ.get("WORDLENS_DEBUG"):
            raise
        missing = (getattr(error, "name", None) or "").partition(".")[0]
        if isinstance(error, ModuleNotFoundError) and missing in TRAINING_MODULES:
            print(
                f"wordlens: error: this command needs the pipeline's dependencies "
                f"({missing} is not installed): pip install 'wordlens[train]'",
                file=sys.stderr,
            )
            return 1
        message = str(error) or type(error).__name__
        print(f"wordlens: error: {message}", file=sys.stderr)
        if not isinstance(error, (ValueError, OSError, LookupError)):
            print("(set WORDLENS_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
