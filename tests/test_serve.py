"""``wordlens serve`` as processes: keep-alive connections spread over the workers, a
killed worker is replaced and gets its share, workers end with the supervisor, log
lines carry time, level and process but no absolute path, no Server header; the
supervisor starts its workers without importing what only they need."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx2
import pytest
from conftest import ROOT, running_server
from procfs import connection_owners, parent_of, server_workers

CONNECTIONS = 64
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \[\d+\] "
)


def request_each(connections: list[socket.socket]) -> None:
    for sock in connections:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    for sock in connections:
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


def shares(port: int, workers: set[int]) -> Counter:
    """How many of CONNECTIONS new keep-alive connections each worker serves."""
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNECTIONS)]
    try:
        request_each(connections)
        ports = [sock.getsockname()[1] for sock in connections]
        return Counter(connection_owners(port, ports, workers))
    finally:
        for sock in connections:
            sock.close()


def wait_for_workers(port: int, count: int, timeout: float = 60.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while len(workers := server_workers(port)) != count:
        assert time.monotonic() < deadline, f"workers: {workers}"
        time.sleep(0.2)
    return workers


@contextlib.contextmanager
def two_workers(models):
    """(port, log file) of a server with two workers."""
    with running_server(models, "--workers", "2") as url:
        port = int(url.rsplit(":", 1)[1])
        yield port, models.parent / f"server-{port}.log"


@pytest.fixture(scope="module")
def server(trained_models):
    with two_workers(trained_models) as served:
        yield served


def test_connections_spread_and_a_killed_worker_is_replaced(server):
    port, log_path = server
    workers = wait_for_workers(port, 2)
    counts = shares(port, workers)
    assert sum(counts.values()) == CONNECTIONS
    assert min(counts[pid] for pid in workers) >= CONNECTIONS // 4, counts

    killed = min(workers)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while killed in (workers := server_workers(port)) or len(workers) != 2:
        assert time.monotonic() < deadline, f"no replacement: {workers}"
        time.sleep(0.2)
    counts = shares(port, workers)  # waits in the socket's queue for the new worker
    assert min(counts[pid] for pid in workers) >= CONNECTIONS // 4, counts
    assert f"(process {killed}) killed by SIGKILL" in log_path.read_text()


def test_workers_end_with_the_supervisor(trained_models):
    with two_workers(trained_models) as (port, _):
        workers_end_with_their_supervisor(port)


def workers_end_with_their_supervisor(port: int) -> None:
    workers = wait_for_workers(port, 2)
    supervisor = parent_of(next(iter(workers)))
    assert parent_of(supervisor) == os.getpid()
    os.kill(supervisor, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while alive := [pid for pid in workers if os.path.exists(f"/proc/{pid}/stat")]:
        if all(" Z " in Path(f"/proc/{pid}/stat").read_text() for pid in alive):
            break  # zombies, waiting for their reaper
        assert time.monotonic() < deadline, f"workers outlived the supervisor: {alive}"
        time.sleep(0.2)


def test_log_lines_have_time_level_and_process_and_no_paths(server, trained_models):
    port, log_path = server
    wait_for_workers(port, 2)
    answer = httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
    assert "server" not in answer.headers  # no "server: uvicorn"
    text = log_path.read_text()
    assert "models loaded: pmi, word2vec" in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines and all(LOG_LINE.match(line) for line in lines), text
    assert str(trained_models) not in text and str(trained_models.resolve()) not in text


def test_the_supervisor_imports_nothing_its_workers_import(tmp_path):
    """Before the workers start, ``wordlens serve`` reads its command line and imports
    the supervisor: neither numpy, prometheus-client, FastAPI, the query engine nor the
    pipeline, which would delay every worker (each imports what it needs itself)."""
    code = (
        "import sys\n"
        "from wordlens.cli import build_parser\n"
        "build_parser(['serve']).parse_args(['serve'])\n"
        "import wordlens.app.supervisor\n"
        "heavy = ('numpy', 'prometheus_client', 'fastapi', 'wordlens.app.engine',\n"
        "         'wordlens.training')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
