"""A generated corpus whose phrases are known: "new york" and "interest rates"
always together ("york" and "rates" never alone), a stop-word before them, and a
pair that meets only across line ends ("zed" ends every line, "qua" starts every
one), over 256 filler words in random order."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

SYLLABLES = ("ka", "lo", "mi", "nu", "pe", "ri", "su", "ta", "vo", "xe", "gu", "zi", "bo", "fa")
FILLER = ["".join(pair) for pair in itertools.product(SYLLABLES, repeat=2)][:256]
PHRASES = ("new york", "interest rates")


def write_phrase_corpus(path: Path, lines: int = 3000, seed: int = 7) -> Path:
    rng = random.Random(seed)
    text = []
    for _ in range(lines):
        words = ["qua", *rng.choices(FILLER, k=12)]
        for phrase in PHRASES:
            if rng.random() < 0.3:
                words.insert(rng.randrange(1, len(words)), f"the {phrase}")
        if rng.random() < 0.1:
            words.insert(rng.randrange(1, len(words)), "new")  # "new" alone, sometimes
        text.append(" ".join([*words, "zed"]))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path
