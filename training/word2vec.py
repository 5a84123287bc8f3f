"""Stage: train gensim Word2Vec (skip-gram) and lift out its output layer.

The corpus is tokenised once, streaming, into a temporary whitespace-separated file
(counting words on the way); gensim then builds its vocabulary from those counts and
trains with ``corpus_file=``, its multi-threaded file mode, so neither the Python
tokenizer nor a Python iterator sits in the training loop.

Keeping the output layer is the point (Su Jianlin, "不可思议的Word2Vec"): with
hierarchical softmax, ``syn1`` and every word's Huffman ``point``/``code`` path give
p(u | w); with negative sampling, ``syn1neg`` and the noise exponent.

:func:`fit_word2vec` is the gensim stage; :func:`train_word2vec` runs it on a corpus
and writes the model.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from wordlens.artifacts import DTYPES, scratch_directory, write_model
from wordlens.corpus import Corpus
from wordlens.training.phrases import PhraseParams, phrase_corpus, stored_tokenizer

log = logging.getLogger(__name__)

__all__ = [
    "Word2VecParams",
    "fit_word2vec",
    "output_layer_arrays",
    "tokenise_to_file",
    "train_word2vec",
]


@dataclass(frozen=True)
class Word2VecParams:
    """Hyper-parameters, named as gensim names them (``vector_size`` = dimensions),
    except the learning rate: ``learning_rate`` falls linearly to ``min_learning_rate``
    over the run (gensim's ``alpha`` and ``min_alpha``). ``dtype`` is how the model
    stores the word vectors (:data:`wordlens.artifacts.DTYPES`; the output layer stays
    float32). Checked on construction."""

    vector_size: int = 128
    window: int = 5
    min_count: int = 5
    max_vocab: int | None = None
    sample: float = 1e-3
    epochs: int = 5
    hs: int = 1
    negative: int = 0
    ns_exponent: float = 0.75
    learning_rate: float = 0.025
    min_learning_rate: float = 0.0001
    workers: int = os.cpu_count() or 1
    seed: int = 1
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        for name in ("vector_size", "window", "min_count", "epochs", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_vocab is not None and self.max_vocab < 1:
            raise ValueError(f"max_vocab must be at least 1, got {self.max_vocab}")
        if self.hs not in (0, 1) or self.negative < 0:
            raise ValueError("hs must be 0 or 1 and negative 0 or more")
        if not self.hs and not self.negative:
            raise ValueError(
                "no output layer: use hierarchical softmax (hs=1), "
                "negative sampling (negative > 0), or both"
            )
        if self.sample < 0:
            raise ValueError(f"sample must be 0 or more, got {self.sample}")
        if not 0 < self.learning_rate <= 1 or not 0 <= self.min_learning_rate <= self.learning_rate:
            raise ValueError(
                "need 0 < learning_rate <= 1 and 0 <= min_learning_rate <= learning_rate, got "
                f"{self.learning_rate} and {self.min_learning_rate}"
            )


# gensim's file mode splits lines on spaces: a phrase's space is written as a
# no-break space, which no token holds (every tokenizer splits on Unicode white space).
_PHRASE_SPACE = "\xa0"


def tokenise_to_file(documents: Iterable[list[str]], path: Path) -> tuple[Counter, int]:
    """Write each tokenised document as one space-separated line, the spaces inside a
    phrase ("new york") as no-break spaces; count the words (as given).

    Returns (word counts, number of non-empty documents written).
    """
    counter: Counter = Counter()
    lines = 0
    with open(path, "w", encoding="utf-8") as stream:
        for tokens in documents:
            if tokens:
                counter.update(tokens)
                # Three C-level passes instead of a Python call per token (no token
                # holds a newline).
                stream.write("\n".join(tokens).replace(" ", _PHRASE_SPACE).replace("\n", " "))
                stream.write("\n")
                lines += 1
    return counter, lines


def _progress(epochs: int, words: int):
    """A gensim callback: a tqdm bar over epochs × words, words/s logged per epoch."""
    from gensim.models.callbacks import CallbackAny2Vec
    from tqdm import tqdm

    class Progress(CallbackAny2Vec):
        def __init__(self):
            self.bar = tqdm(
                total=epochs * words,
                unit=" words",
                unit_scale=True,
                desc="word2vec",
                mininterval=1.0,
            )
            self.epoch = 0

        def on_epoch_begin(self, model):
            self.started = time.perf_counter()

        def on_epoch_end(self, model):
            seconds = time.perf_counter() - self.started
            self.epoch += 1
            self.bar.update(words)
            log.info(
                "word2vec epoch %d/%d: %.1f s, %s words/s",
                self.epoch,
                epochs,
                seconds,
                f"{words / seconds:,.0f}",
            )

    return Progress()


def fit_word2vec(
    documents: Iterable[list[str]],
    params: Word2VecParams,
    scratch_dir: str | os.PathLike | None = None,
):
    """Train skip-gram Word2Vec on tokenised documents.

    The tokens are written to a temporary file in ``scratch_dir`` (default: the
    system's temporary directory); phrases are spelt there, and in the gensim model,
    with a no-break space. Returns (gensim ``Word2Vec`` model, word counts
    before ``min_count``, figures) where figures holds ``tokenise_seconds``,
    ``train_seconds``, ``words_per_second`` and ``documents``.
    """
    from gensim.models import Word2Vec

    logging.getLogger("gensim").setLevel(logging.WARNING)  # our callback logs the epochs
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix=".wordlens-w2v-") as scratch:
        corpus_file = Path(scratch) / "tokens.txt"
        started = time.perf_counter()
        counter, lines = tokenise_to_file(documents, corpus_file)
        tokenise_seconds = time.perf_counter() - started
        total_words = sum(counter.values())
        if not any(count >= params.min_count for count in counter.values()):
            raise ValueError(
                f"no word occurs {params.min_count}+ times in the corpus "
                f"({len(counter):,} distinct words); lower min_count"
            )
        model = Word2Vec(
            sg=1,
            hs=params.hs,
            negative=params.negative,
            ns_exponent=params.ns_exponent,
            vector_size=params.vector_size,
            window=params.window,
            min_count=params.min_count,
            max_final_vocab=params.max_vocab,
            sample=params.sample,
            alpha=params.learning_rate,
            min_alpha=params.min_learning_rate,
            workers=params.workers,
            seed=params.seed,
            epochs=params.epochs,
        )
        model.build_vocab_from_freq(
            {word.replace(" ", _PHRASE_SPACE): count for word, count in counter.items()},
            corpus_count=lines,
        )
        progress = _progress(params.epochs, total_words)
        started = time.perf_counter()
        model.train(
            corpus_file=str(corpus_file),
            total_words=total_words,
            epochs=params.epochs,
            callbacks=[progress],
        )
        train_seconds = time.perf_counter() - started
        progress.bar.close()
        started = time.perf_counter()
        alacarte = _alacarte(model, corpus_file)
        alacarte_seconds = time.perf_counter() - started
    figures = {
        "tokenise_seconds": round(tokenise_seconds, 3),
        "train_seconds": round(train_seconds, 3),
        "alacarte_seconds": round(alacarte_seconds, 3),
        "words_per_second": round(params.epochs * total_words / train_seconds),
        "documents": lines,
    }
    return model, counter, figures, alacarte


def _alacarte(model, corpus_file: Path) -> np.ndarray:
    """The à la carte map of the trained ``model`` over the token file it read, with
    gensim's own downsampling probabilities (``sample_int`` / 2³²)."""
    # scipy, like gensim, only when training runs: the server imports this module
    from wordlens.training.alacarte import alacarte_map, context_means

    keyed = model.wv
    kept = keyed.expandos["sample_int"].astype(np.float64) / 2**32
    with open(corpus_file, encoding="utf-8") as lines:
        means = context_means(lines, keyed.key_to_index, keyed.vectors, kept, model.window)
    return alacarte_map(keyed.vectors, means, keyed.expandos["count"].astype(np.float64))


def train_word2vec(
    corpus: Corpus,
    params: Word2VecParams,
    out: str | os.PathLike,
    phrases: PhraseParams | None = None,
) -> Path:
    """Train Word2Vec on ``corpus`` and write the model, output layer included, at
    ``out`` (replacing any model there). Returns the model's path. The token file
    goes to a scratch folder beside ``out`` that a killed run's successor removes.
    With ``phrases``, phrases are learned from the corpus first and trained on as
    single tokens; the table is stored in the model."""
    import gensim

    started = time.perf_counter()
    with scratch_directory(out) as scratch:
        if phrases is not None:
            corpus = phrase_corpus(corpus, phrases, scratch)
        model, counter, figures, alacarte = fit_word2vec(corpus, params, scratch)
    tokenizer, table = stored_tokenizer(corpus.tokenizer)
    layers, arrays = output_layer_arrays(model)
    arrays["alacarte"] = alacarte
    seconds = time.perf_counter() - started
    return write_model(
        out,
        kind="word2vec",
        words=[word.replace(_PHRASE_SPACE, " ") for word in model.wv.index_to_key],
        vectors=model.wv.vectors,
        counts=model.wv.expandos["count"],
        arrays=arrays,
        manifest={
            "tokenizer": tokenizer,
            "corpus": corpus.describe(sum(counter.values()), len(counter)),
            "params": {"sg": 1, **asdict(params)},
            "training": {
                "seconds": round(seconds, 3),
                "epochs": params.epochs,
                "workers": params.workers,
                "gensim": gensim.__version__,
                **figures,
            },
            "output_layers": layers,
        },
        dtype=params.dtype,
        phrases=table,
    )


def output_layer_arrays(model) -> tuple[list[str], dict[str, np.ndarray]]:
    """The output layers of a trained gensim model, in the artifact's layout.

    Returns (names of the layers: ``hs`` and/or ``ns``, arrays): for ``hs``,
    ``syn1`` float32 (V, d), ``hs_points`` int32 (V, L) and ``hs_codes`` int8 (V, L)
    padded with 0, ``hs_lengths`` int32 (V,); for ``ns``, ``syn1neg`` float32 (V, d).
    """
    layers: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    if model.hs:
        wv = model.wv
        codes = [wv.get_vecattr(i, "code") for i in range(len(wv))]
        points = [wv.get_vecattr(i, "point") for i in range(len(wv))]
        lengths = np.fromiter(map(len, codes), dtype=np.int32, count=len(codes))
        inside = np.arange(lengths.max()) < lengths[:, None]
        hs_points = np.zeros(inside.shape, dtype=np.int32)
        hs_codes = np.zeros(inside.shape, dtype=np.int8)
        hs_points[inside] = np.concatenate(points)  # row-major: word by word
        hs_codes[inside] = np.concatenate(codes)
        layers.append("hs")
        arrays.update(
            syn1=model.syn1.astype(np.float32),
            hs_points=hs_points,
            hs_codes=hs_codes,
            hs_lengths=lengths,
        )
    if model.negative:
        layers.append("ns")
        arrays["syn1neg"] = model.syn1neg.astype(np.float32)
    return layers, arrays
