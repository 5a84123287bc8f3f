"""Tokenisers, chosen by name and recorded in every model.

A tokeniser turns one document (a string) into a list of tokens. Its ``spec``
(name plus settings) is stored in the model manifest, so that the server rebuilds
the very same tokeniser with :func:`from_spec` and tokenises query text exactly as
training did; :meth:`Tokenizer.normalize` applies the same case and Unicode
folding to a single query word.

``english``
    Unicode-aware words, lower-cased. Text is NFKC-normalised (only when it is
    not pure ASCII, which keeps the common case fast) and curly apostrophes become
    ``'``. A word is a run of letters in any script, with internal apostrophes
    kept (``don't``, ``o'clock``); hyphens split words (``well-known`` gives
    ``well``, ``known``). A number is a run of digits with internal ``.`` or ``,``
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

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Tokenizer", "TOKENIZER_NAMES", "get_tokenizer", "from_spec"]

_LETTERS = r"[^\W\d_]"
_ENGLISH_TOKEN = re.compile(rf"{_LETTERS}+(?:'{_LETTERS}+)*|\d+(?:[.,]\d+)*")
# A jieba token is kept when it holds a letter (any script, CJK included) or a digit.
_WORDLIKE = re.compile(r"[^\W_]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _fold(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    return text.lower()


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

    def __call__(self, text: str) -> list[str]:
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

    def __call__(self, text: str) -> list[str]:
        return _ENGLISH_TOKEN.findall(_fold(text))

    def normalize(self, word: str) -> str:
        return _fold(word.strip())

    def normalize_all(self, words: Iterable[str]) -> list[str]:
        return _fold_all(words)


class WhitespaceTokenizer(Tokenizer):
    name = "whitespace"

    def __init__(self, lowercase: bool = False):
        self.lowercase = bool(lowercase)

    def __call__(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

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

    def __call__(self, text: str) -> list[str]:
        text = _fold(text)
        return [
            token
            for token in self._segmenter().lcut(text, HMM=self.hmm)
            if _WORDLIKE.search(token) and not token.isspace()
        ]

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
