"""The closed form at scale: the positive PMI matrix built from streamed row blocks of
the counts, and its eigenvectors by block Lanczos (against numpy's dense eigh and
ARPACK)."""

import numpy as np
import pytest
import scipy.sparse as sp

from wordlens.training.block_lanczos import sparse_times_block, top_eigenpairs
from wordlens.training.pmi_eig import MemoryBudgetError, eigen_vectors, positive_pmi

SCALE = 840  # lcm(1..8): the ticks of distance weighting with window 8


def row_blocks(upper: sp.csr_matrix, max_cells: int):
    """What ``Counts.row_blocks(max_cells)`` yields, from an upper-triangular CSR of
    ticks in memory: (start, end, rows start…end − 1), about ``max_cells`` cells each
    (a longer row alone)."""

    def blocks():
        start, size = 0, upper.shape[0]
        while start < size:
            end = int(np.searchsorted(upper.indptr, upper.indptr[start] + max_cells, "right")) - 1
            end = min(max(end, start + 1), size)
            yield start, end, upper[start:end]
            start = end

    return blocks


@pytest.fixture(scope="module")
def tiny_ticks(tiny_corpus):
    """The tiny corpus counted as the counts stage does (every token in its window,
    window 8, 1/distance): (upper-triangular ticks (V, V) int64 CSR, word counts
    int64 (V,), words kept with min_count 3)."""
    from wordlens.corpus import Corpus, get_tokenizer
    from wordlens.training.cooccur import count_cooccurrences
    from wordlens.training.vocab import build_vocabulary, count_words

    documents = list(Corpus(tiny_corpus, get_tokenizer("english")))
    vocabulary = build_vocabulary(count_words(documents), min_count=1)
    cooccurrences = count_cooccurrences(documents, vocabulary.index, 8, "distance")
    upper = sp.triu(cooccurrences, k=1).tocsr()
    ticks = np.rint(upper.data * SCALE).astype(np.int64)
    upper = sp.csr_matrix((ticks, upper.indices, upper.indptr), shape=upper.shape)
    return upper, vocabulary.counts, int((vocabulary.counts >= 3).sum())


def dense_positive_pmi(upper_ticks, counts, kept, shift, cds):
    """The documented formula computed directly, densely, in float64."""
    ticks = upper_ticks.toarray()[:kept, :kept].astype(np.float64)
    x = (ticks + ticks.T) / SCALE
    n = counts[:kept].astype(np.float64)
    smoothed = n**cds
    with np.errstate(divide="ignore"):
        pmi = (
            np.log(x)
            - np.log(x.sum())
            - np.log(n / n.sum())[:, None]
            - np.log(smoothed / smoothed.sum())[None, :]
            - np.log(shift)
        )
    positive = np.maximum(pmi, 0.0)
    return (positive + positive.T) / 2


@pytest.mark.parametrize(("shift", "cds"), [(1.0, 1.0), (5.0, 1.0), (1.0, 0.75), (5.0, 0.75)])
def test_positive_pmi_from_blocks_is_the_dense_formula(tiny_ticks, shift, cds):
    upper, counts, kept = tiny_ticks
    assert kept < upper.shape[0]  # columns and rows of rarer words are left out
    matrix = positive_pmi(row_blocks(upper, 20_000), counts, kept, SCALE, shift, cds, 2**30)
    expected = dense_positive_pmi(upper, counts, kept, shift, cds)
    assert matrix.shape == (kept, kept) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix.toarray(), expected, rtol=1e-6, atol=1e-6)
    assert matrix.nnz == np.count_nonzero(expected)  # cells ≤ 0 are never stored
    assert (matrix.data > 0).all()
    check = matrix.copy()
    check.has_sorted_indices = False
    check.sort_indices()
    np.testing.assert_array_equal(check.indices, matrix.indices)  # filled in order
    # one block or many, the same matrix
    whole = positive_pmi(row_blocks(upper, 10**9), counts, kept, SCALE, shift, cds, 2**30)
    assert (whole != matrix).nnz == 0


def test_hand_computed_cells():
    x = np.array([[0, 50, 200, 1], [50, 0, 10, 0], [200, 10, 0, 4], [1, 0, 4, 0]], dtype=float)
    counts = np.array([400, 100, 300, 20])
    upper = sp.csr_matrix(np.triu(x * 2).astype(np.int64))  # scale 2
    matrix = positive_pmi(row_blocks(upper, 2), counts, 4, 2, 1.0, 1.0, 2**20).toarray()
    z, n = x.sum(), counts.sum()

    def pmi(i, j):
        return np.log(x[i, j] / z) - np.log(counts[i] / n) - np.log(counts[j] / n)

    for i, j in [(0, 1), (0, 2), (1, 2), (2, 3), (0, 3)]:
        assert matrix[i, j] == pytest.approx(max(pmi(i, j), 0.0), rel=1e-6)
        assert matrix[j, i] == matrix[i, j]
    assert matrix[1, 3] == 0.0 and np.all(np.diag(matrix) == 0)
    shifted = positive_pmi(row_blocks(upper, 2), counts, 4, 2, 5.0, 1.0, 2**20).toarray()
    assert shifted[0, 1] == pytest.approx(max(pmi(0, 1) - np.log(5), 0.0), rel=1e-6)
    # the kept words' X, Z and N only: word 3 left out changes every cell
    three = positive_pmi(row_blocks(upper, 2), counts, 3, 2, 1.0, 1.0, 2**20).toarray()
    z3, n3 = x[:3, :3].sum(), counts[:3].sum()
    expected = np.log(x[0, 2] / z3) - np.log(counts[0] / n3) - np.log(counts[2] / n3)
    assert three.shape == (3, 3) and three[0, 2] == pytest.approx(expected, rel=1e-6)


def test_blocks_are_checked():
    upper = sp.csr_matrix(np.triu(np.full((4, 4), 3), k=1).astype(np.int64))
    counts = np.array([9, 8, 7, 6])

    def build(blocks):
        return positive_pmi(lambda: iter(blocks), counts, 4, 1, 1.0, 1.0, 2**20)

    lower = sp.csr_matrix(np.tril(np.full((4, 4), 3)).astype(np.int64))
    with pytest.raises(ValueError, match=r"not upper triangle cells \(column > row\)"):
        build([(0, 4, lower)])
    with pytest.raises(ValueError, match="expected a block from row 2, got rows 3–4"):
        build([(0, 2, upper[:2]), (3, 4, upper[3:])])
    with pytest.raises(ValueError, match="ended at row 2, before the 4 kept words"):
        build([(0, 2, upper[:2])])
    build([(0, 2, upper[:2]), (2, 4, upper[2:])])


def test_a_matrix_over_the_budget_is_refused(tiny_ticks):
    upper, counts, kept = tiny_ticks
    blocks = row_blocks(upper, 20_000)
    matrix = positive_pmi(blocks, counts, kept, SCALE, 5.0, 1.0, 2**30)
    needed = (kept + 1) * 4 + matrix.nnz * 8
    assert positive_pmi(blocks, counts, kept, SCALE, 5.0, 1.0, needed).nnz == matrix.nnz
    with pytest.raises(MemoryBudgetError, match=r"needs [\d.]+ MiB, more than the memory budget"):
        positive_pmi(blocks, counts, kept, SCALE, 5.0, 1.0, needed - 1)


@pytest.fixture(scope="module")
def tiny_pmi(tiny_ticks):
    upper, counts, kept = tiny_ticks
    return positive_pmi(row_blocks(upper, 20_000), counts, kept, SCALE, 1.0, 1.0, 2**30)


def test_block_product_is_the_sparse_product(tiny_pmi):
    block = np.random.default_rng(0).standard_normal((tiny_pmi.shape[0], 7)).astype(np.float32)
    expected = tiny_pmi.astype(np.float64) @ block.astype(np.float64)
    np.testing.assert_allclose(sparse_times_block(tiny_pmi, block), expected, rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def small_pmi(tiny_pmi):
    """The 800 most frequent words' block: small enough for a quick dense eigh."""
    return tiny_pmi[:800, :800].tocsr()


def test_lanczos_agrees_with_dense_eigh(small_pmi):
    exact_values, exact_vectors = np.linalg.eigh(small_pmi.toarray().astype(np.float64))
    exact_values, exact_vectors = exact_values[::-1][:20], exact_vectors[:, ::-1][:, :20]
    result = top_eigenpairs(small_pmi, 20, seed=1, block=8, basis_columns=60, tol=1e-6)
    assert result.converged and result.restarts > 0 and result.residual < 1e-6
    assert result.products == result.columns / 8 < small_pmi.shape[0] / 8
    np.testing.assert_allclose(result.values, exact_values, rtol=1e-6)
    # each eigenvector up to sign (the eigenvalues are distinct enough here)
    cosines = np.abs(np.sum(result.vectors * exact_vectors, axis=0))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-6)
    # the residual it reports is the true one
    true = (
        np.linalg.norm(small_pmi @ result.vectors - result.vectors * result.values, axis=0).max()
        / result.values[0]
    )
    assert true == pytest.approx(result.residual, rel=0.05, abs=1e-7)


def test_eigen_vectors_are_the_best_positive_low_rank_fit(small_pmi):
    exact_values, exact_vectors = np.linalg.eigh(small_pmi.toarray().astype(np.float64))
    keep = np.argsort(exact_values)[::-1][:40]
    best = (exact_vectors[:, keep] * exact_values[keep]) @ exact_vectors[:, keep].T
    for method in ("lanczos", "arpack"):
        vectors, values, figures = eigen_vectors(small_pmi, 40, 1, method=method, tol=1e-6)
        assert figures["method"] == method and figures["products"] > 0
        np.testing.assert_allclose(values, exact_values[keep], rtol=1e-6)
        np.testing.assert_allclose(vectors.astype(np.float64) @ vectors.T, best, atol=2e-4)


def test_signs_are_fixed_whatever_the_solver(tiny_pmi):
    lanczos, values, _ = eigen_vectors(tiny_pmi, 12, 1, tol=1e-7)
    arpack, _, _ = eigen_vectors(tiny_pmi, 12, 2, method="arpack")
    other_seed, _, _ = eigen_vectors(tiny_pmi, 12, 5, tol=1e-7)
    units = lanczos / np.sqrt(values)
    largest = np.abs(units).argmax(axis=0)
    assert (units[largest, np.arange(12)] > 0).all()
    np.testing.assert_allclose(lanczos, arpack, atol=1e-4)
    np.testing.assert_allclose(lanczos, other_seed, atol=1e-4)


def test_low_rank_matrix_and_empty_rows():
    """Rank 6 < the block: the Krylov space is invariant after one product and the
    solver goes on from random directions; rows that are zero stay exactly zero."""
    rng = np.random.default_rng(0)
    factor = rng.normal(size=(600, 6))
    factor[::7] = 0
    matrix = factor @ factor.T
    vectors, values, figures = eigen_vectors(sp.csr_matrix(matrix), 6, 1, block=16, tol=1e-6)
    assert figures["method"] == "lanczos"
    np.testing.assert_allclose(values, np.linalg.eigvalsh(matrix)[::-1][:6], rtol=1e-6)
    np.testing.assert_allclose(vectors.astype(np.float64) @ vectors.T, matrix, atol=1e-3)
    assert np.all(vectors[::7] == 0) and vectors.flags.c_contiguous


def test_words_without_positive_pmi_get_exactly_zero_vectors(tiny_ticks):
    upper, counts, kept = tiny_ticks
    # on a corpus this small, a large shift empties the rows of "the", "a", "in"
    shifted = positive_pmi(row_blocks(upper, 20_000), counts, kept, SCALE, 20.0, 1.0, 2**30)
    empty = np.diff(shifted.indptr) == 0
    assert empty[0] and empty.sum() < kept // 10
    vectors, _, figures = eigen_vectors(shifted, 16, 1)
    assert figures["method"] == "lanczos" and figures["converged"]
    assert np.all(vectors[empty] == 0) and np.all(np.abs(vectors[~empty]).sum(axis=1) > 0)


def test_negative_eigenvalues_give_zero_columns():
    """A full-rank PMI-like matrix is indefinite; V Vᵀ leaves out exactly its
    negative part (the small matrix is solved densely)."""
    rng = np.random.default_rng(3)
    full = rng.normal(size=(60, 60))
    full = (full + full.T) / 2
    values, eigenvectors = np.linalg.eigh(full)
    vectors, found, figures = eigen_vectors(sp.csr_matrix(full), 59, 1)
    assert figures["method"] == "dense" and (found < 0).sum() > 1
    assert np.all(vectors[:, found < 0] == 0)
    negative_part = (eigenvectors * np.minimum(values, 0)) @ eigenvectors.T
    np.testing.assert_allclose(
        full - vectors.astype(np.float64) @ vectors.T, negative_part, atol=1e-5
    )


def test_the_solver_fits_its_budget_or_says_what_it_needs(tiny_pmi):
    _, _, default = eigen_vectors(tiny_pmi, 16, 1)
    assert default["block"] == 8 and default["basis_columns"] == 16 + 8 * 8
    _, _, free = eigen_vectors(tiny_pmi, 16, 1, block=16)
    assert free["basis_columns"] == 16 + 8 * 16
    from wordlens.training.block_lanczos import basis_bytes
    from wordlens.training.pmi_eig import matrix_bytes

    size = tiny_pmi.shape[0]
    budget = matrix_bytes(tiny_pmi) + basis_bytes(size, 16, 16, 16 + 4 * 16)
    vectors, values, tight = eigen_vectors(tiny_pmi, 16, 1, block=16, memory_bytes=budget)
    assert tight["basis_columns"] == 16 + 4 * 16 and tight["converged"]
    assert tight["restarts"] > free["restarts"]
    smallest = matrix_bytes(tiny_pmi) + basis_bytes(size, 16, 16, 16 + 3 * 16)
    with pytest.raises(MemoryBudgetError, match=r"the eigensolver needs [\d.]+ MiB"):
        eigen_vectors(tiny_pmi, 16, 1, block=16, memory_bytes=smallest - 1)


def test_arguments_are_checked(tiny_pmi):
    with pytest.raises(ValueError, match="dim must be between 1 and the vocabulary size"):
        eigen_vectors(tiny_pmi, tiny_pmi.shape[0], 1)
    with pytest.raises(ValueError, match="method must be lanczos or arpack"):
        eigen_vectors(tiny_pmi, 8, 1, method="svd")


def test_memory_stays_within_the_stated_bounds(tiny_ticks, tiny_pmi):
    """numpy's allocations (traced by tracemalloc) at their peak: building, the PMI
    matrix plus the block in hand and arrays of ``kept`` numbers, far less than the
    counts; solving, within ``basis_bytes`` besides the matrix."""
    import tracemalloc

    from wordlens.training.block_lanczos import basis_bytes
    from wordlens.training.pmi_eig import matrix_bytes

    upper, counts, kept = tiny_ticks
    blocks = row_blocks(upper, 5_000)
    # the largest block (a frequent word's row alone), with scipy's slicing copies
    largest = max(3 * matrix_bytes(block) for _, _, block in blocks())
    eigen_vectors(tiny_pmi, 16, 1)  # compiled and loaded before tracing
    tracemalloc.start()
    try:
        matrix = positive_pmi(blocks, counts, kept, SCALE, 5.0, 1.0, 2**30)
        _, building = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        _, _, figures = eigen_vectors(matrix, 16, 1, block=16)
        _, solving = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = matrix_bytes(matrix) + largest + 10 * kept * 8
    assert building <= bound < matrix_bytes(upper[:kept]) * 0.8
    assert solving - before <= basis_bytes(kept, 16, 16, figures["basis_columns"])
