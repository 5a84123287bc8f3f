"""Phrases as words: the learned table of word pairs to join, and the tokenizer that
joins them.

A :class:`PhraseTable` is a list of passes, each a set of adjacent token pairs
``(left, right)`` that become the single token ``"left right"`` (a single space
between the words). A later pass may join tokens an earlier one made ("new york" +
"city"), so a table of P passes gives phrases of up to 2^P words. A pass joins
greedily from the left, as gensim's ``Phrases`` does: in a run "a b c" where both
"a b" and "b c" are listed, "a b" is joined and "c" stays alone.

The same vectorised routine (:meth:`PhraseTable.join_ids`) joins the token ids of a
corpus chunk when phrases are learned and counted, and a text's tokens at query time
(:meth:`PhraseTable.runs`), so text is joined exactly as in training.

No phrase crosses punctuation the base tokenizer drops, nor so a sentence's end:
"… in york. new plans …" never learns or joins "york new" (:func:`phrase_breaks`);
a hyphen inside a word is no such punctuation ("new-york" is "new york").
:class:`PhraseTokenizer` wraps a model's tokenizer with its table; it is itself a
:class:`~wordlens.corpus.tokenizers.Tokenizer`.

The table file (``phrases.tsv`` in a model folder) holds one line per pair: pass
(1-based), left, right, count and npmi score, tab-separated (tokens never hold a
tab).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from wordlens.corpus import tokenizers
from wordlens.corpus.tokenizers import Tokenizer

__all__ = [
    "PHRASES_FILE",
    "Phrase",
    "PhraseTable",
    "PhraseTokenizer",
    "from_spec",
    "join_pairs",
    "phrase_breaks",
    "phrase_query_word",
    "segments",
]

PHRASES_FILE = "phrases.tsv"
_SEPARATORS = re.compile(r"[\s_]+")
# What no phrase crosses between two tokens: punctuation or a symbol (anything but a
# letter, a digit or white space, "_" included), except a hyphen inside a word.
_BREAKING = re.compile(r"(?!(?<=\w)-(?=\w))[^\w\s]|_")


def phrase_query_word(word: str) -> str:
    """A query word as phrases are spelt: runs of white space and underscores become
    one space, none at either end ("New_York", " new  york " → "New York", "new york")."""
    return " ".join(_SEPARATORS.split(word.strip(" \t\r\n_")))


@dataclass(frozen=True)
class Phrase:
    """One learned pair: ``left`` + ``right`` joined in pass ``step`` (1-based), seen
    ``count`` times as adjacent tokens, with normalised PMI ``score`` in [−1, 1]."""

    step: int
    left: str
    right: str
    count: int = 0
    score: float = 0.0

    @property
    def token(self) -> str:
        return f"{self.left} {self.right}"


@dataclass
class PhraseTable:
    """The pairs to join, pass by pass (:class:`Phrase` rows, sorted by pass)."""

    phrases: list[Phrase]
    _tokens: dict[str, int] = field(init=False, repr=False)
    _pairs: frozenset[tuple[str, str]] = field(init=False, repr=False)
    _keys: list[np.ndarray] = field(init=False, repr=False)
    _joined: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.phrases = sorted(self.phrases, key=lambda phrase: phrase.step)
        # Every token the table knows gets an id; a pass's pairs are int64 keys
        # left·T + right (T = len(_tokens)), sorted, with the id of the joined token.
        tokens: dict[str, int] = {}
        for phrase in self.phrases:
            for token in (phrase.left, phrase.right, phrase.token):
                tokens.setdefault(token, len(tokens))
        self._tokens = tokens
        self._pairs = frozenset((phrase.left, phrase.right) for phrase in self.phrases)
        size = max(len(tokens), 1)
        self._keys, self._joined = [], []
        for step in range(1, self.passes + 1):
            rows = [phrase for phrase in self.phrases if phrase.step == step]
            keys = np.array(
                [tokens[phrase.left] * size + tokens[phrase.right] for phrase in rows],
                dtype=np.int64,
            )
            joined = np.array([tokens[phrase.token] for phrase in rows], dtype=np.int64)
            order = np.argsort(keys)
            self._keys.append(keys[order])
            self._joined.append(joined[order])

    @property
    def passes(self) -> int:
        return max((phrase.step for phrase in self.phrases), default=0)

    def __len__(self) -> int:
        return len(self.phrases)

    def __contains__(self, token: object) -> bool:
        """Whether ``token`` is a word of a pair or a phrase of the table."""
        return token in self._tokens

    @property
    def digest(self) -> str:
        """SHA-256 of the pairs (not their counts): two tables that join alike match."""
        text = "\n".join(f"{p.step}\t{p.left}\t{p.right}" for p in self._sorted())
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        return hash(self.digest)

    def _sorted(self) -> list[Phrase]:
        return sorted(self.phrases, key=lambda p: (p.step, p.left, p.right))

    def token_ids(self, tokens: Sequence[str]) -> np.ndarray:
        """int64 (len(tokens),): each token's id in the table, −1 if it is in no pair."""
        get = self._tokens.get
        return np.fromiter((get(token, -1) for token in tokens), dtype=np.int64, count=len(tokens))

    def join_ids(
        self, ids: np.ndarray, breaks: np.ndarray | None = None, passes: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Join token ids (int64 (n,), the table's ids, −1 for others) pass by pass.

        ``breaks`` (bool (n,), optional) marks tokens that start a new document: no
        pair joins across one. ``passes`` limits the passes applied. Returns (the
        joined ids, int64 (m,); the index of each one's first token in ``ids``,
        int64 (m,)); a joined token ends where the next one starts.
        """
        ids = np.asarray(ids, dtype=np.int64)
        starts = np.arange(len(ids), dtype=np.int64)
        breaks = np.zeros(len(ids), dtype=bool) if breaks is None else np.asarray(breaks)
        size = max(len(self._tokens), 1)
        for keys, joined in list(zip(self._keys, self._joined, strict=True))[:passes]:
            ids, starts, breaks = join_pairs(ids, starts, breaks, keys, joined, size)
        return ids, starts

    def may_join(self, tokens: Sequence[str]) -> bool:
        """Whether a pass may join any of ``tokens``: some adjacent pair of them is a
        pair of the table (if none is, the first pass joins nothing, and so neither
        does any later one). One set look-up per pair, in C: most texts hold no
        phrase, and this spares them the passes."""
        return not self._pairs.isdisjoint(itertools.pairwise(tokens))

    def runs(
        self, tokens: Sequence[str], breaks: np.ndarray | None = None
    ) -> list[tuple[int, int]]:
        """The [start, end) token-index runs of ``tokens`` that become one token each,
        in order, covering every token (a token left alone is a run of one); no run
        crosses a token marked in ``breaks`` (bool (n,), :func:`phrase_breaks`)."""
        _, starts = self.join_ids(self.token_ids(tokens), breaks)
        ends = np.append(starts[1:], len(tokens))
        return list(zip(starts.tolist(), ends.tolist(), strict=True))

    def join(self, tokens: Sequence[str], breaks: np.ndarray | None = None) -> list[str]:
        """``tokens`` with the table's phrases joined ("new", "york" → "new york"),
        none across a token marked in ``breaks`` (as for :meth:`runs`)."""
        if not self.may_join(tokens):
            return list(tokens)
        return [
            tokens[start] if end - start == 1 else " ".join(tokens[start:end])
            for start, end in self.runs(tokens, breaks)
        ]

    def to_text(self) -> str:
        """The table file's text (one tab-separated line per pair)."""
        return "".join(
            f"{p.step}\t{p.left}\t{p.right}\t{p.count}\t{p.score:.6f}\n" for p in self._sorted()
        )

    @classmethod
    def from_text(cls, text: str, name: str = PHRASES_FILE) -> PhraseTable:
        """Read a table file's text; ValueError naming the line if it is malformed."""
        phrases = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                step, left, right, count, score = line.split("\t")
                phrase = Phrase(int(step), left, right, int(count), float(score))
            except ValueError:
                phrase = Phrase(0, "", "")
            if phrase.step < 1 or not left or not right:
                raise ValueError(f"{name}:{number}: not a phrase line (pass, left, right, …)")
            phrases.append(phrase)
        return cls(phrases)

    def pairs(self) -> list[list[Any]]:
        """The rows as JSON, ``[[pass, left, right, count, score], …]`` (a tokenizer
        spec's)."""
        return [[p.step, p.left, p.right, p.count, round(p.score, 6)] for p in self._sorted()]

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[Any]]) -> PhraseTable:
        try:
            phrases = [
                Phrase(int(step), str(left), str(right), int(count), float(score))
                for step, left, right, count, score in pairs
            ]
        except (TypeError, ValueError):
            raise ValueError("phrases must be [pass, left, right, count, score] rows") from None
        return cls(phrases)


def phrase_breaks(text: str, spans: Sequence[tuple[str, int, int]]) -> np.ndarray:
    """bool (n,): which of the tokens of ``text`` (``spans``, the base tokenizer's
    (token, start, end)) no phrase may join to the token before: the text between
    them holds punctuation or a symbol (a hyphen inside a word aside). One regular
    expression over the text and two sorted searches: no work per token."""
    marks = np.fromiter(map(re.Match.start, _BREAKING.finditer(text)), dtype=np.int64)
    breaks = np.zeros(len(spans), dtype=bool)
    if len(spans) > 1 and len(marks):
        starts = np.fromiter(map(itemgetter(1), spans), dtype=np.int64, count=len(spans))
        ends = np.fromiter(map(itemgetter(2), spans), dtype=np.int64, count=len(spans))
        # marks before each token's start, against those before the last one's end
        breaks[1:] = np.searchsorted(marks, starts[1:]) > np.searchsorted(marks, ends[:-1])
    return breaks


def segments(tokenizer: Tokenizer, text: str) -> list[list[str]]:
    """The tokens of ``text`` by ``tokenizer`` (a base one), cut where no phrase may
    join (:func:`phrase_breaks`): what phrases are learned from."""
    spans = tokenizer.spans(text)
    tokens = list(map(itemgetter(0), spans))
    cuts = np.flatnonzero(phrase_breaks(text, spans)).tolist()
    return [tokens[start:end] for start, end in itertools.pairwise([0, *cuts, len(tokens)])]


def join_pairs(
    ids: np.ndarray,
    starts: np.ndarray,
    breaks: np.ndarray,
    keys: np.ndarray,
    joined: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass of joins over token ids (int64 (n,), −1 for a token in no pair).

    ``keys`` are the pairs to join, sorted int64 left·``size`` + right, ``joined`` the
    id each becomes; ``starts`` (int64 (n,)) are carried along (the joined token keeps
    its first token's) as are ``breaks`` (bool (n,), tokens that start a document: no
    pair joins across one). Returns the three arrays after the pass: a few array
    operations when nothing joins, as in most passes over a short text.
    """
    if len(ids) < 2 or not len(keys):
        return ids, starts, breaks
    left, right = ids[:-1], ids[1:]
    pairs = left * size + right
    at = np.searchsorted(keys, pairs)
    # an unknown left token (−1) makes a negative key, which no pair has
    marked = (keys.take(at, mode="clip") == pairs) & (right >= 0) & ~breaks[1:]
    if not marked.any():
        return ids, starts, breaks
    chosen = _greedy(marked)
    positions = np.flatnonzero(chosen)
    ids = ids.copy()
    ids[positions] = joined[at[positions]]
    keep = np.concatenate(([True], ~chosen))  # a joined pair's right token goes
    return ids[keep], starts[keep], breaks[keep]


def _greedy(marked: np.ndarray) -> np.ndarray:
    """Of the marked pairs (bool (n−1,): pair j joins tokens j and j+1), those a scan
    from the left joins: in each run of consecutive marked pairs, every other one from
    the run's start."""
    if not (marked[1:] & marked[:-1]).any():  # no two pairs overlap: each joins
        return marked
    index = np.arange(len(marked))
    first = marked & ~np.concatenate(([False], marked[:-1]))
    run_start = np.maximum.accumulate(np.where(first, index, 0))
    return marked & ((index - run_start) % 2 == 0)


class PhraseTokenizer(Tokenizer):
    """A tokenizer that joins ``table``'s phrases in what ``base`` gives.

    Its ``name`` is the base tokenizer's (stop-words and the like follow the
    language). Its ``spec`` holds the table's rows (``"phrases": [[pass, left,
    right, count, score], …]``), so that the processes counting a corpus rebuild it from the spec
    alone and counts made with two tables never merge; a model's manifest holds
    :attr:`reference` instead, the table being a file of the model. The limits apply
    to the words before joining. Query words are normalised word by word, white space
    and underscores between them collapsed to one space (:func:`phrase_query_word`);
    a query word the base tokenizer splits into the words of one phrase is that
    phrase ("无线网卡" → "无线 网卡").
    """

    def __init__(self, base: Tokenizer, table: PhraseTable):
        self.base, self.table = base, table
        self.name = base.name

    def _tokens(self, text: str, max_chars: int | None, max_tokens: int | None) -> Iterable[str]:
        tokens = self.base(text, max_chars, max_tokens)
        if not self.table.may_join(tokens):  # most texts: no need of where tokens are
            return tokens
        spans = self.base.spans(text, max_chars, max_tokens)
        return self.table.join(tokens, phrase_breaks(text, spans))

    def spans(
        self, text: str, max_chars: int | None = None, max_tokens: int | None = None
    ) -> list[tuple[str, int, int]]:
        """The base tokenizer's spans, a phrase's words joined into one span from the
        start of its first word to the end of its last."""
        words = self.base.spans(text, max_chars, max_tokens)
        tokens = list(map(itemgetter(0), words))
        if not self.table.may_join(tokens):
            return words
        return [
            words[start]
            if end - start == 1
            else (" ".join(tokens[start:end]), words[start][1], words[end - 1][2])
            for start, end in self.table.runs(tokens, phrase_breaks(text, words))
        ]

    def normalize(self, word: str) -> str:
        spelt = " ".join(self.base.normalize_all(phrase_query_word(word).split(" ")))
        if spelt in self.table:
            return spelt
        # A phrase written as the text spells it: "无线网卡" is jieba's "无线", "网卡",
        # which the table joins into "无线 网卡". Only a whole phrase counts: "c++"
        # stays "c++", not the tokenizer's "c".
        tokens = self.base(word, max_chars=len(word) * 18)  # NFKC's longest expansion
        if len(tokens) > 1 and len(joined := self.table.join(tokens)) == 1:
            return joined[0]
        return spelt

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        return [self.normalize(word) for word in words]

    @property
    def settings(self) -> dict[str, Any]:
        return self.base.settings

    @property
    def spec(self) -> dict[str, Any]:
        return {**self.base.spec, "phrases": self.table.pairs()}

    @property
    def reference(self) -> dict[str, Any]:
        """The spec with the table named by its size and digest, not listed."""
        return {
            **self.base.spec,
            "phrases": {"pairs": len(self.table), "sha256": self.table.digest},
        }


def from_spec(spec: dict[str, Any], table: PhraseTable | None = None) -> Tokenizer:
    """Rebuild a tokenizer from its spec (:func:`wordlens.corpus.tokenizers.from_spec`),
    joining phrases when the spec has them: listed in it, or (a model's
    :attr:`PhraseTokenizer.reference`) in ``table``, which must match its digest."""
    settings = dict(spec)
    phrases = settings.pop("phrases", None)
    base = tokenizers.from_spec(settings)
    if phrases is None:
        return base
    if isinstance(phrases, list):
        return PhraseTokenizer(base, PhraseTable.from_pairs(phrases))
    if table is None or not isinstance(phrases, dict) or phrases.get("sha256") != table.digest:
        raise ValueError("the tokenizer's phrase table is missing or is not the one it names")
    return PhraseTokenizer(base, table)
