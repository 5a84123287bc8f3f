"""Check models in full: every file's SHA-256 and that their values are finite.

Loading (the server, ``evaluate``) reads a model's files whole only the first time,
then trusts its stamp (``.verified.json``) while no file was written, replaced,
copied or touched since (see :mod:`wordlens.artifacts`). What the stamp cannot see,
bytes changed on disk without a write through the file system (bit rot, a raw device
write), this command finds: it reads every file whole whatever the stamp says, and
renews the stamp of a model that passes.
"""

from __future__ import annotations

import argparse
import time

from wordlens.artifacts import ModelFormatError, find_models, model_path, models_dir, verify_model


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help="model directories or names in the models directory "
        "(default: every model of $WORDLENS_MODELS, default ./models)",
    )


def run(args: argparse.Namespace) -> int:
    paths = [model_path(name) for name in args.models] or list(find_models(models_dir()).values())
    if not paths:
        raise ValueError(f"no models in {models_dir()}")
    failed = 0
    for path in paths:
        started = time.perf_counter()
        try:
            model = verify_model(path)
        except ModelFormatError as error:
            failed += 1
            print(f"{path.name}: FAILED: {error}")
            continue
        size = sum(entry["bytes"] for entry in model.manifest["files"].values())
        print(
            f"{path.name}: ok, {len(model.manifest['files'])} files, {size / 2**20:,.1f} MiB "
            f"read in {time.perf_counter() - started:.2f} s"
        )
    return 1 if failed else 0
