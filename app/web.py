"""The web explorer: a static page at ``/`` built on the public HTTP API only."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"

__all__ = ["mount_explorer"]


def mount_explorer(app: FastAPI) -> None:
    """Serve ``app/static/index.html`` at ``/`` and the other files under ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def explorer() -> FileResponse:
        return FileResponse(STATIC / "index.html")
