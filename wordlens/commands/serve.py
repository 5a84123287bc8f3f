"""Start the HTTP server on the models of a models directory: uvicorn workers, each
on its own listening socket, under a supervisor that restarts them.

Options override the environment variables of the same meaning, which every
worker process reads (see the README for the full list).
"""

from __future__ import annotations

import argparse
import os


def configure(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument(
        "--models",
        default=env.get("WORDLENS_MODELS", "models"),
        metavar="DIR",
        help="models directory, one sub-folder per model ($WORDLENS_MODELS, default ./models)",
    )
    parser.add_argument(
        "--host",
        default=env.get("WORDLENS_HOST", "127.0.0.1"),
        help="address to bind ($WORDLENS_HOST, default 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env.get("WORDLENS_PORT", "8000")),
        help="port ($WORDLENS_PORT, default 8000)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env.get("WORDLENS_WORKERS", "1")),
        help="worker processes; the kernel spreads connections over them, and they "
        "share the memory-mapped matrices ($WORDLENS_WORKERS, default 1)",
    )
    parser.add_argument(
        "--default-model",
        default=env.get("WORDLENS_DEFAULT_MODEL"),
        metavar="NAME",
        help="model used when a request names none "
        "($WORDLENS_DEFAULT_MODEL, default: pmi, else the first)",
    )
    checks = parser.add_mutually_exclusive_group()
    checks.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the SHA-256 check of model files at start-up (sets WORDLENS_VERIFY=0); "
        "by default each file is read whole once, then trusted while its stamp holds",
    )
    checks.add_argument(
        "--verify-full",
        action="store_true",
        help="read every model file whole at start-up whatever the stamps say "
        "(sets WORDLENS_VERIFY=full)",
    )
    parser.add_argument(
        "--log-level",
        default=env.get("WORDLENS_LOG_LEVEL", "info"),
        choices=["critical", "error", "warning", "info", "debug"],
    )
    parser.add_argument(
        "--log-format",
        default=env.get("WORDLENS_LOG_FORMAT", "plain"),
        choices=["plain", "json"],
        help="log lines as text or one JSON object per line, access lines included "
        "($WORDLENS_LOG_FORMAT, default plain)",
    )


def run(args: argparse.Namespace) -> int:
    from wordlens.app.supervisor import serve

    os.environ["WORDLENS_MODELS"] = str(args.models)
    if args.default_model:
        os.environ["WORDLENS_DEFAULT_MODEL"] = args.default_model
    if args.no_verify:
        os.environ["WORDLENS_VERIFY"] = "0"
    if args.verify_full:
        os.environ["WORDLENS_VERIFY"] = "full"
    return serve(args.host, args.port, args.workers, args.log_level, args.log_format)
