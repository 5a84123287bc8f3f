"""float16 against float32 storage of the word vectors, on the same trained models.

Each model of ``--models`` (default: pmi and word2vec) is written again with its
vectors stored as float16 (the output layer stays float32), then both versions are
scored (Spearman ρ on WordSim-353 and SimLex-999, by cosine and by the family's
context score, as ``wordlens evaluate``) and timed in-process with one BLAS thread
(``most_similar`` and ``related`` of 200 words, best of 3), with the mean overlap
of their most_similar top 10. Memory: the bytes of ``vectors.npy``, and of all the
model's files. Both versions are written anew, so neither keeps a unit-row copy.

    .venv/bin/python bench/bench_dtype.py [--models models] [--names pmi word2vec]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as each server worker runs

import numpy as np  # noqa: E402
from common import best_of, table  # noqa: E402

from wordlens.app.engine import WordModel  # noqa: E402
from wordlens.artifacts import load_model, write_model  # noqa: E402
from wordlens.commands.evaluate import evaluate_model  # noqa: E402

FIXED = {"format_version", "kind", "dim", "vocab_size", "arrays", "files", "created"}


def rewritten(source: Path, out: Path, dtype: str) -> Path:
    """The model at ``source`` written again at ``out`` with ``dtype`` vectors."""
    model = load_model(source)
    return write_model(
        out,
        kind=model.kind,
        words=model.words,
        vectors=model.vectors,
        counts=model.counts,
        arrays={
            name: np.asarray(array)
            for name, array in model.arrays.items()
            if name not in ("vectors", "norms")
        },
        manifest={k: v for k, v in model.manifest.items() if k not in FIXED},
        dtype=dtype,
    )


def measure(path: Path, queries: int) -> dict:
    model = WordModel(load_model(path))
    figures = evaluate_model(model)
    rng = np.random.default_rng(0)
    words = [model.words[i] for i in rng.integers(0, min(10_000, len(model)), queries)]

    def similar():
        for word in words:
            model.most_similar([word], topn=10)

    def related():
        for word in words:
            model.related(word, topn=10)

    files = load_model(path).manifest["files"]
    row = {
        "vectors": str(model.vectors.dtype),
        "vectors.npy MiB": files["vectors.npy"]["bytes"] / 2**20,
        "model MiB": sum(entry["bytes"] for entry in files.values()) / 2**20,
        # four decimals, as evaluate rounds them: the table would show three
        "WS353 cosine": f"{figures['wordsim353']['spearman_cosine']:.4f}",
        "SimLex cosine": f"{figures['simlex999']['spearman_cosine']:.4f}",
        "WS353 context": f"{figures['wordsim353'].get('spearman_context'):.4f}",
        "SimLex context": f"{figures['simlex999'].get('spearman_context'):.4f}",
        "most_similar ms": best_of(similar, 3) / queries * 1e3,
    }
    if model.family.answers("context_similarity"):
        row["related ms"] = best_of(related, 3) / queries * 1e3
    tops = [{w for w, _ in model.most_similar([word], topn=10)} for word in words]
    return row | {"_tops": tops}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--names", nargs="+", default=["pmi", "word2vec"])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dtype-") as scratch:
        for name in args.names:
            source = args.models / name
            single = measure(
                rewritten(source, Path(scratch) / "single" / name, "float32"), args.queries
            )
            half = measure(
                rewritten(source, Path(scratch) / "half" / name, "float16"), args.queries
            )
            pairs = zip(single.pop("_tops"), half.pop("_tops"), strict=True)
            overlap = float(np.mean([len(a & b) / 10 for a, b in pairs]))
            rows.append({"model": name, **single, "most_similar top-10 overlap": 1.0})
            rows.append({"model": name, **half, "most_similar top-10 overlap": overlap})
    print(table(rows))


if __name__ == "__main__":
    main()
