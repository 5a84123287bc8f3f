"""The shared word index (wordlens.vocabulary) at vocabulary scale: load time, memory
per process with two processes on the same model, lookup and completion latency,
against the list + dict + sorted list that every worker held before.

For each size (1M and 3M words by default) a seeded synthetic vocabulary (distinct
words of 3–14 random letters a–z, some with a non-ASCII letter) is written once with
``write_model`` (one-dimensional vectors: only the words matter here) into ``--data``
and kept. Then two processes open the same model at the same time; each one, in turn:

- measures its memory (``/proc/self/smaps_rollup``) after imports, opens the model
  (``load_model(verify=False)``, timed) and runs a load: 200,000 single lookups of
  random words (``word in words`` and ``index[word]``, half unknown), 200 batches of
  1,000 words (``lookup``), 2,000 completions of random 1–3 letter prefixes
  (``WordModel.complete``, 10 words), 200,000 row → word reads;
- reports its latencies, then waits; the parent reads both processes' RSS, PSS,
  private (clean + dirty) and anonymous memory while both are alive and mapped.

``--old`` adds a row per size for what a worker did before: words.txt read into a list,
a word → row dict, the sorted list for completion (in one process). ``--marisa`` adds
the alternative considered, a MARISA trie (``pip install marisa-trie``; not a
dependency of wordlens) memory-mapped with an array of trie id → row, completion
listing the prefix's keys and keeping the 10 most frequent (in one process).

``--legacy`` adds a row for the same model as written before the index (words.txt only,
the index built in memory by each of the two processes).

    .venv/bin/python bench/bench_vocabulary.py [--sizes 1M,3M] [--data DIR] [--old]
        [--marisa] [--legacy]
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, table

ALPHABET = "abcdefghijklmnopqrstuvwxyz"
LETTERS = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)


def synthetic_words(size: int, seed: int = 0) -> list[str]:
    """``size`` distinct seeded words: 3–14 letters a–z, one word in 16 with an "é"."""
    rng = np.random.default_rng(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        count = int((size - len(words)) * 1.1) + 16
        letters = LETTERS[rng.integers(0, 26, size=(count, 14))]
        lengths = rng.integers(3, 15, size=count)
        accented = rng.random(count) < 1 / 16
        for row, length, accent in zip(letters, lengths.tolist(), accented.tolist(), strict=True):
            word = row[:length].tobytes().decode()
            words[word + "é" if accent else word] = None
    return list(words)[:size]


def write_words_model(path: Path, words: list[str]) -> None:
    """A model of ``words`` with one-dimensional vectors (only the words matter here),
    matched as written (the whitespace tokenizer); says how long writing took."""
    from wordlens.artifacts import write_model

    started = time.perf_counter()
    write_model(
        path,
        kind="imported",
        words=words,
        vectors=np.ones((len(words), 1), dtype=np.float32),
        manifest={"tokenizer": {"name": "whitespace"}},
    )
    print(f"{len(words):,} words written in {time.perf_counter() - started:.1f} s", flush=True)


def model_path(data: Path, size: int) -> Path:
    path = data / f"vocabulary-{size}"
    if not (path / "manifest.json").is_file():
        write_words_model(path, synthetic_words(size))
    return path


def legacy_copy(path: Path) -> Path:
    """A copy of the model at ``path`` as written before the word index, made once."""
    from wordlens import vocabulary

    legacy = path.parent / f"{path.name}-legacy"
    if not (legacy / "manifest.json").is_file():
        legacy.mkdir(exist_ok=True)
        manifest = json.loads((path / "manifest.json").read_text())
        for name in vocabulary.ARRAYS:
            del manifest["arrays"][name], manifest["files"][f"{name}.npy"]
        del manifest["word_index"]
        for name in manifest["files"]:
            (legacy / name).write_bytes((path / name).read_bytes())
        (legacy / "manifest.json").write_text(json.dumps(manifest))
    return legacy


def memory_kib(pid: int | str = "self") -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":")
        fields[name] = int(value.split()[0])
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "private": fields["Private_Clean"] + fields["Private_Dirty"],
        "anonymous": fields["Anonymous"],
    }


def percentiles(seconds: np.ndarray) -> tuple[float, float]:
    """(p50, p99) in µs."""
    return 1e6 * float(np.median(seconds)), 1e6 * float(np.percentile(seconds, 99))


def write_probes(path: Path) -> Path:
    """A file of the load's query words, made once (so that the processes' memory
    grows by what the index takes, not by the bench's own lists): 100,000 words of
    the model, 100,000 random strings, 2,000 prefixes, 200,000 rows."""
    probes = path.parent / f"{path.name}-probes.json"
    if not probes.is_file():
        words = (path / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        rng = random.Random(1)
        queries = [words[rng.randrange(len(words))] for _ in range(100_000)]
        queries += ["".join(rng.choices(ALPHABET, k=15)) for _ in range(100_000)]
        rng.shuffle(queries)
        prefixes = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 3))) for _ in range(2000)]
        rows = [rng.randrange(len(words)) for _ in range(200_000)]
        probes.write_text(json.dumps({"words": queries, "prefixes": prefixes, "rows": rows}))
    return probes


def marisa_files(path: Path) -> tuple[Path, Path]:
    """A MARISA trie of the model's words and its trie id → row array, made once."""
    import marisa_trie

    trie_file = path.parent / f"{path.name}.marisa"
    rows_file = path.parent / f"{path.name}.marisa-rows.npy"
    if not rows_file.is_file():
        words = (path / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        started = time.perf_counter()
        trie = marisa_trie.Trie(words)
        rows = np.empty(len(words), dtype=np.int32)
        rows[[trie[word] for word in words]] = np.arange(len(words), dtype=np.int32)
        trie.save(str(trie_file))
        np.save(rows_file, rows)
        print(f"MARISA trie built in {time.perf_counter() - started:.1f} s", flush=True)
    return trie_file, rows_file


def marisa_child(path: Path) -> None:
    """The load of :func:`child` on a memory-mapped MARISA trie."""
    import marisa_trie

    trie_file, rows_file = marisa_files(path)
    loaded = json.loads(write_probes(path).read_text())
    probes, prefixes = loaded["words"], loaded["prefixes"]
    timings, completions = np.empty(len(probes)), np.empty(len(prefixes))
    before = memory_kib()
    started = time.perf_counter()
    trie = marisa_trie.Trie()
    trie.mmap(str(trie_file))
    rows = np.load(rows_file, mmap_mode="r")
    load_seconds = time.perf_counter() - started
    for i, word in enumerate(probes):
        tick = time.perf_counter()
        if word in trie:
            int(rows[trie[word]])
        timings[i] = time.perf_counter() - tick
    for i, prefix in enumerate(prefixes):
        tick = time.perf_counter()
        items = trie.items(prefix)  # (word, trie id) of every word with the prefix
        ids = np.fromiter((key for _, key in items), dtype=np.int64, count=len(items))
        [items[j][0] for j in np.argsort(rows[ids], kind="stable")[:10].tolist()]
        completions[i] = time.perf_counter() - tick
    report = {
        "load s": load_seconds,
        "lookup p50 µs": percentiles(timings)[0],
        "lookup p99 µs": percentiles(timings)[1],
        "complete p50 µs": percentiles(completions)[0],
        "complete p99 µs": percentiles(completions)[1],
        "before": before,
    }
    print(json.dumps(report), flush=True)
    sys.stdin.read()


def child(path: Path, old: bool) -> None:
    """One process: open the model, run the load, report, wait for the parent."""
    from wordlens.app.engine import WordModel
    from wordlens.artifacts import load_model

    loaded = json.loads(write_probes(path).read_text())
    probes, prefixes, rows = loaded["words"], loaded["prefixes"], loaded["rows"]
    timings = np.empty(len(probes))
    batch = np.empty(len(probes) // 1000)
    completions = np.empty(len(prefixes))
    before = memory_kib()
    started = time.perf_counter()
    if old:
        words = (path / "words.txt").read_text(encoding="utf-8").split("\n")[:-1]
        index = {word: i for i, word in enumerate(words)}
        order = sorted(range(len(words)), key=words.__getitem__)
        ordered = [words[i] for i in order]
        rows_in_order = np.asarray(order)
    else:
        model = WordModel(load_model(path, verify=False))
        words, index = model.words, model.index
    load_seconds = time.perf_counter() - started

    for i, word in enumerate(probes):
        tick = time.perf_counter()
        if word in index:
            index[word]
        timings[i] = time.perf_counter() - tick
    single = percentiles(timings)

    for i in range(len(batch)):
        chunk = probes[1000 * i : 1000 * (i + 1)]
        tick = time.perf_counter()
        if old:
            [index.get(word, -1) for word in chunk]
        else:
            words.lookup(chunk)
        batch[i] = (time.perf_counter() - tick) / len(chunk)

    for i, prefix in enumerate(prefixes):
        tick = time.perf_counter()
        if old:
            first = bisect.bisect_left(ordered, prefix)
            last = bisect.bisect_left(ordered, prefix + "\U0010ffff", lo=first)
            [words[i] for i in np.sort(rows_in_order[first:last])[:10]]
        else:
            model.complete(prefix, 10)
        completions[i] = time.perf_counter() - tick

    tick = time.perf_counter()
    for row in rows:
        words[row]
    read = (time.perf_counter() - tick) / len(rows)

    report = {
        "load s": load_seconds,
        "lookup p50 µs": single[0],
        "lookup p99 µs": single[1],
        "batch µs/word": 1e6 * float(np.median(batch)),
        "complete p50 µs": percentiles(completions)[0],
        "complete p99 µs": percentiles(completions)[1],
        "row→word µs": 1e6 * read,
        "before": before,
    }
    print(json.dumps(report), flush=True)
    sys.stdin.read()  # until the parent has measured both processes


LABELS = {
    "shared": "shared (mmap)",
    "old": "list + dict (before)",
    "marisa": "MARISA trie (mmap)",
    "legacy": "built in memory (old model)",
}


def measure(path: Path, size: int, mode: str) -> dict:
    """The row of ``mode`` (``shared``, ``old``, ``marisa``): two processes for the
    shared index, one for the others."""
    processes = 1 if mode in ("old", "marisa") else 2
    if mode == "legacy":
        path = legacy_copy(path)
    command = [sys.executable, __file__, "--child", str(path), "--mode", mode]
    children = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    reports = [json.loads(process.stdout.readline()) for process in children]
    memories = [memory_kib(process.pid) for process in children]
    for process in children:
        process.communicate("")
    report, memory = reports[-1], memories[-1]
    before = report.pop("before")
    row = {"words": f"{size:,}", "index": LABELS[mode]}
    row.update(report)
    row["processes"] = processes
    for key, label in (("rss", "RSS"), ("pss", "PSS"), ("private", "private")):
        row[f"{label} MiB"] = memory[key] / 1024
    row["private growth MiB"] = (memory["private"] - before["private"]) / 1024
    row["anonymous growth MiB"] = (memory["anonymous"] - before["anonymous"]) / 1024
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1M,3M")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--old", action="store_true", help="also measure the list + dict")
    parser.add_argument("--marisa", action="store_true", help="also measure a MARISA trie")
    parser.add_argument("--legacy", action="store_true", help="also measure an old model")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="shared", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.mode == "marisa":
            marisa_child(args.child)
        else:
            child(args.child, old=args.mode == "old")
        return
    sizes = [
        int(float(s.rstrip("Mk")) * (1e6 if s.endswith("M") else 1e3))
        for s in args.sizes.split(",")
    ]
    rows = []
    for size in sizes:
        path = model_path(args.data, size)
        write_probes(path)
        disk = sum(f.stat().st_size for f in path.glob("word*"))
        rows.append({**measure(path, size, "shared"), "on disk MiB": disk / 2**20})
        if args.old:
            rows.append(measure(path, size, "old"))
        if args.legacy:
            rows.append(measure(path, size, "legacy"))
        if args.marisa:
            trie_file, rows_file = marisa_files(path)
            disk = (
                trie_file.stat().st_size
                + rows_file.stat().st_size
                + (path / "words.txt").stat().st_size
            )
            rows.append({**measure(path, size, "marisa"), "on disk MiB": disk / 2**20})
    print()
    print(table(rows))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
