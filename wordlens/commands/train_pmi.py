"""Train PMI word vectors: one vector per word with ⟨v_i, v_j⟩ ≈ PMI(i, j).

Stages: corpus → token ids (tokenised once) → vocabulary → co-occurrence counts →
solver → model. Solvers:

- ``eig`` (default): closed form, the top eigenpairs of the positive, shifted PMI
  matrix (V = U·sqrt(Λ)); default window 8 with 1/distance weights, shift k = 5,
  no context smoothing.
- ``adagrad``: Su Jianlin's weighted least squares trained with AdaGrad, exactly as
  published (his settings: window 10, 30 epochs, x_max 100, α 0.75, η 0.1);
  ``--init eig`` starts it from the closed-form solution.

The defaults were chosen by measuring WordSim-353, SimLex-999 and the importance
property (function words get the shortest vectors) on the default corpus; see the
README's results. Training ends with those scores, stored in the manifest.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

from wordlens.commands.options import (
    add_corpus_arguments,
    add_output_argument,
    corpus_from_args,
    output_path,
    positive_int,
)

COMMAND = ("train", "pmi")
HELP = "train PMI word vectors (closed form or Su's AdaGrad trainer)"

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser)
    add_output_argument(parser, "pmi")
    parser.add_argument(
        "--solver",
        choices=["eig", "adagrad"],
        default="eig",
        help="closed form (eig, default) or Su's AdaGrad trainer",
    )
    parser.add_argument("--dim", type=positive_int, default=128, help="vector dimensions (128)")
    parser.add_argument(
        "--window",
        type=positive_int,
        default=None,
        help="co-occurrence window (default: 8 for eig, 10 for adagrad)",
    )
    parser.add_argument(
        "--weighting",
        choices=["constant", "distance"],
        default=None,
        help="each neighbour counts 1/distance (default for eig) or 1 "
        "(constant, default for adagrad)",
    )
    parser.add_argument(
        "--min-count", type=positive_int, default=5, help="ignore words seen fewer times (5)"
    )
    parser.add_argument(
        "--max-vocab", type=positive_int, default=None, help="keep at most this many words"
    )
    group = parser.add_argument_group("eig solver")
    group.add_argument(
        "--shift",
        type=float,
        default=5.0,
        help="subtract log k from the PMI before keeping its positive part (5)",
    )
    group.add_argument(
        "--cds",
        type=float,
        default=1.0,
        help="context-distribution smoothing exponent, e.g. 0.75 (1 = none)",
    )
    group = parser.add_argument_group("adagrad solver")
    group.add_argument("--epochs", type=positive_int, default=30, help="passes (30)")
    group.add_argument("--eta", type=float, default=0.1, help="learning rate (0.1)")
    group.add_argument("--x-max", type=float, default=100.0, help="weight cap X_ij (100)")
    group.add_argument("--alpha", type=float, default=0.75, help="weight exponent (0.75)")
    group.add_argument(
        "--untruncated", action="store_true", help="weights (X/x_max)^α without the cap at 1"
    )
    group.add_argument(
        "--init",
        choices=["random", "eig"],
        default="random",
        help="start from U(-0.5, 0.5)/d (random) or the eig solution",
    )
    group.add_argument(
        "--threads",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="training threads (default: all cores)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--memory-mb",
        type=positive_int,
        default=1024,
        help="memory budget of the co-occurrence counting, MiB (1024)",
    )
    parser.add_argument(
        "--no-evaluate", action="store_true", help="skip the benchmark scores at the end"
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from wordlens.artifacts import write_model
    from wordlens.commands.evaluate import report_model
    from wordlens.training.cooccur import budget, count_encoded
    from wordlens.training.encode import encode_corpus
    from wordlens.training.pmi_adagrad import AdagradParams, train_adagrad
    from wordlens.training.pmi_eig import eigen_vectors, positive_pmi
    from wordlens.training.vocab import build_vocabulary

    window = args.window or (8 if args.solver == "eig" else 10)
    weighting = args.weighting or ("distance" if args.solver == "eig" else "constant")
    adagrad = AdagradParams(
        dim=args.dim,
        epochs=args.epochs,
        eta=args.eta,
        x_max=args.x_max,
        alpha=args.alpha,
        truncate=not args.untruncated,
        threads=args.threads,
        seed=args.seed,
    )
    adagrad.check()
    if args.shift < 1 or not 0 < args.cds <= 1:
        raise ValueError("--shift must be at least 1 and --cds in (0, 1]")
    corpus = corpus_from_args(args)
    out = output_path(args, "pmi")
    started = time.perf_counter()

    memory = budget(args.memory_mb * 2**20, window)
    with tempfile.TemporaryDirectory(prefix=".wordlens-pmi-") as scratch:
        with tqdm(desc="reading", unit=" docs", mininterval=1.0) as bar:
            encoded = encode_corpus(corpus, scratch, memory["chunk_tokens"], bar.update)
        vocabulary = build_vocabulary(encoded.counter(), args.min_count, args.max_vocab)
        if len(vocabulary) <= args.dim:
            raise ValueError(
                f"the vocabulary ({len(vocabulary)} words) must be larger than "
                f"--dim ({args.dim}); lower --dim or --min-count"
            )
        log.info(
            "vocabulary: %s words of %s (min_count %d)",
            f"{len(vocabulary):,}",
            f"{vocabulary.total_types:,}",
            args.min_count,
        )

        counted = time.perf_counter()
        with tqdm(
            total=encoded.documents, desc="co-occurrences", unit=" docs", mininterval=1.0
        ) as bar:
            cooccurrences = count_encoded(
                encoded,
                vocabulary.index,
                window,
                weighting,
                memory["dense_words"],
                memory["max_partial_pairs"],
                progress=bar.update,
            )
        count_seconds = time.perf_counter() - counted
    log.info(
        "co-occurrence matrix: %s non-zero cells in %.1f s", f"{cooccurrences.nnz:,}", count_seconds
    )

    training: dict = {
        "read_seconds": round(counted - started, 3),
        "count_seconds": round(count_seconds, 3),
        "pairs": cooccurrences.nnz,
    }
    solving = time.perf_counter()
    if args.solver == "eig" or args.init == "eig":
        vectors, eigenvalues = eigen_vectors(
            positive_pmi(cooccurrences, vocabulary.counts, args.shift, args.cds),
            args.dim,
            args.seed,
        )
        training["eig_seconds"] = round(time.perf_counter() - solving, 3)
        training["eigenvalues"] = [round(float(x), 4) for x in eigenvalues]
    if args.solver == "adagrad":
        with tqdm(total=args.epochs, desc="adagrad", unit=" epoch") as bar:

            def report(epoch: int, loss: float) -> None:
                bar.update()
                bar.set_postfix(loss=f"{loss:.4f}")
                log.info("adagrad epoch %d/%d: loss %.6f", epoch, args.epochs, loss)

            vectors, figures = train_adagrad(
                cooccurrences,
                vocabulary.counts,
                adagrad,
                initial=vectors if args.init == "eig" else None,
                progress=report,
            )
        training.update(figures)
    training["seconds"] = round(time.perf_counter() - started, 3)

    params = {
        "solver": args.solver,
        "dim": args.dim,
        "window": window,
        "weighting": weighting,
        "min_count": args.min_count,
        "max_vocab": args.max_vocab,
        "seed": args.seed,
    }
    if args.solver == "eig" or args.init == "eig":
        params.update(shift_k=args.shift, cds=args.cds)
    if args.solver == "adagrad":
        params.update(
            epochs=args.epochs,
            eta=args.eta,
            x_max=args.x_max,
            alpha=args.alpha,
            truncate=not args.untruncated,
            init=args.init,
            threads=args.threads,
        )
    print(
        f"co-occurrences: {cooccurrences.nnz:,} non-zero pairs (window {window}), "
        f"counted in {count_seconds:.1f} s"
    )
    path = write_model(
        out,
        kind="pmi",
        words=vocabulary.words,
        vectors=vectors,
        counts=vocabulary.counts,
        manifest={
            "tokenizer": corpus.tokenizer.spec,
            "corpus": corpus.describe(vocabulary.total_tokens, vocabulary.total_types),
            "params": params,
            "training": training,
            "output_layers": [],
        },
    )
    report_model(path, evaluate=not args.no_evaluate)
    return 0
