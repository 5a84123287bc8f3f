"""Errors a query can end with. The HTTP layer maps each class to one status code.

An error repeats what the client sent only in bounded form (:func:`echo`): a word is
cut to ``ECHO_CHARACTERS`` characters, ending in "…", and a list in the details to its
first ``ECHO_ITEMS`` items, so that a huge request never gets a huger error back.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ECHO_CHARACTERS",
    "ECHO_ITEMS",
    "echo",
    "QueryError",
    "UnknownModelError",
    "ModelUnavailableError",
    "UnknownWordError",
    "UnsupportedQueryError",
    "LimitExceededError",
    "InvalidQueryError",
]


ECHO_CHARACTERS = 100
ECHO_ITEMS = 1000
_LISTED_IN_MESSAGE = 10


def echo(text: str) -> str:
    """``text`` as an error may repeat it: at most ECHO_CHARACTERS characters, then "…"."""
    return text if len(text) <= ECHO_CHARACTERS else text[:ECHO_CHARACTERS] + "…"


def _bounded(value: Any) -> Any:
    if isinstance(value, str):
        return echo(value)
    if isinstance(value, list):
        return [_bounded(item) for item in value[:ECHO_ITEMS]]
    return value


def _quoted(words: list[str]) -> str:
    listed = ", ".join(repr(echo(word)) for word in words[:_LISTED_IN_MESSAGE])
    more = len(words) - _LISTED_IN_MESSAGE
    return f"{listed} and {more:,} more" if more > 0 else listed


class QueryError(Exception):
    """Base class: a query that cannot be answered as asked. ``details`` are bounded
    (:func:`echo`)."""

    code = "query_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = {name: _bounded(value) for name, value in details.items()}


class UnknownModelError(QueryError):
    code = "unknown_model"

    def __init__(self, name: str, available: list[str]):
        listed = ", ".join(available) or "none loaded"
        super().__init__(
            f"unknown model {echo(name)!r}; available: {listed}", model=name, available=available
        )


class ModelUnavailableError(QueryError):
    """The model asked for (or the default one) exists but cannot be served: it failed
    to load, its files changed while served, or there is no model at all. ``reason``
    says why, naming files relative to the models folder."""

    code = "model_unavailable"

    def __init__(self, name: str | None, reason: str):
        situation = f"model {name!r} is unavailable" if name else "no model is available"
        super().__init__(f"{situation}: {reason}", model=name, reason=reason)


class UnknownWordError(QueryError, KeyError):
    """Words not in a model's vocabulary: ``missing`` lists them all; ``suggestions``
    maps some of them (the first ``SUGGESTED_WORDS``, each as echoed in ``missing``)
    to the vocabulary words spelled like them, best first ("did you mean")."""

    code = "unknown_word"

    def __init__(
        self, missing: list[str], model: str, suggestions: dict[str, list[str]] | None = None
    ):
        noun = "word" if len(missing) == 1 else "words"
        super().__init__(
            f"{noun} not in the vocabulary of model {model!r}: {_quoted(missing)}",
            missing=missing,
            model=model,
        )
        self.details["suggestions"] = {
            echo(word): [echo(other) for other in others]
            for word, others in (suggestions or {}).items()
        }

    __str__ = Exception.__str__  # KeyError would quote the message


class UnsupportedQueryError(QueryError):
    """The model exists but cannot answer this kind of query (e.g. no output layer)."""

    code = "unsupported_query"


class LimitExceededError(QueryError):
    code = "too_large"


class InvalidQueryError(QueryError, ValueError):
    code = "invalid_query"
