"""Prometheus metrics: requests, errors and latency per route and model, and the
models loaded, served at ``/metrics`` in Prometheus's text format.

With several workers (``wordlens serve --workers N``) each process writes its
figures to files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's
multiprocess mode; the supervisor makes and empties that folder before the first
worker starts), and a scrape, whichever worker answers it, adds up every worker's
files: counters keep counting across worker restarts. Without that variable (one
process: ``uvicorn``, tests) the figures live in the process.

Labels are bounded: ``route`` is the route's template (``/words/{word}``, never
the word) or ``other`` for a path no route matches; ``model`` is a model the server
has loaded (the one that answered), or empty for requests that concern none.
"""

from __future__ import annotations

import os
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wordlens.app.supervisor import MULTIPROCESS_DIR

if TYPE_CHECKING:
    from wordlens.app.engine import Engine

__all__ = [
    "CONTENT_TYPE_LATEST",
    "RequestMetrics",
    "answering_model",
    "publish_models",
    "scrape",
]

# Latency buckets from 1 ms (a cached cosine query) to 10 s (a large keyword batch).
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "wordlens_requests",
    "HTTP requests answered, by route, method, model and status code.",
    ["route", "method", "model", "status"],
)
ERRORS = Counter(
    "wordlens_errors",
    "HTTP requests answered with a 4xx or 5xx status, by route, model and status code.",
    ["route", "model", "status"],
)
LATENCY = Histogram(
    "wordlens_request_duration_seconds",
    "Seconds from a request's arrival to the end of its answer, by route and model.",
    ["route", "model"],
    buckets=_SECONDS,
)
# Every worker loads the same models: the largest figure of any worker is the figure.
MODELS_LOADED = Gauge("wordlens_models_loaded", "Models loaded and ready.", multiprocess_mode="max")
MODEL_WORDS = Gauge(
    "wordlens_model_words", "Vocabulary size of each model.", ["model"], multiprocess_mode="max"
)
MODEL_DIMENSIONS = Gauge(
    "wordlens_model_dimensions", "Vector length of each model.", ["model"], multiprocess_mode="max"
)
MODEL_BYTES = Gauge(
    "wordlens_model_bytes",
    "Bytes of each model's files on disk (memory-mapped, shared by the workers).",
    ["model"],
    multiprocess_mode="max",
)

# The model that answers the current request: a mutable holder, so that a handler
# running in a worker thread (with a copy of the context) can fill it in.
_ANSWERING: ContextVar[dict[str, str] | None] = ContextVar("wordlens_answering", default=None)


def answering_model(name: str) -> None:
    """Label the current request's figures with the model ``name`` that answers it."""
    holder = _ANSWERING.get()
    if holder is not None:
        holder["model"] = name


def publish_models(engine: Engine) -> None:
    """Set the model gauges from the models ``engine`` has loaded."""
    MODELS_LOADED.set(len(engine.models))
    for name, model in engine.models.items():
        manifest = model.manifest
        MODEL_WORDS.labels(name).set(manifest["vocab_size"])
        MODEL_DIMENSIONS.labels(name).set(manifest["dim"])
        MODEL_BYTES.labels(name).set(sum(f["bytes"] for f in manifest["files"].values()))


def scrape() -> bytes:
    """The figures of every worker (or of this process), in Prometheus's text format."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class RequestMetrics:
    """Counts every HTTP request and times it, from arrival to the last byte sent."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        holder = {"model": ""}
        token = _ANSWERING.set(holder)
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            _ANSWERING.reset(token)
            route = getattr(scope.get("route"), "path", "other")
            model = holder["model"]
            REQUESTS.labels(route, scope["method"], model, str(status)).inc()
            if status >= 400:
                ERRORS.labels(route, model, str(status)).inc()
            LATENCY.labels(route, model).observe(time.perf_counter() - start)
