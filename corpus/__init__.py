"""Corpus data and reading: the shipped default corpora, document streaming, tokenisers."""

from wordlens.corpus.phrases import PhraseTable, PhraseTokenizer, from_spec
from wordlens.corpus.reader import (
    DEFAULT_CHINESE,
    DEFAULT_ENGLISH,
    Corpus,
    CorpusError,
    ReadStats,
    Record,
    corpus_files,
    iter_documents,
    iter_records,
)
from wordlens.corpus.tokenizers import TOKENIZER_NAMES, Tokenizer, get_tokenizer

__all__ = [
    "DEFAULT_CHINESE",
    "DEFAULT_ENGLISH",
    "Corpus",
    "CorpusError",
    "PhraseTable",
    "PhraseTokenizer",
    "ReadStats",
    "Record",
    "TOKENIZER_NAMES",
    "Tokenizer",
    "corpus_files",
    "from_spec",
    "get_tokenizer",
    "iter_documents",
    "iter_records",
]
