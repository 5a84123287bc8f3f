"""Server configuration from environment variables (documented in the README).

``wordlens serve`` sets them from its options, so every worker process sees the
same configuration; plain ``uvicorn --factory app.server:create_app`` reads them too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from wordlens.app.engine import Limits
from wordlens.artifacts import Verify

__all__ = ["Settings"]


def _flag(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def _verify(value: str) -> Verify:
    """WORDLENS_VERIFY: ``full`` (read every file whole), or a flag (on: trust the
    models' verification stamps, see :func:`wordlens.artifacts.load_model`)."""
    return "full" if value.strip().lower() == "full" else _flag(value)


@dataclass(frozen=True)
class Settings:
    models_dir: Path = Path("models")
    default_model: str | None = None
    verify_checksums: Verify = True
    blas_threads: int = 1
    max_batch_documents: int = 1000
    max_batch_chars: int = 10_000_000
    # the work of one batch's keyword scores, in products of two vectors (about 1.4 s)
    max_batch_keyword_products: int = 200_000_000
    max_body_bytes: int = 64 * 1024 * 1024
    # the transport (app/protocol.py): request head size, and seconds
    max_header_bytes: int = 16 * 1024
    header_timeout: int = 10
    body_timeout: int = 30
    keep_alive_timeout: int = 5
    limits: Limits = Limits()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def integer(name: str, default: int) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer, got {raw!r}") from None
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
            return value

        limits = Limits(
            max_topn=integer("WORDLENS_MAX_TOPN", Limits.max_topn),
            max_words=integer("WORDLENS_MAX_WORDS", Limits.max_words),
            max_tokens=integer("WORDLENS_MAX_TOKENS", Limits.max_tokens),
            max_text_chars=integer("WORDLENS_MAX_TEXT_CHARS", Limits.max_text_chars),
            max_correlation_n=integer("WORDLENS_MAX_CORRELATION_N", Limits.max_correlation_n),
            max_keyword_products=integer(
                "WORDLENS_MAX_KEYWORD_PRODUCTS", Limits.max_keyword_products
            ),
            max_batch_queries=integer("WORDLENS_MAX_BATCH_QUERIES", Limits.max_batch_queries),
            max_batch_words=integer("WORDLENS_MAX_BATCH_WORDS", Limits.max_batch_words),
            max_batch_neighbours=integer(
                "WORDLENS_MAX_BATCH_NEIGHBOURS", Limits.max_batch_neighbours
            ),
            max_effort=integer("WORDLENS_MAX_EFFORT", Limits.max_effort),
            max_infer_contexts=integer("WORDLENS_MAX_INFER_CONTEXTS", Limits.max_infer_contexts),
            max_infer_iterations=integer(
                "WORDLENS_MAX_INFER_ITERATIONS", Limits.max_infer_iterations
            ),
        )
        return cls(
            models_dir=Path(env.get("WORDLENS_MODELS", "models")),
            default_model=env.get("WORDLENS_DEFAULT_MODEL") or None,
            verify_checksums=_verify(env.get("WORDLENS_VERIFY", "1")),
            blas_threads=integer("WORDLENS_BLAS_THREADS", cls.blas_threads),
            max_batch_documents=integer("WORDLENS_MAX_BATCH_DOCUMENTS", cls.max_batch_documents),
            max_batch_chars=integer("WORDLENS_MAX_BATCH_CHARS", cls.max_batch_chars),
            max_batch_keyword_products=integer(
                "WORDLENS_MAX_BATCH_KEYWORD_PRODUCTS", cls.max_batch_keyword_products
            ),
            max_body_bytes=integer("WORDLENS_MAX_BODY_BYTES", cls.max_body_bytes),
            max_header_bytes=integer("WORDLENS_MAX_HEADER_BYTES", cls.max_header_bytes),
            header_timeout=integer("WORDLENS_HEADER_TIMEOUT", cls.header_timeout),
            body_timeout=integer("WORDLENS_BODY_TIMEOUT", cls.body_timeout),
            keep_alive_timeout=integer("WORDLENS_KEEP_ALIVE_TIMEOUT", cls.keep_alive_timeout),
            limits=limits,
        )
