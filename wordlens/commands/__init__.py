"""The subcommands of ``wordlens``: one module per subcommand, each with ``COMMAND``,
``HELP``, ``configure(parser)`` and ``run(args) -> int`` (:mod:`wordlens.cli` builds the
command line from them).

Commands only map options to library calls: what a command does is a function of
``wordlens.training``, ``wordlens.corpus`` or ``wordlens.artifacts`` that works
without a command line.
"""
