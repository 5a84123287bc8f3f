"""Pure ASGI middleware of the HTTP server: the body size limit, security headers on
every response, and HEAD answered wherever GET is."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DOCS_ASSETS",
    "SECURITY_HEADERS",
    "BodyLimit",
    "BodyTooLarge",
    "HeadAsGet",
    "SecurityHeaders",
]


class BodyTooLarge(HTTPException):
    """A request body beyond ``limit`` bytes; the connection closes after the answer,
    so that the rest of the body is never read."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")
        self.limit = limit


class BodyLimit:
    """Counts request body bytes as the application reads them, whether the length
    was declared (Content-Length) or not (chunked), and raises BodyTooLarge as soon as
    they pass ``limit``: before reading anything when the declared length does."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        received = int(declared) if declared.isdigit() else 0

        async def limited_receive() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if not declared:
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


#: Where Swagger UI's and ReDoc's scripts and styles are served from (the server's own).
DOCS_ASSETS = "/docs-assets"

# Every page loads only the server's own files; /docs and /redoc also run one inline
# script and inline styles (FastAPI's pages), and ReDoc a worker from a blob: URL.
# Nothing may frame a page.
_SELF_ONLY = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` and a Content-Security-Policy to every response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (_DOCS if scope["path"].startswith(_DOCS_PATHS) else _SELF_ONLY).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    *SECURITY_HEADERS,
                    (b"content-security-policy", policy),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """Answers HEAD as GET without the body: the headers, Content-Length included,
    are those GET would give."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
