"""PMI word vectors, one vector per word with ⟨v_i, v_j⟩ ≈ PMI(i, j): the settings and
the row of stages.

    corpus ─encode→ token ids on disk ─cooccur→ counts folder (every word, X upper
           triangle; merge adds counts up) ─min_count, max_vocab→ K leading words
           ─pmi_eig | pmi_adagrad→ vectors (K, dim) ─(align)→ model files

Counting keeps every token in its window place so that counts add up
(:mod:`training.counts`); the thresholds apply here, by taking leading words.

Solvers:

- ``eig`` (default): closed form, the top eigenpairs of the positive, shifted PMI
  matrix (V = U·sqrt(Λ)); window 8 with 1/distance weights, shift k = 5, no context
  smoothing.
- ``adagrad``: Su Jianlin's weighted least squares trained with AdaGrad, exactly as
  published (his settings: window 10, each neighbour counting 1, 30 epochs,
  x_max 100, weight exponent 0.75, η 0.1); ``init="eig"`` starts it from the
  closed-form solution.

The defaults were chosen by measuring WordSim-353, SimLex-999 and the importance
property (function words get the shortest vectors) on the default corpus; see the
README's results.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from wordlens.artifacts import DTYPES, Model, scratch_directory, write_model
from wordlens.corpus import Corpus, from_spec
from wordlens.training.phrases import PhraseParams, phrase_corpus, stored_tokenizer

if TYPE_CHECKING:
    from wordlens.training.counts import Counts

log = logging.getLogger(__name__)

__all__ = [
    "INITS",
    "SOLVERS",
    "SOLVER_DEFAULTS",
    "WEIGHTINGS",
    "PMIParams",
    "kept_words",
    "train_pmi",
    "train_pmi_counts",
]

SOLVERS = ("eig", "adagrad")
WEIGHTINGS = ("distance", "constant")
INITS = ("random", "eig")
# What a window or weighting left as None becomes: the closed form measured best with
# the first (README, Results); the second are Su's published settings for his trainer.
SOLVER_DEFAULTS: dict[str, dict[str, Any]] = {
    "eig": {"window": 8, "weighting": "distance"},
    "adagrad": {"window": 10, "weighting": "constant"},
}


@dataclass(frozen=True)
class PMIParams:
    """Every setting of PMI training, checked on construction.

    Attributes
    ----------
    solver : ``"eig"`` (closed form) or ``"adagrad"`` (Su's trainer).
    dim : d, the dimensions of the vectors.
    window : the largest distance between two co-occurring tokens, in kept tokens;
        None: the solver's (:data:`SOLVER_DEFAULTS`: 8 for eig, 10 for adagrad).
    weighting : ``"distance"`` (a pair counts 1/distance) or ``"constant"`` (1);
        None: the solver's (distance for eig, constant for adagrad).
    min_count : keep the words seen at least this many times.
    max_vocab : keep at most this many words, the most frequent; None: no limit.
    shift : k ≥ 1; the closed form keeps max(PMI − log k, 0) (1: no shift).
    cds : context-distribution smoothing exponent in (0, 1] (1: none).
    epochs : AdaGrad's passes over the records.
    eta : AdaGrad's learning rate η.
    x_max : the co-occurrence count at which a record's weight reaches 1.
    weight_exponent : α in a record's weight λ = min(X_ij / x_max, 1)^α.
    truncate : cap the weight at 1 (False: λ = (X_ij / x_max)^α).
    init : where AdaGrad starts: ``"random"`` (U(−0.5, 0.5)/d) or ``"eig"`` (the
        closed form).
    threads : AdaGrad's threads.
    seed : seeds the eigensolver's start vector and AdaGrad's shuffle and start.
    memory_mb : memory budget of the co-occurrence counting, MiB.
    dtype : how the model stores the vectors, ``"float32"`` or ``"float16"``
        (:data:`wordlens.artifacts.DTYPES`).
    """

    solver: str = "eig"
    dim: int = 128
    window: int | None = None
    weighting: str | None = None
    min_count: int = 5
    max_vocab: int | None = None
    shift: float = 5.0
    cds: float = 1.0
    epochs: int = 30
    eta: float = 0.1
    x_max: float = 100.0
    weight_exponent: float = 0.75
    truncate: bool = True
    init: str = "random"
    threads: int = os.cpu_count() or 1
    seed: int = 1
    memory_mb: int = 1024
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be {' or '.join(SOLVERS)}, got {self.solver!r}")
        for name, value in SOLVER_DEFAULTS[self.solver].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)  # frozen: set once, here
        for name, choices in (("weighting", WEIGHTINGS), ("init", INITS)):
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"{name} must be {' or '.join(choices)}, got {getattr(self, name)!r}"
                )
        for name in ("dim", "window", "min_count", "epochs", "threads", "memory_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise ValueError(f"max_vocab must be at least 1, got {self.max_vocab}")
        if self.shift < 1:
            raise ValueError(f"shift must be at least 1 (1 = no shift), got {self.shift}")
        if not 0 < self.cds <= 1:
            raise ValueError(f"cds must be in (0, 1] (1 = no smoothing), got {self.cds}")
        for name in ("eta", "x_max"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.weight_exponent >= 0:
            raise ValueError(f"weight_exponent must be 0 or more, got {self.weight_exponent}")

    @property
    def closed_form(self) -> bool:
        """Whether the closed form runs: as the solver, or as AdaGrad's start."""
        return self.solver == "eig" or self.init == "eig"

    def manifest_params(self) -> dict[str, Any]:
        """The model manifest's ``params``: the settings that shaped the vectors, i.e.
        those of the solvers that ran (not ``memory_mb``, which changes no result)."""
        params: dict[str, Any] = {
            "solver": self.solver,
            "dim": self.dim,
            "window": self.window,
            "weighting": self.weighting,
            "min_count": self.min_count,
            "max_vocab": self.max_vocab,
            "seed": self.seed,
        }
        if self.closed_form:
            params.update(shift_k=self.shift, cds=self.cds)
        if self.solver == "adagrad":
            params.update(
                epochs=self.epochs,
                eta=self.eta,
                x_max=self.x_max,
                weight_exponent=self.weight_exponent,
                truncate=self.truncate,
                init=self.init,
                threads=self.threads,
            )
        return params


def train_pmi(
    corpus: Corpus,
    params: PMIParams,
    out: str | os.PathLike,
    align_to: str | os.PathLike | None = None,
    phrases: PhraseParams | None = None,
) -> Path:
    """Count ``corpus`` on ``params.threads`` local processes
    (:func:`training.distributed.count_corpus`, into a scratch folder beside ``out``), then
    :func:`train_pmi_counts`: the model at ``out``, replacing any model there. Returns
    the model's path. With ``phrases``, phrases are learned from the corpus first and
    counted as single tokens (:func:`training.phrases.phrase_corpus`)."""
    from wordlens.training.counts import load_counts
    from wordlens.training.distributed import count_corpus

    window, weighting = params.window, params.weighting
    assert window is not None and weighting is not None  # PMIParams resolved them
    old = _old_model(align_to, params)
    with scratch_directory(out) as scratch:
        if phrases is not None:
            corpus = phrase_corpus(corpus, phrases, scratch)
        path = count_corpus(
            corpus.path,
            tokenizer=corpus.tokenizer,
            text_field=corpus.text_field,
            out=scratch / "counts",
            window=window,
            weighting=weighting,
            memory_bytes=params.memory_mb * 2**20,
            workers=params.threads,
        )
        return train_pmi_counts(load_counts(path, verify=False), params, out, old)


def kept_words(counts: np.ndarray, min_count: int, max_vocab: int | None) -> int:
    """How many leading words of counts sorted most frequent first (int64 (V,)) the
    thresholds keep: those seen ``min_count`` times or more, at most ``max_vocab``."""
    kept = int(np.count_nonzero(np.asarray(counts) >= min_count))
    return kept if max_vocab is None else min(kept, max_vocab)


def train_pmi_counts(
    counts: Counts,
    params: PMIParams,
    out: str | os.PathLike,
    align_to: str | os.PathLike | Model | None = None,
) -> Path:
    """Train PMI vectors from co-occurrence counts and write the model at ``out``,
    replacing any model there. Returns the model's path.

    The counts' window and weighting must be the settings'; counts made with phrases
    (their tokenizer lists the phrase table) give a model with that table. ``min_count`` and
    ``max_vocab`` choose the leading words of the counts (they are stored most frequent
    first). ``align_to`` (an old model, optional) rotates the new vectors onto its own
    (:mod:`training.align`); the report goes into the manifest's ``alignment``.

    The manifest's ``training`` block holds each stage's seconds (counting's come from
    the counts), the number of non-zero pairs, and the eigenvalues or AdaGrad's loss
    per epoch and speed.
    """
    started = time.perf_counter()
    if (params.window, params.weighting) != (counts.window, counts.weighting):
        raise ValueError(
            f"the counts were made with window {counts.window} and {counts.weighting} "
            f"weighting, not window {params.window} and {params.weighting} weighting; "
            "count again with these settings or leave them out"
        )
    old = _old_model(align_to, params)
    kept = kept_words(counts.counts, params.min_count, params.max_vocab)
    if kept <= params.dim:
        raise ValueError(
            f"the vocabulary ({kept} words of {len(counts):,} with min_count "
            f"{params.min_count}) must be larger than dim ({params.dim}); lower dim or "
            "min_count"
        )
    log.info(
        "vocabulary: %s words of %s (min_count %d)",
        f"{kept:,}",
        f"{len(counts):,}",
        params.min_count,
    )
    words = counts.words[:kept]
    tokenizer, table = stored_tokenizer(from_spec(counts.tokenizer))
    vectors, training = _vectors(counts, kept, params)
    manifest: dict[str, Any] = {}
    if old is not None:
        from wordlens.training.align import align_to_model

        vectors, manifest["alignment"] = align_to_model(words, vectors, old)
    training.update(
        counting=counts.manifest.get("figures", {}),
        seconds=round(time.perf_counter() - started, 3),
    )
    return write_model(
        out,
        kind="pmi",
        words=words,
        vectors=vectors,
        counts=np.asarray(counts.counts[:kept]),
        manifest={
            "tokenizer": tokenizer,
            "corpus": corpus_summary(counts),
            "params": params.manifest_params(),
            "training": training,
            "output_layers": [],
            **manifest,
        },
        dtype=params.dtype,
        phrases=table,
    )


def corpus_summary(counts: Counts) -> dict[str, Any]:
    """The model manifest's ``corpus`` block from the counts': totals over their
    sources (documents, tokens, distinct words, files, skipped lines), and the sources."""
    corpus = counts.corpus
    sources = corpus.get("sources", [])
    return {
        "documents": corpus["documents"],
        "tokens": corpus["tokens"],
        "types": len(counts),
        "files": sum(source.get("files", 0) for source in sources),
        "skipped_lines": sum(source.get("skipped_lines", 0) for source in sources),
        "sources": sources,
    }


def _old_model(align_to: str | os.PathLike | Model | None, params: PMIParams) -> Model | None:
    """The model to align to, loaded before any work so that a wrong one fails first."""
    if align_to is None or isinstance(align_to, Model):
        return align_to
    from wordlens.training.align import load_old_model

    return load_old_model(align_to, params.dim)


# Cells read from the counts at a time (int64 ticks and int32 columns: 12 bytes each).
_BLOCK_CELLS = 1 << 22


def _vectors(counts: Counts, kept: int, params: PMIParams) -> tuple[np.ndarray, dict[str, Any]]:
    """Vectors float32 (kept, dim) of the ``kept`` leading words of the counts, by the
    solver, and its figures."""
    from tqdm import tqdm

    from wordlens.training.pmi_adagrad import train_adagrad
    from wordlens.training.pmi_eig import eigen_vectors, positive_pmi

    figures: dict[str, Any] = {}
    initial = None
    frequencies = np.asarray(counts.counts[:kept])
    memory_bytes = params.memory_mb * 2**20
    if params.closed_form:
        started = time.perf_counter()
        matrix = positive_pmi(
            lambda: counts.row_blocks(_BLOCK_CELLS, stop=kept),
            frequencies,
            kept,
            counts.scale,
            params.shift,
            params.cds,
            memory_bytes,
        )
        figures["ppmi_seconds"] = round(time.perf_counter() - started, 3)
        figures["ppmi_cells"] = matrix.nnz
        vectors, eigenvalues, solver = eigen_vectors(
            matrix, params.dim, params.seed, memory_bytes=memory_bytes
        )
        del matrix
        figures["eig_seconds"] = solver["seconds"]
        figures["eigensolver"] = solver
        figures["eigenvalues"] = [round(float(x), 4) for x in eigenvalues]
        if params.solver == "eig":
            return vectors, figures
        initial = vectors
    cooccurrences = counts.to_csr(kept)
    figures["pairs"] = cooccurrences.nnz
    with tqdm(total=params.epochs, desc="adagrad", unit=" epoch") as bar:

        def report(epoch: int, loss: float) -> None:
            bar.update()
            bar.set_postfix(loss=f"{loss:.4f}")
            log.info("adagrad epoch %d/%d: loss %.6f", epoch, params.epochs, loss)

        vectors, adagrad_figures = train_adagrad(
            cooccurrences,
            frequencies,
            dim=params.dim,
            epochs=params.epochs,
            eta=params.eta,
            x_max=params.x_max,
            weight_exponent=params.weight_exponent,
            truncate=params.truncate,
            threads=params.threads,
            seed=params.seed,
            initial=initial,
            progress=report,
        )
    figures.update(adagrad_figures)
    return vectors, figures
