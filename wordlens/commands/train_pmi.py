"""Train PMI word vectors: one vector per word with ⟨v_i, v_j⟩ ≈ PMI(i, j).

Stages: corpus → token ids (tokenised once) → vocabulary → co-occurrence counts →
solver → model. Solvers:

- ``eig`` (default): closed form, the top eigenpairs of the positive, shifted PMI
  matrix (V = U·sqrt(Λ)); default window 8 with 1/distance weights, shift k = 5,
  no context smoothing.
- ``adagrad``: Su Jianlin's weighted least squares trained with AdaGrad, exactly as
  published (his settings: window 10, 30 epochs, x_max 100, weight exponent 0.75,
  η 0.1); ``--init eig`` starts it from the closed-form solution.

The defaults were chosen by measuring WordSim-353, SimLex-999 and the importance
property (function words get the shortest vectors) on the default corpus; see the
README's results. Training ends with those scores, stored in the manifest.
"""

from __future__ import annotations

import argparse

from wordlens.commands.options import (
    add_corpus_arguments,
    add_index_argument,
    add_phrase_arguments,
    add_training_arguments,
    build_index,
    corpus_from_args,
    output_path,
    phrase_params_from_args,
    positive_int,
)
from wordlens.corpus import DEFAULT_ENGLISH
from wordlens.training.pmi import (
    INITS,
    SOLVER_DEFAULTS,
    SOLVERS,
    WEIGHTINGS,
    PMIParams,
    train_pmi,
    train_pmi_counts,
)

DEFAULTS = PMIParams()


def _by_solver(name: str) -> str:
    """The solver-dependent default of a setting, for its help: "8 for eig, …"."""
    return ", ".join(f"{values[name]} for {solver}" for solver, values in SOLVER_DEFAULTS.items())


def configure(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(parser)
    add_training_arguments(
        parser, "pmi", dim=DEFAULTS.dim, min_count=DEFAULTS.min_count, seed=DEFAULTS.seed
    )
    parser.add_argument(
        "--solver",
        choices=SOLVERS,
        default=DEFAULTS.solver,
        help="closed form (eig) or Su's AdaGrad trainer (default: %(default)s)",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        default=None,
        help=f"co-occurrence window (default: {_by_solver('window')})",
    )
    parser.add_argument(
        "--weighting",
        choices=WEIGHTINGS,
        default=None,
        help="each neighbour counts 1/distance or 1 (constant) "
        f"(default: {_by_solver('weighting')})",
    )
    group = parser.add_argument_group("eig solver")
    group.add_argument(
        "--shift",
        type=float,
        default=DEFAULTS.shift,
        help="subtract log k from the PMI before keeping its positive part (%(default)s)",
    )
    group.add_argument(
        "--cds",
        type=float,
        default=DEFAULTS.cds,
        help="context-distribution smoothing exponent, e.g. 0.75 (default: %(default)s = none)",
    )
    group = parser.add_argument_group("adagrad solver")
    group.add_argument(
        "--epochs", type=positive_int, default=DEFAULTS.epochs, help="passes (%(default)s)"
    )
    group.add_argument(
        "--eta", type=float, default=DEFAULTS.eta, help="learning rate (%(default)s)"
    )
    group.add_argument(
        "--x-max", type=float, default=DEFAULTS.x_max, help="weight cap X_ij (%(default)s)"
    )
    group.add_argument(
        "--weight-exponent",
        type=float,
        default=DEFAULTS.weight_exponent,
        help="α in the weights min(X/x_max, 1)^α (%(default)s)",
    )
    group.add_argument(
        "--untruncated", action="store_true", help="weights (X/x_max)^α without the cap at 1"
    )
    group.add_argument(
        "--init",
        choices=INITS,
        default=DEFAULTS.init,
        help="start from U(-0.5, 0.5)/d (random) or the eig solution (default: %(default)s)",
    )
    group.add_argument(
        "--threads",
        type=positive_int,
        default=DEFAULTS.threads,
        help="training threads (default: all cores)",
    )
    parser.add_argument(
        "--memory-mb",
        type=positive_int,
        default=DEFAULTS.memory_mb,
        help="memory budget of counting and of the solver, MiB (%(default)s)",
    )
    parser.add_argument(
        "--counts",
        metavar="DIR",
        default=None,
        help="train from a counts folder (wordlens count) instead of reading a corpus; "
        "its window and weighting apply",
    )
    parser.add_argument(
        "--align-to",
        metavar="MODEL",
        default=None,
        help="rotate the new vectors onto this older model's (orthogonal Procrustes over "
        "the shared words) and report how far neighbours moved",
    )
    add_phrase_arguments(parser)
    add_index_argument(parser)


def run(args: argparse.Namespace) -> int:
    from wordlens.commands.evaluate import report_model

    counts = None
    window, weighting = args.window, args.weighting
    if args.counts is not None:
        from wordlens.training.counts import load_counts

        if args.corpus is not DEFAULT_ENGLISH:
            raise ValueError("give --counts or --corpus, not both")
        if args.phrases:
            raise ValueError(
                "--phrases applies when counting: use 'wordlens count --phrases', "
                "whose counts carry their phrase table to the model"
            )
        counts = load_counts(args.counts)
        window = counts.window if window is None else window
        weighting = counts.weighting if weighting is None else weighting
    params = PMIParams(
        solver=args.solver,
        dim=args.dim,
        window=window,
        weighting=weighting,
        min_count=args.min_count,
        max_vocab=args.max_vocab,
        shift=args.shift,
        cds=args.cds,
        epochs=args.epochs,
        eta=args.eta,
        x_max=args.x_max,
        weight_exponent=args.weight_exponent,
        truncate=not args.untruncated,
        init=args.init,
        threads=args.threads,
        seed=args.seed,
        memory_mb=args.memory_mb,
        dtype=args.dtype,
    )
    out = output_path(args, "pmi")
    if counts is None:
        path = train_pmi(
            corpus_from_args(args), params, out, args.align_to, phrase_params_from_args(args)
        )
    else:
        path = train_pmi_counts(counts, params, out, args.align_to)
    build_index(path, args.index)
    report_model(path, evaluate=not args.no_evaluate)
    return 0
