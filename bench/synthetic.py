"""A seeded synthetic corpus whose vocabulary grows like real text, with topics.

The corpus is the prefix of one endless stream of documents, one a line, words of
lower-case ASCII letters separated by single spaces (the ``english`` tokenizer keeps
each as one token). Documents come in chunks of ``chunk_documents``; chunk *c* is drawn
from its own generator, ``np.random.default_rng([seed, c])``, so the corpus of *N*
tokens is the first *N* tokens of the stream (its last document cut short), a smaller
corpus is a prefix of a larger one, and a seed gives the same bytes on every run (for
one numpy version: numpy does not promise its streams across versions).

How a document is drawn
-----------------------
- Its length in tokens is log-normal (median ``median_length``, log-space standard
  deviation ``length_sigma``), clipped to [``min_length``, ``max_length``].
- Its topic *t* is one of ``topics``, topic *t* (from 0) drawn with weight
  (t + 1)^-``topic_popularity`` (a few topics are common, most are rare).
- Each token independently comes, with probability ``topic_share``, from topic *t*'s
  own vocabulary, else from the shared background vocabulary. The topic's words
  co-occur in its documents and nowhere else, which is the structure PMI finds.

A vocabulary is unbounded: a word's rank r = 0, 1, 2, … is floor(x − x0) of a
continuous variable x ≥ x0 with the two-regime density

    f(x) ∝ x^-a1                     for x0 ≤ x < knee      (the head)
    f(x) ∝ knee^(a2-a1) · x^-a2      for x ≥ knee           (the tail)

sampled by inverting its distribution function (vectorised, no table). Real text has
two regimes too (Ferrer i Cancho & Solé 2001): a head of common words falling off
about as 1/rank and a steeper tail, which sets how the vocabulary grows. With a tail
exponent a2, Heaps' law V(N) ∝ N^β holds with β ≈ 1/a2 (Zipf-distributed ranks over
an unbounded vocabulary). Background words use (``background_offset``,
``background_knee``), each topic's words (``topic_offset``, ``topic_knee``); both use
``head_exponent`` a1 and ``tail_exponent`` a2.

A word's integer id interleaves the vocabularies: background rank r is id r·(T + 1),
topic t's rank r is id r·(T + 1) + 1 + t (T = ``topics``), so an id tells its topic
(:func:`topic_of`), and frequent words of every vocabulary get small ids. An id is
spelled in bijective base 26 ("a" … "z", "aa" … "zz", "aaa", …): frequent words are
short, and every string of letters is exactly one id (:func:`word_ids` reads them
back). Ranks beyond about 10^16 (probability about 1e-10 a token) are clipped to the
last id that spells in 13 letters.

Measured (defaults, seed 14)
----------------------------
``python bench/synthetic.py --heaps 4M,16M,64M,256M,1B`` (4 min, one core):

    tokens   types (seen)   vocabulary (count >= 5)
    4 M         223,809        36,967
    16 M        533,394        91,385
    64 M      1,269,481       218,233
    256 M     3,019,497       520,033
    1 B       7,081,183     1,218,881

Heaps' β (least squares over the five sizes): 0.626 for the types, 0.632 for the
vocabulary of words seen at least 5 times. Zipf exponent (slope of log frequency
against log rank, 1 B tokens): 1.03 over ranks 10–1 000, 1.16 over 1 000–10 000, 1.48
over 10 000–100 000 (the shipped English corpus, 4 M tokens: 0.92, 1.27, 1.96). The
most frequent word is 5.5 % of the tokens, the 100 most frequent 46 % (English: 7.3 %,
48 %). Documents: 124 tokens on average; 4.1 bytes a token (the shipped English corpus:
6.0, punctuation included). Against English text of the same size the corpus
has about as many words seen 5 times or more (4 M tokens: 37 k here, 27 k in the
shipped corpus) but three times as many seen at all (224 k against 75 k): its tail
falls off as rank^-1.6, English's end more steeply; counts, which keep every word,
have more rows here than they would for English text.

Writing 64 M tokens (265 MB) takes 12 s and 0.2 GB of memory on this machine
(``write_corpus``; a chunk of 16 384 documents, about 2 M tokens, at a time).

    python bench/synthetic.py OUT.txt --tokens 64M [--seed 14]
    python bench/synthetic.py --heaps 4M,16M,64M      # vocabulary growth, Zipf slopes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LETTERS = 26
# Ids of 1…13 letters: ids below _STARTS[L] spell in fewer than L letters. 14 letters
# would pass int64, so ids are clipped below _STARTS[14].
_STARTS = np.cumsum([0] + [_LETTERS**length for length in range(1, 14)]).astype(np.int64)
_MAX_LETTERS = len(_STARTS) - 1


@dataclass(frozen=True)
class SyntheticParams:
    """Every setting of the generator (the module docstring explains each)."""

    seed: int = 14
    topics: int = 200
    topic_share: float = 0.3
    topic_popularity: float = 1.0
    head_exponent: float = 1.2
    tail_exponent: float = 1.6
    background_offset: float = 2.5
    background_knee: float = 2000.0
    topic_offset: float = 3.0
    topic_knee: float = 100.0
    median_length: float = 100.0
    length_sigma: float = 0.7
    min_length: int = 20
    max_length: int = 400
    chunk_documents: int = 16384

    def __post_init__(self) -> None:
        if not 0 <= self.topic_share <= 1:
            raise ValueError(f"topic_share must be in [0, 1], got {self.topic_share}")
        if not self.tail_exponent > 1:
            raise ValueError(f"tail_exponent must be above 1, got {self.tail_exponent}")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("need 1 <= min_length <= max_length")
        if self.topics < 1 or self.chunk_documents < 1:
            raise ValueError("topics and chunk_documents must be at least 1")


@dataclass(frozen=True)
class Chunk:
    """The next documents of the stream: ``ids`` int64 (tokens,) word ids in reading
    order, ``lengths`` int64 (documents,) tokens per document (sums to len(ids)),
    ``topics`` int64 (documents,) each document's topic."""

    ids: np.ndarray
    lengths: np.ndarray
    topics: np.ndarray


def parse_size(text: str) -> int:
    """``"64M"`` → 64_000_000; k, M, G/B are powers of 1000."""
    text = text.strip().upper()
    for suffix, factor in (("K", 10**3), ("M", 10**6), ("G", 10**9), ("B", 10**9)):
        if text.endswith(suffix):
            return round(float(text[:-1]) * factor)
    return int(text)


def format_size(tokens: int) -> str:
    """64_000_000 → ``"64M"`` (the inverse of :func:`parse_size` on round sizes)."""
    for suffix, factor in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if tokens >= factor and tokens % factor == 0:
            return f"{tokens // factor}{suffix}"
    return str(tokens)


def _ranks(
    uniform: np.ndarray, pick: np.ndarray, offset: float, knee: float, a1: float, a2: float
) -> np.ndarray:
    """Ranks int64 (n,) of the two-regime law from two independent U[0, 1) arrays
    (n,): ``pick`` chooses head or tail by their masses, ``uniform`` places x within
    it by the inverse distribution function."""
    if a1 == 1:
        head_mass = np.log(knee / offset)
    else:
        head_mass = (knee ** (1 - a1) - offset ** (1 - a1)) / (1 - a1)
    tail_mass = knee ** (1 - a1) / (a2 - 1)
    in_head = pick < head_mass / (head_mass + tail_mass)
    x = np.empty(len(uniform))
    u = uniform[in_head]
    if a1 == 1:
        x[in_head] = offset * (knee / offset) ** u
    else:
        low, high = offset ** (1 - a1), knee ** (1 - a1)
        x[in_head] = (low + u * (high - low)) ** (1 / (1 - a1))
    # 1 - u is in (0, 1]: never a division by zero.
    x[~in_head] = knee * (1 - uniform[~in_head]) ** (-1 / (a2 - 1))
    return np.floor(np.minimum(x - offset, 2.0**60)).astype(np.int64)


def _chunk(params: SyntheticParams, index: int) -> Chunk:
    """Chunk ``index`` of the stream (``params.chunk_documents`` documents)."""
    rng = np.random.default_rng([params.seed, index])
    documents = params.chunk_documents
    lengths = np.exp(rng.normal(np.log(params.median_length), params.length_sigma, documents))
    lengths = np.clip(lengths.astype(np.int64), params.min_length, params.max_length)
    popularity = np.cumsum(
        np.arange(1, params.topics + 1, dtype=np.float64) ** -params.topic_popularity
    )
    topics = np.searchsorted(popularity / popularity[-1], rng.random(documents), side="right")
    topics = np.minimum(topics, params.topics - 1)  # a draw of exactly the last edge
    tokens = int(lengths.sum())
    from_topic = rng.random(tokens) < params.topic_share
    uniform, pick = rng.random(tokens), rng.random(tokens)
    stride = params.topics + 1
    a1, a2 = params.head_exponent, params.tail_exponent
    largest_rank = (int(_STARTS[-1]) - stride) // stride  # every id spells in 13 letters
    ranks = np.empty(tokens, dtype=np.int64)
    ranks[~from_topic] = _ranks(
        uniform[~from_topic],
        pick[~from_topic],
        params.background_offset,
        params.background_knee,
        a1,
        a2,
    )
    ranks[from_topic] = _ranks(
        uniform[from_topic], pick[from_topic], params.topic_offset, params.topic_knee, a1, a2
    )
    ids = np.minimum(ranks, largest_rank) * stride
    ids[from_topic] += 1 + np.repeat(topics, lengths)[from_topic]
    return Chunk(ids=ids, lengths=lengths, topics=topics)


def chunks(tokens: int, params: SyntheticParams = SyntheticParams()) -> Iterator[Chunk]:
    """The first ``tokens`` tokens of the stream, chunk by chunk (the last document
    cut short so that the total is exactly ``tokens``)."""
    index, remaining = 0, tokens
    while remaining > 0:
        chunk = _chunk(params, index)
        if len(chunk.ids) >= remaining:
            ends = np.cumsum(chunk.lengths)
            last = int(np.searchsorted(ends, remaining))  # the document holding the cut
            lengths = chunk.lengths[: last + 1].copy()
            lengths[-1] -= int(ends[last]) - remaining
            chunk = Chunk(chunk.ids[:remaining], lengths, chunk.topics[: last + 1])
        yield chunk
        remaining -= len(chunk.ids)
        index += 1


def spell(ids: np.ndarray) -> list[str]:
    """The words of ``ids`` (int64 (n,)), bijective base 26 ("a" is 0, "aa" is 26)."""
    letters, lengths = _letters(ids)
    width = letters.shape[1]
    return [
        row[width - size :].tobytes().decode() for row, size in zip(letters, lengths, strict=True)
    ]


def word_ids(words: list[str]) -> np.ndarray:
    """The ids int64 (n,) of ``words`` (the inverse of :func:`spell`)."""
    letters = np.array(words, dtype=f"S{_MAX_LETTERS}")  # zero-padded on the right
    lengths = np.char.str_len(letters).astype(np.int64)
    letters = letters.view(np.uint8).reshape(len(words), _MAX_LETTERS).astype(np.int64)
    offsets = np.zeros(len(words), dtype=np.int64)
    for column in range(int(lengths.max(initial=0))):
        within = column < lengths
        offsets[within] = offsets[within] * _LETTERS + letters[within, column] - ord("a")
    return _STARTS[np.maximum(lengths - 1, 0)] + offsets


def topic_of(ids: np.ndarray, params: SyntheticParams = SyntheticParams()) -> np.ndarray:
    """Each id's topic int64 (n,): 0 … topics − 1, or −1 for a background word."""
    return ids % (params.topics + 1) - 1


def _letters(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ASCII letters uint8 (n, width) of ``ids``, each word right-aligned in its row,
    and the word lengths int64 (n,)."""
    lengths = np.searchsorted(_STARTS, ids, side="right").astype(np.int64)
    width = int(lengths.max(initial=1))
    offsets = ids - _STARTS[lengths - 1]
    letters = np.empty((len(ids), width), dtype=np.uint8)
    for column in range(width - 1, -1, -1):  # one pass per letter, least significant first
        letters[:, column] = offsets % _LETTERS + ord("a")
        offsets //= _LETTERS
    return letters, lengths


def encode(chunk: Chunk) -> bytes:
    """The chunk's documents as UTF-8 text: words joined by a space, one document a
    line (each line ends with a newline)."""
    letters, lengths = _letters(chunk.ids)
    width = letters.shape[1]
    # A column after the letters holds each word's separator; the padding left of a
    # shorter word is masked out when the rows are flattened.
    text = np.empty((len(chunk.ids), width + 1), dtype=np.uint8)
    text[:, :width] = letters
    text[:, width] = ord(" ")
    text[np.cumsum(chunk.lengths) - 1, width] = ord("\n")
    keep = np.arange(width + 1) >= (width - lengths)[:, None]
    return text[keep].tobytes()


def write_corpus(
    path: str | os.PathLike, tokens: int, params: SyntheticParams = SyntheticParams()
) -> dict:
    """Write the corpus of ``tokens`` tokens at ``path`` (replaced atomically, through a
    ``.partial`` sibling), chunk by chunk: memory is a chunk's, never the corpus's.
    Returns its figures: tokens, documents, bytes, seconds."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    documents = size = 0
    with open(partial, "wb") as stream:
        for chunk in chunks(tokens, params):
            size += stream.write(encode(chunk))
            documents += len(chunk.lengths)
    partial.replace(path)
    return {
        "tokens": tokens,
        "documents": documents,
        "bytes": size,
        "seconds": round(time.perf_counter() - started, 3),
    }


def ensure_corpus(
    folder: str | os.PathLike, tokens: int, params: SyntheticParams = SyntheticParams()
) -> tuple[Path, dict]:
    """The corpus of ``tokens`` tokens in ``folder``, written unless a file with the
    same settings is there (its settings and figures are kept in a ``.json`` beside
    it). Returns (path, figures)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"synthetic-{format_size(tokens)}-seed{params.seed}.txt"
    sidecar = path.with_suffix(".json")
    settings = dataclasses.asdict(params)
    if path.exists() and sidecar.exists():
        recorded = json.loads(sidecar.read_text())
        if recorded.get("params") == settings and recorded.get("bytes") == path.stat().st_size:
            return path, recorded
    figures = write_corpus(path, tokens, params)
    sidecar.write_text(json.dumps({**figures, "params": settings}, indent=1))
    return path, figures


def vocabulary_growth(
    sizes: list[int], params: SyntheticParams = SyntheticParams(), min_count: int = 5
) -> list[dict]:
    """Vocabulary of the corpus at each of ``sizes`` tokens (one pass over the largest):
    ``types`` (words seen at all), ``kept`` (seen at least ``min_count`` times), and
    ``frequencies`` int64 (types,) sorted descending, of the largest size only.

    Works on ids (one word, one id), merging chunk counts: memory grows with the
    vocabulary, not the corpus."""
    sizes = sorted(sizes)
    unique = np.empty(0, dtype=np.int64)
    counts = np.empty(0, dtype=np.int64)
    pending: list[np.ndarray] = []
    seen, figures = 0, []

    def merge() -> None:
        nonlocal unique, counts
        if pending:
            batch, batch_counts = np.unique(np.concatenate(pending), return_counts=True)
            pending.clear()
            unique, inverse = np.unique(np.concatenate([unique, batch]), return_inverse=True)
            counts = np.bincount(
                inverse, weights=np.concatenate([counts, batch_counts]), minlength=len(unique)
            ).astype(np.int64)

    for chunk in chunks(sizes[-1], params):
        ids = chunk.ids
        while ids.size:
            take = min(len(ids), sizes[len(figures)] - seen)
            pending.append(ids[:take])
            ids, seen = ids[take:], seen + take
            if sum(map(len, pending)) >= 2**23:  # batch the merges: each sorts the vocabulary
                merge()
            if seen == sizes[len(figures)]:
                merge()
                figures.append(
                    {"tokens": seen, "types": len(unique), "kept": int((counts >= min_count).sum())}
                )
                if len(figures) == len(sizes):
                    break
    figures[-1]["frequencies"] = np.sort(counts)[::-1]
    return figures


def fit_exponent(x: list[float] | np.ndarray, y: list[float] | np.ndarray) -> float:
    """The slope of the least-squares line through (log x, log y): y ∝ x^slope."""
    slope, _ = np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)
    return float(slope)


def zipf_slopes(frequencies: np.ndarray, ranges=((10, 1000), (1000, 10000), (10000, 100000))):
    """Zipf exponent s (frequency ∝ rank^-s) fitted over each rank range [lo, hi) of
    descending ``frequencies``; ranges past the vocabulary are left out."""
    ranks = np.arange(1, len(frequencies) + 1)
    return {
        f"{lo}-{hi}": -fit_exponent(ranks[lo:hi], frequencies[lo:hi])
        for lo, hi in ranges
        if hi <= len(frequencies)
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("out", nargs="?", help="the .txt file to write")
    parser.add_argument("--tokens", default="4M", help="corpus size (4M, 64M, 1B; default 4M)")
    parser.add_argument("--seed", type=int, default=SyntheticParams.seed)
    parser.add_argument(
        "--heaps", metavar="SIZES", help="print the vocabulary growth at these sizes instead"
    )
    args = parser.parse_args(argv)
    params = SyntheticParams(seed=args.seed)
    if args.heaps:
        sizes = [parse_size(size) for size in args.heaps.split(",")]
        growth = vocabulary_growth(sizes, params)
        for row in growth:
            print(json.dumps({k: v for k, v in row.items() if k != "frequencies"}))
        if len(growth) > 1:
            tokens = [row["tokens"] for row in growth]
            print(
                "Heaps beta (types):", round(fit_exponent(tokens, [r["types"] for r in growth]), 3)
            )
            print("Heaps beta (kept):", round(fit_exponent(tokens, [r["kept"] for r in growth]), 3))
        frequencies = growth[-1]["frequencies"]
        print("Zipf slopes:", {k: round(v, 3) for k, v in zipf_slopes(frequencies).items()})
        print("top word share:", round(frequencies[0] / growth[-1]["tokens"], 4))
        print("top 100 share:", round(frequencies[:100].sum() / growth[-1]["tokens"], 4))
        return
    if not args.out:
        parser.error("give OUT (a .txt file) or --heaps SIZES")
    figures = write_corpus(args.out, parse_size(args.tokens), params)
    print(json.dumps(figures), file=sys.stderr)


if __name__ == "__main__":
    main()
