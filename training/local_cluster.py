"""A real Dask cluster on this machine, for tests and benchmarks: one ``dask
scheduler`` and some ``dask worker`` processes, every port on 127.0.0.1.

The same programs make a cluster of many machines (see the README); here they run
as child processes of this one, each in its own process group, and are stopped
(SIGTERM, then SIGKILL after a grace period) when the context ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["local_dask_cluster"]

# Every listening socket on loopback, the dashboards' too (--no-dashboard still
# serves the HTTP endpoints, on all interfaces).
_LOOPBACK = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]


def _start(arguments: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _wait_until(
    ready: Callable[[], bool],
    what: str,
    processes: list[subprocess.Popen],
    logs: list[Path],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"{what}: {log.name} exited:\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout:g} s (logs in {log.parent})")
        time.sleep(0.1)


def _address(scheduler_file: Path) -> str | None:
    """The scheduler's address, once its file is complete."""
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


def _stop(processes: list[subprocess.Popen], grace: float = 10.0) -> None:
    # Workers first: a worker whose scheduler went first waits for it to come back.
    for process in reversed(processes):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def local_dask_cluster(
    folder: str | os.PathLike,
    workers: int = 2,
    threads: int = 1,
    timeout: float = 60.0,
) -> Iterator[tuple[str, list[int]]]:
    """Start ``dask scheduler`` and ``workers`` × ``dask worker --nthreads
    threads`` (no nanny: one process each) on 127.0.0.1; yield (the scheduler's
    address, the process ids, scheduler first). Logs, the scheduler file and the
    workers' local directories go in ``folder``. Needs the ``distributed`` package
    (``pip install 'wordlens[cluster]'``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    scheduler_file.unlink(missing_ok=True)
    processes: list[subprocess.Popen] = []
    logs = [folder / "scheduler.log"]
    try:
        arguments = ["scheduler", *_LOOPBACK, "--port", "0"]
        processes.append(_start([*arguments, "--scheduler-file", str(scheduler_file)], logs[0]))
        _wait_until(
            lambda: _address(scheduler_file) is not None, "dask scheduler", processes, logs, timeout
        )
        for number in range(workers):
            logs.append(folder / f"worker-{number}.log")
            arguments = ["worker", *_LOOPBACK, "--scheduler-file", str(scheduler_file)]
            arguments += ["--nthreads", str(threads), "--no-nanny"]
            arguments += ["--local-directory", str(folder / f"worker-{number}")]
            processes.append(_start(arguments, logs[-1]))
        _wait_until(
            lambda: all(b"Registered to" in log.read_bytes() for log in logs[1:]),
            "dask workers",
            processes,
            logs,
            timeout,
        )
        yield str(_address(scheduler_file)), [process.pid for process in processes]
    finally:
        _stop(processes)
