"""Vectors inferred for a word outside the vocabulary from a few example texts.

A request gives ``contexts``, texts in which the unknown word occurs. Its occurrences
are the spans written in square brackets (``"a cup of [flurb] this morning"``), or,
in a text where no brackets hold ``word``, the tokens equal to it once folded by the
model's tokenizer (brackets around other words are plain text). The context words
of an occurrence are the vocabulary words within the model's training window around
it, each weighted as training weighted it (:class:`Window`); all occurrences add up
to the :class:`Evidence`.

The fit holds everything the model learnt fixed and finds the one vector that
explains the evidence best, in the model's own terms (the family's ``infer``):

- Word2Vec (hierarchical softmax or negative sampling): the maximum a posteriori
  vector of the skip-gram likelihood Σ_c a_c log p(c | w), under a Gaussian prior
  fitted to the model's vectors (per-dimension mean and variance), by L-BFGS
  (:func:`fit_logistic`: the log-likelihood is concave in w, so the optimum is unique
  and the answer deterministic). Negative sampling takes the expectation over its
  noise distribution n(c)^β / Σ n^β instead of sampling negatives. A model trained
  with an à la carte map A (:mod:`wordlens.training.alacarte`) centres the prior on
  A·u, u the weighted mean of the context words' vectors.
- PMI: the least-squares fold-in of a new row of the shifted positive PMI matrix:
  v = (VᵀV + ρI)⁻¹ Σ_c y_c v_c with y_c = max(PMÎ(w, c) − log k, 0), PMI estimated
  from the contexts with a Dirichlet prior centred on the unigram distribution
  (:func:`pmi_targets`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from wordlens.app.errors import InvalidQueryError, LimitExceededError

__all__ = [
    "FREQUENCY_PRIOR",
    "MARKER",
    "Evidence",
    "Fit",
    "Window",
    "evidence",
    "fit_logistic",
    "occurrences",
    "pmi_targets",
]

#: An occurrence of the unknown word written in a context: ``[flurb]``.
MARKER = re.compile(r"\[([^\[\]]+)\]")

#: What an inferred vector's neighbours gain per nat of log count in the ranking of
#: ``similar``: cosine + FREQUENCY_PRIOR · ln(count). A vector fitted from a few
#: sentences shares the topical noise of the rarest words' vectors (themselves fitted
#: from a handful of sentences), so by cosine alone the rare words of those same
#: documents crowd the list; this mild prior (a word 10× more frequent gains 0.046)
#: lets the well-estimated words through. Tuned on 200 words of seed 5
#: (bench/bench_infer.py, 20 sentences): top-10 hits 0 → 0.01 → 0.02 → 0.03: PMI
#: 60.0, 64.5, 68.0, 68.5 %; Word2Vec (hs, à la carte) 75.0, 82.5, 86.0, 87.0 %; the
#: listed words' mean cosine to the true word peaks at 0.01–0.02 (0.387 → 0.390 →
#: 0.387 PMI, 0.351 → 0.358 → 0.357 Word2Vec), so the rest of the list is no worse.
FREQUENCY_PRIOR = 0.02

#: Stands for an occurrence among a context's token rows (−1 is an unknown token).
_OCCURRENCE = -2


@dataclass(frozen=True)
class Window:
    """How training saw the words around a word: ``weights[d − 1]`` is the weight of a
    context word at distance d (d = 1 … window, either side); ``keep_places`` says
    whether unknown tokens keep their places (PMI counting) or are dropped before the
    window is laid (gensim's Word2Vec)."""

    weights: np.ndarray
    keep_places: bool


@dataclass(frozen=True)
class Evidence:
    """The context words of every occurrence: distinct vocabulary ``rows`` (n,) int64
    and their summed window ``weights`` (n,) float64; ``occurrences`` in all, and the
    distinct ``unknown`` tokens that were skipped."""

    rows: np.ndarray
    weights: np.ndarray
    occurrences: int
    unknown: list[str]


@dataclass(frozen=True)
class Fit:
    """An inferred vector (d,) float64, its ``confidence`` (the mean PMI, in nats,
    that the vector gives its context words by the family's own estimate), and the
    optimiser's ``iterations`` (0 for a closed form)."""

    vector: np.ndarray
    confidence: float
    iterations: int


def occurrences(
    text: str,
    word: str | None,
    tokenize: Callable[[str], list[str]],
    normalize: Callable[[str], str],
) -> tuple[list[str | None], str]:
    """The tokens of ``text`` with each occurrence of the unknown word as None, and
    the word (normalised). InvalidQueryError when the text has no occurrence, or its
    brackets name another word than ``word``."""
    pieces = MARKER.split(text)
    marked = {normalize(name.strip()) for name in pieces[1::2]}
    if word is not None and normalize(word) not in marked:
        pieces = [text]  # brackets that mark another word are plain text
    if len(pieces) == 1:
        if word is None:
            raise InvalidQueryError(
                "mark the unknown word in each context with square brackets, "
                "as in 'a cup of [flurb]', or give the word"
            )
        target = normalize(word)
        tokens: list[str | None] = [None if t == target else t for t in tokenize(text)]
        if None not in tokens:
            raise InvalidQueryError(f"the context does not contain {word!r}: {text[:80]!r}")
        return tokens, target
    target = normalize(word) if word is not None else min(marked)
    if word is None and len(marked) > 1:
        raise InvalidQueryError(
            f"the brackets of a context mark {sorted(marked)!r}: mark only the unknown "
            "word, or give it as `word`"
        )
    tokens, plain = [], ""
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            plain += piece
        elif normalize(piece.strip()) != target:
            plain += f"[{piece}]"  # another word's brackets: text
        else:
            tokens += [*tokenize(plain), None]
            plain = ""
    return [*tokens, *tokenize(plain)], target


def evidence(
    contexts: Sequence[list[str | None]],
    lookup: Callable[[list[str]], np.ndarray],
    window: Window,
    exclude: int | None = None,
) -> Evidence:
    """The context words of every occurrence (None) in the token lists ``contexts``
    within ``window``; ``lookup`` gives vocabulary rows (−1 unknown). The row
    ``exclude`` (leave-one-out: the word's own row) is never a context word."""
    sequences: list[np.ndarray] = []
    unknown: dict[str, None] = {}
    for tokens in contexts:
        words = [t for t in tokens if t is not None]
        rows = lookup(words) if words else np.zeros(0, dtype=np.int64)
        unknown.update(dict.fromkeys(w for w, r in zip(words, rows.tolist(), strict=True) if r < 0))
        sequence = np.full(len(tokens), _OCCURRENCE, dtype=np.int64)
        sequence[[i for i, t in enumerate(tokens) if t is not None]] = rows
        if not window.keep_places:
            sequence = sequence[sequence != -1]
        sequences.append(sequence)
    # one sequence, contexts apart by a gap wider than the window
    size = len(window.weights)
    gap = np.full(size, -1, dtype=np.int64)
    sequence = np.concatenate([part for s in sequences for part in (s, gap)])
    found = np.flatnonzero(sequence == _OCCURRENCE)
    distance = np.arange(1, size + 1)
    offsets = np.concatenate([-distance, distance])
    places = found[:, None] + offsets  # (occurrences, 2·window)
    inside = (places >= 0) & (places < len(sequence))
    rows = np.where(inside, sequence[np.clip(places, 0, len(sequence) - 1)], -1)
    weights = np.broadcast_to(np.tile(window.weights, 2), rows.shape)
    keep = rows >= 0
    if exclude is not None:
        keep &= rows != exclude
    distinct, inverse = np.unique(rows[keep], return_inverse=True)
    summed = np.bincount(inverse, weights[keep], minlength=len(distinct))
    return Evidence(distinct, summed, len(found), list(unknown))


def pmi_targets(
    evidence: Evidence, prior: np.ndarray, context_prior: np.ndarray, pseudo: float, shift: float
) -> np.ndarray:
    """y_c = max(PMÎ(w, c) − log ``shift``, 0) for the evidence's rows, (n,) float64.

    p̂(c | w) = (a_c + ``pseudo``·p(c)) / (Σ a + ``pseudo``): the weighted
    co-occurrences a_c, smoothed by ``pseudo`` occurrences' worth of context weight
    distributed like the corpus (``prior`` p(c), (V,)), so that a context word seen
    once next to a rare word does not claim an infinite PMI, and a word never seen
    keeps PMI < 0 (target 0). PMÎ = log p̂(c | w) − log ``context_prior``(c) (the
    model's context distribution, smoothed by its cds exponent)."""
    total = evidence.weights.sum() + pseudo
    conditional = (evidence.weights + pseudo * prior[evidence.rows]) / total
    pmi = np.log(conditional) - np.log(context_prior[evidence.rows])
    return np.maximum(pmi - np.log(shift), 0.0)


def fit_logistic(
    rows: np.ndarray,
    half: np.ndarray,
    linear: np.ndarray,
    mean: np.ndarray,
    precision: np.ndarray,
    iterations: int,
) -> tuple[np.ndarray, int]:
    """argmax_w Σ_k [x_k·linear_k − half_k·(|x_k| + 2 log(1 + e^{−|x_k|}))]
    − ½ Σ_j precision_j (w_j − mean_j)², x = rows·w: a sum of weighted log σ(±x_k)
    terms (see :meth:`HuffmanTree.log_prob_sum`) under a Gaussian prior.

    ``rows`` (k, d), ``half`` ≥ 0 and ``linear`` (k,), ``mean`` and ``precision`` > 0
    (d,); at most ``iterations`` damped Newton steps. The objective is strictly
    concave (each term's second derivative is −half_k·½(1 − tanh²(x_k / 2)), the prior's
    −precision), so Newton's method reaches its one maximum in a few steps, each one
    (d, d) solve: numpy alone, so that the server needs no optimisation library.
    Returns w (d,) float64 and the steps taken."""
    matrix = np.asarray(rows, dtype=np.float64)

    def value(w: np.ndarray) -> float:
        x = matrix @ w
        size = np.abs(x)
        gap = w - mean
        return float(x @ linear - half @ (size + 2 * np.log1p(np.exp(-size)))) - 0.5 * float(
            (precision * gap) @ gap
        )

    w = mean.astype(np.float64).copy()
    current = value(w)
    for step in range(1, iterations + 1):
        slope = np.tanh(matrix @ w / 2)
        gradient = matrix.T @ (linear - half * slope) - precision * (w - mean)
        curvature = half * 0.5 * (1 - slope * slope)
        hessian = (matrix.T * curvature) @ matrix
        hessian[np.diag_indices_from(hessian)] += precision
        direction = np.linalg.solve(hessian, gradient)  # ascent: −H⁻¹g of the negated
        rate = 1.0
        while rate > 1e-10:  # backtracking: the full step, then halves, until it gains
            trial = w + rate * direction
            gained = value(trial)
            if gained >= current:
                break
            rate /= 2
        else:
            return w, step
        change = np.abs(trial - w).max()
        w, current = trial, gained
        if change <= 1e-10 * max(1.0, np.abs(w).max()):
            return w, step
    return w, iterations


def check_contexts(contexts: Sequence[str], most: int, characters: int) -> None:
    """LimitExceededError beyond ``most`` contexts or ``characters`` characters in
    all; InvalidQueryError for none."""
    if not contexts:
        raise InvalidQueryError("give at least one context")
    if len(contexts) > most:
        raise LimitExceededError(
            f"{len(contexts):,} contexts in one query; the limit is {most:,}", limit=most
        )
    total = sum(map(len, contexts))
    if total > characters:
        raise LimitExceededError(
            f"contexts of {total:,} characters in all; the limit is {characters:,}",
            limit=characters,
        )
