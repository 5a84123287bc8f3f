"""Infer a vector for a word outside the vocabulary from texts it occurs in.

Each context marks the word in square brackets ("a cup of [flurb] this morning"), or
``--word`` names it. Prints the nearest known words (cosine, ranked with a mild
frequency prior: README) and the confidence (the mean PMI, in nats, the inferred
vector gives its context words); ``--json`` prints what ``POST /infer`` answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from wordlens.artifacts import model_path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("contexts", nargs="*", metavar="CONTEXT", help="texts with the word")
    parser.add_argument("--model", required=True, help="model directory or name in ./models")
    parser.add_argument("--word", help="the word (default: the one in square brackets)")
    parser.add_argument(
        "--contexts", dest="file", type=Path, help="a file of contexts, one per line ('-': stdin)"
    )
    parser.add_argument("--topn", type=int, default=10, help="nearest words to print (10)")
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")


def run(args: argparse.Namespace) -> int:
    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model

    contexts = list(args.contexts)
    if args.file is not None:
        lines = sys.stdin if str(args.file) == "-" else args.file.open(encoding="utf-8")
        contexts += [line.strip() for line in lines if line.strip()]
    model = WordModel(load_model(model_path(args.model)))
    found = model.infer(contexts, args.word, args.topn)
    if args.json:
        answer = {
            "model": model.name,
            "word": found.word,
            "method": found.method,
            "known": found.known,
            "confidence": found.confidence,
            "vector": found.vector.tolist(),
            "similar": [{"word": w, "score": s} for w, s in found.similar],
            "search": found.similar.search,
            "occurrences": found.occurrences,
            "context_words": found.context_words,
            "unknown": found.unknown,
            "iterations": found.iterations,
        }
        print(json.dumps(answer, ensure_ascii=False))
        return 0
    print(
        f"{found.word}: {found.occurrences} occurrences, {found.context_words} context words"
        f" ({found.method}), confidence {found.confidence:.3f}"
    )
    for word, score in found.similar:
        print(f"  {word}\t{score:.4f}")
    return 0
