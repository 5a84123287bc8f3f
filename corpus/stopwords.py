"""Default stop-words per tokenizer: function words, which keyword extraction leaves
out and which never start or end a learned phrase. One file per language in
``stopwords/``, one word per line, lower-case; lines starting with # are comments."""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["STOPWORD_DIR", "default_stopwords"]

STOPWORD_DIR = Path(__file__).resolve().parent / "stopwords"
_STOPWORD_FILES = {
    "english": ("english",),
    "whitespace": ("english",),
    "jieba": ("chinese", "english"),
}


@cache
def _stopword_file(language: str) -> frozenset[str]:
    lines = (STOPWORD_DIR / f"{language}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@cache
def default_stopwords(tokenizer_name: str) -> frozenset[str]:
    """The default stop-words for a model's tokenizer (English, or Chinese + English)."""
    return frozenset().union(
        *(
            _stopword_file(language)
            for language in _STOPWORD_FILES.get(tokenizer_name, ("english",))
        )
    )
