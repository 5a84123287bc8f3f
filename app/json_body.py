"""Strict decoding of JSON request bodies.

Python's :func:`json.loads` accepts more than JSON and Unicode allow: ``NaN`` and
``Infinity``, a leading byte-order mark, lone surrogates (``"\\ud800"`` escaped or as
raw bytes), which no response can encode back to UTF-8, and it fails with errors
FastAPI reports as an undocumented 400 on nesting beyond the interpreter's recursion
limit or integers beyond 4,300 digits. :func:`loads` refuses all of these with
:class:`json.JSONDecodeError`, which FastAPI turns into the API's 422
``invalid_request``; :class:`StrictJSONRoute` makes every route decode that way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["StrictJSONRoute", "loads"]

# A \uD800-\uDFFF escape; only then can a decoded string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(body: bytes) -> Any:
    """The JSON value of a request body (UTF-8, nothing but JSON, valid Unicode)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(
            f"the body is not UTF-8 (byte {error.start})", "", error.start
        ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("arrays or objects nested too deep", "", 0) from None
    except ValueError as error:  # NaN, Infinity, integers of more than 4,300 digits
        reason = str(error)
        if "digits" in reason:
            reason = "an integer with more than 4,300 digits"
        raise json.JSONDecodeError(reason, "", 0) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise json.JSONDecodeError(
                f"a string holds a lone surrogate ({error.object[error.start]!a}), "
                "which is not Unicode text",
                "",
                0,
            ) from None
    return value


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is decoded by :func:`loads`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict_handler
