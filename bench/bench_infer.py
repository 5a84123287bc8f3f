"""Leave-one-out evaluation of inferred vectors (``WordModel.infer``).

For 200 frequent words of each model (a seeded choice among vocabulary ranks 101 to
3,000, leaving out the 100 most frequent words and the default stop-words, whose
contexts say little about them, and tokens with no letter), take 20 documents (lines)
of the model's own training corpus that contain the word, and infer its vector
from 1, 5 and 20 of them with the word's own row left out of the fit
(``leave_out=True``: not a context word, not in the PMI Gram matrix, not a noise word;
it stays among the candidate neighbours, and in the Word2Vec prior's mean and
variance, 1 row of 29,130). Reported per model and number of sentences: how often the
true word is among the 10 nearest neighbours (the answer's ``similar``, exact scan)
of the inferred vector, the mean cosine to the true vector, the mean confidence, and the time per
query; then the top-10 hit rate by confidence tercile over all runs, to show how
confidence tracks accuracy.

The 20 documents are drawn two ways (``--sampling``): ``random``, a seeded sample
among all the word's documents (the issue's "20 of their corpus sentences"), and
``first``, the first 20 in corpus order, which come from a few neighbouring documents
that share a topic: the harder case of a user whose examples all come from one text.
The answer's ``similar`` list is ranked with the
frequency prior (``wordlens.app.infer.FREQUENCY_PRIOR``); "by cosine alone" is the
same vector's plain cosine top 10, and "relevance" the mean cosine between the true
word and the other words listed (nine), to show whether the prior improves the list
and not only the hit rate.

A Word2Vec model trained with an à la carte map (``alacarte.npy``) is evaluated two
ways: ``map`` (today's zero-mean prior, the map ignored) and ``alacarte`` (the
default: the prior centred on A·u), with A learned again from the corpus without the
evaluated words (the map stored in the model saw them: leave-one-out would flatter
it).

    .venv/bin/python bench/bench_infer.py [--models /work/main/models] [--words 200]
        [--sampling random,first]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from common import table
from threadpoolctl import threadpool_limits

from wordlens.app.engine import Engine, WordModel
from wordlens.app.keywords import default_stopwords
from wordlens.corpus.reader import iter_documents
from wordlens.training.alacarte import alacarte_map, context_means

SIZES = (1, 5, 20)


def chosen_words(model: WordModel, count: int, seed: int) -> list[str]:
    stop = default_stopwords(model.tokenizer.name)
    pool = [
        model.words[row]
        for row in range(100, min(3000, len(model)))
        if model.words[row] not in stop and any(ch.isalpha() for ch in model.words[row])
    ]
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(pool, size=count, replace=False).tolist())


def corpus_documents(model: WordModel) -> Iterator[str]:
    """The documents of the model's training corpus: ``corpus.path`` (Word2Vec), or
    each of ``corpus.sources`` (PMI counts, possibly merged from several)."""
    corpus = model.manifest["corpus"]
    for path in [corpus["path"]] if "path" in corpus else [s["path"] for s in corpus["sources"]]:
        yield from iter_documents(path)


def sentences_of(
    model: WordModel, words: list[str], each: int, sampling: str, seed: int
) -> dict[str, list[str]]:
    """``each`` documents of the model's corpus containing each word (fewer if it has
    fewer): the first in corpus order, or a seeded ``random`` sample in corpus order."""
    found: dict[str, list[str]] = {word: [] for word in words}
    wanted = set(words)
    for text in corpus_documents(model):
        for word in wanted.intersection(model.tokenize(text)):
            found[word].append(text)
            if sampling == "first" and len(found[word]) == each:
                wanted.discard(word)
        if not wanted:
            break
    if sampling == "first":
        return found
    rng = np.random.default_rng(seed)
    return {
        word: [
            texts[i] for i in np.sort(rng.choice(len(texts), min(each, len(texts)), replace=False))
        ]
        for word, texts in found.items()
    }


def honest_alacarte(model: WordModel, words: list[str]) -> np.ndarray:
    """The à la carte map learned from the model's corpus, the ``words`` out of the
    regression."""
    index = {model.words[row]: row for row in range(len(model))}
    lines = (" ".join(model.tokenize(text)) for text in corpus_documents(model))
    family = model.family
    window = len(family.infer_window().weights)
    means = context_means(lines, index, np.asarray(model.vectors), family.kept, window)
    counts = np.exp(family.log_counts)
    counts[model.words.lookup(words)] = 0  # below any floor: out of the regression
    return alacarte_map(np.asarray(model.vectors), means, counts)


def evaluate(model: WordModel, sentences: dict[str, list[str]]) -> list[dict]:
    runs = []
    for size in SIZES:
        for word, texts in sentences.items():
            started = time.perf_counter()
            found = model.infer(texts[:size], word=word, topn=10, leave_out=True, exact=True)
            seconds = time.perf_counter() - started
            true = model.vector(word).astype(np.float64)
            cosine = found.vector @ true / (np.linalg.norm(found.vector) * np.linalg.norm(true))
            by_cosine = model.similar_by_vector(found.vector.tolist(), 10, exact=True)
            others = [w for w, _ in found.similar if w != word][:9]
            runs.append(
                {
                    "size": size,
                    "hit": word in dict(found.similar),
                    "cosine hit": word in dict(by_cosine),
                    "relevance": float(np.mean([model.similarity(word, w) for w in others])),
                    "cosine relevance": float(
                        np.mean([model.similarity(word, w) for w, _ in by_cosine if w != word][:9])
                    ),
                    "cosine": float(cosine),
                    "confidence": found.confidence,
                    "seconds": seconds,
                }
            )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, default=Path("/work/main/models"))
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--sampling", default="random,first", help="random, first, or both (random,first)"
    )
    args = parser.parse_args()
    engine = Engine(args.models)
    rows, tercile_rows = [], []
    with threadpool_limits(1):
        for name in ("pmi", "word2vec"):
            model = engine.get(name)
            words = chosen_words(model, args.words, args.seed)
            family = model.family
            maps = [None]
            if getattr(family, "alacarte", None) is not None:
                maps.append(honest_alacarte(model, words))
            for sampling in args.sampling.split(","):
                sentences = sentences_of(model, words, max(SIZES), sampling, args.seed)
                sentences = {w: t for w, t in sentences.items() if len(t) == max(SIZES)}
                for alacarte in maps:
                    family.alacarte = alacarte
                    runs = evaluate(model, sentences)
                    report(name, sampling, family.infer_method, runs, rows, tercile_rows)
                print(table(rows), flush=True)
    print()
    print(table(rows))
    print()
    print(table(tercile_rows))


def report(
    name: str,
    sampling: str,
    method: str,
    runs: list[dict],
    rows: list[dict],
    tercile_rows: list[dict],
) -> None:
    """Adds the figures of ``runs`` to ``rows`` (one per size) and ``tercile_rows``."""
    for size in SIZES:
        some = [run for run in runs if run["size"] == size]
        rows.append(
            {
                "model": name,
                "sampling": sampling,
                "method": method,
                "sentences": size,
                "words": len(some),
                "top-10 hit": f"{np.mean([r['hit'] for r in some]):.1%}",
                "by cosine alone": f"{np.mean([r['cosine hit'] for r in some]):.1%}",
                "relevance": f"{np.mean([r['relevance'] for r in some]):.3f}",
                "by cosine alone ": f"{np.mean([r['cosine relevance'] for r in some]):.3f}",
                "mean cosine": f"{np.mean([r['cosine'] for r in some]):.3f}",
                "confidence": f"{np.mean([r['confidence'] for r in some]):.3f}",
                "ms/query": f"{1000 * np.median([r['seconds'] for r in some]):.1f}",
            }
        )
    confidence = np.array([r["confidence"] for r in runs])
    hits = np.array([r["hit"] for r in runs])
    edges = np.quantile(confidence, [1 / 3, 2 / 3])
    bucket = np.searchsorted(edges, confidence)
    for third, label in enumerate(("low", "middle", "high")):
        inside = bucket == third
        low, high = confidence[inside].min(), confidence[inside].max()
        tercile_rows.append(
            {
                "model": name,
                "sampling": sampling,
                "method": method,
                "confidence tercile": label,
                "range": f"{low:.3f} … {high:.3f}",
                "runs": int(inside.sum()),
                "top-10 hit": f"{hits[inside].mean():.1%}",
            }
        )


if __name__ == "__main__":
    main()
