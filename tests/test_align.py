"""Aligning new vectors onto an old model: orthogonal Procrustes over the shared words,
and the report of how far words and neighbours moved."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from wordlens.app.engine import WordModel
from wordlens.artifacts import load_model, write_model
from wordlens.training import align
from wordlens.training.align import align_to_model, align_vectors, load_old_model, shared_rows


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that every blocked loop runs over many blocks."""
    monkeypatch.setattr(align, "_BLOCK_VALUES", 7 * 16)
    monkeypatch.setattr(align, "_SCORE_CELLS", 5 * 3000)


def model_vectors(rows: int, dim: int, seed: int) -> np.ndarray:
    """Vectors whose lengths vary as a PMI model's do (a factor of 10 between words)."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(0.2, 2.0, size=(rows, 1))
    vectors = rng.standard_normal((rows, dim))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True) * lengths


def rotated(vectors: np.ndarray, seed: int, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors · Q plus noise (relative to each row's length), float32; Q)."""
    rng = np.random.default_rng(seed)
    rotation = ortho_group.rvs(vectors.shape[1], random_state=seed)
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    jitter = noise * lengths * rng.standard_normal(vectors.shape) / np.sqrt(vectors.shape[1])
    return (vectors @ rotation + jitter).astype(np.float32), rotation


def unit(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def brute_force_neighbours(vectors: np.ndarray, probes: int, k: int) -> list[set[int]]:
    """Each of the first ``probes`` rows' k nearest rows by cosine, by a full sort."""
    cosines = unit(vectors[:probes]) @ unit(vectors).T
    cosines[np.arange(probes), np.arange(probes)] = -np.inf
    return [set(np.argsort(-row, kind="stable")[:k].tolist()) for row in cosines]


WORDS = [f"w{i}" for i in range(3000)]


def test_a_rotation_with_noise_is_undone_and_the_report_says_so():
    old = model_vectors(3000, 16, seed=1)
    new, _ = rotated(old, seed=2, noise=0.05)
    aligned, report = align_vectors(WORDS, new, WORDS, old.astype(np.float32))

    cosines = np.einsum("ij,ij->i", unit(aligned), unit(old))
    assert cosines.min() > 0.98 and cosines.mean() > 0.998
    before = np.einsum("ij,ij->i", unit(new), unit(old))
    assert report["shared_words"] == report["fit_words"] == 3000
    assert report["old_words"] == report["new_words"] == 3000
    assert report["fit"] == "cosine"
    assert report["neighbour_words"] == 1000 and report["neighbours"] == 10
    assert report["cosine"] == pytest.approx(cosines[:1000].mean(), abs=1e-6)
    assert report["cosine_all"] == pytest.approx(cosines.mean(), abs=1e-6)
    assert report["cosine_before"] == pytest.approx(before[:1000].mean(), abs=1e-6)
    assert report["cosine_all_before"] == pytest.approx(before.mean(), abs=1e-6)
    assert abs(report["cosine_before"]) < 0.1  # a random rotation scatters them
    # What is left is the noise: 5 % of each row's length.
    assert report["residual"] == pytest.approx(
        np.linalg.norm(aligned - old) / np.linalg.norm(old), abs=1e-6
    )
    assert 0.045 < report["residual"] < 0.055
    assert report["residual_before"] == pytest.approx(
        np.linalg.norm(new - old) / np.linalg.norm(old), abs=1e-6
    )
    old_neighbours = brute_force_neighbours(old, 1000, 10)
    new_neighbours = brute_force_neighbours(new, 1000, 10)
    overlap = np.mean(
        [len(a & b) / 10 for a, b in zip(old_neighbours, new_neighbours, strict=True)]
    )
    assert report["neighbour_overlap"] == pytest.approx(overlap, abs=1e-6)
    assert 0.5 < overlap < 1  # the noise moves some neighbours, not most


def test_the_rotation_is_scipys_procrustes_of_the_unit_or_raw_rows():
    old = model_vectors(500, 8, seed=3)
    new, _ = rotated(old, seed=4, noise=0.5)
    for fit, rows in (("cosine", unit), ("raw", np.asarray)):
        expected, _ = orthogonal_procrustes(rows(new), rows(old))
        aligned, report = align_vectors(WORDS[:500], new, WORDS[:500], old, fit=fit)
        assert report["fit"] == fit
        np.testing.assert_allclose(aligned, new @ expected, atol=1e-5)
    # The two weightings answer different questions, so they differ under noise.
    cosine_fit, _ = align_vectors(WORDS[:500], new, WORDS[:500], old, fit="cosine")
    raw_fit, _ = align_vectors(WORDS[:500], new, WORDS[:500], old, fit="raw")
    assert np.abs(cosine_fit - raw_fit).max() > 1e-3


def test_rotation_keeps_every_inner_product_and_length():
    old = model_vectors(400, 12, seed=5)
    new = model_vectors(400, 12, seed=6).astype(np.float32)  # unrelated: a large rotation
    new[[3, 77]] = 0  # PMI words with no positive cell
    output_layer = model_vectors(400, 12, seed=7).astype(np.float32)
    scores_before = new.astype(np.float64) @ output_layer.T.astype(np.float64)

    aligned, _ = align_vectors(WORDS[:400], new, WORDS[:400], old, layers=[output_layer])

    assert aligned.dtype == np.float32 and aligned.shape == new.shape
    assert np.abs(aligned - new).max() > 0.1  # it did rotate
    np.testing.assert_allclose(aligned @ aligned.T, new @ new.T, atol=1e-5)
    np.testing.assert_allclose(
        np.linalg.norm(aligned, axis=1), np.linalg.norm(new, axis=1), rtol=1e-6
    )
    assert not aligned[[3, 77]].any()  # zero vectors stay exactly zero
    # An output layer rotated with the vectors keeps ⟨v_w, u_c⟩.
    np.testing.assert_allclose(aligned @ output_layer.T, scores_before, atol=1e-5)


def test_partial_vocabulary_overlap_aligns_every_new_word():
    # One frame of meaning for 3 000 words; each model knows some of them, in its
    # own frequency order, and the new model's frame is rotated.
    truth = model_vectors(3000, 16, seed=8)
    rng = np.random.default_rng(9)
    old_ids = rng.permutation(2000)  # words 0–1999, in another order
    new_ids = np.concatenate([rng.permutation(np.arange(1000, 2000)), np.arange(2000, 3000)])
    rng.shuffle(new_ids)
    old_words = [WORDS[i] for i in old_ids]
    new_words = [WORDS[i] for i in new_ids]
    new, _ = rotated(truth[new_ids], seed=10, noise=0.01)

    rows, old_rows = shared_rows(new_words, old_words)
    assert len(rows) == 1000 and np.all(np.diff(rows) > 0)
    assert [new_words[i] for i in rows] == [old_words[i] for i in old_rows]

    aligned, report = align_vectors(new_words, new, old_words, truth[old_ids])
    assert (report["shared_words"], report["old_words"], report["new_words"]) == (1000, 2000, 2000)
    # Words the old model never saw land in its frame too.
    unseen = new_ids >= 2000
    cosines = np.einsum("ij,ij->i", unit(aligned[unseen]), unit(truth[new_ids[unseen]]))
    assert unseen.sum() == 1000 and cosines.min() > 0.99
    # Neighbours are searched among the shared words only.
    shared_truth = truth[new_ids[rows]]
    assert report["neighbour_overlap"] == pytest.approx(
        np.mean(
            [
                len(a & b) / 10
                for a, b in zip(
                    brute_force_neighbours(shared_truth, 1000, 10),
                    brute_force_neighbours(new[rows], 1000, 10),
                    strict=True,
                )
            ]
        ),
        abs=1e-6,
    )


def test_words_with_zero_vectors_take_no_part():
    old = model_vectors(300, 8, seed=11)
    new, _ = rotated(old, seed=12, noise=0.0)
    new[:5] = 0  # the most frequent words, as PMI's shift leaves them
    old[290:] = 0
    aligned, report = align_vectors(WORDS[:300], new, WORDS[:300], old, neighbour_words=50)
    assert report["shared_words"] == 300 and report["fit_words"] == 285
    assert report["neighbour_words"] == 50
    assert report["cosine"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(aligned[5:290], old[5:290], atol=1e-5)


def test_top_k_is_the_k_largest_of_each_row():
    rng = np.random.default_rng(13)
    for columns, k in ((7, 3), (500, 10), (40_000, 10), (40_000, 1)):
        scores = rng.standard_normal((6, columns)).astype(np.float32)
        scores[0, :] = 0.5  # all tied: any k of them
        scores[1, 0] = -np.inf
        top = align._top_k(scores, k)
        expected = -np.sort(-scores, axis=1)[:, :k]
        np.testing.assert_array_equal(np.take_along_axis(scores, top, axis=1), expected)
        assert all(len(set(row)) == k for row in top.tolist())


@pytest.mark.parametrize(
    ("old_dim", "shared", "message"),
    [
        (12, 300, "cannot align 16-dimensional vectors to a model of 12 dimensions"),
        (16, 15, "only 15 shared words .* fewer than the 16 dimensions"),
    ],
)
def test_refuses_other_dimensions_and_too_few_shared_words(old_dim, shared, message):
    new = model_vectors(300, 16, seed=14)
    old = model_vectors(300, old_dim, seed=15)
    old_words = WORDS[:shared] + [f"other{i}" for i in range(300 - shared)]
    with pytest.raises(ValueError, match=message):
        align_vectors(WORDS[:300], new, old_words, old)


def test_sixteen_shared_words_are_enough_for_sixteen_dimensions():
    old = model_vectors(300, 16, seed=16)
    new, _ = rotated(old, seed=17)
    old_words = WORDS[:16] + [f"other{i}" for i in range(284)]
    aligned, report = align_vectors(WORDS[:300], new, old_words, old)
    assert report["shared_words"] == 16
    np.testing.assert_allclose(aligned, old, atol=1e-5)  # even words the old model lacks


def test_zero_vectors_do_not_count_as_shared_evidence():
    old = model_vectors(300, 16, seed=18)
    new, _ = rotated(old, seed=19)
    new[10:20] = 0  # 290 shared words remain, but …
    old_words = WORDS[:20] + [f"other{i}" for i in range(280)]  # … only 10 with vectors
    with pytest.raises(ValueError, match="only 10 shared words with non-zero vectors"):
        align_vectors(WORDS[:300], new, old_words, old)


def test_refuses_bad_arguments():
    vectors = model_vectors(100, 4, seed=20)
    with pytest.raises(ValueError, match="fit must be one of cosine, raw, got 'unit'"):
        align_vectors(WORDS[:100], vectors, WORDS[:100], vectors, fit="unit")
    with pytest.raises(ValueError, match=r"the new vectors have shape \(100, 4\), expected \(99"):
        align_vectors(WORDS[:99], vectors, WORDS[:100], vectors)
    with pytest.raises(ValueError, match=r"a layer to rotate has shape \(100, 3\)"):
        align_vectors(WORDS[:100], vectors, WORDS[:100], vectors, layers=[vectors[:, :3]])
    with pytest.raises(ValueError, match="neighbour_words and neighbours must be at least 1"):
        align_vectors(WORDS[:100], vectors, WORDS[:100], vectors, neighbours=0)


def test_aligns_to_a_model_on_disk_of_any_kind(tmp_path):
    old = model_vectors(600, 16, seed=21)
    write_model(tmp_path / "old", kind="imported", words=WORDS[:600], vectors=old)
    new, _ = rotated(old[:500], seed=22, noise=0.01)

    aligned, report = align_to_model(WORDS[:500], new, tmp_path / "old")
    assert report["old_model"]["name"] == "old" and report["old_model"]["kind"] == "imported"
    assert report["old_model"]["created"] == load_model(tmp_path / "old").manifest["created"]
    assert report["shared_words"] == 500 and report["old_words"] == 600
    assert report["cosine_all"] > 0.999
    assert np.linalg.norm(aligned - old[:500]) / np.linalg.norm(old[:500]) < 0.011
    # Checked before training, so a wrong --align-to fails before the work.
    with pytest.raises(ValueError, match="cannot align 8-dimensional vectors"):
        load_old_model(tmp_path / "old", dim=8)


def test_an_aligned_pmi_model_answers_as_before(trained_models, tmp_path):
    pmi = load_model(trained_models / "pmi")
    aligned, report = align_to_model(pmi.words, pmi.vectors, trained_models / "word2vec")
    assert report["old_model"]["kind"] == "word2vec" and report["shared_words"] == len(pmi)
    assert report["cosine_all"] > report["cosine_all_before"] + 0.2
    write_model(
        tmp_path / "pmi",
        kind="pmi",
        words=pmi.words,
        vectors=aligned,
        counts=pmi.counts,
        manifest={key: pmi.manifest[key] for key in ("tokenizer", "corpus", "output_layers")},
    )
    before, after = WordModel(pmi), WordModel(load_model(tmp_path / "pmi"))
    assert np.abs(after.vectors - before.vectors).max() > 0.01
    for word in pmi.words[20:200:20]:
        for ask in (
            lambda model, word=word: model.most_similar([word]),
            lambda model, word=word: model.related(word)[0],
        ):
            old_answer, new_answer = ask(before), ask(after)
            assert [w for w, _ in new_answer] == [w for w, _ in old_answer]
            np.testing.assert_allclose(
                [s for _, s in new_answer], [s for _, s in old_answer], atol=1e-5
            )
        assert after.correlation_similarity(word, pmi.words[0]) == pytest.approx(
            before.correlation_similarity(word, pmi.words[0]), abs=1e-5
        )


def test_an_aligned_word2vec_model_with_its_rotated_output_layer_answers_as_before(
    trained_models, tmp_path
):
    word2vec = load_model(trained_models / "word2vec")
    layer_names = [name for name in ("syn1", "syn1neg") if name in word2vec.arrays]
    layers = {name: np.array(word2vec.arrays[name]) for name in layer_names}
    assert layers  # the output layer whose scores ⟨v_w, θ_n⟩ must survive
    aligned, _ = align_to_model(
        word2vec.words, word2vec.vectors, trained_models / "pmi", layers=list(layers.values())
    )
    kept = {
        name: np.asarray(array)
        for name, array in word2vec.arrays.items()
        if name not in {"vectors", "norms", "counts"}
    }
    write_model(
        tmp_path / "word2vec",
        kind="word2vec",
        words=word2vec.words,
        vectors=aligned,
        counts=word2vec.counts,
        arrays={**kept, **layers},
        manifest={key: word2vec.manifest[key] for key in ("tokenizer", "corpus", "output_layers")},
    )
    before, after = WordModel(word2vec), WordModel(load_model(tmp_path / "word2vec"))
    assert np.abs(after.vectors - before.vectors).max() > 0.01
    for word in word2vec.words[20:200:20]:
        old_answer, new_answer = before.related(word)[0], after.related(word)[0]
        assert [w for w, _ in new_answer] == [w for w, _ in old_answer]
        np.testing.assert_allclose(
            [s for _, s in new_answer], [s for _, s in old_answer], atol=1e-5
        )
