"""The ``wordlens`` command line: one tool, one subcommand per job.

Each subcommand lives in its own module (or a class of one, named ``module:Class``),
which exposes

- ``COMMAND``: its words on the command line, e.g. ``("train", "pmi")``;
- ``HELP``: one line for ``wordlens --help``;
- ``configure(parser)``: adds its arguments;
- ``run(args) -> int``: does the work and returns the exit status.

A command may head a group of its own as well (``count``, and ``count merge``): it
comes before them in :data:`COMMAND_MODULES`.

Those modules import their heavy dependencies inside ``run`` so that ``--help`` and
every other subcommand start quickly. Errors print as one line
(``wordlens: error: …``); set ``WORDLENS_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from wordlens import __version__

COMMAND_MODULES = (
    "wordlens.commands.corpus_stats",
    "wordlens.commands.count",
    "wordlens.commands.count_merge",
    "wordlens.commands.train_pmi",
    "wordlens.commands.train_word2vec",
    "wordlens.commands.evaluate",
    "wordlens.commands.verify",
    "wordlens.commands.convert:Export",
    "wordlens.commands.convert:Import",
    "wordlens.commands.index",
    "wordlens.commands.upgrade",
    "wordlens.commands.serve",
    "wordlens.commands.keywords",
    "wordlens.commands.infer",
)


def build_parser() -> argparse.ArgumentParser:
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
    for entry in COMMAND_MODULES:
        module_name, _, attribute = entry.partition(":")
        module = importlib.import_module(module_name)
        if attribute:
            module = getattr(module, attribute)
        *group_path, leaf = module.COMMAND
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
            leaf,
            help=module.HELP,
            description=module.__doc__ or importlib.import_module(module_name).__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(command)
        command.set_defaults(run=module.run)
        if not group_path:
            leaves[leaf] = command
    return parser


#: What the ``train`` extra installs: the server runs without them.
TRAINING_MODULES = ("gensim", "scipy", "numba")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
