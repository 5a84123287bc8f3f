"""The processes of ``wordlens serve``: a small supervisor and its uvicorn workers.

Each worker gets its own listening socket, all bound to the same address with
SO_REUSEPORT, so that the kernel spreads new connections evenly over the workers.
(With one shared socket, as in uvicorn's own multi-process mode, whichever worker
wakes first accepts a burst of connections and keeps them: one worker held 63 of 64
keep-alive connections.) The supervisor holds the sockets and restarts a worker
that dies on the same socket, so the connections the kernel queued there wait for
the replacement rather than being refused. Workers exit when the supervisor dies.
Each worker memory-maps the same model files: one copy in the page cache.

The supervisor imports neither numpy, the models nor prometheus-client: it stays
small, and starts the workers sooner. It also makes the folder where the workers
keep their metrics (:mod:`wordlens.app.metrics`), and removes it when the server
stops.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import logging.config
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from wordlens.processes import exit_with_parent

__all__ = ["LOG_FORMATS", "MULTIPROCESS_DIR", "JSONFormatter", "logging_config", "serve"]

log = logging.getLogger("wordlens.supervisor")

_SPAWN = multiprocessing.get_context("spawn")
_RESTART_PAUSE = 1.0  # seconds before restarting a worker that died young
_YOUNG = 10.0  # seconds: a worker dying sooner than this is restarted after a pause
_STOP_GRACE = 15.0  # seconds a worker has to finish its requests when the server stops


#: The environment variable prometheus-client reads for its multiprocess mode: the
#: folder the supervisor makes for the workers' metrics files.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

#: ``--log-format`` / WORDLENS_LOG_FORMAT values.
LOG_FORMATS = ("plain", "json")

# uvicorn's access lines are '%s - "%s %s HTTP/%s" %d' of these arguments.
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601, milliseconds), ``level``,
    ``logger``, ``process``, ``message``; an access line also has ``client``,
    ``method``, ``path``, ``http_version`` and ``status``; an error with a traceback
    has ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str, log_format: str = "plain") -> dict:
    """Log lines on standard error with time, level, logger and process id: as text
    (``plain``) or one JSON object per line (``json``, :class:`JSONFormatter`)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
            "json": {"()": JSONFormatter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A TCP socket listening on (host, port) that other such sockets may share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(backlog)
    return sock


def _worker(sock: socket.socket, log_level: str, log_format: str, parent: int) -> None:
    """One worker process: uvicorn on ``sock`` with the bounded HTTP protocol."""
    exit_with_parent(parent)
    # A fatal signal (SIGBUS: a model file truncated under a query in flight) prints
    # the Python stack of every thread to stderr before the worker dies.
    faulthandler.enable(all_threads=True)
    import uvicorn

    from wordlens.app.protocol import LimitedHttpProtocol
    from wordlens.app.settings import Settings

    settings = Settings.from_env()
    config = uvicorn.Config(
        "wordlens.app.server:create_app",
        factory=True,
        http=LimitedHttpProtocol.configured(settings),
        ws="none",
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=int(_STOP_GRACE) - 1,
        log_config=logging_config(log_level, log_format),
        log_level=log_level,
    )
    uvicorn.Server(config).run(sockets=[sock])


def _exit_reason(process: BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class _Supervisor:
    def __init__(self, sockets: list[socket.socket], log_level: str, log_format: str):
        self.sockets = sockets
        self.log_level = log_level
        self.log_format = log_format
        self.workers: list[BaseProcess | None] = [None] * len(sockets)
        self.started = [0.0] * len(sockets)
        self.stopping = False

    def start(self, slot: int) -> None:
        process = _SPAWN.Process(
            target=_worker,
            args=(self.sockets[slot], self.log_level, self.log_format, os.getpid()),
            name=f"wordlens-worker-{slot + 1}",
        )
        process.start()
        self.workers[slot], self.started[slot] = process, time.monotonic()
        log.info("worker %d started (process %d)", slot + 1, process.pid)

    def stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self.stop)
        for slot in range(len(self.sockets)):
            self.start(slot)
        while not self.stopping:
            alive = [process.sentinel for process in self.workers if process is not None]
            wait(alive, timeout=0.5)
            for slot, process in enumerate(self.workers):
                if self.stopping or process is None or process.is_alive():
                    continue
                log.error("worker %d (process %d) %s", slot + 1, process.pid, _exit_reason(process))
                process.close()
                if time.monotonic() - self.started[slot] < _YOUNG:
                    time.sleep(_RESTART_PAUSE)  # do not spin on a worker that cannot start
                self.start(slot)
        self.shut_down()
        return 0

    def shut_down(self) -> None:
        running = [process for process in self.workers if process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + _STOP_GRACE
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sock in self.sockets:
            sock.close()
        log.info("stopped")


@contextmanager
def _metrics_folder():
    """The workers' metrics folder: $PROMETHEUS_MULTIPROC_DIR emptied of an earlier
    run's figures, or a new temporary folder removed at the end."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    folder = tempfile.mkdtemp(prefix="wordlens-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder  # the workers inherit it
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


def serve(
    host: str, port: int, workers: int, log_level: str = "info", log_format: str = "plain"
) -> int:
    """Serve the API with ``workers`` processes until SIGTERM or SIGINT."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    logging.config.dictConfig(logging_config(log_level, log_format))
    first = listening_socket(host, port)
    port = first.getsockname()[1]  # the port the kernel chose, if port was 0
    sockets = [first, *(listening_socket(host, port) for _ in range(workers - 1))]
    log.info("listening on http://%s:%d with %d worker(s)", host, port, workers)
    with _metrics_folder():
        return _Supervisor(sockets, log_level, log_format).run()
