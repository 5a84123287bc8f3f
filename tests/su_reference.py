"""Su Jianlin's keyword and related-word algorithms written the plain way, as in
"不可思议的Word2Vec" (a Python loop over word pairs calling a per-pair
log-probability), on a wordlens model's stored arrays.

This is the reference the tests compare wordlens's vectorised scoring against, and
the yardstick of bench/bench_keywords.py; it is deliberately not optimised.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def predict_proba(model, oword: str, iword: str) -> float:
    """log p(oword | iword) through oword's Huffman path (Su's ``predict_proba``)."""
    arrays = model.arrays
    row_in, row_out = model.index[iword], model.index[oword]
    length = int(arrays["hs_lengths"][row_out])
    point = arrays["hs_points"][row_out, :length]
    code = arrays["hs_codes"][row_out, :length]
    dot = np.dot(model.vectors[row_in], arrays["syn1"][point].T)
    return float(-np.sum(np.logaddexp(0, -dot) + code * dot))


def keywords(model, tokens: list[str]) -> list[tuple[str, float]]:
    """All known words of ``tokens`` ranked by Σ_u log p(u | w) (Su's ``keywords``)."""
    tokens = [w for w in tokens if w in model.index]
    scores = {w: sum(predict_proba(model, u, w) for u in tokens) for w in tokens}
    return Counter(scores).most_common()


def pmi_keywords(model, tokens: list[str]) -> list[tuple[str, float]]:
    """PMI model: all known words ranked by ⟨Σ_u v_u, v_w⟩, one pair at a time."""
    index = model.index
    tokens = [w for w in tokens if w in index]
    scores = {
        w: sum(float(np.dot(model.vectors[index[u]], model.vectors[index[w]])) for u in tokens)
        for w in tokens
    }
    return Counter(scores).most_common()
