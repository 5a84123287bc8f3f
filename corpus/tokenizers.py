"""Tokenisers, chosen by name and recorded in every model.

A tokeniser turns one document (a string) into a list of tokens. Its ``spec``
(name plus settings) is stored in the model manifest, so that the server rebuilds
the very same tokeniser with :func:`from_spec` and tokenises query text exactly as
training did; :meth:`Tokenizer.normalize` applies the same case and Unicode
folding to a single query word.

A tokenizer called with limits (``max_chars``, ``max_tokens``) stops as soon as the
text passes one, with :class:`TextTooLargeError`: Unicode normalisation can lengthen
a text 18-fold, and a text can hold far more tokens than the limit, so the work a
call does is bounded by the limits, not by the text.

``english``
    Unicode-aware words, lower-cased. Text is NFKC-normalised (only when it is
    not pure ASCII, which keeps the common case fast) and curly apostrophes become
    ``'``. Normalisation goes piece by piece (a few hundred characters, cut where
    it gives exactly what normalising the whole would), so that its cost is linear:
    Unicode's reordering of combining marks is quadratic in a run of them, and a
    run longer than 64 marks (stream-safe text has at most 30) is cut anywhere.
    A word is a run of letters in any script, with internal apostrophes kept
    (``don't``, ``o'clock``); hyphens split words (``well-known`` gives ``well``,
    ``known``). A number is a run of digits with internal ``.`` or ``,``
    kept (``1961``, ``3.5``, ``1,000``). Everything else (punctuation, symbols,
    emoji) separates tokens and is dropped.
``jieba``
    Chinese word segmentation by jieba (HMM for unknown words on by default).
    Latin letters and digits inside Chinese text come out as whole words
    (``iPhone`` stays one token), lower-cased; punctuation and white space are
    dropped.
``whitespace``
    Pre-tokenised input: split on white space, optionally lower-cased.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["TextTooLargeError", "Tokenizer", "TOKENIZER_NAMES", "get_tokenizer", "from_spec"]

_LETTERS = r"[^\W\d_]"
_ENGLISH_TOKEN = re.compile(rf"{_LETTERS}+(?:'{_LETTERS}+)*|\d+(?:[.,]\d+)*")
# A jieba token is kept when it holds a letter (any script, CJK included) or a digit.
_WORDLIKE = re.compile(r"[^\W_]")
_APOSTROPHES = ("\u2019", "\u2018", "\u02bc")

# Normalisation pieces: about _PIECE characters, cut before white space or CJK
# punctuation in their second half (such a character starts a new combining sequence
# and never joins what precedes it under NFKC, so the pieces normalise exactly as the
# whole text would); failing that, short ones of _RUN to 2·_RUN characters, cut
# before a character that begins a combining sequence, if any.
_PIECE = 512
_RUN = 64
_SEPARATOR = re.compile(r"[\s\u3001\u3002\uff01\uff0c\uff1a\uff1b\uff1f]")
# Starters (combining class 0) that NFKC can still join to the character before them:
# the second halves of canonical compositions (some Indic vowel signs, Hangul vowel
# and final jamo, compatibility and half-width ones included) and those that
# decompose to a combining mark (Tibetan vowels, half-width kana voicing marks).
# Derived from unicodedata; a test checks the list against this Python's.
_JOINS_PREVIOUS = re.compile(
    "[\u09be\u09d7\u0b3e\u0b56\u0b57\u0bbe\u0bd7\u0cc2\u0cd5\u0cd6\u0d3e\u0d57"
    "\u0dcf\u0ddf\u0f73\u0f75\u0f81\u102e\u1161-\u1175\u11a8-\u11c2\u1b35\u3133"
    "\u3135\u3136\u313a-\u313f\u314f-\u3163\uff9e\uff9f\uffa3\uffa5\uffa6"
    "\uffaa-\uffaf\uffc2-\uffc7\uffca-\uffcf\uffd2-\uffd7\uffda-\uffdc\U00011127"
    "\U0001133e\U00011357\U000114b0\U000114ba\U000114bd\U000115af\U00011930]"
)


class TextTooLargeError(ValueError):
    """A text beyond a tokenizer limit; ``limit`` is the bound it passed."""

    def __init__(self, message: str, limit: int):
        super().__init__(message)
        self.limit = limit


def _sequence_start(window: str) -> int:
    """Where the first character of ``window`` that starts a combining sequence (one
    NFKC never joins to the character before it) is; 0 if none does."""
    classes = list(map(unicodedata.combining, window))  # in C, as is index()
    at = 0
    while 0 in classes[at:]:
        at = classes.index(0, at)
        if not _JOINS_PREVIOUS.match(window, at):
            return at
        at += 1
    return 0


def _pieces(text: str) -> Iterator[str]:
    """``text`` in consecutive pieces that NFKC-normalise one by one as the whole does
    (except inside a run of more than _RUN combining marks), each at most _PIECE
    characters."""
    start = 0
    while len(text) - start > _PIECE:
        if separator := _SEPARATOR.search(text, start + _PIECE // 2, start + _PIECE):
            end = separator.start()
        else:
            end = start + _RUN + _sequence_start(text[start + _RUN : start + 2 * _RUN])
        yield text[start:end]
        start = end
    yield text[start:]


def _chars_limit(size: int, max_chars: int | None) -> None:
    if max_chars is not None and size > max_chars:
        raise TextTooLargeError(
            f"text of more than {max_chars:,} characters once normalised; "
            f"the limit is {max_chars:,}",
            limit=max_chars,
        )


def _fold(text: str, max_chars: int | None = None) -> str:
    """NFKC, straight apostrophes, lower case; with ``max_chars``, TextTooLargeError as
    soon as the result passes that length (NFKC lengthens U+FDFA 18-fold)."""
    if not text.isascii():
        normalised, size = [], 0
        for piece in _pieces(text):
            normalised.append(unicodedata.normalize("NFKC", piece))
            size += len(normalised[-1])
            _chars_limit(size, max_chars)
        text = "".join(normalised)
        for apostrophe in _APOSTROPHES:  # str.replace is 40 times quicker than translate
            text = text.replace(apostrophe, "'")
    folded = text.lower()  # İ doubles
    _chars_limit(len(folded), max_chars)
    return folded


def _fold_mapped(
    text: str, max_chars: int | None, fold: Callable[[str, int | None], str]
) -> tuple[str, list[int], list[int]]:
    """``fold(text)`` of a text that is not all ASCII (ASCII folds character by
    character, in place) and, for each of its characters, the [start, end) in
    ``text`` of what it was folded from: text folds combining sequence by sequence (a
    starter and the marks NFKC may join to it), the units that folding maps to a
    whole, so that each folded character comes from one of them."""
    bounds = [
        at
        for at, char in enumerate(text)
        if at == 0 or (unicodedata.combining(char) == 0 and not _JOINS_PREVIOUS.match(char))
    ]
    bounds.append(len(text))
    pieces = [fold(text[a:b], None) for a, b in itertools.pairwise(bounds)]
    folded = "".join(pieces)
    _chars_limit(len(folded), max_chars)
    sizes = list(map(len, pieces))
    starts = list(itertools.chain.from_iterable(map(itertools.repeat, bounds[:-1], sizes)))
    ends = list(itertools.chain.from_iterable(map(itertools.repeat, bounds[1:], sizes)))
    return folded, starts, ends


def _fold_all(words: Iterable[str]) -> list[str]:
    """``_fold(word.strip())`` of every word, without a Python call per word when all
    are ASCII (the common case)."""
    stripped = list(map(str.strip, words))
    if all(map(str.isascii, stripped)):
        return list(map(str.lower, stripped))
    return list(map(_fold, stripped))


class Tokenizer:
    """A named, configurable text → tokens function.

    Calling the tokenizer on a document returns its tokens (``list[str]``).
    """

    name: str = ""

    def __call__(
        self, text: str, max_chars: int | None = None, max_tokens: int | None = None
    ) -> list[str]:
        """The tokens of ``text``; TextTooLargeError as soon as the folded text passes
        ``max_chars`` characters or the tokens ``max_tokens``."""
        tokens = self._tokens(text, max_chars, max_tokens)
        if max_tokens is None:
            return list(tokens)
        kept = list(itertools.islice(tokens, max_tokens + 1))
        if len(kept) > max_tokens:
            raise TextTooLargeError(
                f"text of more than {max_tokens:,} tokens; the limit is {max_tokens:,}",
                limit=max_tokens,
            )
        return kept

    def _tokens(self, text: str, max_chars: int | None, max_tokens: int | None) -> Iterable[str]:
        """The tokens, lazily where the tokenizer can (it may give more than
        ``max_tokens``: the caller stops)."""
        raise NotImplementedError

    def spans(
        self, text: str, max_chars: int | None = None, max_tokens: int | None = None
    ) -> list[tuple[str, int, int]]:
        """The tokens of ``text`` (as calling the tokenizer gives them) with where each
        comes from in the *original* text: ``(token, start, end)``, characters
        [start, end) of ``text``; a token made of part of a character that folding
        expanded (NFKC's "ﬁ" → "fi") spans that whole character. Limits as for
        calling the tokenizer."""
        in_place = text.isascii()  # folded character by character: offsets unchanged
        if in_place:
            folded = self._fold(text, max_chars)
        else:
            folded, starts, ends = _fold_mapped(text, max_chars, self._fold)
        found = self._located(folded)
        if max_tokens is not None:
            found = list(itertools.islice(found, max_tokens + 1))
            if len(found) > max_tokens:
                raise TextTooLargeError(
                    f"text of more than {max_tokens:,} tokens; the limit is {max_tokens:,}",
                    limit=max_tokens,
                )
        if in_place:
            return list(found)
        return [(token, starts[start], ends[end - 1]) for token, start, end in found]

    def _fold(self, text: str, max_chars: int | None) -> str:
        """The text as the tokenizer folds it before finding tokens."""
        return _fold(text, max_chars)

    def _located(self, folded: str) -> Iterable[tuple[str, int, int]]:
        """The tokens of already folded text with their [start, end) in it."""
        raise NotImplementedError

    def normalize(self, word: str) -> str:
        """Fold a single query word the way training text was folded."""
        return word

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        """``normalize`` of every word (subclasses avoid a Python call per word)."""
        return list(map(self.normalize, words))

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    @property
    def spec(self) -> dict[str, Any]:
        """JSON-serialisable description, stored in the model manifest."""
        return {"name": self.name, **self.settings}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.settings.items())
        return f"{type(self).__name__}({settings})"


class EnglishTokenizer(Tokenizer):
    name = "english"

    def _tokens(self, text: str, max_chars: int | None, max_tokens: int | None) -> Iterable[str]:
        folded = _fold(text, max_chars)
        if max_tokens is None:
            return _ENGLISH_TOKEN.findall(folded)
        return map(re.Match.group, _ENGLISH_TOKEN.finditer(folded))

    def _located(self, folded: str) -> Iterable[tuple[str, int, int]]:
        return ((m.group(), m.start(), m.end()) for m in _ENGLISH_TOKEN.finditer(folded))

    def normalize(self, word: str) -> str:
        return _fold(word.strip())

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        return _fold_all(words)


class WhitespaceTokenizer(Tokenizer):
    name = "whitespace"

    def __init__(self, lowercase: bool = False):
        self.lowercase = bool(lowercase)

    def _tokens(self, text: str, max_chars: int | None, max_tokens: int | None) -> Iterable[str]:
        if self.lowercase:
            text = text.lower()
        _chars_limit(len(text), max_chars)
        return text.split(None, -1 if max_tokens is None else max_tokens)

    def _fold(self, text: str, max_chars: int | None) -> str:
        folded = text.lower() if self.lowercase else text
        _chars_limit(len(folded), max_chars)
        return folded

    def _located(self, folded: str) -> Iterable[tuple[str, int, int]]:
        return ((m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", folded))

    def normalize(self, word: str) -> str:
        word = word.strip()
        return word.lower() if self.lowercase else word

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        stripped = map(str.strip, words)
        return list(map(str.lower, stripped) if self.lowercase else stripped)

    @property
    def settings(self) -> dict[str, Any]:
        return {"lowercase": self.lowercase}


class JiebaTokenizer(Tokenizer):
    name = "jieba"
    _lock = threading.Lock()
    _jieba = None

    def __init__(self, hmm: bool = True):
        self.hmm = bool(hmm)

    @classmethod
    def _segmenter(cls):
        # jieba loads its dictionary (about 1 s) on first use; do it once, lazily,
        # and quietly (it logs to stderr by default).
        if cls._jieba is None:
            with cls._lock:
                if cls._jieba is None:
                    import logging

                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    jieba.initialize()
                    cls._jieba = jieba
        return cls._jieba

    def _tokens(self, text: str, max_chars: int | None, max_tokens: int | None) -> Iterable[str]:
        return (
            token
            for token in self._segmenter().cut(_fold(text, max_chars), HMM=self.hmm)
            if _WORDLIKE.search(token) and not token.isspace()
        )

    def _located(self, folded: str) -> Iterable[tuple[str, int, int]]:
        return (
            located
            for located in self._segmenter().tokenize(folded, HMM=self.hmm)
            if _WORDLIKE.search(located[0]) and not located[0].isspace()
        )

    def normalize(self, word: str) -> str:
        return _fold(word.strip())

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        return _fold_all(words)

    @property
    def settings(self) -> dict[str, Any]:
        return {"hmm": self.hmm}


_TOKENIZERS: dict[str, Callable[..., Tokenizer]] = {
    EnglishTokenizer.name: EnglishTokenizer,
    JiebaTokenizer.name: JiebaTokenizer,
    WhitespaceTokenizer.name: WhitespaceTokenizer,
}
TOKENIZER_NAMES = tuple(_TOKENIZERS)


def get_tokenizer(name: str, **settings: Any) -> Tokenizer:
    """Build a tokenizer by name (``english``, ``jieba`` or ``whitespace``)."""
    try:
        factory = _TOKENIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZER_NAMES)}"
        ) from None
    try:
        return factory(**settings)
    except TypeError:
        raise ValueError(f"bad settings for tokenizer {name!r}: {settings}") from None


def from_spec(spec: dict[str, Any]) -> Tokenizer:
    """Rebuild the tokenizer a model was trained with from its manifest spec."""
    settings = dict(spec)
    return get_tokenizer(settings.pop("name"), **settings)
