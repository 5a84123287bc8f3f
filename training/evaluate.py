"""Score word vectors on the standard benchmarks that ship inside gensim.

- WordSim-353 and SimLex-999: Spearman ρ between human ratings and cosine
  similarity, and, for models whose family scores context (related words), between
  the ratings and that context score (for PMI vectors, the inner product).
- Google analogies ("a is to b as c is to ?"): accuracy of 3CosAdd and 3CosMul,
  searching the 30 000 most frequent words as the word2vec C tool does; a question
  with a word outside them is out of vocabulary.

Pairs and questions with an unknown word are skipped and reported as an OOV ratio
(gensim's convention). Dataset words go through the model's tokenizer normalisation,
so an English model sees them lower-cased. No data is downloaded: the files are
read from the installed gensim package.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ANALOGY_RESTRICT = 30_000
# Levy & Goldberg's ε for 3CosMul (gensim's most_similar_cosmul uses 1e-6); it only
# matters where a shifted cosine is near 0.
_COSMUL_EPSILON = 1e-3


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


#: Scores of word pairs: rows_a, rows_b int (n,) → float64 (n,).
PairScores = Callable[[np.ndarray, np.ndarray], np.ndarray]


def word_pair_correlation(
    name: str,
    index: dict[str, int],
    scores: PairScores,
    normalize: Callable[[str], str],
) -> dict:
    """Spearman ρ of a word-pair dataset's human ratings against ``scores`` of the
    pairs (e.g. cosine similarity, or the family's context score)."""
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
        rho = spearmanr(human, scores(np.array(rows_a), np.array(rows_b))).statistic
        result["spearman"] = None if np.isnan(rho) else round(float(rho), 4)
    return result


def _unit_rows(vectors: np.ndarray, norms: np.ndarray, rows) -> np.ndarray:
    """The rows ``rows`` of ``vectors`` scaled to unit length by their ``norms``
    (a zero row stays zero), float64."""
    picked = np.asarray(vectors[rows], dtype=np.float64)
    lengths = np.asarray(norms[rows], dtype=np.float64)[:, None]
    return np.divide(picked, lengths, out=np.zeros_like(picked), where=lengths > 0)


def cosine_scores(vectors: np.ndarray, norms: np.ndarray) -> PairScores:
    """Pair scores by cosine, from the rows (V, d) and their lengths (V,)."""

    def scores(rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
        a, b = _unit_rows(vectors, norms, rows_a), _unit_rows(vectors, norms, rows_b)
        return np.einsum("ij,ij->i", a, b)

    return scores


def analogy_accuracy(
    index: dict[str, int],
    vectors: np.ndarray,
    norms: np.ndarray,
    normalize: Callable[[str], str],
    restrict_vocab: int = ANALOGY_RESTRICT,
    chunk: int = 512,
) -> dict:
    """3CosAdd and 3CosMul accuracy on the Google analogies.

    ``vectors`` (V, d) are rows sorted by frequency, ``norms`` (V,) their lengths; the
    answer is searched among the first ``restrict_vocab`` rows (made unit length: a
    (restrict_vocab, d) temporary), the three question words excluded.
    """
    questions = _read_analogies()
    limit = min(restrict_vocab, vectors.shape[0])
    known = []
    for words in questions:
        rows = [index.get(normalize(word)) for word in words]
        if all(row is not None and row < limit for row in rows):
            known.append(rows)
    result = {
        "questions": len(known),
        "oov_ratio": round(1 - len(known) / len(questions), 4),
        "restrict_vocab": limit,
        "3cosadd": None,
        "3cosmul": None,
    }
    if not known:
        return result
    ids = np.asarray(known, dtype=np.int64)  # (questions, 4): a, b, c, expected
    # Only ~1 000 distinct words occur in the questions: their cosines with the
    # searched rows are computed once, then combined per question.
    unique, flat_inverse = np.unique(ids[:, :3], return_inverse=True)
    inverse = flat_inverse.reshape(-1, 3)
    searched = _unit_rows(vectors, norms, slice(0, limit)).astype(np.float32)
    cosines = _unit_rows(vectors, norms, unique).astype(np.float32) @ searched.T
    correct_add = correct_mul = 0
    for start in range(0, len(ids), chunk):
        a, b, c = (cosines[inverse[start : start + chunk, k]] for k in range(3))
        add = b - a + c
        # 3CosMul on cosines shifted to [0, 1], as Levy & Goldberg (and gensim) do.
        mul = ((b + 1) / 2) * ((c + 1) / 2) / ((a + 1) / 2 + _COSMUL_EPSILON)
        question = np.arange(len(add))[:, None]
        excluded = ids[start : start + chunk, :3]
        add[question, excluded] = -np.inf
        mul[question, excluded] = -np.inf
        expected = ids[start : start + chunk, 3]
        correct_add += int((add.argmax(axis=1) == expected).sum())
        correct_mul += int((mul.argmax(axis=1) == expected).sum())
    result["3cosadd"] = round(correct_add / len(ids), 4)
    result["3cosmul"] = round(correct_mul / len(ids), 4)
    return result


def evaluate_vectors(
    words: Sequence[str],
    vectors: np.ndarray,
    norms: np.ndarray,
    normalize: Callable[[str], str] = str.lower,
    context_scores: PairScores | None = None,
) -> dict:
    """All benchmark figures for one set of vectors (V, d), rows sorted by frequency,
    with their lengths ``norms`` (V,) (cosines divide by them). ``context_scores``
    (optional) adds Spearman ρ by the model's context score (``spearman_context``)."""
    index = {word: i for i, word in enumerate(words)}
    figures: dict = {}
    for key, name in (("wordsim353", "wordsim353.tsv"), ("simlex999", "simlex999.txt")):
        cosine = word_pair_correlation(name, index, cosine_scores(vectors, norms), normalize)
        figures[key] = {
            "spearman_cosine": cosine["spearman"],
            "pairs": cosine["pairs"],
            "oov_ratio": cosine["oov_ratio"],
        }
        if context_scores is not None:
            context = word_pair_correlation(name, index, context_scores, normalize)
            figures[key]["spearman_context"] = context["spearman"]
    figures["analogy"] = analogy_accuracy(index, vectors, norms, normalize)
    return figures


def format_scores(figures: dict) -> str:
    """A short human-readable summary of :func:`evaluate_vectors` figures."""

    def number(value):
        return "n/a" if value is None else f"{value:.3f}"

    lines = []
    for key, label in (("wordsim353", "WordSim-353"), ("simlex999", "SimLex-999")):
        entry = figures[key]
        text = f"{label:<12} Spearman cosine {number(entry['spearman_cosine'])}"
        if "spearman_context" in entry:
            text += f", context score {number(entry['spearman_context'])}"
        lines.append(text + f"  ({entry['pairs']} pairs, OOV {entry['oov_ratio']:.1%})")
    analogy = figures["analogy"]
    lines.append(
        f"{'Analogy':<12} 3CosAdd {number(analogy['3cosadd'])}, "
        f"3CosMul {number(analogy['3cosmul'])}  ({analogy['questions']} questions in the "
        f"top {analogy['restrict_vocab']:,} words, OOV {analogy['oov_ratio']:.1%})"
    )
    return "\n".join(lines)
