"""Batch queries against single queries: 1,000 words as one batch, or as 1,000 calls.

In-process (the engine, one BLAS thread as in a server worker): ``most_similar_batch``
and ``related_batch`` of 1,000 words against 1,000 ``most_similar`` / ``related``
calls. Over HTTP (``wordlens serve --workers 2`` on 127.0.0.1): one POST to
``/most_similar/batch`` or ``/related/batch`` against 1,000 GETs to ``/most_similar``
or ``/related`` on keep-alive connections, one at a time and 16 at once. Prints the
seconds for the 1,000 words and how many times faster the batch is. The words are
drawn at random (seeded) from the 20,000 most frequent. Then what batches cost the
single queries served beside them: singles at concurrency 16 for ``--seconds``,
alone and while another connection posts batches of the same words back to back
(their requests/s and latency, the batches' rate, and the words answered per second
in all).

    .venv/bin/python bench/bench_batch.py [--models models] [--words 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx2
import numpy as np
from common import fetch_all, free_port, load, start_server, table


async def singles(port: int, paths: list[str], concurrency: int) -> float:
    """Seconds to send ``paths`` as GETs over ``concurrency`` keep-alive connections."""
    started = time.perf_counter()
    answers = await fetch_all(port, paths, concurrency)
    seconds = time.perf_counter() - started
    if any(status != 200 for status, _ in answers):
        raise SystemExit(f"statuses {sorted({status for status, _ in answers})}")
    return seconds


def median_seconds(call, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="models")
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--topn", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="each run of singles with and without batches beside them (0: skip)",
    )
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from wordlens.app.engine import Engine, SimilarQuery

    threadpool_limits(1)  # as a server worker
    args.models = str(Path(args.models).resolve())
    engine = Engine(args.models, verify=False)
    rng = np.random.default_rng(0)
    samples = {}
    rows = []
    for name, model in engine.models.items():
        words = [model.words[i] for i in rng.integers(0, min(20_000, len(model)), args.words)]
        samples[name] = words
        queries = [SimilarQuery([w]) for w in words]
        kinds = {
            "most_similar": (
                lambda m=model, q=queries: m.most_similar_batch(q, args.topn),
                lambda m=model, w=words: [m.most_similar([x], topn=args.topn) for x in w],
            )
        }
        if model.family.answers("context_similarity"):
            kinds["related"] = (
                lambda m=model, w=words: m.related_batch(w, args.topn),
                lambda m=model, w=words: [m.related(x, args.topn) for x in w],
            )
        for kind, (batch, single) in kinds.items():
            batch_seconds = median_seconds(batch, args.repeat)
            single_seconds = median_seconds(single, args.repeat)
            rows.append(
                {
                    "model": name,
                    "query": kind,
                    "where": "in-process",
                    "singles s": single_seconds,
                    "batch s": batch_seconds,
                    "batch / singles throughput": single_seconds / batch_seconds,
                }
            )

    port = free_port()
    server, _ = start_server(args.models, args.workers, port)
    try:
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for name, words in samples.items():
                model = engine.models[name]
                kinds = {"most_similar": ("/most_similar", "positive", "/most_similar/batch")}
                if model.family.answers("context_similarity"):
                    kinds["related"] = ("/related", "word", "/related/batch")
                for kind, (path, field, batch_path) in kinds.items():
                    paths = [
                        f"{path}?model={name}&{field}={quote(w)}&topn={args.topn}" for w in words
                    ]
                    body = (
                        {"queries": [{"positive": [w]} for w in words]}
                        if kind == "most_similar"
                        else {"words": words}
                    )
                    body.update(model=name, topn=args.topn)

                    def batch(body=body, batch_path=batch_path) -> None:
                        response = client.post(batch_path, json=body)
                        if response.status_code != 200:
                            raise SystemExit(response.text)

                    batch_seconds = median_seconds(batch, args.repeat)
                    for concurrency in (1, 16):
                        single_seconds = statistics.median(
                            asyncio.run(singles(port, paths, concurrency))
                            for _ in range(args.repeat)
                        )
                        rows.append(
                            {
                                "model": name,
                                "query": kind,
                                "where": f"HTTP, singles c={concurrency}",
                                "singles s": single_seconds,
                                "batch s": batch_seconds,
                                "batch / singles throughput": single_seconds / batch_seconds,
                            }
                        )
            loaded = under_load(client, port, samples, args) if args.seconds else []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(table(rows))
    print(f"\n{args.words:,} words per batch, topn {args.topn}, median of {args.repeat}")
    if loaded:
        print(f"\nSingle most_similar requests at c=16 for {args.seconds:g} s, alone and while")
        print("another connection posts the same words as batches back to back:\n")
        print(table(loaded))


def under_load(client: httpx2.Client, port: int, samples: dict, args) -> list[dict]:
    """What batches cost the single queries served beside them: singles at c=16 for
    ``args.seconds``, alone and with a batch of the same words posted again and again
    (from a thread, on its own connection) until the singles stop."""
    rows = []
    for name, words in samples.items():
        paths = [f"/most_similar?model={name}&positive={quote(w)}&topn={args.topn}" for w in words]
        body = {"queries": [{"positive": [w]} for w in words], "model": name, "topn": args.topn}
        for batches in (False, True):
            stop, timings = threading.Event(), []

            def post(body=body, stop=stop, timings=timings) -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    response = client.post("/most_similar/batch", json=body)
                    timings.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        raise SystemExit(response.text)

            poster = threading.Thread(target=post)
            if batches:
                poster.start()
            try:
                figures = asyncio.run(load(port, paths, 16, args.seconds))
            finally:
                stop.set()
                if batches:
                    poster.join()
            rows.append(
                {
                    "model": name,
                    "batches beside": "yes" if batches else "no",
                    "singles/s": figures["requests/s"],
                    "p50 ms": figures["p50 ms"],
                    "p99 ms": figures["p99 ms"],
                    "batches/s": len(timings) / args.seconds if batches else None,
                    "batch p50 s": statistics.median(timings) if timings else None,
                    "words/s in all": figures["requests/s"]
                    + (len(timings) * args.words / args.seconds if batches else 0),
                }
            )
    return rows


if __name__ == "__main__":
    main()
