"""Errors a query can end with. The HTTP layer maps each class to one status code."""

from __future__ import annotations

__all__ = [
    "QueryError",
    "UnknownModelError",
    "ModelUnavailableError",
    "UnknownWordError",
    "UnsupportedQueryError",
    "LimitExceededError",
    "InvalidQueryError",
]


class QueryError(Exception):
    """Base class: a query that cannot be answered as asked."""

    code = "query_error"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownModelError(QueryError):
    code = "unknown_model"

    def __init__(self, name: str, available: list[str]):
        listed = ", ".join(available) or "none loaded"
        super().__init__(
            f"unknown model {name!r}; available: {listed}", model=name, available=available
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
    code = "unknown_word"

    def __init__(self, missing: list[str], model: str):
        quoted = ", ".join(repr(word) for word in missing)
        noun = "word" if len(missing) == 1 else "words"
        super().__init__(
            f"{noun} not in the vocabulary of model {model!r}: {quoted}",
            missing=missing,
            model=model,
        )

    __str__ = Exception.__str__  # KeyError would quote the message


class UnsupportedQueryError(QueryError):
    """The model exists but cannot answer this kind of query (e.g. no output layer)."""

    code = "unsupported_query"


class LimitExceededError(QueryError):
    code = "too_large"


class InvalidQueryError(QueryError, ValueError):
    code = "invalid_query"
