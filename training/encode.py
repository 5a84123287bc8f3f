"""Stage: tokenise the corpus once, as integer ids on disk.

Every distinct token gets an id in order of first appearance. The ids of each chunk
of documents (end to end) and the documents' lengths are appended to two files of a
scratch directory, and every id is counted, so memory holds one chunk and the table
of distinct tokens, never the corpus; disk takes 4 bytes a token. The vocabulary
stage keeps the frequent types from the counts; the co-occurrence stage reads the
chunks back, turning ids into vocabulary rows with one array lookup. The corpus is
thus read and tokenised once, where a vocabulary pass plus a counting pass would do
it twice.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["EncodedCorpus", "encode_corpus"]


@dataclass
class EncodedCorpus:
    """A corpus as token ids, in chunks written by :func:`encode_corpus`.

    ``types`` lists the distinct tokens by id; ``counts`` int64 (len(types),) how
    often each occurs; ``chunks`` the (tokens, documents) of each chunk, in order.
    """

    directory: Path
    types: list[str]
    counts: np.ndarray
    chunks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(documents for _, documents in self.chunks)

    def counter(self) -> Counter:
        """Counts by token, as :func:`training.vocab.count_words` gives them."""
        return Counter(dict(zip(self.types, self.counts.tolist(), strict=True)))

    def rows(self, index: dict[str, int]) -> np.ndarray:
        """int32 (len(types),): the row of each type in ``index``, −1 if absent."""
        return np.fromiter(
            map(index.get, self.types, itertools.repeat(-1)), dtype=np.int32, count=len(self.types)
        )

    def iter_chunks(self, index: dict[str, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each chunk as (rows in ``index``, −1 for tokens outside it, int32 (tokens,);
        document lengths, int32 (documents,))."""
        rows = self.rows(index)
        for ids, lengths in self.iter_id_chunks():
            yield rows[ids], lengths

    def iter_id_chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each chunk as (token ids, int32 (tokens,), positions in ``types``;
        document lengths, int32 (documents,))."""
        with (
            open(self.directory / "ids.bin", "rb") as ids,
            open(self.directory / "lengths.bin", "rb") as lengths,
        ):
            for tokens, documents in self.chunks:
                yield (
                    np.fromfile(ids, dtype=np.int32, count=tokens),
                    np.fromfile(lengths, dtype=np.int32, count=documents),
                )


def encode_corpus(
    documents: Iterable[list[str]],
    directory: str | Path,
    chunk_tokens: int = 1_000_000,
    progress=None,
) -> EncodedCorpus:
    """Write tokenised ``documents`` as ids into ``directory`` (which must exist).

    ``progress`` (optional) is called with the number of documents of each chunk.
    """
    directory = Path(directory)
    # New tokens take the next id, all in C: a defaultdict whose factory is a counter.
    types: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    lookup = types.__getitem__
    encoded = EncodedCorpus(directory, [], np.zeros(0, dtype=np.int64))
    counts = np.zeros(0, dtype=np.int64)
    with (
        open(directory / "ids.bin", "wb") as ids_file,
        open(directory / "lengths.bin", "wb") as lengths_file,
    ):

        def flush(ids: array, lengths: array) -> None:
            nonlocal counts
            chunk = np.frombuffer(ids, dtype=np.int32)
            grown = np.bincount(chunk, minlength=len(types))
            grown[: len(counts)] += counts
            counts = grown
            chunk.tofile(ids_file)
            lengths.tofile(lengths_file)
            encoded.chunks.append((len(ids), len(lengths)))
            if progress is not None:
                progress(len(lengths))

        ids, lengths = array("i"), array("i")
        for tokens in documents:
            ids.extend(map(lookup, tokens))
            lengths.append(len(tokens))
            if len(ids) >= chunk_tokens:
                flush(ids, lengths)
                ids, lengths = array("i"), array("i")
        if lengths:
            flush(ids, lengths)
    encoded.types = list(types)
    encoded.counts = counts
    return encoded
