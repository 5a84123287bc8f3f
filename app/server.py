"""The HTTP API: thin FastAPI handlers around :mod:`app.engine`.

Run it with ``wordlens serve`` (which adds the transport limits of
:mod:`app.protocol` and one process per worker, :mod:`app.supervisor`).
Simple queries are GET (or HEAD) with query parameters; lists and texts are POST with
JSON, decoded strictly (:mod:`app.json_body`). Every endpoint takes a model name
(``model``, a query parameter for GET, a body field for POST; the server's default
otherwise). Errors are always JSON, ``{"error": {"code": ..., "message": ..., ...}}``:

=====  =====================================================================
404    unknown word (``missing`` lists every one) or unknown model
       (``available`` lists the loaded ones); ``not_found`` for an unknown path
405    a method the path does not answer (``Allow`` lists those it does)
408    the body did not arrive in time (``timeout``)
409    the model cannot answer this query (e.g. imported vectors: no output layer)
413    a body, text or list beyond a limit (``limit`` names it)
422    malformed request (not JSON, wrong types, missing fields, bad values)
431    request headers beyond their limit (``header_too_large``)
=====  =====================================================================
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from wordlens import __version__
from wordlens.app import schemas as s
from wordlens.app.engine import Answer, Engine, Neighbours, SimilarQuery, WordModel
from wordlens.app.errors import (
    InvalidQueryError,
    LimitExceededError,
    ModelUnavailableError,
    QueryError,
    UnknownModelError,
    UnknownWordError,
    UnsupportedQueryError,
)
from wordlens.app.families import DEFAULT_SCORE, ScoreForm
from wordlens.app.json_body import StrictJSONRoute
from wordlens.app.keywords import KeywordResult, WorkBudget
from wordlens.app.metrics import (
    CONTENT_TYPE_LATEST,
    RequestMetrics,
    answering_model,
    publish_models,
    scrape,
)
from wordlens.app.middleware import (
    DOCS_ASSETS,
    BodyLimit,
    BodyTooLarge,
    HeadAsGet,
    SecurityHeaders,
)
from wordlens.app.settings import Settings
from wordlens.app.web import mount_explorer
from wordlens.processes import give_back_freed_memory

__all__ = ["create_app"]

log = logging.getLogger("wordlens.server")

STATUS = {
    UnknownWordError: 404,
    UnknownModelError: 404,
    UnsupportedQueryError: 409,
    LimitExceededError: 413,
    InvalidQueryError: 422,
    ModelUnavailableError: 503,
}
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 408: "timeout", 413: "too_large"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": s.ErrorResponse} for status in (404, 409, 413, 422, 503)
}

ModelQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=s.MAX_WORD_CHARACTERS,
        description="model name (default: the server's default model)",
    ),
]
WordQuery = Annotated[str, Query(min_length=1, max_length=s.MAX_WORD_CHARACTERS)]
TopNQuery = Annotated[int, Query(ge=1, description="number of words to return")]
ExactQuery = Annotated[bool, Query(description=s.EXACT_DESCRIPTION)]
EffortQuery = Annotated[int | None, Query(ge=1, description=s.EFFORT_DESCRIPTION)]
PriorWeightQuery = Annotated[
    float | None, Query(ge=0.0, le=2.0, description=s.PRIOR_WEIGHT_DESCRIPTION)
]
ScoreQuery = Annotated[ScoreForm, Query(description=s.SCORE_DESCRIPTION)]


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, **details}},
        headers=headers,
    )


def _problem(error: dict[str, Any]) -> dict[str, Any]:
    """One pydantic or JSON-decoding problem as ``{"location", "message"}``."""
    if error.get("type") == "json_invalid":
        return {"location": ["body"], "message": f"invalid JSON: {error['ctx']['error']}"}
    return {
        "location": [str(part) for part in error.get("loc", ())],
        "message": error.get("msg", ""),
    }


def _limit_bounds(settings: Settings) -> dict[str, dict[str, int]]:
    """JSON Schema bounds of the limits that are settings, by parameter or field name."""
    limits = settings.limits
    words, tokens = {"maxItems": limits.max_words}, {"maxItems": limits.max_tokens}
    text = {"maxLength": limits.max_text_chars}
    return {
        "topn": {"maximum": limits.max_topn},
        "limit": {"maximum": limits.max_topn},
        "correlation_n": {"maximum": limits.max_correlation_n},
        "effort": {"maximum": limits.max_effort},
        **dict.fromkeys(("positive", "negative", "words", "ws1", "ws2"), words),
        **dict.fromkeys(("tokens", "tokens1", "tokens2"), tokens),
        **dict.fromkeys(("text", "text1", "text2"), text),
        "documents": {"maxItems": settings.max_batch_documents},
        "queries": {"maxItems": limits.max_batch_queries},
        "contexts": {"maxItems": limits.max_infer_contexts},
    }


#: Components whose fields get their own bounds (or none: a batch's query or document
#: beyond a limit of one gets its own error in the results).
def _component_bounds(settings: Settings) -> dict[str, dict[str, dict[str, int]]]:
    limits = settings.limits
    return {
        "BatchDocument": {},
        "BatchQuery": {},
        "RelatedBatchRequest": {
            "words": {"maxItems": limits.max_batch_queries},
            "topn": {"maximum": limits.max_topn},
            "effort": {"maximum": limits.max_effort},
        },
    }


def _document_limits(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Write the configured limits into the OpenAPI document (the engine enforces
    them: 413 too_large, or 422 for correlation_n). A batch's documents are left
    out: one beyond a limit gets its own error in the results."""
    bounds, special = _limit_bounds(settings), _component_bounds(settings)
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                parameter["schema"].update(bounds.get(parameter["name"], {}))
    limits = settings.limits
    batch_limits = (
        f"{s.BATCH_LIMITS} Here: {limits.max_batch_queries:,} queries, "
        f"{limits.max_batch_words:,} words, {limits.max_batch_neighbours:,} neighbours."
    )
    for name, component in document["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            schema.update(special.get(name, bounds).get(field, {}))
            if schema.get("description") == s.BATCH_LIMITS:
                schema["description"] = batch_limits
    return document


def _allowed_methods(app: FastAPI, request: Request) -> str:
    """The methods the request's path answers (HEAD wherever GET), for ``Allow``."""
    methods = {
        method
        for route in app.routes
        if isinstance(route, Route)
        and route.methods
        and route.matches(request.scope)[0] != Match.NONE
        for method in route.methods
    }
    return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))


def _neighbours(model: WordModel, method: str, pairs: Neighbours) -> s.Neighbours:
    return s.Neighbours(
        model=model.name,
        method=method,
        search=pairs.search,
        neighbours=[s.Neighbour(word=w, score=x) for w, x in pairs],
    )


def _batch_answer(answer: Answer) -> dict[str, Any]:
    """The fields of one batch result, as plain JSON values: its neighbours, or its
    error (as ``ErrorBody``)."""
    if isinstance(answer, QueryError):
        error = {"code": answer.code, "message": answer.message, **answer.details}
        return {"neighbours": [], "search": None, "error": error}
    neighbours = [{"word": w, "score": x} for w, x in answer]
    return {"neighbours": neighbours, "search": answer.search, "error": None}


def _batch_response(body: dict[str, Any]) -> JSONResponse:
    """A batch's answer, sent as built: its shape is the response model's by
    construction, and validating 10⁴ neighbours against it again would cost more
    than finding them (the model still documents it)."""
    return JSONResponse(content=body)


def _model_info(model: WordModel) -> s.ModelInfo:
    manifest = model.manifest
    return s.ModelInfo(
        name=model.name,
        kind=model.kind,
        family=model.family.name,
        dim=manifest["dim"],
        vocab_size=manifest["vocab_size"],
        # The manifest's: a phrase table is named by its size and digest, not listed.
        tokenizer=manifest.get("tokenizer") or model.tokenizer.spec,
        output_layers=model.output_layers,
        queries=["similarity", *model.family.queries],
        created=manifest.get("created"),
        corpus=manifest.get("corpus"),
        params=manifest.get("params") or {},
        training=manifest.get("training") or {},
        evaluation=manifest.get("evaluation") or {},
    )


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the application; loads the models unless an ``engine`` is given."""
    settings = settings or Settings.from_env()
    if settings.blas_threads:
        # Matrix-vector products gain nothing from BLAS threads, and several
        # workers each spawning a thread per core would fight over the cores.
        from threadpoolctl import threadpool_limits

        threadpool_limits(settings.blas_threads)
    if engine is None:
        engine = Engine(
            settings.models_dir,
            default=settings.default_model,
            verify=settings.verify_checksums,
            limits=settings.limits,
        )
    log.info("models loaded: %s (default %s)", ", ".join(engine.names) or "none", engine.default)
    for name, reason in engine.errors.items():
        log.error("model %s unavailable: %s", name, reason)
    if engine.reason is not None:
        log.error("not ready: %s", engine.reason)
    for model in engine.models.values():
        model.warm_up()
    give_back_freed_memory()  # what loading left free on the heap

    # Swagger UI and ReDoc from the fastapi-offline package's copies, not a CDN:
    # /docs works without internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        title="wordlens",
        version=__version__,
        description="Similar words (cosine), related words (context similarity) and "
        "keywords from PMI and Word2Vec word vectors.",
    )
    app.router.route_class = StrictJSONRoute
    document_without_limits = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_limits(document_without_limits(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)  # outermost: it times and counts every answer
    publish_models(engine)
    app.state.engine = engine
    app.state.settings = settings

    @app.exception_handler(QueryError)
    async def query_error(request: Request, error: QueryError):
        status = next((code for cls, code in STATUS.items() if isinstance(error, cls)), 400)
        return _error(status, error.code, error.message, **error.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        problems = [_problem(problem) for problem in error.errors()]
        first = problems[0] if problems else {"location": [], "message": "invalid request"}
        where = ".".join(first["location"][1:] or first["location"]) or "request"
        return _error(422, "invalid_request", f"{where}: {first['message']}", errors=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        status, headers = error.status_code, dict(error.headers or {})
        code = HTTP_CODES.get(status, "http_error")
        if status == 405:
            headers["Allow"] = _allowed_methods(app, request)
        if isinstance(error, BodyTooLarge):  # the body is left unread: close afterwards
            headers["Connection"] = "close"
            return _error(status, code, error.detail, headers, limit=error.limit)
        return _error(status, code, str(error.detail), headers)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", f"internal error: {type(error).__name__}")

    def model_for(name: str | None) -> WordModel:
        model = engine.get(name)
        answering_model(model.name)
        return model

    # ------------------------------------------------------------ service

    @app.get("/healthz", response_model=s.Health, tags=["service"])
    def healthz():
        """The process is alive."""
        return s.Health()

    @app.get(
        "/readyz",
        response_model=s.Readiness,
        tags=["service"],
        responses={503: {"model": s.Readiness}},
    )
    def readyz():
        """Ready when at least one model loaded and none failed (503 otherwise)."""
        body = s.Readiness(
            ready=engine.ready,
            reason=engine.reason,
            default_model=engine.default,
            models=engine.names,
            errors=engine.errors,
        )
        return body if engine.ready else JSONResponse(status_code=503, content=body.model_dump())

    @app.get(
        "/metrics",
        tags=["service"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "the figures"}},
    )
    def metrics():
        """Requests, errors and latency per route and model, and the models loaded, in
        Prometheus's text format (every worker's figures, added up)."""
        return Response(scrape(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/models", response_model=list[s.ModelInfo], tags=["service"])
    def models():
        """Every loaded model's manifest: kind, sizes, tokenizer, parameters, scores."""
        return [_model_info(model) for model in engine.models.values()]

    @app.get(
        "/models/{name}", response_model=s.ModelInfo, tags=["service"], responses=ERROR_RESPONSES
    )
    def model_info(name: str):
        return _model_info(model_for(name))

    # -------------------------------------------------------- similar words

    @app.get(
        "/similarity",
        response_model=s.Similarity,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def similarity(
        w1: WordQuery,
        w2: WordQuery,
        model: ModelQuery = None,
        method: Literal["cosine", "correlation"] = "cosine",
        correlation_n: Annotated[int, Query(ge=2)] = 1000,
    ):
        """Cosine similarity of two words, or Su's correlation similarity (PMI)."""
        m = model_for(model)
        m.check_correlation_n(correlation_n)  # whatever the method, as documented
        value = (
            m.similarity(w1, w2)
            if method == "cosine"
            else m.correlation_similarity(w1, w2, correlation_n)
        )
        return s.Similarity(model=m.name, w1=w1, w2=w2, method=method, similarity=value)

    def _most_similar(request: s.MostSimilarRequest) -> s.Neighbours:
        m = model_for(request.model)
        m.check_correlation_n(request.correlation_n)  # whatever the method, as documented
        if request.method == "cosmul":
            pairs = m.most_similar_cosmul(
                request.positive, request.negative, request.topn, request.restrict_vocab
            )
        else:
            pairs = m.most_similar(
                request.positive,
                request.negative,
                request.topn,
                request.restrict_vocab,
                request.method,
                request.correlation_n,
                request.exact,
                request.effort,
            )
        return _neighbours(m, request.method, pairs)

    @app.get(
        "/most_similar",
        response_model=s.Neighbours,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def most_similar_get(
        positive: Annotated[list[s.Word], Query(default_factory=list)],
        negative: Annotated[list[s.Word], Query(default_factory=list)],
        topn: TopNQuery = 10,
        restrict_vocab: Annotated[int | None, Query(ge=1)] = None,
        method: Literal["cosine", "cosmul", "correlation"] = "cosine",
        correlation_n: Annotated[int, Query(ge=2)] = 1000,
        model: ModelQuery = None,
        exact: ExactQuery = False,
        effort: EffortQuery = None,
    ):
        """Nearest words by cosine; with negatives, analogies (king − man + woman)."""
        return _most_similar(
            s.MostSimilarRequest(
                positive=positive,
                negative=negative,
                topn=topn,
                restrict_vocab=restrict_vocab,
                method=method,
                correlation_n=correlation_n,
                model=model,
                exact=exact,
                effort=effort,
            )
        )

    @app.post(
        "/most_similar",
        response_model=s.Neighbours,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def most_similar_post(request: s.MostSimilarRequest):
        return _most_similar(request)

    @app.post(
        "/most_similar/batch",
        response_model=s.MostSimilarBatchResponse,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def most_similar_batch(request: s.MostSimilarBatchRequest):
        """Cosine neighbours of many queries at once; each result is what
        ``/most_similar`` gives for that query, or its own error (an unknown word, no
        words, words that cancel out, too many words): one bad query never fails the
        batch. The batch limits cover its total work (413 beyond them)."""
        m = model_for(request.model)
        queries = [SimilarQuery(query.positive, query.negative) for query in request.queries]
        answers = m.most_similar_batch(
            queries, request.topn, request.restrict_vocab, request.exact, request.effort
        )
        results = [
            {"id": query.id, **_batch_answer(answer)}
            for query, answer in zip(request.queries, answers, strict=True)
        ]
        return _batch_response({"model": m.name, "method": "cosine", "results": results})

    @app.post(
        "/similar_by_vector",
        response_model=s.Neighbours,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def similar_by_vector(request: s.SimilarByVectorRequest):
        m = model_for(request.model)
        return _neighbours(
            m, "cosine", m.similar_by_vector(request.vector, request.topn, request.restrict_vocab)
        )

    @app.post(
        "/infer", response_model=s.Inferred, tags=["similar words"], responses=ERROR_RESPONSES
    )
    def infer(request: s.InferRequest):
        """A vector for a word outside the vocabulary, inferred from texts it occurs in
        with everything the model learnt held fixed, and its nearest known words.
        409 for imported vectors (no output layer to fit against)."""
        m = model_for(request.model)
        found = m.infer(
            request.contexts, request.word, request.topn, exact=request.exact, effort=request.effort
        )
        return s.Inferred(
            model=m.name,
            word=found.word,
            method=found.method,
            known=found.known,
            confidence=found.confidence,
            vector=found.vector.tolist(),
            similar=[s.Neighbour(word=w, score=v) for w, v in found.similar],
            search=found.similar.search,
            occurrences=found.occurrences,
            context_words=found.context_words,
            unknown=found.unknown,
            iterations=found.iterations,
        )

    @app.post(
        "/doesnt_match",
        response_model=s.OddOneOut,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def doesnt_match(request: s.WordsRequest):
        m = model_for(request.model)
        return s.OddOneOut(model=m.name, word=m.doesnt_match(request.words))

    @app.post(
        "/n_similarity",
        response_model=s.SetSimilarity,
        tags=["similar words"],
        responses=ERROR_RESPONSES,
    )
    def n_similarity(request: s.SetSimilarityRequest):
        m = model_for(request.model)
        return s.SetSimilarity(model=m.name, similarity=m.n_similarity(request.ws1, request.ws2))

    @app.get("/vector", response_model=s.WordVector, tags=["words"], responses=ERROR_RESPONSES)
    def vector(word: WordQuery, model: ModelQuery = None, norm: bool = False):
        """A word's vector (unit length with ``norm=true``)."""
        m = model_for(model)
        return s.WordVector(
            model=m.name, word=m.words[m.id(word)], vector=m.vector(word, norm).tolist()
        )

    @app.post("/vectors", response_model=s.WordVectors, tags=["words"], responses=ERROR_RESPONSES)
    def vectors(request: s.VectorsRequest):
        """Several words' vectors at once (unit length with ``norm=true``)."""
        m = model_for(request.model)
        rows = m.ids(request.words)
        matrix = m.vectors_of(rows, request.norm)
        return s.WordVectors(
            model=m.name, words=[m.words[i] for i in rows], vectors=matrix.tolist()
        )

    # -------------------------------------------------------- related words

    @app.get(
        "/context_similarity",
        response_model=s.ContextSimilarity,
        tags=["related words"],
        responses=ERROR_RESPONSES,
    )
    def context_similarity(
        w1: WordQuery,
        w2: WordQuery,
        model: ModelQuery = None,
        prior_weight: PriorWeightQuery = None,
        score: ScoreQuery = DEFAULT_SCORE,
    ):
        """How strongly w1 and w2 go together (co-occurrence), not how alike they are."""
        m = model_for(model)
        value, method = m.context_similarity(w1, w2, prior_weight, score)
        return s.ContextSimilarity(model=m.name, w1=w1, w2=w2, method=method, score=value)

    @app.get(
        "/related", response_model=s.Neighbours, tags=["related words"], responses=ERROR_RESPONSES
    )
    def related(
        word: WordQuery,
        topn: TopNQuery = 10,
        model: ModelQuery = None,
        prior_weight: PriorWeightQuery = None,
        exact: ExactQuery = False,
        effort: EffortQuery = None,
        score: ScoreQuery = DEFAULT_SCORE,
    ):
        """The words that most go together with ``word`` (context similarity)."""
        m = model_for(model)
        pairs, method = m.related(word, topn, prior_weight, exact, effort, score)
        return _neighbours(m, method, pairs)

    @app.post(
        "/related/batch",
        response_model=s.RelatedBatchResponse,
        tags=["related words"],
        responses=ERROR_RESPONSES,
    )
    def related_batch(request: s.RelatedBatchRequest):
        """The related words of many words; each result is what ``/related`` gives for
        that word, or its own error (an unknown word): one bad word never fails the
        batch. The batch limits cover its total work (413 beyond them)."""
        m = model_for(request.model)
        answers, method = m.related_batch(
            request.words,
            request.topn,
            request.prior_weight,
            request.exact,
            request.effort,
            request.score,
        )
        results = [
            {"word": word, **_batch_answer(answer)}
            for word, answer in zip(request.words, answers, strict=True)
        ]
        return _batch_response({"model": m.name, "method": method, "results": results})

    # ---------------------------------------------------------------- words

    @app.get("/words/{word}", response_model=s.WordInfo, tags=["words"], responses=ERROR_RESPONSES)
    def word_info(
        word: Annotated[str, Path(min_length=1, max_length=s.MAX_WORD_CHARACTERS)],
        model: ModelQuery = None,
    ):
        """Count, frequency rank and vector norm (a PMI model's importance measure)."""
        m = model_for(model)
        return s.WordInfo(model=m.name, **m.word_info(word))

    @app.get("/complete", response_model=s.Completion, tags=["words"], responses=ERROR_RESPONSES)
    def complete(
        prefix: Annotated[str, Query(max_length=s.MAX_WORD_CHARACTERS)],
        model: ModelQuery = None,
        limit: Annotated[int, Query(ge=1)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ):
        """Vocabulary words starting with ``prefix``, most frequent first, paged."""
        m = model_for(model)
        normalized = m.normalize(prefix)
        words, total = m.complete(prefix, limit, offset)
        suggestions = m.suggest([normalized]).get(normalized, []) if total == 0 else []
        return s.Completion(
            model=m.name, prefix=normalized, total=total, words=words, suggestions=suggestions
        )

    # ------------------------------------------------------------- keywords

    def _keywords(
        m: WordModel,
        source: str | list[str],
        options: s.KeywordOptionsBody,
        budget: WorkBudget | None = None,
    ) -> KeywordResult:
        return m.keywords(
            source,
            topn=options.topn,
            budget=budget,
            exclude_stopwords=options.exclude_stopwords,
            stopwords=tuple(options.stopwords),
            min_length=options.min_length,
            min_count=options.min_count,
            variant=options.variant,
            diversity=options.diversity,
            explain=options.explain,
        )

    def _keyword_list(result: KeywordResult) -> list[s.Keyword]:
        keywords = [s.Keyword(word=w, score=x) for w, x in result.keywords]
        for keyword, explanation in zip(keywords, result.explanations or (), strict=False):
            keyword.contributions = [
                s.Contribution(token=t, contribution=c) for t, c in explanation.contributions
            ]
            keyword.other = explanation.other
            keyword.spans = explanation.spans
        return keywords

    @app.post(
        "/keywords", response_model=s.KeywordsResponse, tags=["keywords"], responses=ERROR_RESPONSES
    )
    def keywords(request: s.KeywordsRequest):
        """The words of a text that best predict it (Su's argmax_w p(text | w))."""
        m = model_for(request.model)
        result = _keywords(m, s.text_or_tokens(request), request)
        return s.KeywordsResponse(
            model=m.name,
            method=result.method,
            keywords=_keyword_list(result),
            tokens=result.tokens,
            unknown=result.unknown,
            reason=result.reason,
        )

    @app.post(
        "/keywords/batch",
        response_model=s.KeywordsBatchResponse,
        tags=["keywords"],
        responses=ERROR_RESPONSES,
    )
    def keywords_batch(request: s.KeywordsBatchRequest):
        """Keywords of many documents; each result is what ``/keywords`` gives for that
        document, or its own error: one bad document never fails the batch."""
        m = model_for(request.model)
        m.check_topn(request.topn)  # an option beyond its limit fails the whole batch
        count, limit = len(request.documents), settings.max_batch_documents
        if count > limit:
            raise LimitExceededError(
                f"{count:,} documents in one batch; the limit is {limit:,}", limit=limit
            )
        characters = sum(
            len(d.text or "") + sum(map(len, d.tokens or ())) for d in request.documents
        )
        if characters > settings.max_batch_chars:
            raise LimitExceededError(
                f"{characters:,} characters in one batch; the limit is "
                f"{settings.max_batch_chars:,}",
                limit=settings.max_batch_chars,
            )
        results = []
        budget = WorkBudget(settings.max_batch_keyword_products)
        for document in request.documents:
            item = s.BatchResult(id=document.id)
            try:
                result = _keywords(m, s.text_or_tokens(document), request, budget)
            except QueryError as error:
                item.error = s.ErrorBody(code=error.code, message=error.message, **error.details)
            else:
                item = s.BatchResult(
                    id=document.id,
                    method=result.method,
                    keywords=_keyword_list(result),
                    tokens=result.tokens,
                    unknown=result.unknown,
                    reason=result.reason,
                )
            results.append(item)
        return s.KeywordsBatchResponse(model=m.name, results=results)

    @app.post(
        "/sentence_similarity",
        response_model=s.SentenceSimilarity,
        tags=["related words"],
        responses=ERROR_RESPONSES,
    )
    def sentence_similarity(request: s.SentenceSimilarityRequest):
        """⟨Σ v, Σ v⟩ and cosine of two texts (or token lists)."""
        m = model_for(request.model)
        tokens1, tokens2 = (
            m.tokenize(side) if isinstance(side, str) else side
            for side in (
                s.text_or_tokens(request, "text1", "tokens1"),
                s.text_or_tokens(request, "text2", "tokens2"),
            )
        )
        return s.SentenceSimilarity(model=m.name, **m.sentence_similarity(tokens1, tokens2))

    mount_explorer(app)
    return app
