"""A served model's vocabulary, row ↔ word, from memory-mapped files that every
server worker shares (not to be confused with :mod:`wordlens.training.vocab`, the
counting vocabulary of a trainer).

A Python list of the words and a word → row dict cost about 200 MiB per million words
in every process. Here the words stay in ``words.txt`` (UTF-8, one per line, row
order), mapped read-only, and four arrays of the model folder index it:

    word_offsets    int64 (V + 1,)  byte offset of each word in words.txt; the last
                                    one is the file's size (word i is
                                    blob[offsets[i] : offsets[i + 1] - 1])
    word_hashes     uint64 (V,)     the words' 64-bit hashes (:data:`HASH`), sorted
    word_hash_rows  int32 (V,)      the row of each hash above
    word_order      int32 (V,)      the rows in byte order of their words (UTF-8
                                    byte order is code point order, as Python sorts
                                    strings), for prefix completion

A lookup hashes the word, finds the hash by binary search and compares the word's
bytes with the row's, so a hash collision costs a second comparison, never a wrong
row. A prefix's words are a range of ``word_order`` found by binary search. Two more
arrays, ``suggest_keys`` and ``suggest_rows`` (:mod:`wordlens.suggestions`), give the
words spelled like an unknown word (:meth:`Vocabulary.suggest`).
:func:`index_arrays` builds the arrays (``write_model`` stores them; models written
before them get them built in memory when loaded).
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Literal, overload

import numpy as np

from wordlens import suggestions

__all__ = ["ARRAYS", "HASH", "Vocabulary", "WordRows", "index_arrays"]

#: The hash the stored ``word_hashes`` were made with (the manifest's ``word_index``).
HASH = "blake2b-64"
#: The stored arrays' names and dtypes.
ARRAYS = {
    "word_offsets": np.dtype(np.int64),
    "word_hashes": np.dtype(np.uint64),
    "word_hash_rows": np.dtype(np.int32),
    "word_order": np.dtype(np.int32),
}
_NEWLINE = 10
_CHUNK = 1 << 20  # array elements checked at a time: bounded temporaries at any size
_TEXT_CHUNK = 1 << 22  # bytes of words.txt decoded at a time


def _hash(word: bytes) -> int:
    """The word's BLAKE2b digest of 8 bytes, little-endian: in the standard library,
    the same in every process (unlike ``hash``), about 0.5 µs a word. The tests
    replace this function to force collisions."""
    return int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")


def _hashes(words: Sequence[bytes]) -> np.ndarray:
    """uint64 (len(words),): :func:`_hash` of each word."""
    return np.fromiter(map(_hash, words), dtype=np.uint64, count=len(words))


def _encode(word: str) -> bytes:
    # A lone surrogate cannot be in a UTF-8 vocabulary: its bytes match no word.
    return word.encode("utf-8", "surrogatepass")


def _word_offsets(blob: np.ndarray) -> np.ndarray:
    """int64 (V + 1,): where each word of ``blob`` (words.txt's bytes) starts, then
    the blob's size."""
    ends = np.flatnonzero(blob == _NEWLINE)
    offsets = np.empty(len(ends) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    return offsets


def index_arrays(blob: np.ndarray) -> dict[str, np.ndarray]:
    """The index arrays (see the module docstring) of ``blob``, words.txt's bytes as
    uint8 (n,): about 2 s per million words (hashing and sorting in Python)."""
    offsets = _word_offsets(blob)
    words = blob.tobytes().split(b"\n")[:-1]  # a temporary, freed on return
    if len(words) >= 2**31:
        raise ValueError(f"{len(words):,} words: rows are stored as int32")
    hashes = _hashes(words)
    hash_rows = np.argsort(hashes, kind="stable").astype(np.int32)
    order = np.array(sorted(range(len(words)), key=words.__getitem__), dtype=np.int32)
    return {
        "word_offsets": offsets,
        "word_hashes": hashes[hash_rows],
        "word_hash_rows": hash_rows,
        "word_order": order,
        **suggestions.index_arrays(blob),
    }


def _chunks(size: int) -> Iterator[slice]:
    return (slice(start, min(start + _CHUNK, size)) for start in range(0, size, _CHUNK))


def _check(blob: np.ndarray, arrays: Mapping[str, np.ndarray]) -> None:
    """ValueError unless ``arrays`` index ``blob`` as :func:`index_arrays` would (their
    shapes, the offsets exactly at the blob's line ends, sorted hashes, rows in range)
    and ``blob`` is UTF-8: O(V) vectorised work in bounded chunks, no hashing (the
    checksums cover the hash values; a wrong one makes a word unknown, never another
    row)."""
    offsets = arrays["word_offsets"]
    size = len(offsets) - 1
    for name, dtype in ARRAYS.items():
        array = arrays[name]
        expected = (size + 1,) if name == "word_offsets" else (size,)
        if array.dtype != dtype or array.shape != expected:
            raise ValueError(f"{name} is {array.dtype} {array.shape}, expected {dtype} {expected}")
    if offsets[0] != 0 or offsets[-1] != len(blob):
        raise ValueError(f"word_offsets do not span the file's {len(blob):,} bytes")
    newlines = 0
    for part in _chunks(len(blob)):
        newlines += int(np.count_nonzero(blob[part] == _NEWLINE))
    if newlines != size:
        raise ValueError(f"{newlines:,} lines for {size:,} words")
    hashes = arrays["word_hashes"]
    for part in _chunks(size):
        ends = offsets[part.start + 1 : part.stop + 1]
        # Strictly increasing offsets within the file that each follow a newline, as
        # many as there are newlines: exactly the line starts. Each word has at least
        # one byte. (In that order: the blob is indexed only with valid offsets.)
        if (
            np.any(ends - offsets[part] < 2)
            or np.any(ends > len(blob))
            or np.any(blob[ends - 1] != _NEWLINE)
        ):
            raise ValueError("word_offsets are not the starts of the lines")
        block = hashes[max(part.start - 1, 0) : part.stop]  # overlapping by one
        if np.any(block[1:] < block[:-1]):
            raise ValueError("word_hashes are not sorted")
        for name in ("word_hash_rows", "word_order"):
            rows = arrays[name][part]
            if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= size):
                raise ValueError(f"{name} has rows outside 0–{size - 1}")
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(blob), _TEXT_CHUNK):
        decoder.decode(blob[start : start + _TEXT_CHUNK].data, final=False)
    decoder.decode(b"", final=True)


def _ints(array: np.ndarray, code: Literal["i", "q", "Q"]) -> memoryview:
    """A memoryview of ``array`` (native ``code`` items, struct codes) without a copy."""
    return np.ascontiguousarray(array).data.cast("B").cast(code)


class Vocabulary(Sequence[str]):
    """The words of a model, row order (most frequent first): ``vocabulary[row]`` is a
    word, ``len``, iteration, ``word in vocabulary`` and ``vocabulary.index(word)``
    behave as a list's; :meth:`get` and :meth:`lookup` (many words) find rows,
    :meth:`prefixed` the rows of a prefix; :attr:`rows` is the same as a read-only
    word → row mapping.

    ``blob``: words.txt's bytes, uint8 (n,), usually a read-only memory map;
    ``arrays``: the index arrays (see the module docstring), mapped or in memory,
    the suggestion arrays included. Raises ValueError if they do not fit together
    (see :func:`_check`).
    """

    def __init__(self, blob: np.ndarray, arrays: Mapping[str, np.ndarray]):
        _check(blob, arrays)
        suggestions.check_arrays(dict(arrays), len(arrays["word_offsets"]) - 1)
        self._suggest_keys = arrays["suggest_keys"]
        self._suggest_rows = arrays["suggest_rows"]
        self._blob = blob
        self._offsets = arrays["word_offsets"]
        self._hashes = arrays["word_hashes"]
        self._hash_rows = arrays["word_hash_rows"]
        self._order = arrays["word_order"]
        self._size = len(self._offsets) - 1
        # Single lookups go through memoryviews: indexing one gives a Python int or a
        # slice of bytes several times faster than a numpy scalar or view.
        # (_check made sure of native dtypes; .npy arrays are C-contiguous.)
        self._blob_bytes = np.ascontiguousarray(blob).data
        self._offset_ints = _ints(self._offsets, "q")
        self._hash_ints = _ints(self._hashes, "Q")
        self._hash_row_ints = _ints(self._hash_rows, "i")
        self._order_ints = _ints(self._order, "i")
        self.rows = WordRows(self)

    @classmethod
    def build(cls, blob: np.ndarray) -> Vocabulary:
        """A vocabulary with its index built in memory (models written without it):
        about 24 bytes per word of private memory, and 12 per suggestion key (about
        10 a word), a few seconds per million words."""
        return cls(blob, index_arrays(blob))

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """words.txt's bytes (``words``) and the index arrays, by name, as given
        (mapped or in memory)."""
        return {
            "words": self._blob,
            "word_offsets": self._offsets,
            "word_hashes": self._hashes,
            "word_hash_rows": self._hash_rows,
            "word_order": self._order,
            "suggest_keys": self._suggest_keys,
            "suggest_rows": self._suggest_rows,
        }

    # ----------------------------------------------------------- row → word

    def __len__(self) -> int:
        return self._size

    def _bytes(self, row: int) -> memoryview:
        """The word of ``row``'s UTF-8 bytes (a view of the blob)."""
        offsets = self._offset_ints
        return self._blob_bytes[offsets[row] : offsets[row + 1] - 1]

    @overload
    def __getitem__(self, key: int) -> str: ...

    @overload
    def __getitem__(self, key: slice) -> list[str]: ...

    def __getitem__(self, key: int | slice) -> str | list[str]:
        if isinstance(key, slice):
            return self.take(np.arange(*key.indices(self._size)))
        row = operator.index(key)  # a Python or numpy integer, as a list takes
        if not 0 <= row < self._size:
            if not -self._size <= row < 0:
                raise IndexError(f"row {row} of a vocabulary of {self._size:,} words")
            row += self._size
        offsets = self._offset_ints
        return str(self._blob_bytes[offsets[row] : offsets[row + 1] - 1], "utf-8")

    def __iter__(self) -> Iterator[str]:
        """Every word in row order, decoding words.txt a few MiB at a time."""
        offsets, blob = self._offsets, self._blob
        start = 0
        while start < self._size:
            # the first word ending past the next chunk's worth of bytes
            stop = int(np.searchsorted(offsets, offsets[start] + _TEXT_CHUNK, side="right"))
            stop = min(max(stop, start + 1), self._size)
            text = blob[offsets[start] : offsets[stop] - 1].tobytes().decode("utf-8")
            yield from text.split("\n")
            start = stop

    # ----------------------------------------------------------- word → row

    def get(self, word: object, default: int | None = None) -> int | None:
        """The row of ``word``, or ``default`` if it is not a word of the vocabulary
        (anything but a ``str`` is not)."""
        if not isinstance(word, str) or not self._size:
            return default
        key = _encode(word)
        digest = _hash(key)
        hashes = self._hash_ints
        position = bisect.bisect_left(hashes, digest)
        while position < self._size and hashes[position] == digest:
            row = self._hash_row_ints[position]
            if self._bytes(row) == key:
                return row
            position += 1  # a collision: another word with the same hash
        return default

    def __contains__(self, word: object) -> bool:
        return self.get(word) is not None

    def index(self, word: object, start: int = 0, stop: int | None = None) -> int:
        """The row of ``word`` (as ``list.index``: ValueError if absent)."""
        row = self.get(word)
        if row is None or not start <= row < (self._size if stop is None else stop):
            raise ValueError(f"{word!r} is not in the vocabulary")
        return row

    def lookup(self, words: Sequence[str]) -> np.ndarray:
        """int64 (len(words),): the row of each word, −1 for words not in the
        vocabulary; vectorised but for the hashing (about 1 µs a word)."""
        keys = [_encode(word) for word in words]
        rows = np.full(len(keys), -1, dtype=np.int64)
        if not keys or not self._size:
            return rows
        digests = _hashes(keys)
        positions = np.searchsorted(self._hashes, digests)
        clipped = np.minimum(positions, self._size - 1)
        found = np.flatnonzero(self._hashes[clipped] == digests)
        candidates = self._hash_rows[clipped[found]].astype(np.int64)
        lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))[found]
        same = self._offsets[candidates + 1] - self._offsets[candidates] - 1 == lengths
        found, candidates, lengths = found[same], candidates[same], lengths[same]
        if len(found):
            # The candidates' bytes against the keys', all at once: byte j of key k sits
            # at starts[k] + j in the blob.
            query = np.frombuffer(b"".join([keys[i] for i in found.tolist()]), np.uint8)
            firsts = np.cumsum(lengths) - lengths
            at = np.repeat(self._offsets[candidates] - firsts, lengths) + np.arange(len(query))
            differ = np.add.reduceat(self._blob[at] != query, firsts) > 0
            rows[found[~differ]] = candidates[~differ]
        # Keys whose hash is there but whose first candidate was another word (a
        # collision, about never): the next entries of that hash, one by one.
        for i in np.flatnonzero((rows < 0) & (self._hashes[clipped] == digests)).tolist():
            row = self.get(words[i])
            rows[i] = -1 if row is None else row
        return rows

    def suggest(self, word: str, count: int = suggestions.SUGGESTIONS) -> list[str]:
        """Up to ``count`` words spelled like ``word``, best first: within two edits
        once case and accents are folded, closest and then most frequent first (see
        :mod:`wordlens.suggestions`)."""
        return suggestions.suggest(
            word, self._suggest_keys, self._suggest_rows, self.__getitem__, count
        )

    # ------------------------------------------------------------- prefixes

    def _lower_bound(self, key: bytes) -> int:
        """The first position of ``word_order`` whose word is not below ``key``."""
        low, high, order = 0, self._size, self._order_ints
        while low < high:
            middle = (low + high) // 2
            if bytes(self._bytes(order[middle])) < key:
                low = middle + 1
            else:
                high = middle
        return low

    def prefixed(self, prefix: str) -> np.ndarray:
        """int32 (m,): the rows of the words starting with ``prefix``, in byte order
        of the words (a view of the mapped array: sort it for frequency order)."""
        key = _encode(prefix)
        start = self._lower_bound(key)
        # No UTF-8 text holds the byte 0xff: the words starting with the prefix are
        # exactly those from the prefix up to (not including) prefix + 0xff.
        stop = self._lower_bound(key + b"\xff") if key else self._size
        return self._order[start:stop]

    def take(self, rows: np.ndarray) -> list[str]:
        """The words of ``rows`` (int, in [0, len)), what ``[vocabulary[r] for r in
        rows]`` gives: their bytes gathered at once and decoded together (a few times
        faster from some hundreds of rows on)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and not (rows.min() >= 0 and rows.max() < self._size):
            raise IndexError(f"rows outside a vocabulary of {self._size:,} words")
        at, _ = self._spans(rows, separators=True)
        return self._blob[at].tobytes().decode("utf-8").split("\n")[:-1]

    def char_lengths(self, rows: np.ndarray) -> np.ndarray:
        """int64 (len(rows),): the length in characters of each row's word (its UTF-8
        bytes that are not continuation bytes), without decoding."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros(0, dtype=np.int64)
        at, firsts = self._spans(rows, separators=False)
        return np.add.reduceat((self._blob[at] & 0xC0) != 0x80, firsts).astype(np.int64)

    def _spans(self, rows: np.ndarray, separators: bool) -> tuple[np.ndarray, np.ndarray]:
        """The blob positions of the bytes of ``rows``' words, one word after another
        (each with its newline if ``separators``), and where each word starts among
        them."""
        starts = self._offsets[rows]
        lengths = self._offsets[rows + 1] - starts - (0 if separators else 1)
        firsts = np.cumsum(lengths) - lengths
        return np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum())), firsts


class WordRows(Mapping[str, int]):
    """A read-only word → row mapping over a :class:`Vocabulary` (what a
    ``{word: row}`` dict gave): ``rows[word]`` (KeyError if unknown), ``get``,
    ``in``, ``len``, iteration over the words in row order."""

    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary

    def __getitem__(self, word: str) -> int:
        row = self.vocabulary.get(word)
        if row is None:
            raise KeyError(word)
        return row

    def get(self, word: str, default: int | None = None) -> int | None:  # type: ignore[override]
        return self.vocabulary.get(word, default)

    def __contains__(self, word: object) -> bool:
        return word in self.vocabulary

    def __len__(self) -> int:
        return len(self.vocabulary)

    def __iter__(self) -> Iterator[str]:
        return iter(self.vocabulary)
