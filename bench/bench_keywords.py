"""Keyword extraction speed, side by side in one run.

1. Su's reference algorithm written the plain way (bench/su_reference.py: a Python
   loop over word pairs) against wordlens's vectorised scoring, on the same documents
   of the default corpus (timed in alternating blocks), Word2Vec (hierarchical
   softmax) model, stop-words kept as candidates as in Su's; rankings checked equal.
2. jieba's TF-IDF ``jieba.analyse.extract_tags`` against wordlens on the Chinese
   sample (a Word2Vec model trained on it with the jieba tokenizer).
3. Plain keywords (stop-words filtered, top 10, raw text) of each model folder given
   with ``--explain-models`` (default: the word2vec and pmi models) against
   ``explain=true``, then ``explain=true`` with ``diversity``, of the folder at the
   same place in ``--explained`` (default: the same folders; the issue's target
   compares the same family's model trained with ``--phrases``), same documents,
   the three timed in alternating blocks.
4. The batch command ``wordlens keywords`` with 1 and 2 workers.

Keyphrase quality: ``bench/keyphrase_eval.py``.

    .venv/bin/python bench/bench_keywords.py [--models models] [--documents 300]
        [--explained word2vec-phrases pmi-phrases]

Needs models/word2vec (``make models``) and, for part 2, models/word2vec-zh:
``wordlens train word2vec --corpus corpus/data/zh.txt.gz --tokenizer jieba
--out models/word2vec-zh``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, table
from threadpoolctl import threadpool_limits

from wordlens.app.engine import WordModel
from wordlens.artifacts import load_model

sys.path.insert(0, str(ROOT / "tests"))  # the reference the tests check against, too
from su_reference import keywords as su_keywords  # noqa: E402


def corpus_lines(path: Path, count: int, min_tokens: int, tokenize) -> list[str]:
    """Every k-th line of a corpus with at least ``min_tokens`` tokens, ``count`` of them."""
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        lines = [line.strip() for line in itertools.islice(stream, 0, None, 7)]
    chosen = [line for line in lines if len(tokenize(line)) >= min_tokens]
    return chosen[:count]


def rate(function, items) -> float:
    started = time.perf_counter()
    for item in items:
        function(item)
    return len(items) / (time.perf_counter() - started)


def alternating_rates(functions, items, block: int = 50, repeats=None) -> list[float]:
    """Documents/s of each function on the same items, timed in alternating blocks so
    that the shared machine's changes of speed fall on all; function i runs each
    block ``repeats[i]`` times (default once: more for a fast one)."""
    repeats = repeats or [1] * len(functions)
    seconds = [0.0] * len(functions)
    for start in range(0, len(items), block):
        chunk = items[start : start + block]
        for i, (function, times) in enumerate(zip(functions, repeats, strict=True)):
            seconds[i] += len(chunk) * times / rate(function, chunk * times)
    return [len(items) * times / spent for times, spent in zip(repeats, seconds, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="models", type=Path)
    parser.add_argument(
        "--documents", type=int, default=300, help="documents timed with Su's plain reference"
    )
    parser.add_argument("--batch-documents", type=int, default=40_000)
    parser.add_argument("--diversity", type=float, default=0.3, help="for part 3")
    parser.add_argument("--explain-models", nargs="*", default=["word2vec", "pmi"])
    parser.add_argument(
        "--explained",
        nargs="*",
        help="for part 3, the folders (under --models, or absolute) explained against "
        "the plain keywords of --explain-models, pair by pair (default: the same)",
    )
    args = parser.parse_args()
    rows = []

    english = WordModel(load_model(args.models / "word2vec", verify=False))
    documents = corpus_lines(ROOT / "corpus/data/en.txt.gz", 5000, 5, english.tokenize)
    token_lists = [english.tokenize(text) for text in documents]
    sample = token_lists[: args.documents]
    ours = [english.keywords(t, topn=10, exclude_stopwords=False).keywords for t in sample]
    reference = [su_keywords(english, t)[:10] for t in sample]
    same = sum([w for w, _ in a] == [w for w, _ in b] for a, b in zip(ours, reference, strict=True))
    with threadpool_limits(1):  # as in a server worker and the batch job's workers
        reference_rate, ours_rate = alternating_rates(
            [
                lambda t: su_keywords(english, t),
                lambda t: english.keywords(t, topn=10, exclude_stopwords=False),
            ],
            sample,
            repeats=[1, 5],
        )
    mean_tokens = sum(map(len, sample)) / len(sample)
    rows.append(
        {
            "task": f"English corpus lines (mean {mean_tokens:.0f} tokens), Word2Vec HS",
            "baseline": "Su's plain reference",
            "baseline docs/s": reference_rate,
            "wordlens docs/s": ours_rate,
            "speed-up": ours_rate / reference_rate,
            "same top 10": f"{same}/{len(sample)}",
        }
    )

    chinese_path = args.models / "word2vec-zh"
    if chinese_path.exists():
        import jieba.analyse

        chinese = WordModel(load_model(chinese_path, verify=False))
        texts = corpus_lines(ROOT / "corpus/data/zh.txt.gz", 3000, 5, chinese.tokenize)
        jieba.analyse.extract_tags(texts[0], topK=10)  # load jieba's dictionaries first
        chinese.keywords(texts[0])
        jieba_rate = rate(lambda t: jieba.analyse.extract_tags(t, topK=10), texts)
        ours_rate = rate(lambda t: chinese.keywords(t, topn=10), texts)
        rows.append(
            {
                "task": "Chinese sample reviews, Word2Vec HS (jieba tokens)",
                "baseline": "jieba TF-IDF extract_tags",
                "baseline docs/s": jieba_rate,
                "wordlens docs/s": ours_rate,
                "speed-up": ours_rate / jieba_rate,
                "same top 10": "n/a",
            }
        )
    else:
        print(f"skipped the Chinese comparison: no model at {chinese_path}", file=sys.stderr)

    explained = args.explained or args.explain_models
    explain_rows: list[dict] = []
    if len(explained) != len(args.explain_models):
        parser.error("--explained needs as many folders as --explain-models")
    for name, other in zip(args.explain_models, explained, strict=True):
        model = WordModel(load_model(args.models / name, verify=False))
        explaining = WordModel(load_model(args.models / other, verify=False))
        texts = documents[: args.documents]
        with threadpool_limits(1):
            plain_rate, explained_rate, diverse_rate = alternating_rates(
                [
                    model.keywords,
                    lambda t, model=explaining: model.keywords(t, explain=True),
                    lambda t, model=explaining: model.keywords(
                        t, explain=True, diversity=args.diversity
                    ),
                ],
                texts,
            )
        for options, rate_of in [
            ("explain=true", explained_rate),
            (f"explain=true, diversity={args.diversity}", diverse_rate),
        ]:
            explain_rows.append(
                {
                    "family": model.family.name,
                    "plain keywords": name,
                    "docs/s": plain_rate,
                    "against": other,
                    "options": options,
                    "its docs/s": rate_of,
                    "time ratio": f"{plain_rate / rate_of:.2f}×",
                }
            )

    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "docs.txt"
        with gzip.open(ROOT / "corpus/data/en.txt.gz", "rt", encoding="utf-8") as stream:
            source.write_text("".join(itertools.islice(stream, args.batch_documents)))
        for workers in (1, 2):
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "wordlens",
                    "-q",
                    "keywords",
                    "--no-progress",
                    "--model",
                    str(args.models / "word2vec"),
                    str(source),
                    "-o",
                    str(Path(scratch) / f"out{workers}.jsonl"),
                    "--workers",
                    str(workers),
                ],
                check=True,
                cwd=ROOT,
                stderr=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "task": f"wordlens keywords, {args.batch_documents:,} corpus lines, "
                    f"{workers} worker(s), start-up included",
                    "baseline": "",
                    "baseline docs/s": "",
                    "wordlens docs/s": args.batch_documents / seconds,
                    "speed-up": "",
                    "same top 10": "",
                }
            )
        same_output = (Path(scratch) / "out1.jsonl").read_bytes() == (
            Path(scratch) / "out2.jsonl"
        ).read_bytes()
    print(table(rows))
    print(f"\n{args.documents} English corpus lines, top 10, stop-words filtered:\n")
    print(table(explain_rows))
    print(f"\nbatch outputs with 1 and 2 workers identical: {same_output}")


if __name__ == "__main__":
    main()
