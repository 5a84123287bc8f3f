"""The evaluator on vectors whose answers are known by construction."""

import numpy as np

from wordlens.training.evaluate import _read_analogies, _read_pairs, evaluate_vectors


def capital_country_vectors():
    questions = [q for q in _read_analogies() if q[0] == "Athens" or q[2] == "Athens"]
    capitals = sorted({q[0] for q in questions} | {q[2] for q in questions})
    rng = np.random.default_rng(1)
    dim = 256
    base = rng.normal(size=(len(capitals), dim))
    offset_capital, offset_country = rng.normal(size=dim), rng.normal(size=dim)
    # capital_i = u_i + t and country_i = u_i + s, so b - a + c = d exactly.
    pairs = {q[0]: q[1] for q in questions} | {q[2]: q[3] for q in questions}
    words, vectors = [], []
    for i, capital in enumerate(capitals):
        words += [capital.lower(), pairs[capital].lower()]
        vectors += [base[i] + offset_capital, base[i] + offset_country]
    return words, np.asarray(vectors, dtype=np.float32)


def test_planted_analogies_are_all_solved():
    words, vectors = capital_country_vectors()
    norms = np.linalg.norm(vectors, axis=1)
    figures = evaluate_vectors(words, vectors, norms, context_scores=lambda a, b: np.zeros(len(a)))
    analogy = figures["analogy"]
    assert analogy["questions"] > 20
    assert analogy["3cosadd"] == 1.0
    assert analogy["3cosmul"] == 1.0
    assert 0.5 < analogy["oov_ratio"] < 1.0
    assert set(figures["wordsim353"]) == {
        "spearman_cosine",
        "spearman_context",
        "pairs",
        "oov_ratio",
    }


def test_word_pairs_correlate_with_planted_similarities():
    pairs = _read_pairs("wordsim353.tsv")
    words = sorted({w.lower() for a, b, _ in pairs for w in (a, b)})
    index = {w: i for i, w in enumerate(words)}
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(len(words), 4)).astype(np.float32)
    figures = evaluate_vectors(words, vectors, np.linalg.norm(vectors, axis=1))
    random_rho = figures["wordsim353"]["spearman_cosine"]
    assert figures["wordsim353"]["oov_ratio"] == 0.0
    assert abs(random_rho) < 0.2
    assert "spearman_context" not in figures["wordsim353"]
    # Nudge each pair's second vector towards its first in proportion to the human
    # score: the correlation must rise well above chance.
    for a, b, score in pairs:
        if a.lower() != b.lower():
            vectors[index[b.lower()]] += score / 10 * vectors[index[a.lower()]]
    figures = evaluate_vectors(words, vectors, np.linalg.norm(vectors, axis=1))
    assert figures["wordsim353"]["spearman_cosine"] > 0.3
