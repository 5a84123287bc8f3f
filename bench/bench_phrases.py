"""Phrase learning: wordlens (``training.phrases.learn_phrases``) against gensim's
``Phrases`` (``scoring="npmi"``), same threshold and minimum count, on one corpus
(default: the shipped English corpus).

Both learn from the corpus tokenised once beforehand (wordlens from its encoded ids,
gensim from the token lists in memory), so the figures are those of learning: wall
seconds (best of ``--repeat``), and the peak of memory allocated while learning
(tracemalloc, which sees numpy's and Python's allocations; a separate run, since
tracing slows Python code).

Comparisons:

- pass 1 with the same candidates (gensim without connector words, its pairs whose
  words are not stop-words, against wordlens's first pass): the scorer and counts
  agree if the sets are equal;
- the tables of two passes: gensim with its recommended ``ENGLISH_CONNECTOR_WORDS``
  (phrases may run through "of", "the", …) against wordlens (no stop-word at either
  end): overlap and the most frequent phrases of each.

    .venv/bin/python bench/bench_phrases.py [--corpus PATH] [--threshold 0.5] [--min-count 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from common import table

from wordlens.corpus import DEFAULT_ENGLISH, Corpus, get_tokenizer
from wordlens.corpus.stopwords import default_stopwords
from wordlens.training.encode import encode_corpus
from wordlens.training.phrases import PhraseParams, learn_phrases


def measured(function, repeat: int):
    """(result, best seconds of ``repeat`` runs, peak MiB allocated in one more run)."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, min(seconds), peak / 2**20


def gensim_phrases(sentences, params: PhraseParams, connectors) -> dict[str, int]:
    """gensim's phrases after ``params.passes`` passes: {"new york": count}."""
    from gensim.models.phrases import Phrases

    found: dict[str, int] = {}
    corpus = sentences
    for _ in range(params.passes):
        model = Phrases(
            corpus,
            min_count=params.min_count,
            threshold=params.threshold,
            scoring="npmi",
            connector_words=connectors,
            delimiter="\x1f",
        )
        for phrase in model.export_phrases():
            found[phrase.replace("\x1f", " ")] = model.vocab[phrase]
        frozen = model.freeze()
        corpus = [frozen[sentence] for sentence in corpus]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_ENGLISH)
    parser.add_argument("--tokenizer", default="english")
    parser.add_argument("--threshold", type=float, default=PhraseParams.threshold)
    parser.add_argument("--min-count", type=int, default=PhraseParams.min_count)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from gensim.models.phrases import ENGLISH_CONNECTOR_WORDS

    tokenizer = get_tokenizer(args.tokenizer)
    stops = default_stopwords(tokenizer.name)
    one = PhraseParams(args.threshold, args.min_count, passes=1)
    two = PhraseParams(args.threshold, args.min_count, passes=2)
    sentences = list(Corpus(args.corpus, tokenizer))
    tokens = sum(map(len, sentences))
    with tempfile.TemporaryDirectory() as scratch:
        encoded = encode_corpus(sentences, Path(scratch))
        ours_one = {p.token for p in learn_phrases(encoded, one, stops).phrases}
        ours, ours_seconds, ours_mib = measured(
            lambda: learn_phrases(encoded, two, stops), args.repeat
        )
    theirs_one = {
        phrase
        for phrase in gensim_phrases(sentences, one, frozenset())
        if phrase.split(" ")[0] not in stops and phrase.split(" ")[-1] not in stops
    }
    theirs, theirs_seconds, theirs_mib = measured(
        lambda: gensim_phrases(sentences, two, ENGLISH_CONNECTOR_WORDS), args.repeat
    )
    ours_counts = {p.token: p.count for p in ours.phrases}
    print(
        f"{args.corpus.name}: {len(sentences):,} documents, {tokens:,} tokens; "
        f"npmi > {args.threshold}, min count {args.min_count}\n"
    )
    print(
        f"pass 1, same candidates: wordlens {len(ours_one):,}, gensim {len(theirs_one):,}, "
        f"both {len(ours_one & theirs_one):,}\n"
    )
    both = ours_counts.keys() & theirs.keys()
    rows = [
        {
            "learner": "wordlens (stop-words never at the ends)",
            "phrases": len(ours_counts),
            "in both": len(both),
            "seconds": ours_seconds,
            "peak MiB": ours_mib,
        },
        {
            "learner": "gensim Phrases (npmi, ENGLISH_CONNECTOR_WORDS)",
            "phrases": len(theirs),
            "in both": len(both),
            "seconds": theirs_seconds,
            "peak MiB": theirs_mib,
        },
    ]
    print("two passes:\n" + table(rows) + "\n")
    for name, found in (("wordlens", ours_counts), ("gensim", theirs)):
        top = sorted(found, key=lambda phrase: (-found[phrase], phrase))[:25]
        print(f"most frequent, {name}: {', '.join(top)}")
    only = sorted(theirs.keys() - ours_counts.keys(), key=lambda p: -theirs[p])[:15]
    print(f"\nonly gensim, most frequent: {', '.join(only)}")
    mine = sorted(ours_counts.keys() - theirs.keys(), key=lambda p: -ours_counts[p])[:15]
    print(f"only wordlens, most frequent: {', '.join(mine)}")


if __name__ == "__main__":
    main()
