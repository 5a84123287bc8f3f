"""Tokenising throughput of each tokenizer on the shipped corpora (tokens/s).

Tokenising alone (documents already in memory), and the full streaming pass that
training makes (gzip reading, UTF-8 decoding and tokenising).

    .venv/bin/python bench/bench_tokenizers.py
"""

from __future__ import annotations

import time

from common import table

from wordlens.corpus import DEFAULT_CHINESE, DEFAULT_ENGLISH, Corpus, get_tokenizer, iter_documents


def main() -> None:
    rows = []
    for name, path in (
        ("english", DEFAULT_ENGLISH),
        ("whitespace", DEFAULT_ENGLISH),
        ("jieba", DEFAULT_CHINESE),
    ):
        tokenizer = get_tokenizer(name)
        documents = list(iter_documents(path))
        tokenizer(documents[0])  # jieba loads its dictionary on first use
        started = time.perf_counter()
        tokens = sum(len(tokenizer(document)) for document in documents)
        alone = time.perf_counter() - started
        started = time.perf_counter()
        streamed = sum(len(tokens) for tokens in Corpus(path, tokenizer))
        stream = time.perf_counter() - started
        assert streamed == tokens
        rows.append(
            {
                "tokenizer": name,
                "corpus": path.name,
                "documents": len(documents),
                "tokens": tokens,
                "tokenising tokens/s": tokens / alone,
                "read + tokenise tokens/s": tokens / stream,
            }
        )
    print(table(rows))


if __name__ == "__main__":
    main()
