"""The OpenAPI document and the answers agree: schemathesis generates valid and
invalid requests for every operation from the document and runs every check on each
answer (no server error, documented status, content type, headers and body schema,
invalid data rejected, valid data accepted), in-process on ``create_app``.

It runs schemathesis's own engine, as its command line does (every phase: examples,
coverage, fuzzing, stateful), because its pytest plugin does not work with pytest 9.2.
Examples are bounded so that this stays under a minute in the default suite;
``WORDLENS_SCHEMATHESIS_EXAMPLES=1000`` runs a longer search.
"""

from __future__ import annotations

import os
from collections import Counter

import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)
from schemathesis.engine import Status, events

from wordlens.app.server import create_app
from wordlens.app.settings import Settings

EXAMPLES = int(os.environ.get("WORDLENS_SCHEMATHESIS_EXAMPLES", "25"))

CONFIG = {
    "generation": {"max-examples": EXAMPLES},
    "checks": {
        # A value beyond a configured limit (topn above max_topn, a list or text longer
        # than the document's maxItems or maxLength) is invalid data that this API
        # answers with its documented 413 too_large, not 422.
        "negative_data_rejection": {
            "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
        }
    },
    "operations": [
        {
            # Valid by the document and still 422, for reasons OpenAPI cannot state:
            # GET /most_similar needs a positive or a negative word, and one query
            # parameter cannot be required in place of another; a vector must have
            # the model's dimension (models differ) and not be all zeros; each text
            # of sentence_similarity needs a word of the vocabulary (unknown query
            # words are 404 elsewhere, and are valid data too); positive and negative
            # words that cancel out (king − king) leave no direction to search; each
            # context of /infer must contain the word it names or brackets.
            "include-name": [
                "GET /most_similar",
                "POST /most_similar",
                "POST /similar_by_vector",
                "POST /sentence_similarity",
                "POST /infer",
            ],
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]
                }
            },
        }
    ],
}


def run(app) -> tuple[Counter, list[str], int]:
    """(failed checks by name, failure descriptions, checks run)."""
    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    failed: Counter = Counter()
    failures: list[str] = []
    checks = 0
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"error: {event.info.message}")
        recorder = getattr(event, "recorder", None)
        if (
            not isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished)
            or not recorder
        ):
            continue
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                checks += 1
                if node.status == Status.FAILURE:
                    failed[node.name] += 1
                    case = recorder.cases[case_id].value
                    info = node.failure_info.failure if node.failure_info else None
                    title = getattr(info, "title", "") if info else ""
                    failures.append(
                        f"{node.name}: {case.method} {case.path} {title} "
                        f"{case.as_curl_command()[:300]}"
                    )
    return failed, failures, checks


def test_answers_match_the_document(trained_models):
    app = create_app(Settings(models_dir=trained_models))
    with TestClient(app):
        failed, failures, checks = run(app)
    assert checks > 1000
    assert not failed, "\n".join(failures[:60])
