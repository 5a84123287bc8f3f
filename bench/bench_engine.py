"""Query speed in-process: wordlens's engine against gensim's KeyedVectors.

On the same vectors (a trained model, default models/pmi and models/word2vec):
``most_similar`` (one word, top 10) in both, and wordlens's related words (context
similarity over the whole vocabulary) against its own ``most_similar``. Prints a
Markdown table with ratios.

    .venv/bin/python bench/bench_engine.py [--models models] [--queries 200]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as each server worker runs

import numpy as np  # noqa: E402
from common import best_of, table  # noqa: E402

from wordlens.app.engine import Engine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="models")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from gensim.models import KeyedVectors

    engine = Engine(args.models, verify=False)
    rows = []
    for name, model in engine.models.items():
        keyed = KeyedVectors(model.vectors.shape[1])
        keyed.add_vectors(model.words, np.asarray(model.vectors))
        keyed.fill_norms()
        rng = np.random.default_rng(0)
        queries = [model.words[i] for i in rng.integers(0, min(10_000, len(model)), args.queries)]
        assert [w for w, _ in model.most_similar([queries[0]], topn=10)] == [
            w for w, _ in keyed.most_similar(queries[0], topn=10)
        ]

        def ours(model=model, queries=queries):
            for word in queries:
                model.most_similar([word], topn=10)

        def gensim(keyed=keyed, queries=queries):
            for word in queries:
                keyed.most_similar(word, topn=10)

        def related(model=model, queries=queries):
            for word in queries:
                model.related(word, topn=10)

        ours_s, gensim_s = best_of(ours, 3) / len(queries), best_of(gensim, 3) / len(queries)
        row = {
            "model": name,
            "vocabulary": len(model),
            "dim": model.vectors.shape[1],
            "most_similar ms (wordlens)": ours_s * 1e3,
            "most_similar ms (gensim)": gensim_s * 1e3,
            "gensim / wordlens": gensim_s / ours_s,
        }
        if model.family.answers("context_similarity"):
            related_s = best_of(related, 3) / len(queries)
            row["related ms"] = related_s * 1e3
            row["related / most_similar"] = related_s / ours_s
        rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    main()
