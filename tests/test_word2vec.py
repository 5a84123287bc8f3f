"""Word2Vec training and its output layer, against gensim's own model."""

import numpy as np
import pytest
from gensim.models import Word2Vec

from wordlens.app.engine import WordModel
from wordlens.app.output_layer import HuffmanTree
from wordlens.artifacts import load_model
from wordlens.corpus import Corpus, get_tokenizer
from wordlens.training.word2vec import (
    Word2VecParams,
    fit_word2vec,
    output_layer_arrays,
    train_word2vec,
)


@pytest.fixture(scope="module")
def documents(tiny_corpus):
    return list(Corpus(tiny_corpus, get_tokenizer("english")))


@pytest.fixture(scope="module")
def gensim_model(documents, tmp_path_factory):
    params = Word2VecParams(
        vector_size=16,
        min_count=3,
        epochs=2,
        workers=1,
        negative=3,
        learning_rate=0.03,
        min_learning_rate=0.0005,
    )
    model, counter, figures, _ = fit_word2vec(
        documents, params, scratch_dir=tmp_path_factory.mktemp("w2v")
    )
    assert figures["documents"] == sum(1 for d in documents if d)
    return model


def test_learning_rates_reach_gensim(gensim_model):
    assert gensim_model.alpha == 0.03 and gensim_model.min_alpha == 0.0005


def plain_log_prob(model: Word2Vec, output: str, input: str) -> float:
    """log p(output | input) straight from gensim's objects, one node at a time."""
    vector = model.wv[input]
    total = 0.0
    for node, code in zip(
        model.wv.get_vecattr(output, "point"), model.wv.get_vecattr(output, "code"), strict=True
    ):
        dot = float(np.dot(vector, model.syn1[node]))
        total -= np.logaddexp(0.0, -(1 - 2 * int(code)) * dot)
    return total


def log_prob_matrix(tree: HuffmanTree, vectors: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log p(targets[j] | w_i), (n, m), from the pairwise ``log_prob``."""
    n, m = len(vectors), len(targets)
    return tree.log_prob(np.repeat(vectors, m, axis=0), np.tile(targets, n)).reshape(n, m)


def test_stored_layout_reproduces_gensim_probabilities(gensim_model):
    layers, arrays = output_layer_arrays(gensim_model)
    assert layers == ["hs", "ns"]
    assert arrays["syn1"].shape == gensim_model.wv.vectors.shape
    paths = HuffmanTree(arrays)
    rng = np.random.default_rng(0)
    words = gensim_model.wv.index_to_key
    inputs = rng.integers(0, len(words), 40)
    targets = rng.integers(0, len(words), 60)
    ours = log_prob_matrix(paths, gensim_model.wv.vectors[inputs], targets)
    for i, a in enumerate(inputs[:10]):
        for j, b in enumerate(targets):
            assert ours[i, j] == pytest.approx(
                plain_log_prob(gensim_model, words[b], words[a]), rel=1e-5, abs=1e-5
            )
    all_targets = paths.log_prob_all(gensim_model.wv.vectors[inputs[0]])
    np.testing.assert_allclose(all_targets[targets], ours[0], rtol=1e-5, atol=1e-5)
    weights = rng.integers(1, 4, len(targets))
    np.testing.assert_allclose(
        paths.log_prob_sum(gensim_model.wv.vectors[inputs], targets, weights),
        ours @ weights,
        rtol=1e-5,
    )


def test_log_prob_sum_over_many_texts_and_threads(gensim_model):
    """Texts scored from several threads at once get the answers they get alone."""
    from concurrent.futures import ThreadPoolExecutor

    paths = HuffmanTree(output_layer_arrays(gensim_model)[1])
    vectors = gensim_model.wv.vectors
    rng = np.random.default_rng(1)
    texts = [
        (rng.integers(0, len(vectors), rng.integers(1, 30)), rng.integers(1, 4, 30).astype(float))
        for _ in range(200)
    ]
    expected = [log_prob_matrix(paths, vectors[:8], t) @ w[: len(t)] for t, w in texts]

    def score(text):
        targets, weights = text
        return paths.log_prob_sum(vectors[:8], targets, weights[: len(targets)])

    with ThreadPoolExecutor(4) as pool:
        for ours, reference in zip(pool.map(score, texts), expected, strict=True):
            np.testing.assert_allclose(ours, reference, rtol=1e-5)
    for text, reference in zip(texts, expected, strict=True):  # in this thread, one by one
        np.testing.assert_allclose(score(text), reference, rtol=1e-5)


def test_probabilities_sum_to_one(gensim_model):
    paths = HuffmanTree(output_layer_arrays(gensim_model)[1])
    for row in (0, 7, 123, len(gensim_model.wv) - 1):
        total = np.exp(paths.log_prob_all(gensim_model.wv.vectors[row])).sum()
        assert total == pytest.approx(1.0, abs=1e-5)


def test_agrees_with_gensims_sentence_score(gensim_model):
    """gensim's score() sums log p over a sentence's pairs with a lookup table that
    skips |x| >= 6; on pairs whose dots stay below that, it matches ours."""
    paths = HuffmanTree(output_layer_arrays(gensim_model)[1])
    wv = gensim_model.wv
    checked = 0
    for a, b in [
        (wv.index_to_key[i], wv.index_to_key[j])
        for i, j in np.random.default_rng(1).integers(0, 300, (80, 2))
        if i != j
    ]:
        nodes = np.concatenate([wv.get_vecattr(a, "point"), wv.get_vecattr(b, "point")])
        if np.abs(gensim_model.syn1[nodes] @ np.stack([wv[a], wv[b]]).T).max() > 5.5:
            continue
        rows = np.array([wv.key_to_index[a], wv.key_to_index[b]])
        ours = paths.log_prob(wv.vectors[rows], rows[::-1]).sum()  # p(b|a) and p(a|b)
        theirs = gensim_model.score([[a, b]], total_sentences=1)[0]
        assert ours == pytest.approx(theirs, abs=0.02 * len(nodes))
        checked += 1
    assert checked >= 10


def test_trained_model_end_to_end(trained_models):
    model = load_model(trained_models / "word2vec")
    manifest = model.manifest
    assert manifest["kind"] == "word2vec" and manifest["output_layers"] == ["hs"]
    assert manifest["params"]["vector_size"] == 24 and manifest["params"]["hs"] == 1
    assert manifest["tokenizer"] == {"name": "english"}
    assert manifest["corpus"]["documents"] == 4000
    assert manifest["training"]["words_per_second"] > 0
    assert {"syn1", "hs_points", "hs_codes", "hs_lengths"} <= set(model.arrays)
    assert model.counts[0] >= model.counts[-1] >= 3
    words = WordModel(model)
    related, method = words.related("the", topn=5)
    assert method == "hs" and len(related) == 5


def test_library_call_writes_the_model(tiny_corpus, tmp_path):
    params = Word2VecParams(
        vector_size=8,
        min_count=20,
        epochs=1,
        workers=1,
        learning_rate=0.05,
        min_learning_rate=0.001,
    )
    path = train_word2vec(Corpus(tiny_corpus, get_tokenizer("english")), params, tmp_path / "w2v")
    model = load_model(path)
    assert path == tmp_path / "w2v" and model.dim == 8 and model.counts.min() >= 20
    assert model.manifest["params"] == {"sg": 1, **vars(params)}
    assert model.manifest["params"]["learning_rate"] == 0.05
    assert model.manifest["params"]["min_learning_rate"] == 0.001
    assert model.manifest["corpus"]["documents"] == 4000
    assert model.manifest["output_layers"] == ["hs"] and "syn1" in model.arrays


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hs": 0}, "no output layer"),
        ({"learning_rate": 0}, "need 0 < learning_rate <= 1"),
        ({"min_learning_rate": 0.1}, "min_learning_rate <= learning_rate"),
        ({"window": 0}, "window must be at least 1"),
        ({"sample": -1}, "sample must be 0 or more"),
        ({"dtype": "float64"}, "dtype must be one of float32, float16"),
    ],
)
def test_params_are_checked_on_construction(settings, message):
    with pytest.raises(ValueError, match=message):
        Word2VecParams(**settings)


def test_negative_sampling_only(tiny_corpus, tmp_path):
    from conftest import NEGATIVE_SAMPLING, train

    path = train("word2vec", tiny_corpus, tmp_path / "ns", *NEGATIVE_SAMPLING, "--dtype", "float16")
    model = WordModel(load_model(path))
    assert model.vectors.dtype == np.float16 and model.arrays["syn1neg"].dtype == np.float32
    assert model.output_layers == ["ns"] and "syn1neg" in model.arrays
    assert model.related("the", topn=3)[1] == "ns"
    assert model.keywords("the senate passed the law").method == "ns"


def test_bad_options_are_rejected(tiny_corpus, tmp_path, capsys):
    from wordlens.cli import main

    command = ["train", "word2vec", "--corpus", str(tiny_corpus), "--out", str(tmp_path / "m")]
    for options, message in [
        (["--no-hs"], "no output layer"),
        (["--min-count", "100000"], "no word occurs 100000+ times"),
        (
            ["--learning-rate", "0.01", "--min-learning-rate", "0.02"],
            "min_learning_rate <= learning_rate",
        ),
    ]:
        assert main([*command, *options]) == 1
        assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(("inner_nodes", "steps_kept"), [(2, 0), (1000, 0), (1000, 1024)])
def test_path_weights_add_up_per_inner_node(monkeypatch, inner_nodes, steps_kept):
    """Every way of gathering the nodes of a text's paths (each step kept, a sort, one
    count per inner node) gives, node by node, the weight through it and the weight
    turning there with code 1."""
    from wordlens.app import output_layer

    monkeypatch.setattr(output_layer, "_STEPS_KEPT", steps_kept)
    syn1 = np.arange(2 * (inner_nodes + 1), dtype=np.float32).reshape(-1, 2)
    points = np.full((3, 2), inner_nodes + 1, dtype=np.int64)  # padding: syn1's rows
    points[:2] = [[0, 1], [0, 2 % inner_nodes]]
    tree = HuffmanTree(
        {
            "syn1": syn1,
            "hs_points": points,
            "hs_codes": np.array([[0, 1], [1, 0], [0, 0]], dtype=np.int8),
            "hs_lengths": np.array([2, 2, 0], dtype=np.int32),
        }
    )
    rows, half, linear = tree.path_weights(np.array([0, 1]), np.array([1.0, 2.0]))
    # node 0 carries both paths (3.0, turned by the second: 2.0); node 1 the first
    # (1.0, turned there); with 2 inner nodes the second path also ends at node 0.
    expected = {0: [3.0, 2.0], 1: [1.0, 1.0], 2: [2.0, 0.0]}
    if inner_nodes == 2:
        expected = {0: [5.0, 2.0], 1: [1.0, 1.0]}
    found: dict[int, list[float]] = {}
    for row, h, rest in zip(rows, half, linear, strict=True):
        through, turned = found.setdefault(int(row[0]) // 2, [0.0, 0.0])
        found[int(row[0]) // 2] = [through + 2 * h, turned + h - rest]
    assert found == expected
    assert len(rows) == (4 if steps_kept else len(expected))
