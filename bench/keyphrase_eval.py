"""Keyphrase quality on the hand-labelled set ``tests/data/keyphrases.tsv``.

For each model folder given, on the documents of its language (``english`` tokenizer:
en; ``jieba``: zh): precision@3 (share of the top 3 keywords that are gold) and how
many gold phrases come out among the top 10, at each ``--diversity``; beside them
YAKE's (``pip install yake``; n-grams up to 3 words; Chinese documents are given to
it segmented by jieba, words joined by spaces, since YAKE splits on white space).

A keyword matches a gold one when equal after lower-casing (and, in Chinese, without
spaces). A gold keyword is a phrase when the model's tokenizer without its phrase
table splits it in several tokens; a model whose tokenizer joins phrases (a phrase
table) can find them.

    .venv/bin/python bench/keyphrase_eval.py models/pmi models/word2vec \
        models/word2vec-zh --diversity 0 0.3 --yake
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from common import ROOT, table

from wordlens.app.engine import WordModel
from wordlens.artifacts import load_model
from wordlens.corpus import Tokenizer
from wordlens.corpus.phrases import PhraseTokenizer

GOLD = ROOT / "tests/data/keyphrases.tsv"
LANGUAGE = {"english": "en", "jieba": "zh"}


def gold_documents(language: str) -> list[tuple[str, list[str]]]:
    """(document, gold keywords) of one language, in file order."""
    lines = GOLD.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines if line and not line.startswith("#")]
    return [(text, gold.split(" | ")) for lang, text, gold in rows if lang == language]


def matching(keyword: str, language: str) -> str:
    keyword = keyword.lower().strip()
    return keyword.replace(" ", "") if language == "zh" else keyword


def scores(
    extract: Callable[[str, int], list[str]],
    documents: list[tuple[str, list[str]]],
    language: str,
    is_phrase: Callable[[str], bool],
) -> dict:
    """precision@3 over the documents and gold phrases found in the top 10."""
    hits = phrases = found = 0
    for text, gold in documents:
        wanted = {matching(g, language) for g in gold}
        top = [matching(k, language) for k in extract(text, 10)]
        hits += len(set(top[:3]) & wanted)
        gold_phrases = {matching(g, language) for g in gold if is_phrase(g)}
        phrases += len(gold_phrases)
        found += len(gold_phrases & set(top))
    return {"precision@3": hits / (3 * len(documents)), "phrases found": f"{found}/{phrases}"}


def yake_extractor(language: str, tokenize: Callable[[str], list[str]]):
    import yake

    def extract(text: str, count: int) -> list[str]:
        extractor = yake.KeywordExtractor(lan=language, n=3, top=count)
        given = " ".join(tokenize(text)) if language == "zh" else text
        return [keyword for keyword, _ in extractor.extract_keywords(given)]

    return extract


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="+", type=Path, help="model folders")
    parser.add_argument("--diversity", type=float, nargs="+", default=[0.0])
    parser.add_argument("--yake", action="store_true", help="score YAKE on the same documents")
    args = parser.parse_args()
    rows, yake_done = [], set()
    for folder in args.models:
        model = WordModel(load_model(folder, verify=False))
        language = LANGUAGE[model.tokenizer.name]
        documents = gold_documents(language)

        # A phrase is several words to the tokenizer without a phrase table, whatever
        # this model's table joins.
        words = model.tokenizer
        if isinstance(words, PhraseTokenizer):
            words = words.base

        def is_phrase(keyword: str, words: Tokenizer = words) -> bool:
            return len(words(keyword)) > 1

        for diversity in args.diversity:

            def extract(
                text: str, count: int, diversity: float = diversity, model: WordModel = model
            ) -> list[str]:
                result = model.keywords(text, topn=count, diversity=diversity)
                return [word for word, _ in result.keywords]

            rows.append(
                {
                    "extractor": f"wordlens {folder.name} ({model.family.name})",
                    "language": language,
                    "documents": len(documents),
                    "diversity": diversity,
                    **scores(extract, documents, language, is_phrase),
                }
            )
        if args.yake and language not in yake_done:
            yake_done.add(language)
            rows.append(
                {
                    "extractor": "YAKE (n ≤ 3)",
                    "language": language,
                    "documents": len(documents),
                    "diversity": "",
                    **scores(
                        yake_extractor(language, model.tokenizer), documents, language, is_phrase
                    ),
                }
            )
    print(table(rows))


if __name__ == "__main__":
    main()
