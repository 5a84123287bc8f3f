"""/metrics and the log formats: figures parsed with prometheus-client's own parser,
in-process and from a real server whose two workers' figures must add up; JSON log
lines from every process, access lines included."""

from __future__ import annotations

import json
import logging

import httpx2
import pytest
from conftest import running_server
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from wordlens.app.server import create_app
from wordlens.app.settings import Settings
from wordlens.app.supervisor import JSONFormatter


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of a scrape."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(figures: dict, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    return sum(
        value
        for (sample, sample_labels), value in figures.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


@pytest.fixture(scope="module")
def client(trained_models):
    with TestClient(create_app(Settings(models_dir=trained_models))) as session:
        yield session


def test_requests_errors_and_latency_per_route_and_model(client):
    before = samples(client.get("/metrics").text)
    for _ in range(3):
        client.get("/most_similar", params={"positive": "war", "model": "word2vec"})
    client.get("/most_similar", params={"positive": "qwzxv"})  # 404 from the default model
    client.get("/words/war")
    client.get("/no/such/route")
    scrape = client.get("/metrics")
    assert scrape.headers["content-type"].startswith("text/plain")
    after = samples(scrape.text)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    route = {"route": "/most_similar"}
    assert grew("wordlens_requests_total", **route, model="word2vec", status="200") == 3
    assert grew("wordlens_requests_total", **route, model="pmi", status="404") == 1
    assert grew("wordlens_errors_total", **route, model="pmi", status="404") == 1
    assert grew("wordlens_errors_total", **route, model="word2vec") == 0
    assert grew("wordlens_request_duration_seconds_count", **route, model="word2vec") == 3
    assert grew("wordlens_request_duration_seconds_sum", **route) > 0
    # routes are templates, never the words asked for; unmatched paths are "other"
    assert grew("wordlens_requests_total", route="/words/{word}", model="pmi") == 1
    assert grew("wordlens_requests_total", route="other", model="", status="404") == 1
    assert not any("war" in dict(labels).get("route", "") for _, labels in after)


def test_models_loaded_and_their_sizes(client, trained_models):
    figures = samples(client.get("/metrics").text)
    manifest = json.loads((trained_models / "pmi" / "manifest.json").read_text())
    assert total(figures, "wordlens_models_loaded") == 2
    assert total(figures, "wordlens_model_words", model="pmi") == manifest["vocab_size"]
    assert total(figures, "wordlens_model_dimensions", model="pmi") == manifest["dim"]
    on_disk = sum(file["bytes"] for file in manifest["files"].values())
    assert total(figures, "wordlens_model_bytes", model="pmi") == on_disk


def test_json_log_lines():
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/healthz?x=1", "1.1", 200), None,
    )  # fmt: skip
    line = json.loads(JSONFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "uvicorn.access"
    assert line["message"] == '127.0.0.1:5000 - "GET /healthz?x=1 HTTP/1.1" 200'
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz?x=1", 200)
    assert line["time"].endswith("+00:00") and "T" in line["time"]


def test_two_workers_figures_add_up_and_every_line_is_json(trained_models):
    with running_server(
        trained_models, "--workers", "2", env={"WORDLENS_LOG_FORMAT": "json"}
    ) as url:
        log_path = trained_models.parent / f"server-{url.rsplit(':', 1)[1]}.log"
        asked = 40
        for _ in range(asked):  # a new connection each: the kernel spreads them
            assert httpx2.get(f"{url}/most_similar", params={"positive": "war"}).is_success
        for _ in range(10):  # whichever worker answers the scrape counts both
            scrape = httpx2.get(f"{url}/metrics").text
            served = total(samples(scrape), "wordlens_requests_total", route="/most_similar")
            assert served == asked, scrape
        lines = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    assert all({"time", "level", "logger", "process", "message"} <= line.keys() for line in lines)
    loaded = [line for line in lines if line["message"].startswith("models loaded")]
    assert len({line["process"] for line in loaded}) == 2  # both workers say so
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    answered = [line for line in access if line["path"].startswith("/most_similar")]
    assert len(answered) == asked and {line["status"] for line in answered} == {200}
    assert len({line["process"] for line in answered}) == 2  # both workers answered
