"""Related words against similar words on related-but-not-similar pairs (issue 17).

``bench/data/related_pairs.tsv`` holds 61 target words, each with partners that go
with it but cannot replace it (cup → coffee, doctor → hospital), labelled before any
model output was seen; alternate targets form a ``tune`` half (to choose settings on)
and a ``test`` half (to report on). For each model, each target's top 20 (the target
left out) by cosine (``most_similar``, exact) and by context score (``related``,
exact) are compared with its partners: the figure is the number of partners found.

The context score is tried in both forms (``symmetric``, the default, and Su's
``su``) at several prior weights λ (PMI's inner product has one form and no λ: one
row each); ``--models`` picks the model folders.

    .venv/bin/python bench/bench_related.py [--models /work/main/models/pmi,...]
        [--weights 0,0.2,0.4,0.6,0.8,0.9,1] [--topn 20]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from common import ROOT, table

from wordlens.app.engine import WordModel
from wordlens.app.families import PRIOR_WEIGHTS, SCORE_FORMS, ContextScore
from wordlens.artifacts import load_model

PAIRS = ROOT / "bench" / "data" / "related_pairs.tsv"
SPLITS = ("tune", "test")


def read_pairs(path: Path = PAIRS) -> tuple[dict[str, set[str]], dict[str, str]]:
    """The partners of each target, and each target's split."""
    partners: dict[str, set[str]] = defaultdict(set)
    split: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith(("#", "target\t")):
            continue
        target, partner, half = line.split("\t")
        partners[target].add(partner)
        split[target] = half
    return dict(partners), split


def found(lists: dict[str, list[str]], partners: dict[str, set[str]], split: dict[str, str]):
    """Partners found in the lists, per split and in all."""
    counts = dict.fromkeys(SPLITS, 0)
    for target, words in lists.items():
        counts[split[target]] += len(set(words) & partners[target])
    return {**counts, "all": sum(counts.values())}


def measure(model: WordModel, weights: list[float], topn: int) -> list[dict]:
    partners, split = read_pairs()
    targets = [t for t in partners if t in model.words]
    rows = []

    def row(label: str, lists: dict[str, list[str]]) -> dict:
        return {"model": model.name, "list": label, **found(lists, partners, split)}

    cosine = {t: [w for w, _ in model.most_similar([t], topn=topn, exact=True)] for t in targets}
    rows.append(row("cosine", cosine))
    if not model.family.answers("context_similarity"):
        return rows
    methods = set()
    for form in SCORE_FORMS:
        method = model.family.context_method(ContextScore.of(form))
        if method in methods:  # one score under two names (PMI's inner product)
            continue
        methods.add(method)
        chosen = weights if model.family.prior_weighted else []
        for weight in sorted({*chosen, PRIOR_WEIGHTS[form]}):
            lists = {}
            for t in targets:
                pairs, method = model.related(t, topn, weight, exact=True, score=form)
                lists[t] = [w for w, _ in pairs]
            default = " (default λ)" if weight == PRIOR_WEIGHTS[form] else ""
            label = f" λ={weight:g}{default}" if model.family.prior_weighted else ""
            rows.append(row(f"related {method}{label}", lists))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        default=",".join(
            str(ROOT / "models" / name) for name in ("pmi", "word2vec", "word2vec-ns")
        ),
        help="comma-separated model folders (%(default)s; a missing one is skipped)",
    )
    parser.add_argument("--weights", default="0,0.2,0.4,0.6,0.8,0.9,1")
    parser.add_argument("--topn", type=int, default=20)
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    partners, _ = read_pairs()
    print(f"{len(partners)} targets, {sum(map(len, partners.values()))} partners, top {args.topn}")
    rows: list[dict] = []
    for folder in map(Path, args.models.split(",")):
        if not folder.is_dir():
            print(f"{folder}: not found, skipped (word2vec-ns: README, Related words)")
            continue
        model = WordModel(load_model(folder, verify=False))
        rows += measure(model, weights, args.topn)
    print(table(rows))


if __name__ == "__main__":
    main()
