"""Stage: count a corpus in parallel, on local processes or a Dask cluster.

The corpus is cut into byte-range shards (:func:`corpus.shards.split_corpus`); each
shard is counted by :func:`training.cooccur.count_documents` into a partial counts
folder, and the partials are merged by :func:`training.merge.merge_counts` along a
fixed binary tree over the shards in corpus order (shards 0+1, 2+3, then their
results, …), each merge starting as soon as its two inputs exist. Counts are exact
integers, so the result equals counting the whole corpus in one process, cell by
cell; the tree keeps the corpus order of the manifest's ``sources`` and makes every
cell go through about log2(shards) merges instead of one per shard.

Where the work runs:

- without a scheduler, on local processes (``workers``, default: every core), the
  memory budget split evenly between them (each runs one count or merge at a time);
- with ``scheduler="tcp://HOST:PORT"``, as tasks on the workers of a running
  ``dask.distributed`` cluster, ``memory_bytes`` being the budget of each task (a
  worker with ``--nthreads N`` runs N at a time). Workers read the corpus files and
  write the partials themselves, so the corpus path and the folder of ``out`` must be
  the same paths on every worker and on the machine that runs this function (a
  shared file system); only paths and small descriptions travel through the
  scheduler. The client plans the shards, removes merged partials and publishes the
  result; it counts and merges nothing.

Partials live in a scratch folder beside ``out`` (``.NAME.scratch-PID-*``), removed
at the end whatever happens; the tasks keep their temporary files there too.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import logging
import math
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from wordlens.artifacts import scratch_directory
from wordlens.corpus import CorpusError, Tokenizer, corpus_files, from_spec
from wordlens.corpus.shards import ByteRange, ShardCorpus, split_corpus
from wordlens.processes import exit_with_parent

log = logging.getLogger(__name__)

__all__ = [
    "ClusterError",
    "count_corpus",
    "default_shard_bytes",
    "MIN_SHARD_BYTES",
    "MAX_SHARD_BYTES",
    "SHARDS_PER_WORKER",
]

# Default shard size: about SHARDS_PER_WORKER shards per worker, so that a worker
# that finishes early takes another shard instead of idling while the slowest one
# ends (with one shard each, the run lasts as long as the slowest worker's shard);
# not much smaller than MIN_SHARD_BYTES, since every shard adds a partial counts folder to
# write and merge (the partials of small shards each hold most of the vocabulary
# and frequent pairs, so merging costs grow with their number); no larger than
# MAX_SHARD_BYTES, so that on a large corpus a lost worker loses little and the
# merges start early.
SHARDS_PER_WORKER = 4
MIN_SHARD_BYTES = 8 * 2**20
MAX_SHARD_BYTES = 256 * 2**20

# How long to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT_SECONDS = 10.0
# How long a failed run waits for its tasks still running on Dask workers to end.
CANCEL_WAIT_SECONDS = 30.0


class ClusterError(OSError):
    """The Dask cluster cannot be used: unreachable scheduler, no workers, a worker
    lost while it held a task."""


@dataclass(frozen=True)
class _Settings:
    """What every task needs besides its paths (small, pickled with each task)."""

    tokenizer: dict[str, Any]
    text_field: str
    window: int
    weighting: str
    memory_bytes: int


def default_shard_bytes(corpus_bytes: int, workers: int) -> int:
    """The shard size for a corpus of ``corpus_bytes`` on ``workers`` concurrent
    workers: about :data:`SHARDS_PER_WORKER` shards each, within
    [:data:`MIN_SHARD_BYTES`, :data:`MAX_SHARD_BYTES`] (less when the corpus is
    smaller), the corpus cut into shards of equal size."""
    wanted = math.ceil(corpus_bytes / (SHARDS_PER_WORKER * max(1, workers)))
    size = max(MIN_SHARD_BYTES, min(MAX_SHARD_BYTES, wanted))
    # As many shards as that size gives, but of equal sizes: 25 MB in shards of 8 MiB
    # would leave a last one of 0.5 MiB, and one worker with twice the work of another.
    return max(1, math.ceil(corpus_bytes / max(1, math.ceil(corpus_bytes / size))))


# ---------------------------------------------------------------- tasks (on workers)


@functools.lru_cache(maxsize=4)
def _tokenizer(spec_json: str) -> Tokenizer:
    # One per worker process: building jieba's loads its dictionary (about a second).
    return from_spec(json.loads(spec_json))


def _figures(counts: Path) -> dict[str, Any]:
    manifest = json.loads((counts / "manifest.json").read_text(encoding="utf-8"))
    return manifest["figures"]


def _count_shard(shard: ByteRange, settings: _Settings, out: str) -> tuple[str, dict[str, Any]]:
    """Count one shard into the counts folder ``out``; returns ``out`` and the
    counting's figures."""
    from wordlens.training.cooccur import count_documents

    target = Path(out)
    tokenizer = _tokenizer(json.dumps(settings.tokenizer, sort_keys=True))
    corpus = ShardCorpus(shard, tokenizer, settings.text_field)
    count_documents(
        corpus,
        window=settings.window,
        weighting=settings.weighting,
        memory_bytes=settings.memory_bytes,
        out=target,
        tokenizer_spec=settings.tokenizer,
        corpus_description=corpus.describe,
        scratch=target.parent,  # the run's scratch folder: its temporary files go there
    )
    return out, _figures(target)


def _merge_pair(left: str, right: str, out: str, memory_bytes: int) -> tuple[str, dict[str, Any]]:
    """Merge the counts folders ``left`` then ``right`` into ``out``; returns ``out``
    and the merge's figures."""
    from wordlens.training.merge import merge_counts

    target = Path(out)
    merge_counts([Path(left), Path(right)], target, memory_bytes, scratch=target.parent)
    return out, _figures(target)


# ---------------------------------------------------------------- where tasks run


class _Backend(Protocol):
    """Where tasks run: local processes or a Dask cluster."""

    workers: int  # tasks that run at once

    def submit(self, function: Callable, *args: Any) -> Any:
        """Start ``function(*args)``; returns its future."""

    def finished(self) -> Iterator[Any]:
        """Futures as they finish, including those submitted while iterating."""

    def result(self, future: Any) -> Any:
        """A finished future's value, or what the task raised."""

    def cancel(self) -> None:
        """Drop the tasks not yet finished."""

    def close(self) -> None:
        """Release the processes or the connection, once no task runs any more."""


class _LocalProcesses:
    def __init__(self, workers: int):
        self.workers = workers
        # spawn, as elsewhere in wordlens: forking a process that runs threads
        # (numba, tqdm) can copy a held lock into the child.
        # exit_with_parent: a count killed outright must not leave its processes
        # counting for nobody (they did, for half an hour, before).
        self.pool = cf.ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )
        self.pending: set[cf.Future] = set()

    def submit(self, function: Callable, *args: Any) -> cf.Future:
        future = self.pool.submit(function, *args)
        self.pending.add(future)
        return future

    def finished(self) -> Iterator[cf.Future]:
        while self.pending:
            done, _ = cf.wait(self.pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                self.pending.discard(future)
                yield future

    def result(self, future: cf.Future) -> Any:
        try:
            return future.result()
        except cf.process.BrokenProcessPool as error:
            raise ClusterError(
                f"a counting process died ({error}); out of memory? try a lower --memory-mb "
                "or fewer --workers"
            ) from None

    def cancel(self) -> None:
        for future in self.pending:
            future.cancel()

    def close(self) -> None:
        # Waits for the tasks already running: they write into the scratch folder,
        # which is removed only after them.
        self.pool.shutdown(wait=True, cancel_futures=True)


class _DaskCluster:
    def __init__(self, address: str, timeout: float):
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise ClusterError(
                "counting on a Dask cluster needs the distributed package: "
                "pip install 'wordlens[cluster]'"
            ) from None
        self.address = address
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({error})"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            self.client.close()
            raise ClusterError(
                f"no Dask worker joined the scheduler at {address} within {timeout:g} s; "
                f"start some with: dask worker {address}"
            ) from None
        workers = self.client.scheduler_info()["workers"].values()
        self.workers = sum(worker.get("nthreads", 1) for worker in workers)
        self.running = as_completed(loop=self.client.loop)
        self.futures: list[Any] = []

    def submit(self, function: Callable, *args: Any) -> Any:
        future = self.client.submit(function, *args, pure=False)
        self.futures.append(future)
        self.running.add(future)
        return future

    def finished(self) -> Iterator[Any]:
        yield from self.running

    def result(self, future: Any) -> Any:
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as error:
            raise ClusterError(
                f"Dask workers died while running a task ({error}); "
                "out of memory? try a lower --memory-mb"
            ) from None
        except (CorpusError, FileNotFoundError) as error:
            if isinstance(error, FileNotFoundError) or "not found" in str(error):
                raise type(error)(
                    f"on a Dask worker: {error} (the workers must see the corpus and the "
                    "folder of the output under the same paths as this machine)"
                ) from None
            raise

    def cancel(self) -> None:
        self.client.cancel(self.futures)
        # A cancelled task that already runs goes on on its worker; wait a while for
        # it to end, so that it does not write into the scratch folder after it is
        # removed (a writer of the same counts later removes what it left anyway).
        keys = {future.key for future in self.futures}
        deadline = time.monotonic() + CANCEL_WAIT_SECONDS
        while time.monotonic() < deadline:
            processing = self.client.processing()
            if not keys.intersection(key for tasks in processing.values() for key in tasks):
                return
            time.sleep(0.2)
        log.warning("Dask tasks still running after %g s; leaving them", CANCEL_WAIT_SECONDS)

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------- the reduction


def _tree_sizes(leaves: int) -> list[int]:
    """Nodes per level of the binary tree over ``leaves`` shards, leaves first."""
    sizes = [leaves]
    while sizes[-1] > 1:
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def _count_and_merge(
    backend: _Backend,
    shards: list[ByteRange],
    settings: _Settings,
    scratch: Path,
    progress: Callable[[int, int], None] | None,
    stages: dict[str, float],
) -> Path:
    """Count every shard and merge the partials down the tree; returns the root's
    counts folder (inside ``scratch``). Node (level, j) merges (level − 1, 2j) and
    (level − 1, 2j + 1); a node without a right sibling moves up unchanged.
    ``stages`` receives the seconds the tasks spent tokenising, counting and merging
    (summed over tasks, which run side by side)."""
    sizes = _tree_sizes(len(shards))
    tasks = len(shards) + sum(size // 2 for size in sizes[:-1])
    root = (len(sizes) - 1, 0)
    ready: dict[tuple[int, int], Path] = {}
    nodes: dict[Any, tuple[int, int]] = {}
    merged_inputs: dict[Any, tuple[Path, Path]] = {}
    done = 0
    for j, shard in enumerate(shards):
        future = backend.submit(_count_shard, shard, settings, str(scratch / f"0-{j}"))
        nodes[future] = (0, j)
    if progress is not None:
        progress(0, tasks)
    for future in backend.finished():
        (level, j) = nodes.pop(future)
        finished, figures = backend.result(future)
        path = Path(finished)
        if level == 0:
            stages["tokenise_seconds"] += figures["read_seconds"]
            stages["count_seconds"] += figures["seconds"] - figures["read_seconds"]
        else:
            stages["merge_seconds"] += figures["seconds"]
        for merged in merged_inputs.pop(future, ()):
            shutil.rmtree(merged, ignore_errors=True)  # read, no longer needed
        done += 1
        if progress is not None:
            progress(done, tasks)
        while (level, j) != root and (j ^ 1) >= sizes[level]:  # no sibling: move up
            level, j = level + 1, j // 2
        if (level, j) == root:
            return path
        sibling = (level, j ^ 1)
        if sibling not in ready:
            ready[(level, j)] = path
            continue
        left, right = (ready.pop(sibling), path) if j & 1 else (path, ready.pop(sibling))
        parent = (level + 1, j // 2)
        out = scratch / f"{parent[0]}-{parent[1]}"
        future = backend.submit(_merge_pair, str(left), str(right), str(out), settings.memory_bytes)
        nodes[future] = parent
        merged_inputs[future] = (left, right)
    raise AssertionError("the reduction ended without reaching its root")


def count_corpus(
    path: str | os.PathLike,
    *,
    tokenizer: Tokenizer,
    out: str | os.PathLike,
    text_field: str = "text",
    window: int = 8,
    weighting: str = "distance",
    memory_bytes: int = 1024 * 2**20,
    workers: int | None = None,
    scheduler: str | None = None,
    shard_bytes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> Path:
    """Count the co-occurrences of the corpus at ``path`` (a file or a folder) and
    publish the counts folder at ``out`` (atomically, replacing counts there);
    returns its path.

    Parameters
    ----------
    tokenizer : how documents become tokens (rebuilt on each worker from its spec).
    window, weighting : the co-occurrence window and ``"distance"`` (1/d) or
        ``"constant"`` weights.
    memory_bytes : with local processes, the budget of them all, split evenly; with a
        scheduler, the budget of each task.
    workers : local processes (default: every core); ignored with a scheduler.
    scheduler : address of a Dask scheduler, ``tcp://HOST:PORT``.
    shard_bytes : shard size in bytes (default: :func:`default_shard_bytes`).
    progress : called with (tasks done, tasks in all) as counts and merges finish.
    connect_timeout : seconds to wait for the scheduler and for a first worker.

    Raises :class:`corpus.CorpusError` for a corpus that cannot be read or holds no
    document, :class:`ClusterError` when the cluster cannot do the work, and what a
    task raised (e.g. a corpus file gone while counting).
    """
    from wordlens.training.counts import replace_figures, ticks_scale

    ticks_scale(window, weighting)  # refuses a bad window or weighting before any work
    if memory_bytes < 1:
        raise ValueError(f"the memory budget must be positive, got {memory_bytes} bytes")
    files = corpus_files(path)
    started = time.perf_counter()
    with scratch_directory(out) as scratch:
        backend: _Backend
        if scheduler is not None:
            backend = _DaskCluster(scheduler, connect_timeout)
            task_bytes = memory_bytes
        else:
            backend = _LocalProcesses(workers or os.cpu_count() or 1)
            task_bytes = memory_bytes // backend.workers
        try:
            if shard_bytes is None:
                corpus_bytes = sum(file.stat().st_size for file in files)
                shard_bytes = default_shard_bytes(corpus_bytes, backend.workers)
            shards = split_corpus(path, shard_bytes)
            log.info(
                "counting %d shard(s) of %s on %s",
                len(shards),
                path,
                f"the Dask cluster at {scheduler} ({backend.workers} threads)"
                if scheduler
                else f"{backend.workers} local process(es)",
            )
            settings = _Settings(tokenizer.spec, text_field, window, weighting, task_bytes)
            stages = dict.fromkeys(("tokenise_seconds", "count_seconds", "merge_seconds"), 0.0)
            try:
                result = _count_and_merge(backend, shards, settings, scratch, progress, stages)
            except BaseException:
                backend.cancel()
                raise
        finally:
            # Before the scratch folder goes: tasks still running write into it.
            backend.close()
        _check_documents(result, path)
        figures = {
            "shards": len(shards),
            "workers": backend.workers,
            "memory_bytes": memory_bytes,
            **{name: round(seconds, 3) for name, seconds in stages.items()},
            "seconds": round(time.perf_counter() - started, 3),
        }
        replace_figures(result, figures)
        published = _publish(result, out)
    log.info("counted %s in %.1f s", path, time.perf_counter() - started)
    return published


def _check_documents(counts: Path, path: str | os.PathLike) -> None:
    manifest = json.loads((counts / "manifest.json").read_text(encoding="utf-8"))
    if not manifest["corpus"]["documents"]:
        raise CorpusError(f"no documents in {path}")


def _publish(result: Path, out: str | os.PathLike) -> Path:
    """Publish the finished counts folder ``result`` (in the scratch folder beside
    ``out``, so on the same file system) at ``out``: its files are moved, not copied,
    into a partial folder that is then renamed into place."""
    from wordlens.artifacts import publish_directory

    with publish_directory(out) as partial:
        for file in result.iterdir():
            os.rename(file, partial / file.name)
    return Path(out).absolute()
