""" "Did you mean": the vocabulary words spelled like an unknown word, from a
symmetric-delete index (SymSpell's idea, at one delete) stored with the model and
memory-mapped, so that every server worker shares it.

Words are compared *folded*: NFKD, combining marks dropped, case folded ("Café" and
"cafe" fold alike). Each word of the vocabulary is indexed under the hash of its
folded form and of each folded form with one character deleted (words of 2 to
:data:`MAX_DELETE_CHARACTERS` characters). An unknown word's own keys (its folded form
and its deletes) meet the keys of every word within one edit of it (an insertion, a
deletion, a substitution or the swap of two neighbouring characters) and of some at
two; for Chinese, where a word is two to four characters, that is the words sharing
all but one character with it. The candidates are then ranked by the optimal string
alignment distance of the folded forms (at most :data:`MAX_DISTANCE`), then of the
words as written (case and accents), then by frequency (row order)::

    suggest_keys    uint64 (E,)  the keys, sorted (rows in order within a key)
    suggest_rows    int32 (E,)   the row of each key

About 10 entries a word, 12 bytes each: 120 MB for a million words, on disk and in the
page cache, never in a worker's private memory. The key of a string of code points
c_0 … c_{n−1} is Σ c_k·B^k mod 2⁶⁴ (B odd, so invertible): a word's deletes come from
prefix sums over all words at once, with no Python loop per word. A collision only
adds a candidate, which its distance then rejects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator

import numpy as np
from rapidfuzz.distance import OSA

__all__ = [
    "ARRAYS",
    "MAX_DELETE_CHARACTERS",
    "MAX_DISTANCE",
    "SUGGESTIONS",
    "VERSION",
    "check_arrays",
    "fold",
    "index_arrays",
    "query_keys",
    "suggest",
]

#: What the stored arrays are (the manifest's ``word_index.suggestions``).
VERSION = "fold-nfkd-casefold/delete-1/poly64"
ARRAYS = {"suggest_keys": np.dtype(np.uint64), "suggest_rows": np.dtype(np.int32)}
#: Longest word (in characters, folded) indexed under its deletes; longer words are
#: found by their folded form only.
MAX_DELETE_CHARACTERS = 32
#: Largest edit distance between folded forms that is suggested.
MAX_DISTANCE = 2
#: Suggestions per unknown word unless asked otherwise.
SUGGESTIONS = 5
#: Candidates taken from each key's range (its most frequent words): a short word's
#: deletes can be shared by thousands of words.
_PER_KEY = 256
_BASE = 0x100000001B3  # the 64-bit FNV prime: odd
_MASK = (1 << 64) - 1
_INVERSE = pow(_BASE, -1, 1 << 64)
_NEWLINE = 10
_CHUNK_CHARACTERS = 1 << 20  # code points hashed at a time: about 80 MiB of temporaries


def fold(text: str) -> str:
    """``text`` without case and accents: NFKD, combining marks dropped, casefolded
    (newlines kept, so a whole words.txt folds line by line)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _key(code_points: list[int]) -> int:
    """The key of a string of code points (as :func:`_keys` computes it in numpy)."""
    key, power = 0, 1
    for code in code_points:
        key = (key + code * power) & _MASK
        power = (power * _BASE) & _MASK
    return key


def query_keys(word: str) -> list[int]:
    """The keys to look an unknown ``word`` up under: its folded form and, from two
    characters, each deletion of one character of it."""
    folded = [ord(c) for c in fold(word)]
    keys = [_key(folded)]
    # longer words are indexed under their whole form only
    if 2 <= len(folded) <= MAX_DELETE_CHARACTERS + 1:
        keys += [_key(folded[:i] + folded[i + 1 :]) for i in range(len(folded))]
    return keys


def _powers(base: int, count: int) -> np.ndarray:
    """uint64 (count,): base**k mod 2⁶⁴."""
    powers = np.full(count, base, dtype=np.uint64)
    powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)  # wraps modulo 2⁶⁴, as wanted


def _word_spans(code_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ends = np.flatnonzero(code_points == _NEWLINE)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    return starts, ends


def _keys(code_points: np.ndarray, first_row: int) -> tuple[np.ndarray, np.ndarray]:
    """The keys (uint64) and rows (int32) of the words of ``code_points`` (uint64,
    folded words each ending in a newline; the first is row ``first_row``), in row
    order: each word's folded form, then its deletes."""
    starts, ends = _word_spans(code_points)
    lengths = ends - starts
    count = len(code_points)
    powers, inverses = _powers(_BASE, count + 1), _powers(_INVERSE, count + 1)
    sums = np.zeros(count + 1, dtype=np.uint64)  # sums[k] = Σ_{j<k} c_j B^j
    np.cumsum(code_points * powers[:count], out=sums[1:])
    deletes = np.where((lengths >= 2) & (lengths <= MAX_DELETE_CHARACTERS), lengths, 0)
    per_word = 1 + deletes
    wholes_at = np.cumsum(per_word) - per_word
    keys = np.empty(int(wholes_at[-1] + per_word[-1]) if len(per_word) else 0, dtype=np.uint64)
    keys[wholes_at] = (sums[ends] - sums[starts]) * inverses[starts]
    # One delete per character of each word of 2 to MAX_DELETE_CHARACTERS characters:
    # the key of c_0 … c_{i−1} plus that of c_{i+1} … c_{n−1} shifted down one place.
    owners = np.repeat(np.arange(len(starts)), deletes)
    begin, end = starts[owners], ends[owners]
    at = begin + np.arange(len(owners)) - (wholes_at[owners] - owners)
    is_delete = np.ones(len(keys), dtype=bool)
    is_delete[wholes_at] = False
    keys[is_delete] = (sums[at] - sums[begin]) * inverses[begin] + (
        sums[end] - sums[at + 1]
    ) * inverses[begin + 1]
    rows = np.repeat(np.arange(first_row, first_row + len(starts), dtype=np.int32), per_word)
    return keys, rows


def _folded_chunks(blob: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, folded code points uint64) of successive runs of whole words of
    ``blob`` (words.txt's bytes), about _CHUNK_CHARACTERS at a time."""
    data = np.asarray(blob)
    ends = np.flatnonzero(data == _NEWLINE)
    row, start = 0, 0
    while row < len(ends):
        stop = int(np.searchsorted(ends, start + _CHUNK_CHARACTERS, side="right"))
        stop = min(max(stop, row + 1), len(ends))
        text = data[start : ends[stop - 1] + 1].tobytes().decode("utf-8")
        code_points = np.frombuffer(fold(text).encode("utf-32-le"), dtype=np.uint32)
        if np.count_nonzero(code_points == _NEWLINE) != stop - row:
            raise ValueError("a word folds to more than one line")
        yield row, code_points.astype(np.uint64)
        row, start = stop, int(ends[stop - 1]) + 1


def index_arrays(blob: np.ndarray) -> dict[str, np.ndarray]:
    """The suggestion arrays (module docstring) of ``blob``, words.txt's bytes as
    uint8 (n,). Holds at most the E entries twice over and their int64 order, about
    28 bytes an entry (266 MiB for the 10 M entries of a million words), or one
    chunk's temporaries."""
    parts = [_keys(code_points, first_row) for first_row, code_points in _folded_chunks(blob)]
    total = sum(len(some_keys) for some_keys, _ in parts)
    keys, rows = np.empty(total, dtype=np.uint64), np.empty(total, dtype=np.int32)
    at = 0
    parts.reverse()
    while parts:  # each part freed once copied: the entries are held once
        some_keys, some_rows = parts.pop()
        keys[at : at + len(some_keys)], rows[at : at + len(some_keys)] = some_keys, some_rows
        at += len(some_keys)
        del some_keys, some_rows
    # Rows are in order, so a stable sort of the keys sorts by (key, row).
    order = np.argsort(keys, kind="stable")
    rows = rows[order]
    keys = keys[order]
    return {"suggest_keys": keys, "suggest_rows": rows}


def check_arrays(arrays: dict[str, np.ndarray], size: int) -> None:
    """ValueError unless the suggestion arrays have their dtypes, one shape, sorted
    keys and rows below ``size`` (vectorised, in chunks)."""
    keys, rows = arrays["suggest_keys"], arrays["suggest_rows"]
    for name, dtype in ARRAYS.items():
        array = arrays[name]
        if array.dtype != dtype or array.ndim != 1 or len(array) != len(keys):
            expected = f"{dtype} {keys.shape}"
            raise ValueError(f"{name} is {array.dtype} {array.shape}, expected {expected}")
    step = 1 << 20
    for start in range(0, len(keys), step):
        block = keys[max(start - 1, 0) : start + step]
        if np.any(block[1:] < block[:-1]):
            raise ValueError("suggest_keys are not sorted")
        some = rows[start : start + step]
        if len(some) and (int(some.min()) < 0 or int(some.max()) >= size):
            raise ValueError(f"suggest_rows has rows outside 0–{size - 1}")


def suggest(
    word: str,
    keys: np.ndarray,
    rows: np.ndarray,
    word_of: Callable[[int], str],
    count: int = SUGGESTIONS,
) -> list[str]:
    """Up to ``count`` vocabulary words spelled like ``word`` (module docstring), best
    first; ``keys`` and ``rows`` are the suggestion arrays, ``word_of`` gives a row's
    word."""
    wanted = np.array(query_keys(word), dtype=np.uint64)
    lows = np.searchsorted(keys, wanted, side="left")
    highs = np.minimum(np.searchsorted(keys, wanted, side="right"), lows + _PER_KEY)
    found = [rows[low:high] for low, high in zip(lows.tolist(), highs.tolist(), strict=True)]
    candidates = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int32)
    folded = fold(word)
    ranked = []
    for row in candidates.tolist():
        other = word_of(row)
        distance = OSA.distance(folded, fold(other), score_cutoff=MAX_DISTANCE)
        if distance <= MAX_DISTANCE and other != word:
            ranked.append((distance, OSA.distance(word, other), row, other))
    ranked.sort()
    return [other for *_, other in ranked[:count]]
