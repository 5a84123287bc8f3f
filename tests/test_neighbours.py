"""Approximate neighbour indexes: build and store them with a model, open them, and
answer most_similar and PMI related words from them (recall against the exact scan),
the exact path unchanged, corrupted index files refused, the HTTP options."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import httpx2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import running_server
from wordlens import neighbours
from wordlens.app.engine import EXACT_BELOW, Engine, SimilarQuery
from wordlens.app.errors import InvalidQueryError, LimitExceededError, QueryError
from wordlens.app.families import SYMMETRIC_POOL, ContextScore, family_of
from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.artifacts import ModelFormatError, load_model, write_model
from wordlens.cli import main
from wordlens.neighbours import (
    INDEX_THRESHOLD,
    TARGET_RECALL,
    TUNING_EFFORTS,
    IndexParams,
    add_index,
    index_wanted,
    open_index,
)

SIZE = EXACT_BELOW + 500  # just above the size from which queries use the index
DIM = 16
ZERO = 5_000  # a word whose vector is zero


def clustered(size: int, dim: int, seed: int) -> np.ndarray:
    """Rows around 200 random centres, lengths spread like PMI norms (0.2 to 2)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dim))
    rows = centres[rng.integers(0, 200, size)] + rng.normal(scale=0.6, size=(size, dim))
    rows *= rng.uniform(0.2, 2.0, size)[:, None] / np.linalg.norm(rows, axis=1, keepdims=True)
    rows[ZERO % size] = 0.0
    return rows.astype(np.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """models/pmi with indexes, models/plain the same model without."""
    root = tmp_path_factory.mktemp("ann") / "models"
    words = [f"w{i}" for i in range(SIZE)]
    for name in ("pmi", "plain"):
        write_model(
            root / name,
            kind="pmi",
            words=words,
            vectors=clustered(SIZE, DIM, 15),
            counts=np.arange(SIZE, 0, -1),
            manifest={"tokenizer": {"name": "whitespace"}},
        )
    add_index(root / "pmi", "hnsw", lambda model: family_of(model).related_rows())
    return root


@pytest.fixture(scope="module")
def engine(models):
    return Engine(models)


def overlap(a, b) -> float:
    return len({w for w, _ in a} & {w for w, _ in b}) / len(b)


QUERY_WORDS = [f"w{i}" for i in range(0, SIZE, SIZE // 200)][:200]


def test_the_index_is_listed_checksummed_and_described_in_the_manifest(models):
    manifest = json.loads((models / "pmi" / "manifest.json").read_text())
    for space in ("cosine", "related"):
        entry = manifest["neighbours"][space]
        assert entry["rows"] == SIZE and entry["dim"] == DIM and entry["type"] == "HNSWSQ8"
        listed = manifest["files"][entry["file"]]
        assert listed["bytes"] == (models / "pmi" / entry["file"]).stat().st_size
        assert len(listed["sha256"]) == 64
    assert "neighbours" not in json.loads((models / "plain" / "manifest.json").read_text())


def test_most_similar_from_the_index_finds_the_exact_neighbours(engine):
    model = engine.get("pmi")
    recalls = []
    for word in QUERY_WORDS:
        found = model.most_similar([word], topn=10)
        exact = model.most_similar([word], topn=10, exact=True)
        assert (found.search, exact.search) == ("index", "exact")
        recalls.append(overlap(found, exact))
        # scores of the words both found are the exact scores
        scores = dict(exact)
        for w, score in found:
            if w in scores:
                assert score == pytest.approx(scores[w], rel=1e-5, abs=1e-6)
    assert np.mean(recalls) >= 0.95


def test_pmi_related_words_come_from_the_inner_product_index(engine):
    model = engine.get("pmi")
    recalls = []
    for word in QUERY_WORDS:
        found, method = model.related(word, topn=10)
        exact, _ = model.related(word, topn=10, exact=True)
        assert (found.search, exact.search, method) == ("index", "exact", "pmi")
        recalls.append(overlap(found, exact))
    assert np.mean(recalls) >= 0.95


def test_effort_trades_speed_for_recall(engine):
    model = engine.get("pmi")

    def recall(effort: int) -> float:
        return np.mean(
            [
                overlap(
                    model.most_similar([w], topn=10, effort=effort),
                    model.most_similar([w], topn=10, exact=True),
                )
                for w in QUERY_WORDS
            ]
        )

    assert recall(10) < recall(200)
    assert recall(200) >= 0.99


def test_exact_answers_are_the_answers_of_a_model_without_index(engine):
    indexed, plain = engine.get("pmi"), engine.get("plain")
    for query in ([["w1"], []], [["w10", "w20"], ["w30"]]):
        assert indexed.most_similar(*query, topn=20, exact=True) == plain.most_similar(
            *query, topn=20
        )
    assert indexed.related("w3", topn=15, exact=True) == plain.related("w3", topn=15)
    assert plain.most_similar(["w1"]).search == "exact"
    assert plain.related("w1")[0].search == "exact"


def test_query_words_zero_vectors_and_restrict_vocab_are_respected(engine):
    model = engine.get("pmi")
    found = model.most_similar(["w1", "w2"], ["w3"], topn=50, restrict_vocab=SIZE - 100)
    assert found.search == "index"
    rows = [int(w[1:]) for w, _ in found]
    assert len(rows) == 50 and max(rows) < SIZE - 100
    assert not {1, 2, 3, ZERO} & set(rows)
    scores = [s for _, s in found]
    assert scores == sorted(scores, reverse=True)
    # searching fewer rows than EXACT_BELOW scans them
    small = model.most_similar(["w1"], topn=5, restrict_vocab=EXACT_BELOW - 1)
    assert small.search == "exact"
    assert small == model.most_similar(["w1"], topn=5, restrict_vocab=EXACT_BELOW - 1, exact=True)
    related, _ = model.related(f"w{ZERO + 1}", topn=100)
    assert f"w{ZERO}" not in [w for w, _ in related]


def test_effort_is_bounded(engine):
    model = engine.get("pmi")
    with pytest.raises(InvalidQueryError, match="effort"):
        model.most_similar(["w1"], effort=0)
    with pytest.raises(LimitExceededError, match="effort"):
        model.related("w1", effort=model.limits.max_effort + 1)


def test_the_build_stores_the_least_effort_that_reaches_the_target_recall(tmp_path):
    """A sparse graph (M 4, efConstruction 16) needs more than the first effort: the
    build tries growing efforts on a sample of the model's own words, stores the
    first whose recall@10 reaches TARGET_RECALL, and the engine, searching at it when
    a query gives none, finds about that recall on other words."""
    path = write_model(
        tmp_path / "models" / "sparse",
        kind="imported",
        words=[f"w{i}" for i in range(SIZE)],
        vectors=clustered(SIZE, DIM, 17),
    )
    add_index(path, "hnsw", params=IndexParams(m=4, ef_construction=16))
    model = Engine(path.parent).get("sparse")
    entry = model.manifest["neighbours"]["cosine"]
    recalls = {int(effort): recall for effort, recall in entry["recall"].items()}
    assert list(recalls) == list(TUNING_EFFORTS[: len(recalls)]) and len(recalls) > 1
    assert entry["effort"] == max(recalls) and recalls[entry["effort"]] >= TARGET_RECALL
    assert all(
        recall < TARGET_RECALL for effort, recall in recalls.items() if effort < max(recalls)
    )
    assert entry["tuning_queries"] == 500 and model.neighbour_indexes["cosine"].effort == max(
        recalls
    )
    served = np.mean(
        [
            overlap(model.most_similar([w], topn=10), model.most_similar([w], topn=10, exact=True))
            for w in QUERY_WORDS
        ]
    )
    assert served == pytest.approx(recalls[entry["effort"]], abs=0.03)
    first = np.mean(
        [
            overlap(
                model.most_similar([w], topn=10, effort=TUNING_EFFORTS[0]),
                model.most_similar([w], topn=10, exact=True),
            )
            for w in QUERY_WORDS
        ]
    )
    assert first < TARGET_RECALL <= served + 0.01


def test_queries_without_an_effort_search_at_the_index_effort(engine, monkeypatch):
    model = engine.get("pmi")
    assert "effort" not in model.manifest["neighbours"]["related"]  # tuned: cosine only
    index = model.neighbour_indexes["cosine"]
    assert index.effort == model.manifest["neighbours"]["cosine"]["effort"]
    fetched, search = [], index.search

    def spy(queries, k, *args, **kwargs):
        fetched.append(k)
        return search(queries, k, *args, **kwargs)

    monkeypatch.setattr(index, "search", spy)
    monkeypatch.setattr(index, "effort", 300)
    model.most_similar(["w1"], topn=10)
    model.most_similar(["w1"], topn=10, effort=40)
    assert fetched == [300, 40]


def test_search_is_batched(models):
    model = load_model(models / "pmi")
    index = open_index(model.path, model.manifest)
    assert index is not None
    queries = np.asarray(model.vectors[[1, 2, 3]])
    rows, scores = index.search(queries, 5, effort=100)
    assert rows.shape == scores.shape == (3, 5) and rows.dtype == np.int64
    assert list(rows[:, 0]) == [1, 2, 3]  # each row is its own nearest neighbour
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    limited, _ = index.search(queries, 5, limit=1000)
    assert limited.max() < 1000


def test_index_batches_are_one_search_and_equal_single_queries(engine, monkeypatch):
    model = engine.get("pmi")
    searches, fetched = [], []
    for index in model.neighbour_indexes.values():
        search = index.search

        def counted(queries, k, *args, search=search, **kwargs):
            searches.append(len(queries))
            fetched.append(k)
            return search(queries, k, *args, **kwargs)

        monkeypatch.setattr(index, "search", counted)
    words = QUERY_WORDS[:60] + ["nosuchword"]
    queries = [SimilarQuery([w]) for w in words]
    answers = model.most_similar_batch(queries, topn=10, effort=40)
    assert searches == [60]  # one search for the 60 known words
    assert fetched == [40]  # the whole candidate list, rescored (the codes are 8-bit)
    related, _ = model.related_batch(words, topn=10, effort=40)
    assert searches == [60, 60]
    searches.clear()
    singles = [model.most_similar([w], topn=10, effort=40) for w in QUERY_WORDS[:60]]
    assert searches == [1] * 60
    assert answers[:60] == singles and all(a.search == "index" for a in singles)
    assert related[:60] == [model.related(w, topn=10, effort=40)[0] for w in QUERY_WORDS[:60]]
    assert all(a.search == "index" for a in related[:60])
    assert isinstance(answers[60], QueryError) and isinstance(related[60], QueryError)
    # past the effort, queries excluding more words fetch more candidates: one search
    # per fetch size
    searches.clear()
    mixed = [SimilarQuery(["w1"]), SimilarQuery(["w2", "w3"]), SimilarQuery(["w4"], ["w5"])]
    answers = model.most_similar_batch(mixed, topn=10, effort=10)
    assert sorted(searches) == [1, 2]
    assert answers == [
        model.most_similar(q.positive, q.negative, topn=10, effort=10) for q in mixed
    ]


def test_auto_builds_only_from_the_threshold_and_none_removes(tmp_path):
    assert not index_wanted("auto", INDEX_THRESHOLD - 1)
    assert index_wanted("auto", INDEX_THRESHOLD) and index_wanted("hnsw", 10)
    assert not index_wanted("none", 10**9)
    path = write_model(tmp_path / "m", kind="imported", words=["a", "b", "c"], vectors=np.eye(3))
    assert add_index(path, "auto") == {}
    assert "neighbours" not in load_model(path).manifest
    add_index(path, "hnsw")
    assert set(load_model(path).manifest["neighbours"]) == {"cosine"}
    assert (path / "neighbours_cosine.faiss").is_file()
    add_index(path, "none")
    model = load_model(path)
    assert model.manifest["neighbours"] == {}
    assert not (path / "neighbours_cosine.faiss").exists()
    assert "neighbours_cosine.faiss" not in model.manifest["files"]


def test_a_corrupted_index_file_is_a_clear_load_error(models, tmp_path):
    broken = tmp_path / "models"
    shutil.copytree(models / "pmi", broken / "pmi")
    index_file = broken / "pmi" / "neighbours_cosine.faiss"
    data = bytearray(index_file.read_bytes())
    data[:4] = b"XXXX"  # the index type
    index_file.write_bytes(bytes(data))
    engine = Engine(broken)
    assert (
        engine.errors["pmi"]
        == "pmi/neighbours_cosine.faiss: checksum mismatch (corrupted or modified)"
    )
    # unverified (the sizes still match), faiss's own reader refuses it
    engine = Engine(broken, verify=False)
    assert engine.errors["pmi"].startswith(
        "pmi/neighbours_cosine.faiss: not a readable faiss index"
    )


def test_a_float32_index_of_an_older_model_still_answers(models, tmp_path):
    """Models indexed before the 8-bit index (type HNSWFlat) load and search as before."""
    import faiss

    from wordlens.artifacts import add_files

    old = tmp_path / "models" / "pmi"
    shutil.copytree(models / "plain", old)
    vectors = load_model(old).vectors
    lengths = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, lengths, out=np.zeros(vectors.shape), where=lengths > 0)

    def write(folder):
        index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
        index.add(unit.astype(np.float32))
        faiss.write_index(index, str(folder / "neighbours_cosine.faiss"))
        entry = {"file": "neighbours_cosine.faiss", "type": "HNSWFlat", "rows": SIZE, "dim": DIM}
        return {"neighbours": {"cosine": entry}}

    add_files(old, write)
    model = Engine(old.parent).get("pmi")
    assert isinstance(model.neighbour_indexes["cosine"].index, faiss.IndexHNSWFlat)
    found = model.most_similar([QUERY_WORDS[3]], topn=10)
    exact = model.most_similar([QUERY_WORDS[3]], topn=10, exact=True)
    assert found.search == "index" and overlap(found, exact) >= 0.9


def test_an_index_the_manifest_does_not_list_is_refused(models, tmp_path):
    shutil.copytree(models / "pmi", tmp_path / "pmi")
    manifest_file = tmp_path / "pmi" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    del manifest["files"]["neighbours_cosine.faiss"]
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="not one of the model's listed files"):
        open_index(tmp_path / "pmi", manifest)
    manifest = json.loads((models / "pmi" / "manifest.json").read_text())
    for effort in (0, "64", None):
        manifest["neighbours"]["cosine"]["effort"] = effort
        with pytest.raises(ModelFormatError, match="bad effort"):
            open_index(models / "pmi", manifest)


def test_an_index_file_changed_under_the_server_withdraws_the_model(models, tmp_path):
    shutil.copytree(models / "plain", tmp_path / "models" / "plain")
    add_index(tmp_path / "models" / "plain", "hnsw")
    engine = Engine(tmp_path / "models")
    assert engine.get("plain").most_similar(["w1"]).search == "index"
    with open(tmp_path / "models" / "plain" / "neighbours_cosine.faiss", "ab") as stream:
        stream.write(b"\0")
    with pytest.raises(Exception, match="neighbours_cosine.faiss: changed on disk"):
        engine.get("plain")


def test_http_options_and_the_search_field(models):
    with TestClient(create_app(Settings(models_dir=models))) as client:
        body = client.get("/most_similar", params={"positive": "w1", "model": "pmi"}).json()
        assert body["search"] == "index" and len(body["neighbours"]) == 10
        exact = client.get(
            "/most_similar", params={"positive": "w1", "model": "pmi", "exact": "true"}
        ).json()
        assert exact["search"] == "exact"
        posted = client.post(
            "/most_similar", json={"positive": ["w1"], "model": "pmi", "effort": 200}
        ).json()
        assert posted["search"] == "index" and posted["method"] == "cosine"
        related = client.get("/related", params={"word": "w1", "model": "pmi"}).json()
        assert (related["search"], related["method"]) == ("index", "pmi")
        related = client.get(
            "/related", params={"word": "w1", "model": "pmi", "exact": "true"}
        ).json()
        assert related["search"] == "exact"
        plain = client.get("/most_similar", params={"positive": "w1", "model": "plain"}).json()
        assert plain["search"] == "exact"
        assert (
            client.get("/most_similar", params={"positive": "w1", "effort": 0}).status_code == 422
        )
        too_much = client.post("/most_similar", json={"positive": ["w1"], "effort": 10**6})
        assert too_much.status_code == 413 and too_much.json()["error"]["limit"] == 4096
        assert (
            client.post("/most_similar", json={"positive": ["w1"], "exact": 1}).status_code == 422
        )
        schema = client.get("/openapi.json").json()
        request = schema["components"]["schemas"]["MostSimilarRequest"]["properties"]
        assert request["effort"]["maximum"] == 4096 and request["exact"]["type"] == "boolean"
        assert "search" in schema["components"]["schemas"]["Neighbours"]["required"]


def test_index_command_and_import_option(tmp_path, capsys):
    vectors = tmp_path / "vectors.txt"
    rng = np.random.default_rng(1)
    vectors.write_text(
        "".join(
            f"v{i} " + " ".join(f"{x:.4f}" for x in rng.normal(size=4)) + "\n" for i in range(50)
        )
    )
    out = tmp_path / "models" / "imported"
    assert (
        main(["import", str(vectors), "--format", "glove", "--out", str(out), "--index", "hnsw"])
        == 0
    )
    assert "cosine index: 50 rows" in capsys.readouterr().out
    assert set(load_model(out).manifest["neighbours"]) == {"cosine"}
    assert main(["import", str(vectors), "--format", "glove", "--out", str(out)]) == 0
    assert "neighbours" not in load_model(out).manifest  # auto: 50 words is below the threshold
    assert main(["index", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "cosine index: 50 rows" in printed and "default effort 32 (recall@10 1.000)" in printed
    assert "cosine" in load_model(out).manifest["neighbours"]


def test_the_index_is_built_in_a_child_process(tmp_path):
    """The importing process never holds the index (nor loads faiss): its peak
    memory is the import's, the index's is the child's (README, bench_import)."""
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(f"v{i} {i % 7} {i % 5 + 1} 1\n" for i in range(40)))
    script = (
        "import sys; from wordlens.cli import main; "
        f"code = main(['import', {str(vectors)!r}, '--format', 'glove', "
        f"'--out', {str(tmp_path / 'out')!r}, '--index', 'hnsw']); "
        "print('faiss loaded' if 'faiss' in sys.modules else 'faiss not loaded'); "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "cosine index: 40 rows" in done.stdout and "faiss not loaded" in done.stdout
    assert set(load_model(tmp_path / "out").manifest["neighbours"]) == {"cosine"}


def test_served_over_http_with_the_index(models):
    with running_server(models, "--workers", "2") as url:
        body = httpx2.get(
            f"{url}/most_similar", params={"positive": "w7", "model": "pmi"}, timeout=10
        ).json()
        exact = httpx2.get(
            f"{url}/most_similar",
            params={"positive": "w7", "model": "pmi", "exact": "true"},
            timeout=10,
        ).json()
    assert (body["search"], exact["search"]) == ("index", "exact")
    assert (
        overlap(
            [(n["word"], 0) for n in body["neighbours"]],
            [(n["word"], 0) for n in exact["neighbours"]],
        )
        >= 0.8
    )


# ------------------------------------------------------- Word2Vec related words


def test_the_tree_walk_finds_the_exact_best_words_when_its_beam_is_wide(
    trained_models, monkeypatch
):
    monkeypatch.setattr("wordlens.app.families.TREE_FROM", 0)
    model = Engine(trained_models).get("word2vec")
    family, tree = model.family, model.family.tree
    for prior_weight in (0.0, 0.9, 2.0):
        for row in range(0, 600, 30):
            exact = tree.log_prob_all(model.vectors[row]) - prior_weight * family.log_prior
            best = np.argsort(-exact, kind="stable")[:10]
            score = ContextScore.of("su", prior_weight)
            found = family.related_words(row, score, 10, effort=10**6)
            assert set(found) == set(best), (prior_weight, row)


def test_the_tree_walk_keeps_the_nodes_of_highest_reach(trained_models):
    """The beam keeps the nodes most likely to lead to a good word: those of highest
    log-probability. Ranked by their bound instead (reach plus the largest bonus below,
    which rare words make about the same everywhere) a 64-node beam found about a
    quarter of the exact top 10 on this model; by reach, over 0.8."""
    model = Engine(trained_models).get("word2vec")
    family, tree = model.family, model.family.tree
    log_prior, bound = family.log_prior, family._lowest_log_prior
    recalls = []
    for row in range(0, len(model.words), 7):
        exact = tree.log_prob_all(model.vectors[row]) - 0.9 * log_prior
        best = np.argsort(-exact, kind="stable")[:10]
        found, _ = tree.best_scored(model.vectors[row], 10, log_prior, bound, beam=64, weight=-0.9)
        recalls.append(len(set(found.tolist()) & set(best.tolist())) / 10)
    assert max(len(children) for children, _, _ in tree.levels) > 64  # the beam overflows
    assert np.mean(recalls) >= 0.75


def test_hs_related_words_come_from_the_tree_walk(trained_models, monkeypatch):
    model = Engine(trained_models).get("word2vec")
    assert model.related(model.words[5])[0].search == "exact"  # below TREE_FROM words
    monkeypatch.setattr("wordlens.app.engine.EXACT_BELOW", 0)  # the tiny model counts as large
    monkeypatch.setattr("wordlens.app.families.TREE_FROM", 0)
    recalls = []
    for word in model.words[:400:8]:
        found, method = model.related(word, topn=10, score="su")
        exact, _ = model.related(word, topn=10, exact=True, score="su")
        assert (found.search, exact.search, method) == ("tree", "exact", "hs_su")
        recalls.append(overlap(found, exact))
        scores = dict(exact)
        for w, score in found:
            if w in scores:
                assert score == pytest.approx(scores[w], abs=1e-6)
    assert np.mean(recalls) >= 0.95
    assert model.related(model.words[5], topn=10, effort=1, score="su")[0].search == "tree"
    assert model.related(model.words[5], topn=10)[0].search == "tree"  # symmetric too


def test_symmetric_related_words_from_the_tree_walk(trained_models, monkeypatch):
    """The symmetric score: the walk's best words by s(a→b), scored both ways. A pool
    as large as the vocabulary and an unbounded beam must give the scan's answer, word
    for word and score for score; the default effort most of it; below TREE_FROM
    words, and with exact=true, the scan."""
    model = Engine(trained_models).get("word2vec")
    monkeypatch.setattr("wordlens.app.engine.EXACT_BELOW", 0)
    words = model.words[:400:8]
    scanned = [model.related(word, topn=10, exact=True) for word in words]
    assert {(found.search, method) for found, method in scanned} == {("exact", "hs")}
    assert [model.related(word, topn=10)[0] for word in words] == [f for f, _ in scanned]
    monkeypatch.setattr("wordlens.app.families.TREE_FROM", 0)
    whole = -(-len(model.words) // SYMMETRIC_POOL)  # the effort whose pool is V
    recalls = []
    for word, (exact, _) in zip(words, scanned, strict=True):
        found, method = model.related(word, topn=10, effort=max(whole, 10**3))
        assert (found.search, method) == ("tree", "hs")
        assert found == exact, word
        assert model.related(word, topn=10, exact=True)[0].search == "exact"
        recalls.append(overlap(model.related(word, topn=10)[0], exact))
    assert np.mean(recalls) >= 0.9


def test_ns_related_words_scan(tmp_path, monkeypatch):
    """Negative sampling's score v_a·c_b + (β − λ) log n(b) is an inner product, but an
    inner-product HNSW over [c_b, log n(b)] found about half of the exact top 10 at
    λ = 0.9 (the best rows are then no extreme points): such models get no related
    index, and their related words scan."""
    monkeypatch.setattr("wordlens.app.engine.EXACT_BELOW", 0)
    size = 3000
    write_model(
        tmp_path / "models" / "ns",
        kind="word2vec",
        words=[f"n{i}" for i in range(size)],
        vectors=clustered(size, DIM, 1),
        counts=(1e6 / np.arange(1, size + 1)).astype(np.int64) + 5,
        arrays={"syn1neg": clustered(size, DIM, 2)},
        manifest={"output_layers": ["ns"], "params": {"ns_exponent": 0.75}},
    )
    add_index(tmp_path / "models" / "ns", "hnsw", lambda model: family_of(model).related_rows())
    model = Engine(tmp_path / "models").get("ns")
    assert set(model.neighbour_indexes) == {"cosine"}
    found, method = model.related("n5", topn=10)
    assert (found.search, method) == ("exact", "ns")
    assert model.most_similar(["n5"]).search == "index"


def test_indexing_refuses_to_carry_a_corrupted_file_over(tmp_path):
    path = write_model(tmp_path / "m", kind="imported", words=["a", "b"], vectors=np.eye(2))
    vectors = path / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF
    vectors.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="m/vectors.npy: checksum mismatch"):
        add_index(path, "hnsw")
    assert "neighbours" not in json.loads((path / "manifest.json").read_text())


def test_inferred_neighbours_from_the_index_rank_like_the_scan(engine):
    model = engine.get("pmi")
    contexts = ["w10 w11 w12 [flurb] w13 w14", "w20 w21 [flurb] w22 w23"]
    indexed = model.infer(contexts, topn=10)
    scanned = model.infer(contexts, topn=10, exact=True)
    assert indexed.similar.search == "index" and scanned.similar.search == "exact"
    assert overlap(indexed.similar, scanned.similar) >= 0.8
    # ranked with the frequency prior, each pair with its cosine
    unit = indexed.vector / np.linalg.norm(indexed.vector)
    for similar in (indexed.similar, scanned.similar):
        vectors = np.array([model.vector(word) for word, _ in similar], dtype=np.float64)
        cosines = vectors @ unit / np.linalg.norm(vectors, axis=1)
        assert np.allclose([score for _, score in similar], cosines, atol=1e-5)
        ranks = cosines + 0.02 * np.log(model.counts[model.ids([w for w, _ in similar])])
        assert np.all(np.diff(ranks) <= 1e-6)


def test_the_index_build_holds_no_page_of_the_word_index(tmp_path, monkeypatch):
    """add_index loads the model (whose checks read every page of its word index) and
    releases those pages before the build, which then maps only the matrix."""
    from procfs import mapped_rss_kib

    import wordlens.neighbours as neighbours

    words = [f"w{i}" for i in range(30_000)]
    path = write_model(
        tmp_path / "m", kind="imported", words=words, vectors=np.ones((len(words), 8), np.float32)
    )
    resident: dict[str, int] = {}
    build = neighbours.build_index

    def measured_build(*args, **kwargs):
        resident.update({file.name: mapped_rss_kib(file) for file in path.glob("suggest_*.npy")})
        return build(*args, **kwargs)

    monkeypatch.setattr(neighbours, "build_index", measured_build)
    add_index(path, "hnsw")
    assert resident == {"suggest_keys.npy": 0, "suggest_rows.npy": 0}


def test_rows_of_an_odd_width_are_stored_padded_and_answer_as_the_scan(tmp_path):
    """faiss's 8-bit distance code is vectorised only for widths divisible by 8: rows
    of 13 components are stored as 16 (zeros added), queries padded alike; the
    manifest keeps the model's own width and the answers match the exact scan."""
    path = write_model(
        tmp_path / "models" / "odd",
        kind="imported",
        words=[f"w{i}" for i in range(SIZE)],
        vectors=clustered(SIZE, 13, 16),
    )
    add_index(path, "hnsw")
    model = Engine(path.parent).get("odd")
    assert model.manifest["neighbours"]["cosine"]["dim"] == 13
    assert model.neighbour_indexes["cosine"].index.d == 16
    found = [model.most_similar([w], topn=10) for w in QUERY_WORDS[:50]]
    exact = [model.most_similar([w], topn=10, exact=True) for w in QUERY_WORDS[:50]]
    assert all(f.search == "index" for f in found)
    assert np.mean([overlap(f, e) for f, e in zip(found, exact, strict=True)]) >= 0.95


def test_zero_vectors_are_not_tuning_queries(tmp_path):
    """A zero vector has no neighbours to find: the tuning leaves such words out of its
    sample, and a model of zero vectors alone keeps the default effort."""

    def tuned(name: str, vectors: np.ndarray) -> dict:
        words = [f"w{i}" for i in range(len(vectors))]
        path = write_model(tmp_path / name, kind="imported", words=words, vectors=vectors)
        add_index(path, "hnsw")
        return load_model(path).manifest["neighbours"]["cosine"]

    vectors = np.zeros((300, 8), dtype=np.float32)
    assert "effort" not in tuned("zero", vectors)
    vectors[::3] = np.random.default_rng(0).normal(size=(100, 8))
    entry = tuned("some", vectors)
    assert entry["tuning_queries"] == 100 and entry["effort"] == TUNING_EFFORTS[0]


def test_the_tuning_gathers_each_words_exact_best_rows_slice_by_slice(monkeypatch):
    """The tuning's exact best rows of its sample, taken a slice of rows at a time as
    the index's blocks arrive, are the best rows of the whole matrix."""
    vectors = clustered(3000, 8, 5)
    monkeypatch.setattr(neighbours, "_TUNING_ROWS", 7)
    tuning = neighbours._EffortTuning(vectors)
    for start in range(0, len(vectors), 1000):
        tuning.add(neighbours._space_rows(vectors[start : start + 1000], "cosine"))
    unit = neighbours._space_rows(vectors, "cosine")
    best = np.argsort(-(tuning.queries @ unit.T), axis=1, kind="stable")[:, : tuning.k]
    assert tuning.seen == len(vectors)
    assert np.array_equal(np.sort(tuning.rows, axis=1), np.sort(best, axis=1))


def test_index_answers_break_ties_by_the_lower_row_as_the_scan(tmp_path):
    """Words whose vectors are copies of one another tie exactly: the index's answer
    lists them by row, as the scan does, and carries the same scores."""
    distinct = clustered(SIZE // 8 + 1, DIM, 4)
    vectors = distinct[np.arange(SIZE) % len(distinct)]  # 8 copies of each row
    path = write_model(
        tmp_path / "models" / "copies",
        kind="imported",
        words=[f"w{i}" for i in range(SIZE)],
        vectors=vectors,
    )
    add_index(path, "hnsw")
    model = Engine(path.parent).get("copies")
    for word in QUERY_WORDS[1:40]:
        found = model.most_similar([word], topn=7)  # the word's 7 other copies
        assert found.search == "index" and len({score for _, score in found}) == 1
        assert found == model.most_similar([word], topn=7, exact=True)
