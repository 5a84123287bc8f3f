"""Score word vectors on the standard benchmarks that ship inside gensim.

- WordSim-353 and SimLex-999: Spearman ρ between human ratings and cosine
  similarity (and, for PMI models, the inner product, their relatedness estimate).
- Google analogies ("a is to b as c is to ?"): accuracy of 3CosAdd and 3CosMul,
  searching the 30 000 most frequent words as the word2vec C tool does; a question
  with a word outside them is out of vocabulary.

Pairs and questions with an unknown word are skipped and reported as an OOV ratio
(gensim's convention). Dataset words go through the model's tokenizer normalisation,
so an English model sees them lower-cased. No data is downloaded: the files are
read from the installed gensim package.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

COMMAND = ("evaluate",)
HELP = "score a model on WordSim-353, SimLex-999 and the Google analogies"

ANALOGY_RESTRICT = 30_000
_COSMUL_EPSILON = 1e-3  # gensim's most_similar_cosmul uses the same guard


def dataset_path(name: str) -> Path:
    """Path of one of gensim's bundled test files, found without importing gensim."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gensim is not installed; it provides the evaluation data")
    path = Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data" / name
    if not path.is_file():
        raise RuntimeError(f"evaluation data missing from the gensim package: {path}")
    return path


def _read_pairs(name: str) -> list[tuple[str, str, float]]:
    pairs = []
    for line in dataset_path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        first, second, score = line.split("\t")[:3]
        pairs.append((first, second, float(score)))
    return pairs


def _read_analogies() -> list[tuple[str, str, str, str]]:
    questions = []
    for line in dataset_path("questions-words.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith(":") or not line.strip():
            continue
        a, b, c, expected = line.split()
        questions.append((a, b, c, expected))
    return questions


def word_pair_correlation(
    name: str,
    index: dict[str, int],
    vectors: np.ndarray,
    normalize: Callable[[str], str],
) -> dict:
    """Spearman ρ of a word-pair dataset against row inner products of ``vectors``.

    Pass unit-length rows for cosine, raw rows for the inner product.
    """
    from scipy.stats import spearmanr

    pairs = _read_pairs(name)
    rows_a, rows_b, human = [], [], []
    for first, second, score in pairs:
        a, b = index.get(normalize(first)), index.get(normalize(second))
        if a is not None and b is not None:
            rows_a.append(a)
            rows_b.append(b)
            human.append(score)
    used = len(human)
    result = {"pairs": used, "oov_ratio": round(1 - used / len(pairs), 4), "spearman": None}
    if used >= 3:
        model = np.einsum(
            "ij,ij->i", vectors[rows_a].astype(np.float64), vectors[rows_b].astype(np.float64)
        )
        rho = spearmanr(human, model).statistic
        result["spearman"] = None if np.isnan(rho) else round(float(rho), 4)
    return result


def analogy_accuracy(
    index: dict[str, int],
    vectors_norm: np.ndarray,
    normalize: Callable[[str], str],
    restrict_vocab: int = ANALOGY_RESTRICT,
    chunk: int = 512,
) -> dict:
    """3CosAdd and 3CosMul accuracy on the Google analogies.

    ``vectors_norm`` (V, d) are unit rows sorted by frequency; the answer is searched
    among the first ``restrict_vocab`` rows, the three question words excluded.
    """
    questions = _read_analogies()
    limit = min(restrict_vocab, vectors_norm.shape[0])
    ids = []
    for words in questions:
        rows = [index.get(normalize(word)) for word in words]
        if all(row is not None and row < limit for row in rows):
            ids.append(rows)
    result = {
        "questions": len(ids),
        "oov_ratio": round(1 - len(ids) / len(questions), 4),
        "restrict_vocab": limit,
        "3cosadd": None,
        "3cosmul": None,
    }
    if not ids:
        return result
    ids = np.asarray(ids)
    # Only ~1 000 distinct words occur in the questions: their cosines with the
    # searched rows are computed once, then combined per question.
    unique, inverse = np.unique(ids[:, :3], return_inverse=True)
    inverse = inverse.reshape(-1, 3)
    searched = np.asarray(vectors_norm[:limit], dtype=np.float32)
    cosines = np.asarray(vectors_norm[unique], dtype=np.float32) @ searched.T
    correct_add = correct_mul = 0
    for start in range(0, len(ids), chunk):
        a, b, c = (cosines[inverse[start : start + chunk, k]] for k in range(3))
        add = b - a + c
        # 3CosMul on cosines shifted to [0, 1], as Levy & Goldberg (and gensim) do.
        mul = ((b + 1) / 2) * ((c + 1) / 2) / ((a + 1) / 2 + _COSMUL_EPSILON)
        rows = np.arange(len(add))[:, None]
        excluded = ids[start : start + chunk, :3]
        add[rows, excluded] = -np.inf
        mul[rows, excluded] = -np.inf
        expected = ids[start : start + chunk, 3]
        correct_add += int((add.argmax(axis=1) == expected).sum())
        correct_mul += int((mul.argmax(axis=1) == expected).sum())
    result["3cosadd"] = round(correct_add / len(ids), 4)
    result["3cosmul"] = round(correct_mul / len(ids), 4)
    return result


def evaluate_vectors(
    words: list[str],
    vectors: np.ndarray,
    vectors_norm: np.ndarray,
    normalize: Callable[[str], str] = str.lower,
    inner_product: bool = False,
) -> dict:
    """All benchmark figures for one set of vectors (rows sorted by frequency).

    ``inner_product=True`` adds Spearman ρ by raw inner product (PMI models).
    """
    index = {word: i for i, word in enumerate(words)}
    figures: dict = {}
    for key, name in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        cosine = word_pair_correlation(name, index, vectors_norm, normalize)
        figures[key] = {
            "spearman_cosine": cosine["spearman"],
            "pairs": cosine["pairs"],
            "oov_ratio": cosine["oov_ratio"],
        }
        if inner_product:
            dot = word_pair_correlation(name, index, vectors, normalize)
            figures[key]["spearman_dot"] = dot["spearman"]
    figures["analogy"] = analogy_accuracy(index, vectors_norm, normalize)
    return figures


def format_scores(figures: dict) -> str:
    """A short human-readable summary of :func:`evaluate_vectors` figures."""

    def number(value):
        return "n/a" if value is None else f"{value:.3f}"

    lines = []
    for key, label in (("wordsim353", "WordSim-353"), ("simlex999", "SimLex-999")):
        entry = figures[key]
        text = f"{label:<12} Spearman cosine {number(entry['spearman_cosine'])}"
        if "spearman_dot" in entry:
            text += f", inner product {number(entry['spearman_dot'])}"
        lines.append(text + f"  ({entry['pairs']} pairs, OOV {entry['oov_ratio']:.1%})")
    analogy = figures["analogy"]
    lines.append(
        f"{'Analogy':<12} 3CosAdd {number(analogy['3cosadd'])}, "
        f"3CosMul {number(analogy['3cosmul'])}  ({analogy['questions']} questions in the "
        f"top {analogy['restrict_vocab']:,} words, OOV {analogy['oov_ratio']:.1%})"
    )
    return "\n".join(lines)


def evaluate_model(model) -> dict:
    """Figures for a loaded :class:`app.artifacts.Model`."""
    from wordlens.corpus import from_spec

    tokenizer = from_spec(model.manifest.get("tokenizer", {"name": "whitespace"}))
    return evaluate_vectors(
        model.words,
        model.vectors,
        model.vectors_norm,
        normalize=tokenizer.normalize,
        inner_product=model.kind == "pmi",
    )


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="model directory, or a model name "
        "in the models directory ($WORDLENS_MODELS, default ./models)",
    )
    parser.add_argument(
        "--save", action="store_true", help="store the figures in the model's manifest"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    from wordlens.artifacts import load_model, model_path, update_manifest

    path = model_path(args.model)
    figures = evaluate_model(load_model(path))
    print(json.dumps(figures, indent=2) if args.json else format_scores(figures))
    if args.save:
        update_manifest(path, evaluation=figures)
    return 0
