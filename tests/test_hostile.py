"""Hostile input against the HTTP server: each answer is a documented 4xx, never a 500,
costs bounded time and memory, and the server answers normally afterwards.

JSON that Python's decoder lets through but Unicode or JSON does not (lone surrogates,
NaN, nesting beyond any schema, integers of thousands of digits, bad UTF-8) is checked
in-process; what depends on the transport (chunked bodies, huge or slow headers, slow
bodies, idle sockets) runs against a real ``wordlens serve`` on 127.0.0.1, with the
limits and timeouts lowered through their environment variables.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time

import httpx2
import pytest
from conftest import running_server
from fastapi.testclient import TestClient
from procfs import rss_mib, server_workers

from wordlens.app.server import create_app
from wordlens.app.settings import Settings

BODY_LIMIT = 1024 * 1024
HEADER_LIMIT = 16 * 1024
HEADER_TIMEOUT = 1
BODY_TIMEOUT = 2


@pytest.fixture(scope="module")
def client(trained_models):
    with TestClient(create_app(Settings(models_dir=trained_models))) as session:
        yield session


def refused(response, status: int = 422, code: str = "invalid_request") -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return body


def post_raw(client, path: str, body: bytes):
    return client.post(path, content=body, headers={"content-type": "application/json"})


# ------------------------------------------------------------- JSON and Unicode


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/vectors", rb'{"words": ["\ud800"]}'),
        ("/keywords", rb'{"tokens": ["war", "\udfff"]}'),
        ("/keywords", rb'{"text": "war", "model": "\ud800"}'),
        ("/keywords/batch", rb'{"documents": [{"id": "\ud800", "text": "war"}]}'),
        ("/sentence_similarity", rb'{"tokens1": ["\ud83d"], "text2": "war"}'),
        ("/most_similar", rb'{"positive": ["war"], "negative": ["x\udc00y"]}'),
        ("/keywords", rb'{"text": "war", "stopwords": ["\ud800\ud800"]}'),
        ("/keywords", b'{"text": "war \xed\xa0\x80"}'),  # a surrogate encoded as raw bytes
    ],
)
def test_lone_surrogates_are_422(client, path, body):
    error = refused(post_raw(client, path, body))
    assert "surrogate" in error["message"] or "UTF-8" in error["message"]


def test_paired_surrogate_escapes_are_one_character(client):
    body = rb'{"tokens": ["war", "\ud83d\ude00", "\\ud800"]}'
    answer = post_raw(client, "/keywords", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["unknown"] == ["\U0001f600", "\\ud800"]


def test_lone_surrogates_in_query_strings_are_4xx(client):
    for url in ("/words/%ED%A0%80", "/vector?word=%ED%A0%80", "/related?word=w%ED%B0%80"):
        answer = client.get(url)
        assert answer.status_code in (404, 422), answer.text
        assert "error" in answer.json()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"words": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "deep"),
        (b'{"words": ["war"], "norm": ' + b"[" * 990 + b"]" * 990 + b"}", None),
        (b'{"words": ["war"], "model": ' + b"7" * 5000 + b"}", "digits"),
        (b'{"words": ["war"], "norm": NaN}', "NaN"),
        (b'{"words": ["war"], "norm": -Infinity}', "Infinity"),
        (b'{"words": ["war"]} trailing', None),
        (b'{"words": ["w\xffar"]}', "UTF-8"),
        (b"\xef\xbb\xbf" + b'{"words": ["war"]}', None),  # a byte-order mark is not JSON
        (b"", None),
    ],
)
def test_malformed_json_is_422(client, body, reason):
    error = refused(post_raw(client, "/vectors", body))
    if reason:
        assert reason in error["message"]


def test_json_types_are_not_coerced(client):
    refused(post_raw(client, "/keywords", b'{"text": "war", "exclude_stopwords": 0}'))
    refused(post_raw(client, "/keywords", b'{"text": "war", "topn": "3"}'))
    refused(post_raw(client, "/vectors", b'{"words": ["war"], "norm": "true"}'))
    refused(post_raw(client, "/keywords", b'{"text": "war", "topn": 3.5}'))
    refused(post_raw(client, "/keywords", b'{"text": null, "tokens": ["war"]}'))
    for depth in (1, 500):  # ids are JSON scalars: nothing deep to echo back
        nested = b"[" * depth + b"]" * depth
        refused(post_raw(client, "/keywords/batch", b'{"documents": [{"id": %s}]}' % nested))
    for body in (b'{"text": "war", "topn": 3.0}', b'{"documents": [{"id": 2.5, "text": "w"}]}'):
        ok = post_raw(client, "/keywords" if b"topn" in body else "/keywords/batch", body)
        assert ok.status_code == 200, ok.text  # 3.0 is an integer, as in JSON Schema
    ok = post_raw(client, "/similar_by_vector", json.dumps({"vector": [1] * 24}).encode())
    assert ok.status_code == 200, ok.text  # integers are numbers


def test_long_input_is_not_echoed_whole(client):
    words = [f"{i:04d}" + "x" * 996 for i in range(999)]  # 1 MB of unknown words
    answer = client.post("/vectors", json={"words": [*words, "war"]})
    error = refused(answer, 404, "unknown_word")
    assert len(answer.content) < 150_000
    assert len(error["missing"]) == 999
    assert all(len(word) == 101 and word.endswith("…") for word in error["missing"])
    assert error["message"].endswith("and 989 more") and len(error["message"]) < 1500
    answer = client.post("/keywords", json={"text": "war", "model": "m" * 1000})
    assert len(answer.content) < 1000
    assert refused(answer, 404, "unknown_model")["model"] == "m" * 100 + "…"
    answer = client.post("/vectors", json={"words": ["y" * 1_000_000]})
    assert len(answer.content) < 1000
    refused(answer, 422)


# ------------------------------------------------------------ the real server


@pytest.fixture(scope="module")
def server(trained_models):
    """A real server with one worker, a 1 MiB body limit and short timeouts."""
    env = {
        "WORDLENS_MAX_BODY_BYTES": str(BODY_LIMIT),
        "WORDLENS_MAX_HEADER_BYTES": str(HEADER_LIMIT),
        "WORDLENS_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "WORDLENS_BODY_TIMEOUT": str(BODY_TIMEOUT),
    }
    with running_server(trained_models, "--workers", "1", env=env) as url:
        port = int(url.rsplit(":", 1)[1])
        yield url, port


@pytest.fixture
def healthy(server):
    """The server answers normally after the test, and its worker's memory stayed
    within 64 MiB of what it was before (yields the worker's pid)."""
    url, port = server
    workers = server_workers(port)
    assert workers, "no worker process found"
    before = {pid: rss_mib(pid) for pid in workers}
    yield port
    assert httpx2.get(f"{url}/similarity?w1=war&w2=peace", timeout=5).status_code == 200
    for pid, mib in before.items():
        assert rss_mib(pid) - mib < 64, f"process {pid}: {mib:.0f} → {rss_mib(pid):.0f} MiB"


def read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one HTTP/1.1 response with a Content-Length."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("content-length", 0)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def stream_until_answered(sock: socket.socket, head: bytes, pieces, limit: int) -> int:
    """Send ``head`` then the ``pieces`` until the server answers, closes, or ``limit``
    bytes are sent; returns how many body bytes were sent."""
    sock.sendall(head)
    sent = 0
    for piece in pieces:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable or sent >= limit:
            break
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(piece)
    return sent


def chunked(prefix: bytes, filler: bytes, size: int = 64 * 1024):
    yield b"%x\r\n%s\r\n" % (len(prefix), prefix)
    block = filler * (size // len(filler))
    while True:
        yield b"%x\r\n%s\r\n" % (len(block), block)


@pytest.mark.parametrize(
    ("prefix", "filler"),
    [(b'{"text": "', b"war "), (b'{"text": "war", "stopwords": [', b'"peace", ')],
)
def test_chunked_body_beyond_the_limit_is_413_without_reading_it(healthy, prefix, filler):
    head = (
        b"POST /keywords HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", healthy)) as sock:
        started = time.monotonic()
        sent = stream_until_answered(sock, head, chunked(prefix, filler), 64 * BODY_LIMIT)
        status, headers, body = read_response(sock)
    assert status == 413 and json.loads(body)["error"]["code"] == "too_large"
    assert json.loads(body)["error"]["limit"] == BODY_LIMIT
    assert headers.get("connection") == "close"
    assert sent < 16 * BODY_LIMIT, f"the server read {sent:,} bytes past a {BODY_LIMIT:,} limit"
    assert time.monotonic() - started < 5


def test_declared_length_beyond_the_limit_is_413_at_once(healthy):
    head = (
        b"POST /vectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (300 * BODY_LIMIT)
    )
    with socket.create_connection(("127.0.0.1", healthy)) as sock:
        sock.sendall(head)
        status, headers, body = read_response(sock, timeout=5)
    assert status == 413 and json.loads(body)["error"]["limit"] == BODY_LIMIT


def test_huge_header_is_431(healthy):
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    pieces = iter(lambda: b"a" * 65536, None)
    with socket.create_connection(("127.0.0.1", healthy)) as sock:
        started = time.monotonic()
        sent = stream_until_answered(sock, head, pieces, 100 * 1024 * 1024)
        status, headers, body = read_response(sock)
    assert status == 431 and json.loads(body)["error"]["code"] == "header_too_large"
    assert json.loads(body)["error"]["limit"] == HEADER_LIMIT
    assert sent < 16 * 2**20  # what the kernel's socket buffers took, of 100 MiB
    assert time.monotonic() - started < 3


def test_many_headers_within_the_size_are_served(healthy):
    lines = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(100))
    with socket.create_connection(("127.0.0.1", healthy)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n")
        assert read_response(sock)[0] == 200


def server_closed(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (after at most one response, a 408)."""
    sock.settimeout(0.5)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return received == b"" or received.startswith(b"HTTP/1.1 408 ")


def test_idle_and_trickling_connections_are_closed(healthy):
    idle = [socket.create_connection(("127.0.0.1", healthy)) for _ in range(50)]
    trickling = [socket.create_connection(("127.0.0.1", healthy)) for _ in range(50)]
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        deadline = time.monotonic() + HEADER_TIMEOUT + 1.5
        for k in range(len(request) - 1):  # one byte at a time, never the whole head
            if time.monotonic() > deadline:
                break
            for sock in trickling:
                with contextlib.suppress(OSError):  # closed by the server: as wanted
                    sock.send(request[k : k + 1])
            time.sleep(0.1)
        time.sleep(max(0.0, deadline - time.monotonic()))
        still_open = [sock for sock in idle + trickling if not server_closed(sock)]
        assert not still_open, f"{len(still_open)} connections outlived the header timeout"
    finally:
        for sock in idle + trickling:
            sock.close()


def test_slow_body_is_408(healthy):
    head = (
        b"POST /vectors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", healthy)) as sock:
        sock.sendall(head + b'{"words": ')
        started = time.monotonic()
        status, headers, body = read_response(sock, timeout=BODY_TIMEOUT + 3)
        assert time.monotonic() - started < BODY_TIMEOUT + 2
    assert status == 408 and json.loads(body)["error"]["code"] == "timeout"


def test_text_that_expands_under_normalisation_is_refused_quickly(client):
    text = "\ufdfa" * 1_000_000  # 3 MB, one character each, 18 after NFKC
    started = time.monotonic()
    refused(client.post("/keywords", json={"text": text}), 413, "too_large")
    assert time.monotonic() - started < 1.0
