"""HTTP/1.1 for ``wordlens serve``: uvicorn's httptools protocol with bounds on what a
client may send before the application sees a request, and on how slowly.

- The request head (request line and headers) is at most ``max_header_bytes``:
  beyond that, 431 ``header_too_large`` and the connection closes. httptools itself
  has no such bound and gathers a header by repeated concatenation, so a 100 MB
  header line cost half a minute of CPU.
- The head must be complete within ``header_timeout`` seconds of its first byte, or
  of the connection's opening: beyond that, 408 ``timeout`` (a connection that sent
  nothing is just closed). uvicorn's keep-alive timeout still closes idle connections
  between requests; nothing closed a new silent one or a trickling head.
- The body must be complete within ``body_timeout`` seconds of the head: beyond
  that, 408 ``timeout`` and the connection closes.

Every refusal is the API's JSON error body, with ``Connection: close``; so is the
400 for a request httptools cannot parse.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from wordlens.app.middleware import SECURITY_HEADERS
from wordlens.app.settings import Settings

__all__ = ["LimitedHttpProtocol"]


class LimitedHttpProtocol(HttpToolsProtocol):
    """See the module docstring; :meth:`configured` sets the bounds."""

    max_header_bytes = Settings.max_header_bytes
    header_timeout: float = Settings.header_timeout
    body_timeout: float = Settings.body_timeout

    @classmethod
    def configured(cls, settings: Settings) -> type[LimitedHttpProtocol]:
        """This protocol with the bounds of ``settings`` (uvicorn takes a class)."""
        bounds = {
            "max_header_bytes": settings.max_header_bytes,
            "header_timeout": settings.header_timeout,
            "body_timeout": settings.body_timeout,
        }
        return type(cls.__name__, (cls,), bounds)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._reading_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------- deadlines

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        waiting = self._reading_head and self._head_bytes == 0
        if waiting or (self.cycle is not None and self.cycle.response_started):
            self.transport.close()
        else:
            what = "request headers" if self._reading_head else "request body"
            seconds = self.header_timeout if self._reading_head else self.body_timeout
            self._refuse(408, "timeout", f"the {what} did not arrive within {seconds:g} s")

    def _refuse(self, status: int, code: str, message: str, **details: Any) -> None:
        """Answer with the API's JSON error and close the connection."""
        body = json.dumps({"error": {"code": code, "message": message, **details}}).encode()
        headers = [
            *self.server_state.default_headers,
            *SECURITY_HEADERS,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[status] + lines + b"\r\n" + body)
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "bad_request", msg)

    # ------------------------------------------------------ protocol events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # A head is fed at most up to the byte that would pass the limit, so that a
        # body arriving with it is never counted as head.
        while self._reading_head and data:
            if self._deadline is None:
                self._arm(self.header_timeout)
            room = self.max_header_bytes - self._head_bytes
            if room <= 0:
                limit = self.max_header_bytes
                message = f"the request line and headers are larger than {limit:,} bytes"
                self._refuse(431, "header_too_large", message, limit=limit)
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        self._head_bytes = 0
        super().on_message_complete()
