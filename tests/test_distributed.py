"""Counting in parallel: local processes and a real Dask cluster count exactly what one
process counts, cell by cell, whatever the shards and the workers."""

from __future__ import annotations

import gzip
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port

from wordlens.cli import main
from wordlens.corpus import DEFAULT_ENGLISH, Corpus, CorpusError, get_tokenizer
from wordlens.corpus.shards import ByteRange, split_corpus
from wordlens.training.cooccur import count_documents
from wordlens.training.counts import load_counts
from wordlens.training.distributed import (
    MAX_SHARD_BYTES,
    MIN_SHARD_BYTES,
    ClusterError,
    _count_and_merge,
    _DaskCluster,
    _Settings,
    count_corpus,
    default_shard_bytes,
)
from wordlens.training.local_cluster import local_dask_cluster

TOKENIZER = get_tokenizer("english")
WINDOW = 5
ARRAYS = ("counts.npy", "indptr.npy", "indices.npy", "ticks.npy")


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory) -> Path:
    """Three files read in this order: a .txt.gz (one shard), a .jsonl with bad lines
    and CRLF endings, a .txt whose last line has no newline (about 40 000 tokens)."""
    folder = tmp_path_factory.mktemp("corpus")
    with gzip.open(DEFAULT_ENGLISH, "rt", encoding="utf-8") as source:
        lines = list(itertools.islice(source, 1800))
    (folder / "a.txt.gz").write_bytes(gzip.compress("".join(lines[:300]).encode()))
    records = [json.dumps({"text": line.strip()}) + "\r\n" for line in lines[300:900]]
    records[7] = "{broken\r\n"
    records[20] = '{"title": "no text"}\n'
    (folder / "b.jsonl").write_text("".join(records), encoding="utf-8")
    (folder / "c.txt").write_text("".join(lines[900:]).rstrip("\n"), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def single_process_counts(corpus_folder, tmp_path_factory) -> Path:
    """The reference: the whole corpus counted by one call, no shards."""
    work = tmp_path_factory.mktemp("single")
    corpus = Corpus(corpus_folder, TOKENIZER)
    scratch = work / "scratch"
    scratch.mkdir()
    return count_documents(
        corpus,
        window=WINDOW,
        weighting="distance",
        memory_bytes=64 * 2**20,
        out=work / "counts",
        tokenizer_spec=TOKENIZER.spec,
        corpus_description=lambda: corpus.describe(0, 0),
        scratch=scratch,
    )


def assert_same_counts(path_a: Path, path_b: Path) -> None:
    """Same words in the same order, same arrays byte for byte, same settings and
    corpus totals (the ``sources`` list depends on the shards)."""
    a, b = load_counts(path_a), load_counts(path_b)
    assert a.words == b.words and len(a) > 1000
    for name in ARRAYS:
        left, right = np.load(path_a / name), np.load(path_b / name)
        assert left.dtype == right.dtype and np.array_equal(left, right), name
    assert a.cells == b.cells > 10_000
    for key in ("window", "weighting", "scale", "tokenizer"):
        assert a.manifest[key] == b.manifest[key], key
    for key in ("documents", "tokens"):
        assert a.manifest["corpus"][key] == b.manifest["corpus"][key], key


def hidden_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_default_shard_size():
    def shards(corpus_bytes, workers):
        return corpus_bytes / default_shard_bytes(corpus_bytes, workers)

    assert shards(2 * 10**9, 8) == pytest.approx(32)  # four per worker
    assert shards(25_700_000, 2) == pytest.approx(4)  # equal ones, none of 0.5 MiB
    assert shards(5 * MIN_SHARD_BYTES, 2) == pytest.approx(5)  # fewer: none much smaller
    assert default_shard_bytes(10**6, 2) == 10**6  # one shard: too small to cut
    assert MAX_SHARD_BYTES * 0.99 < default_shard_bytes(10**12, 2) <= MAX_SHARD_BYTES


@pytest.mark.parametrize(("workers", "shard_bytes"), [(1, 9000), (2, 9000), (2, None), (1, 10**9)])
def test_local_processes_count_like_one_process(
    corpus_folder, single_process_counts, tmp_path, workers, shard_bytes
):
    reports = []
    out = count_corpus(
        corpus_folder,
        tokenizer=TOKENIZER,
        out=tmp_path / "counts",
        window=WINDOW,
        memory_bytes=64 * 2**20,
        workers=workers,
        shard_bytes=shard_bytes,
        progress=lambda done, total: reports.append((done, total)),
    )
    assert out == (tmp_path / "counts").absolute()
    assert_same_counts(out, single_process_counts)
    shards = split_corpus(corpus_folder, shard_bytes or MIN_SHARD_BYTES)
    sources = load_counts(out).manifest["corpus"]["sources"]
    assert [(s["path"], s["start"], s["stop"]) for s in sources] == [
        (shard.path, shard.start, shard.stop) for shard in shards
    ]
    whole = load_counts(single_process_counts).manifest["corpus"]["sources"][0]
    assert sum(s["skipped_lines"] for s in sources) == whole["skipped_lines"] == 2
    # Counts and merges: n shards need n - 1 merges.
    assert reports[0] == (0, 2 * len(shards) - 1) and reports[-1] == (reports[0][1],) * 2
    figures = load_counts(out).manifest["figures"]
    assert (figures["shards"], figures["workers"]) == (len(shards), workers)
    assert figures["tokenise_seconds"] > 0 and figures["count_seconds"] > 0
    assert (figures["merge_seconds"] > 0) == (len(shards) > 1)
    assert hidden_leftovers(tmp_path) == []


def test_a_failing_task_is_a_clear_error_and_leaves_nothing(corpus_folder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes((corpus_folder / "c.txt").read_bytes())
    # Planning reads no .gz file: only the worker finds it truncated.
    (corpus / "b.txt.gz").write_bytes(gzip.compress(b"some text\n" * 1000)[:-20])
    with pytest.raises(CorpusError, match=r"cannot read .*b\.txt\.gz"):
        count_corpus(
            corpus, tokenizer=TOKENIZER, out=tmp_path / "counts", workers=2, shard_bytes=20_000
        )
    assert hidden_leftovers(tmp_path) == [] and not (tmp_path / "counts").exists()


def test_bad_inputs_fail_before_any_work(tmp_path):
    with pytest.raises(CorpusError, match="corpus not found"):
        count_corpus(tmp_path / "missing", tokenizer=TOKENIZER, out=tmp_path / "counts")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\n")
    with pytest.raises(CorpusError, match="no documents"):
        count_corpus(tmp_path / "bad.txt", tokenizer=TOKENIZER, out=tmp_path / "c", workers=1)
    with pytest.raises(ValueError, match="20"):
        count_corpus(tmp_path / "bad.txt", tokenizer=TOKENIZER, out=tmp_path / "c", window=21)
    assert hidden_leftovers(tmp_path) == [] and not (tmp_path / "c").exists()


def test_an_unreachable_scheduler_is_a_clear_error(corpus_folder, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        count_corpus(
            corpus_folder,
            tokenizer=TOKENIZER,
            out=tmp_path / "counts",
            scheduler=address,
            connect_timeout=1,
        )
    assert time.monotonic() - started < 10
    assert hidden_leftovers(tmp_path) == []


# ---------------------------------------------------------------- a real Dask cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``dask scheduler`` and two ``dask worker`` processes (one thread each) on
    127.0.0.1, stopped at the end of the module."""
    with local_dask_cluster(tmp_path_factory.mktemp("dask"), workers=2) as (address, pids):
        assert len(pids) == 3
        yield address
        for pid in pids:
            assert Path(f"/proc/{pid}").exists()  # the count ran on a live cluster


def test_dask_cluster_counts_like_local_processes_and_one_process(
    cluster, corpus_folder, single_process_counts, tmp_path
):
    settings = {"tokenizer": TOKENIZER, "window": WINDOW, "shard_bytes": 9000}
    on_dask = count_corpus(corpus_folder, out=tmp_path / "dask", scheduler=cluster, **settings)
    local = count_corpus(corpus_folder, out=tmp_path / "local", workers=2, **settings)
    assert_same_counts(on_dask, single_process_counts)
    assert_same_counts(on_dask, local)
    # The same shards in the same (corpus) order, read to the same bytes.
    assert load_counts(on_dask).manifest["corpus"] == load_counts(local).manifest["corpus"]
    assert hidden_leftovers(tmp_path) == []


def test_dask_task_errors_surface_and_leave_nothing(cluster, corpus_folder, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_bytes((corpus_folder / "c.txt").read_bytes())
    (corpus / "b.txt.gz").write_bytes(gzip.compress(b"some text\n" * 1000)[:-20])
    with pytest.raises(CorpusError, match=r"cannot read .*b\.txt\.gz"):
        count_corpus(
            corpus, tokenizer=TOKENIZER, out=tmp_path / "counts", scheduler=cluster, window=3
        )
    assert hidden_leftovers(tmp_path) == [] and not (tmp_path / "counts").exists()


def test_count_command_on_the_cluster(cluster, corpus_folder, single_process_counts, tmp_path):
    out = tmp_path / "counts"
    arguments = ["count", "--corpus", str(corpus_folder), "--out", str(out)]
    arguments += ["--window", str(WINDOW), "--scheduler", cluster, "--shard-mb", "0.02"]
    assert main(arguments) == 0
    assert_same_counts(out, single_process_counts)


def test_a_scheduler_without_workers_is_a_clear_error(corpus_folder, tmp_path):
    with local_dask_cluster(tmp_path / "cluster", workers=0) as (address, _):
        expected = f"no Dask worker joined the scheduler at {address}"
        with pytest.raises(ClusterError, match=expected):
            count_corpus(
                corpus_folder,
                tokenizer=TOKENIZER,
                out=tmp_path / "counts",
                scheduler=address,
                connect_timeout=1,
            )
    assert hidden_leftovers(tmp_path) == []


def test_a_file_the_workers_cannot_see_is_named(cluster, tmp_path):
    """What a worker says when the corpus is not on a path it shares with the client
    (planned here, then gone before the workers read it)."""
    backend = _DaskCluster(cluster, timeout=10)
    try:
        shard = ByteRange(str(tmp_path / "elsewhere.txt"), 0, 100)
        settings = _Settings(TOKENIZER.spec, "text", 3, "distance", 2**24)
        expected = r"^on a Dask worker: corpus not found: .*elsewhere\.txt \(the workers must see"
        with pytest.raises(CorpusError, match=expected):
            _count_and_merge(backend, [shard], settings, tmp_path, None, {})
    finally:
        backend.close()


def test_counting_processes_die_with_a_killed_count(tmp_path):
    """A `wordlens count` killed outright (SIGKILL: no clean-up runs) takes its
    counting processes with it instead of leaving them counting for nobody."""
    import signal
    import subprocess
    import sys

    from procfs import alive, children_of

    corpus = tmp_path / "en.txt"  # plain text: cut into ranges, one task per worker
    corpus.write_bytes(gzip.decompress(Path(DEFAULT_ENGLISH).read_bytes()))
    count = subprocess.Popen(
        [sys.executable, "-m", "wordlens", "-q", "count", "--corpus", str(corpus)]
        + ["--out", str(tmp_path / "counts"), "--workers", "2", "--shard-mb", "8"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and count.poll() is None:
            time.sleep(0.2)
            # the pool's workers: children running spawn_main (not the resource tracker)
            workers = {
                pid
                for pid in children_of(count.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            }
        assert len(workers) == 2, "the counting processes never started"
        count.send_signal(signal.SIGKILL)
        count.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers)
    finally:
        count.kill()
        count.wait()
