"""The PMI model: its settings, targets, Su's AdaGrad trainer, the closed form, the
library call and the command."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import ROOT, train

from wordlens.app.keywords import default_stopwords
from wordlens.artifacts import load_model
from wordlens.cli import main
from wordlens.corpus import Corpus, get_tokenizer
from wordlens.training.pmi import PMIParams, train_pmi
from wordlens.training.pmi_adagrad import pmi_records, train_adagrad

X = sp.csr_matrix(
    np.array([[0, 50, 200, 1], [50, 0, 10, 0], [200, 10, 0, 4], [1, 0, 4, 0]], dtype=float)
)
COUNTS = np.array([400, 100, 300, 20])
# Su's published trainer settings, which the hand computations below use
SU = {"eta": 0.1, "x_max": 100.0, "weight_exponent": 0.75, "truncate": True}


def test_solver_defaults_are_resolved_in_the_settings():
    eig, adagrad = PMIParams(), PMIParams(solver="adagrad")
    assert (eig.window, eig.weighting) == (8, "distance")
    assert (adagrad.window, adagrad.weighting) == (10, "constant")
    assert PMIParams(solver="adagrad", window=5).weighting == "constant"
    assert PMIParams(weighting="constant").window == 8
    assert (eig.shift, eig.cds, eig.min_count, eig.dim) == (5.0, 1.0, 5, 128)
    assert (adagrad.epochs, adagrad.eta, adagrad.x_max) == (30, 0.1, 100.0)
    assert (adagrad.weight_exponent, adagrad.truncate, adagrad.init) == (0.75, True, "random")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"solver": "svd"}, "solver must be eig or adagrad, got 'svd'"),
        ({"weighting": "gaussian"}, "weighting must be distance or constant"),
        ({"init": "zeros"}, "init must be random or eig"),
        ({"dim": 0}, "dim must be at least 1, got 0"),
        ({"window": 0}, "window must be at least 1"),
        ({"max_vocab": 0}, "max_vocab must be at least 1"),
        ({"memory_mb": 0}, "memory_mb must be at least 1"),
        ({"shift": 0.5}, r"shift must be at least 1 \(1 = no shift\), got 0.5"),
        ({"cds": 0}, r"cds must be in \(0, 1\]"),
        ({"cds": 1.5}, r"cds must be in \(0, 1\]"),
        ({"eta": -1}, "eta must be positive, got -1"),
        ({"x_max": 0}, "x_max must be positive"),
        ({"weight_exponent": -0.5}, "weight_exponent must be 0 or more"),
        ({"dtype": "float64"}, "dtype must be one of float32, float16"),
    ],
)
def test_settings_are_checked_on_construction(settings, message):
    with pytest.raises(ValueError, match=message):
        PMIParams(**settings)


def test_manifest_params_name_the_solvers_that_ran():
    common = {"solver", "dim", "window", "weighting", "min_count", "max_vocab", "seed"}
    eig = {"shift_k", "cds"}
    adagrad = {"epochs", "eta", "x_max", "weight_exponent", "truncate", "init", "threads"}
    assert PMIParams().manifest_params().keys() == common | eig
    assert PMIParams(solver="adagrad").manifest_params().keys() == common | adagrad
    both = PMIParams(solver="adagrad", init="eig", shift=3, weight_exponent=0.5, threads=3)
    params = both.manifest_params()
    assert params.keys() == common | eig | adagrad
    assert params["shift_k"] == 3 and params["weight_exponent"] == 0.5 and params["threads"] == 3
    assert params["window"] == 10 and params["weighting"] == "constant"


def test_target_and_weight_formulas():
    rows, cols, targets, weights = pmi_records(X, COUNTS, 100.0, 0.75, truncate=True)
    assert len(rows) == 10  # both directions of the 5 observed pairs, no diagonal
    z, n = X.sum(), COUNTS.sum()
    for i, j, t, w in zip(rows, cols, targets, weights, strict=True):
        x = X[i, j]
        expected = np.log(x) - np.log(z) - np.log(COUNTS[i]) - np.log(COUNTS[j]) + 2 * np.log(n)
        assert t == pytest.approx(expected, rel=1e-5)
        assert w == pytest.approx(min(x / 100, 1) ** 0.75, rel=1e-6)
    untruncated = pmi_records(X, COUNTS, 100.0, 0.75, truncate=False)[3]
    assert untruncated.max() == pytest.approx((200 / 100) ** 0.75, rel=1e-6)


def test_one_adagrad_step_by_hand():
    single = sp.csr_matrix(([30.0], ([0], [1])), shape=(2, 2))
    counts = np.array([60, 90])
    start = np.array([[0.1, -0.2, 0.3], [0.2, 0.1, -0.1]], dtype=np.float32)
    vectors, figures = train_adagrad(
        single, counts, dim=3, epochs=1, threads=1, seed=1, initial=start, **SU
    )
    target = np.log(30) - np.log(30) - np.log(60) - np.log(90) + 2 * np.log(150)
    weight = (30 / 100) ** 0.75
    v_i, v_j = start[0].astype(np.float64), start[1].astype(np.float64)
    scaled = weight * (v_i @ v_j - target)
    g_i, g_j = scaled * v_j, scaled * v_i
    new_i = v_i - 0.1 * g_i / np.sqrt(1 + g_i**2 + 1e-8)
    new_j = v_j - 0.1 * g_j / np.sqrt(1 + g_j**2 + 1e-8)
    np.testing.assert_allclose(vectors[0], new_i, rtol=1e-5)
    np.testing.assert_allclose(vectors[1], new_j, rtol=1e-5)
    assert figures["records"] == 1 and figures["loss_per_epoch"][0] == pytest.approx(
        weight * (v_i @ v_j - target) ** 2, rel=1e-5
    )


def test_non_finite_updates_are_skipped():
    # v_0 · v_1 overflows float32, so the update of that pair is not finite and is
    # skipped (the vectors stay as they were); the pair (2, 3) trains normally.
    pairs = sp.csr_matrix(
        np.array([[0, 30, 0, 0], [30, 0, 0, 0], [0, 0, 0, 5], [0, 0, 5, 0]], dtype=float)
    )
    start = np.array([[3e19, 3e19], [3e19, 3e19], [0.1, 0.2], [0.3, -0.1]], dtype=np.float32)
    for threads in (1, 2):
        vectors, figures = train_adagrad(
            pairs,
            np.array([60, 90, 10, 20]),
            dim=2,
            epochs=2,
            threads=threads,
            seed=1,
            initial=start,
            **SU,
        )
        assert figures["skipped_updates"] == 4  # (0, 1) and (1, 0), in both epochs
        assert np.isfinite(vectors).all()
        np.testing.assert_array_equal(vectors[:2], start[:2])
        assert not np.array_equal(vectors[2:], start[2:])


@pytest.fixture(scope="module")
def tiny_counts(tiny_corpus):
    from wordlens.corpus import Corpus, get_tokenizer
    from wordlens.training.cooccur import count_cooccurrences
    from wordlens.training.vocab import build_vocabulary, count_words

    documents = list(Corpus(tiny_corpus, get_tokenizer("english")))
    vocabulary = build_vocabulary(count_words(documents), min_count=3)
    return vocabulary, count_cooccurrences(documents, vocabulary.index, 5, "constant")


def test_determinism_with_one_thread_and_loss_decreasing(tiny_counts):
    vocabulary, matrix = tiny_counts
    settings = {"dim": 16, "epochs": 6, "threads": 1, **SU}
    first, figures = train_adagrad(matrix, vocabulary.counts, seed=3, **settings)
    second, _ = train_adagrad(matrix, vocabulary.counts, seed=3, **settings)
    np.testing.assert_array_equal(first, second)
    losses = figures["loss_per_epoch"]
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    other, _ = train_adagrad(matrix, vocabulary.counts, seed=4, **settings)
    assert not np.array_equal(first, other)
    assert figures["skipped_updates"] == 0 and np.isfinite(first).all()


def test_function_words_get_the_smallest_norms(trained_models):
    """Su's "norm = importance": with the shift, the shortest vectors among the
    frequent words are function words."""
    model = load_model(trained_models / "pmi")
    frequent = np.asarray(model.norms[:300])
    shortest = [model.words[i] for i in np.argsort(frequent)[:15]]
    function_words = default_stopwords("english")
    assert sum(word in function_words for word in shortest) >= 12, shortest
    for word in ("the", "of", "and"):
        assert frequent[model.words.index(word)] < np.median(frequent)


def test_library_call_on_a_tiny_corpus(tiny_corpus, tmp_path):
    corpus = Corpus(tiny_corpus, get_tokenizer("english"))
    params = PMIParams(dim=8, min_count=10, memory_mb=4)
    path = train_pmi(corpus, params, tmp_path / "pmi")
    model = load_model(path)
    manifest = model.manifest
    assert path == tmp_path / "pmi" and model.kind == "pmi" and model.dim == 8
    assert manifest["params"] == params.manifest_params()
    documents = list(corpus)
    whole = corpus.describe(sum(map(len, documents)), len(set().union(*documents)))
    totals = ("documents", "tokens", "types", "files", "skipped_lines")
    assert {name: manifest["corpus"][name] for name in totals} == {n: whole[n] for n in totals}
    sources = manifest["corpus"]["sources"]
    assert [source["path"] for source in sources] == [str(tiny_corpus)] * len(sources)
    assert manifest["corpus"]["documents"] == 4000 and model.counts.min() >= 10
    assert len(manifest["training"]["eigenvalues"]) == 8 and manifest["training"]["ppmi_cells"] > 0
    assert "evaluation" not in manifest  # scoring is the command's report, not training
    with pytest.raises(ValueError, match=r"vocabulary \(\d+ words of [\d,]+ .*\) must be larger"):
        train_pmi(corpus, PMIParams(dim=100_000), tmp_path / "too-wide")
    assert not (tmp_path / "too-wide").exists()


def test_a_killed_training_leaves_no_scratch_behind(tiny_corpus, tmp_path):
    """``train pmi`` killed by SIGKILL while its token scratch is in use (no clean-up
    runs): the next run of the same model removes that scratch, wherever it was."""
    temporary, models = tmp_path / "tmp", tmp_path / "models"
    temporary.mkdir()
    options = ("--dim", "8", "--min-count", "10", "--no-evaluate")
    command = [sys.executable, "-m", "wordlens", "-q", "train", "pmi", "--corpus"]
    process = subprocess.Popen(
        [*command, str(tiny_corpus), "--out", str(models / "pmi"), *options],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temporary)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(tmp_path.rglob("ids.bin")):  # the token ids, 4 bytes a token
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert any(tmp_path.rglob("ids.bin"))  # left behind by the killed run
    train("pmi", tiny_corpus, models / "pmi", *options)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_dir())
    assert left == ["models", "models/pmi", "tmp"]


def test_command_writes_a_complete_model(trained_models):
    model = load_model(trained_models / "pmi")
    manifest = model.manifest
    assert manifest["kind"] == "pmi" and manifest["dim"] == 24
    # the command maps its options onto PMIParams, defaults included
    assert manifest["params"] == PMIParams(dim=24, min_count=3).manifest_params()
    assert manifest["params"]["solver"] == "eig" and manifest["params"]["window"] == 8
    assert manifest["params"]["weighting"] == "distance"
    assert manifest["params"]["shift_k"] == 5.0 and manifest["training"]["ppmi_cells"] > 0
    assert model.counts[0] == max(model.counts)


def test_adagrad_command_with_eig_start(tiny_corpus, tmp_path):
    path = train(
        "pmi",
        tiny_corpus,
        tmp_path / "ada",
        "--solver",
        "adagrad",
        "--init",
        "eig",
        "--dim",
        "8",
        "--epochs",
        "2",
        "--min-count",
        "10",
        "--threads",
        "1",
        "--weight-exponent",
        "0.5",
        "--untruncated",
        "--dtype",
        "float16",
    )
    assert load_model(path).vectors.dtype == np.float16
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["params"] == (
        PMIParams(
            solver="adagrad",
            init="eig",
            dim=8,
            epochs=2,
            min_count=10,
            threads=1,
            weight_exponent=0.5,
            truncate=False,
        ).manifest_params()
    )
    assert manifest["params"]["init"] == "eig" and manifest["params"]["window"] == 10
    assert len(manifest["training"]["loss_per_epoch"]) == 2
    assert manifest["training"]["records_per_second_per_thread"] > 0
    assert manifest["evaluation"]["wordsim353"]["pairs"] > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--shift", "0.5"], "shift must be at least 1"),
        (["--cds", "0"], "cds must be in (0, 1]"),
        (["--dim", "100000"], "must be larger than dim"),
        (["--eta", "-1"], "eta must be positive"),
        (["--weight-exponent", "-1"], "weight_exponent must be 0 or more"),
    ],
)
def test_bad_options_are_rejected(tiny_corpus, tmp_path, capsys, options, message):
    out = tmp_path / "m"
    assert main(["train", "pmi", "--corpus", str(tiny_corpus), "--out", str(out), *options]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
