"""The subcommands of ``wordlens``: one module per subcommand, each with
``configure(parser)`` and ``run(args) -> int``; :data:`wordlens.cli.COMMANDS` names
them, with their words and help line, and imports one only when it runs.

Commands only map options to library calls: what a command does is a function of
``wordlens.training``, ``wordlens.corpus`` or ``wordlens.artifacts`` that works
without a command line.
"""
