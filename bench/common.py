"""Small helpers shared by the benchmark scripts (timing, peak memory, tables), and
those of the benchmarks that serve over HTTP (starting ``wordlens serve``, a light load
generator, per-worker memory)."""

from __future__ import annotations

import asyncio
import http.client
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def best_of(function: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Fastest of ``repeat`` timings of ``number`` calls, in seconds per call."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            function()
        timings.append((time.perf_counter() - started) / number)
    return min(timings)


def median_of(function: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident memory of this process (or of its waited-for children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), columns in the given or first row's order."""
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, its peak resident memory in MiB, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed with status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024, output


# ------------------------------------------------------------------ serving over HTTP


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 GET; returns the status code and the body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return status, await reader.readexactly(length)


async def load(port: int, paths: list[str], concurrency: int, seconds: float) -> dict:
    """``concurrency`` keep-alive connections sending GETs back to back for ``seconds``;
    returns :func:`figures`, with ``client CPU``: the CPU seconds this process spent
    per second of the run (near 1.0, the load generator, not the server, sets the pace).

    A minimal client on raw asyncio streams, so that the load generator costs little
    CPU next to the server on this 2-core machine.
    """
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def user(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = await _get(reader, writer, paths[i % len(paths)])
            latencies.append(time.perf_counter() - started)
            errors += status != 200
            i += concurrency
        writer.close()

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(user(k) for k in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        **figures(latencies, elapsed, errors),
        "client CPU": (time.process_time() - cpu) / elapsed,
    }


async def fetch_all(port: int, paths: list[str], concurrency: int) -> list[tuple[int, bytes]]:
    """Every path GET once, over ``concurrency`` keep-alive connections; (status, body)
    in the order of ``paths``."""
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(paths)
    queue = iter(range(len(paths)))  # shared: each connection takes the next path

    async def user() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in queue:
            answers[i] = await _get(reader, writer, paths[i])
        writer.close()

    await asyncio.gather(*(user() for _ in range(min(concurrency, len(paths)))))
    return answers


def figures(latencies: list[float], elapsed: float, errors: int) -> dict:
    """requests/s, p50 and p99 latency (ms) and errors of a load run."""
    latencies = sorted(latencies)
    return {
        "requests/s": len(latencies) / elapsed,
        "p50 ms": 1e3 * statistics.median(latencies),
        "p99 ms": 1e3 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors,
    }


def process_memory(pid: int) -> dict[str, float]:
    """A process's memory in MiB from /proc/PID/smaps_rollup: ``rss``; ``pss`` (pages
    shared with other processes count as their share); ``private`` (Private_Clean +
    Private_Dirty: pages no other process maps, what each further worker adds)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            fields[name] = int(rest.split()[0]) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "private": fields["Private_Clean"] + fields["Private_Dirty"],
    }


def worker_pids(parent: int) -> list[int]:
    """The worker processes of the ``wordlens serve`` process ``parent``."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    ]


def ready_status(port: int) -> int | None:
    """GET /readyz on a new connection to 127.0.0.1:``port``: its status, or None if
    the connection failed or timed out. Plain ``http.client``: an ``httpx2.get`` sets
    up a TLS context each time (about 15 ms), which would count in start times."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/readyz")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def start_server(
    models: str, workers: int, port: int, timeout: float = 120.0
) -> tuple[subprocess.Popen, float]:
    """Start ``wordlens serve`` on 127.0.0.1:``port`` and wait until /readyz answers
    200 on 8 new connections per worker in a row and every worker runs; returns the
    process and the seconds that took."""
    started = time.perf_counter()
    answered = 0  # consecutive 200s, each on a new connection
    server = subprocess.Popen(
        [
            sys.executable, "-m", "wordlens", "serve", "--models", models,
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    while True:
        ready = ready_status(port) == 200
        # Each GET opens a new connection, which the kernel hands to one worker's
        # socket (by a hash of the client port); a worker still loading holds it until
        # it is ready. 8 answers in a row make it unlikely (< 1 %) that a worker of 2
        # was never asked.
        answered = answered + 1 if ready else 0
        if answered >= 8 * workers and len(worker_pids(server.pid)) == workers:
            return server, time.perf_counter() - started
        if ready:
            continue
        if server.poll() is not None:
            raise SystemExit("server exited")
        if time.perf_counter() - started > timeout:
            server.kill()
            raise SystemExit(f"server not ready after {timeout:.0f} s")
        time.sleep(0.01)
