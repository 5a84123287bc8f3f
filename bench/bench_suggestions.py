""" "Did you mean" at vocabulary scale: the suggestions a 404 for an unknown word carries
(issue 17: under 5 ms per 404 at 1 M words, with what it needs built at load time).

For each vocabulary (1 M words by default) a seeded model is written once with
``write_model`` into ``--data`` (kept; one-dimensional vectors, only the words matter)
with its suggestion index, and a copy of it without the stored index (as models
written before it: each worker then builds the index in memory at start):

- ``random``: distinct words of 3–14 random letters a–z, one in 16 ending in "é"
  (``bench_vocabulary.synthetic_words``): a sparse vocabulary, few words within one
  edit of another;
- ``syllables``: consonant-vowel syllables, "ba" … "zozozu" (``synthetic_vectors.words``,
  the words of ``bench_scale_serve.py``): a dense one, where most one-letter changes of
  a word give another word.

The queries are seeded typos of vocabulary words, the word drawn by frequency (Zipf,
exponent 1, over the rows, which are in frequency order): 80 % one edit (a deletion,
insertion, substitution of a random letter a–z, or swap of two neighbouring letters,
equally likely, at a random place), 10 % two such edits, 10 % the word capitalised
(a case variant); a typo that is itself a vocabulary word is drawn again, so every
query is a 404. It prints, per vocabulary:

- the suggestion index: keys, size on disk (``suggest_keys.npy`` + ``suggest_rows.npy``),
  build time (``suggestions.index_arrays`` on the words, one process);
- in-process: the whole 404 path of the engine (``WordModel.ids`` raising
  ``UnknownWordError`` with its suggestions), p50 / p99 / slowest, and how often the
  typed word's original is the first suggestion or among the five;
- over HTTP, ``wordlens serve --workers 2`` on the model: ``GET /words/{typo}`` (404
  with ``suggestions``), p50 / p99 at concurrency 1 and requests/s at 16, with the
  client's own floor (``/healthz`` at concurrency 1);
- memory per worker after that load, for the stored (memory-mapped) index and for the
  copy without it (built in memory by each worker): RSS, PSS and private MiB of the
  whole worker, the Rss and Pss of the two mapped index files in it (from
  ``/proc/PID/smaps``), start to ready, and the load average (1 minute) at the end
  (the machine is shared: latencies move with it). The index cannot be switched off
  (a model without a stored one builds it), so the copy is the comparison: what a
  worker holds privately when the index is not shared.

The servers run first, so that this process maps no model file while their memory is
read; the in-process figures come last.

    .venv/bin/python bench/bench_suggestions.py [--sizes 1M] [--vocabularies random syllables]
        [--queries 2000] [--seconds 5] [--data /tmp/wordlens-suggestions]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
from bench_vocabulary import synthetic_words, write_words_model
from common import free_port, load, process_memory, start_server, table, worker_pids
from synthetic_vectors import words as syllable_words

from wordlens import suggestions
from wordlens.app.engine import WordModel
from wordlens.app.errors import UnknownWordError
from wordlens.artifacts import load_model

VOCABULARIES = {"random": synthetic_words, "syllables": syllable_words}
LETTERS = "abcdefghijklmnopqrstuvwxyz"
INDEX_FILES = tuple(f"{name}.npy" for name in suggestions.ARRAYS)


def parse_size(text: str) -> int:
    return int(
        float(text.rstrip("Mk")) * (1e6 if text.endswith("M") else 1e3 if text.endswith("k") else 1)
    )


def model_paths(data: Path, vocabulary: str, size: int) -> tuple[Path, Path]:
    """The model with its stored suggestion index, and a copy without it (each in a
    models folder of its own, for the server), written once."""
    stored = data / f"{vocabulary}-{size}" / "stored" / "words"
    built = data / f"{vocabulary}-{size}" / "built" / "words"
    if not (stored / "manifest.json").is_file():
        write_words_model(stored, VOCABULARIES[vocabulary](size))
    if not (built / "manifest.json").is_file():
        shutil.rmtree(built, ignore_errors=True)
        built.mkdir(parents=True)
        manifest = json.loads((stored / "manifest.json").read_text())
        for name in suggestions.ARRAYS:
            del manifest["arrays"][name], manifest["files"][f"{name}.npy"]
        manifest["word_index"].pop("suggestions")
        for name in manifest["files"]:
            shutil.copy2(stored / name, built / name)
        (built / "manifest.json").write_text(json.dumps(manifest))
    return stored, built


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one edit: a deletion, insertion, substitution or swap of
    neighbouring letters, equally likely, at a random place."""
    kind = rng.randrange(4) if len(word) >= 2 else 1
    at = rng.randrange(len(word))
    if kind == 0:
        return word[:at] + word[at + 1 :]
    if kind == 1:
        return word[:at] + rng.choice(LETTERS) + word[at:]
    if kind == 2:
        return word[:at] + rng.choice(LETTERS) + word[at + 1 :]
    at = min(at, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def queries(words: list[str], count: int, seed: int = 3) -> list[tuple[str, str]]:
    """``count`` (typo, original) pairs of ``words`` (module docstring), every typo
    unknown."""
    rng = random.Random(seed)
    known = set(words)
    weights = 1.0 / np.arange(1, len(words) + 1)
    rows = np.random.default_rng(seed).choice(len(words), size=count, p=weights / weights.sum())
    pairs = []
    for row in rows.tolist():
        word = words[row]
        while True:
            kind = rng.random()
            if kind < 0.8:
                wrong = typo(word, rng)
            elif kind < 0.9:
                wrong = typo(typo(word, rng), rng)
            else:
                wrong = word.capitalize()
            if wrong and wrong not in known:
                break
        pairs.append((wrong, word))
    return pairs


def in_process(model: WordModel, pairs: list[tuple[str, str]]) -> dict:
    """The engine's 404 path for each typo: latency and whether the original came
    back first or among the suggestions."""
    seconds = np.empty(len(pairs))
    first = among = 0
    for i, (wrong, original) in enumerate(pairs):
        started = time.perf_counter()
        try:
            model.ids([wrong])
        except UnknownWordError as error:
            offered = error.details["suggestions"].get(wrong, [])
        else:
            raise SystemExit(f"{wrong!r} is in the vocabulary")
        seconds[i] = time.perf_counter() - started
        first += bool(offered) and offered[0] == original
        among += original in offered
    return {
        "in-process p50 ms": 1e3 * float(np.median(seconds)),
        "in-process p99 ms": 1e3 * float(np.percentile(seconds, 99)),
        "slowest ms": 1e3 * float(seconds.max()),
        "original first": first / len(pairs),
        "original in 5": among / len(pairs),
    }


def mapped_index(pid: int) -> dict[str, float]:
    """Rss and Pss (MiB) of the suggestion index files mapped in process ``pid``."""
    totals = {"Rss": 0.0, "Pss": 0.0}
    counting = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and ":" not in head[0]:  # a mapping's first line: address range …
            counting = head[-1].endswith(INDEX_FILES)
        elif counting and head[0].rstrip(":") in totals:
            totals[head[0].rstrip(":")] += int(head[1]) / 1024
    return totals


def served(models: Path, pairs: list[tuple[str, str]], seconds: float) -> dict:
    """Start ``wordlens serve --workers 2`` on ``models``, check the 404s, load it,
    and read its workers' memory."""
    port = free_port()
    server, start = start_server(str(models), 2, port, timeout=600)
    try:
        paths = [f"/words/{quote(wrong, safe='')}" for wrong, _ in pairs]
        floor = asyncio.run(load(port, ["/healthz"], 1, seconds / 2))
        one = asyncio.run(load(port, paths, 1, seconds))
        many = asyncio.run(load(port, paths, 16, seconds))
        memory = [process_memory(pid) for pid in worker_pids(server.pid)]
        index = [mapped_index(pid) for pid in worker_pids(server.pid)]
        check = asyncio.run(_answers(port, paths[:50]))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    if not all(status == 404 and "suggestions" in body for status, body in check):
        raise SystemExit(f"expected 404s with suggestions, got {check[:3]}")
    return {
        "start s": start,
        "HTTP c=1 p50 ms": one["p50 ms"],
        "HTTP c=1 p99 ms": one["p99 ms"],
        "c=16 requests/s": many["requests/s"],
        "floor p50 ms": floor["p50 ms"],
        "RSS MiB": "/".join(f"{m['rss']:.0f}" for m in memory),
        "PSS MiB": "/".join(f"{m['pss']:.0f}" for m in memory),
        "private MiB": "/".join(f"{m['private']:.0f}" for m in memory),
        "index Rss / Pss MiB": "/".join(f"{i['Rss']:.0f} ({i['Pss']:.0f})" for i in index),
        "load average": os.getloadavg()[0],
    }


async def _answers(port: int, paths: list[str]) -> list[tuple[int, dict]]:
    from common import fetch_all

    return [(status, json.loads(body)["error"]) for status, body in await fetch_all(port, paths, 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M", help="comma-separated: 100k,1M")
    parser.add_argument("--vocabularies", nargs="+", default=list(VOCABULARIES))
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--data", type=Path, default=Path("/tmp/wordlens-suggestions"))
    args = parser.parse_args()
    index_rows, memory_rows = [], []
    for vocabulary in args.vocabularies:
        for size in map(parse_size, args.sizes.split(",")):
            stored, built = model_paths(args.data, vocabulary, size)
            words = (stored / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
            pairs = queries(words, args.queries)
            del words
            # The servers first: this process maps no model file while their memory
            # is read (a page this process mapped too would lower their PSS).
            for label, path in (("stored (mapped)", stored), ("built in memory", built)):
                figures = {"vocabulary": vocabulary, "words": f"{size:,}", "index": label}
                figures.update(served(path.parent, pairs, args.seconds))
                print(table([figures]), flush=True)
                memory_rows.append(figures)
            blob = np.fromfile(stored / "words.txt", dtype=np.uint8)
            started = time.perf_counter()
            keys = len(suggestions.index_arrays(blob)["suggest_keys"])
            build = time.perf_counter() - started
            disk = sum((stored / name).stat().st_size for name in INDEX_FILES) / 2**20
            row = {"vocabulary": vocabulary, "words": f"{size:,}", "keys": f"{keys:,}"}
            model = WordModel(load_model(stored, verify=False))
            row.update({"on disk MiB": disk, "build s": build, **in_process(model, pairs)})
            print(table([row]), flush=True)
            index_rows.append(row)
    print()
    print(table(index_rows))
    print()
    print(table(memory_rows))


if __name__ == "__main__":
    sys.exit(main())
