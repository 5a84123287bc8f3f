"""Pydantic schemas of every HTTP request and response body."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wordlens.app.errors import InvalidQueryError

Word = Field(min_length=1, max_length=1000)
TopN = Field(default=10, ge=1, description="number of words to return")
ModelName = Field(default=None, description="model name (default: the server's default)")


class Request(BaseModel):
    # strict: JSON types are never coerced (no "3" for 3, no 0 for false)
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    model: str | None = ModelName


# ------------------------------------------------------------------ responses


class ErrorBody(BaseModel):
    code: str = Field(
        description="unknown_word, unknown_model, unsupported_query, "
        "too_large, invalid_query or invalid_request"
    )
    message: str
    model_config = ConfigDict(extra="allow")


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    default_model: str | None
    models: list[str]
    errors: dict[str, str] = Field(description="model name → why it did not load")


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    kind: str = Field(description="what trained the vectors: pmi, word2vec, imported, …")
    family: str = Field(
        description="what answers context similarity and keywords: pmi (inner products), "
        "hs (hierarchical softmax), ns (negative sampling) or vectors (cosine only)"
    )
    dim: int
    vocab_size: int
    tokenizer: dict[str, Any]
    output_layers: list[str]
    queries: list[str] = Field(description="query families this model answers")
    created: str | None = None
    corpus: dict[str, Any] | None = None
    params: dict[str, Any] = {}
    training: dict[str, Any] = {}
    evaluation: dict[str, Any] = {}


class Neighbour(BaseModel):
    word: str
    score: float


class Neighbours(BaseModel):
    model: str
    method: str = Field(
        description="cosine, cosmul, correlation (similar words); pmi, hs or ns (related words)"
    )
    neighbours: list[Neighbour]


class Similarity(BaseModel):
    model: str
    w1: str
    w2: str
    method: str
    similarity: float


class ContextSimilarity(BaseModel):
    model: str
    w1: str
    w2: str
    method: str = Field(
        description="pmi: ⟨v_a, v_b⟩; hs: log p(b|a) − λ log p(b); "
        "ns: v_a·c_b + (β − λ) log n(b), an approximation"
    )
    score: float


class WordInfo(BaseModel):
    model: str
    word: str
    rank: int = Field(description="frequency rank, 1 = most frequent")
    count: int | None = Field(description="corpus count (null for imported vectors)")
    frequency: float | None = Field(description="count / total count of the vocabulary")
    norm: float = Field(description="vector length; for PMI models, the word's importance")


class WordVector(BaseModel):
    model: str
    word: str
    vector: list[float]


class WordVectors(BaseModel):
    model: str
    words: list[str] = Field(description="the words as found in the vocabulary")
    vectors: list[list[float]]


class VectorsRequest(Request):
    words: list[str] = Field(min_length=1)
    norm: bool = False


class Completion(BaseModel):
    model: str
    prefix: str
    total: int = Field(description="number of vocabulary words with this prefix")
    words: list[str] = Field(description="this page, most frequent first")


class OddOneOut(BaseModel):
    model: str
    word: str


class SetSimilarity(BaseModel):
    model: str
    similarity: float


class SentenceSimilarity(BaseModel):
    model: str
    dot: float = Field(description="⟨Σ v, Σ v⟩ over the two texts' known words")
    cosine: float
    unknown: list[list[str]] = Field(description="unknown tokens of each text")


# ------------------------------------------------------------------- requests


class MostSimilarRequest(Request):
    positive: list[str] = []
    negative: list[str] = []
    topn: int = TopN
    restrict_vocab: int | None = Field(default=None, ge=1)
    method: Literal["cosine", "cosmul", "correlation"] = "cosine"
    correlation_n: int = Field(default=1000, ge=2)


class SimilarByVectorRequest(Request):
    vector: list[float] = Field(min_length=1)
    topn: int = TopN
    restrict_vocab: int | None = Field(default=None, ge=1)


class WordsRequest(Request):
    words: list[str] = Field(min_length=2)


class SetSimilarityRequest(Request):
    ws1: list[str] = Field(min_length=1)
    ws2: list[str] = Field(min_length=1)


class KeywordOptionsBody(Request):
    topn: int = Field(default=10, ge=1, description="number of keywords")
    exclude_stopwords: bool = Field(
        default=True, description="leave out the default stop-words of the model's language"
    )
    stopwords: list[str] = Field(default=[], description="further words to leave out")
    min_length: int = Field(default=1, ge=1, description="shortest keyword, in characters")
    min_count: int = Field(default=1, ge=1, description="least corpus count of a keyword")
    variant: Literal["default", "cosine"] = Field(
        default="default", description="cosine: rank by cos(Σ v_u, v_w) (PMI models)"
    )


def text_or_tokens(
    body: BaseModel, text_name: str = "text", tokens_name: str = "tokens"
) -> str | list[str]:
    """The one of a body's raw text or token list that is given (InvalidQueryError,
    a ValueError, unless exactly one is)."""
    text, tokens = getattr(body, text_name), getattr(body, tokens_name)
    if (text is None) == (tokens is None):
        raise InvalidQueryError(f"give exactly one of {text_name} or {tokens_name}")
    return text if text is not None else tokens


class KeywordsRequest(KeywordOptionsBody):
    """One document, as raw ``text`` (tokenised by the model's tokenizer) or ``tokens``."""

    text: str | None = None
    tokens: list[str] | None = None

    @model_validator(mode="after")
    def _one_form(self):
        text_or_tokens(self)
        return self


class BatchDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Any = Field(default=None, description="carried over to the result")
    text: str | None = None
    tokens: list[str] | None = None


class KeywordsBatchRequest(KeywordOptionsBody):
    documents: list[BatchDocument]


class Keyword(BaseModel):
    word: str
    score: float


class KeywordsResponse(BaseModel):
    model: str
    method: str = Field(
        description="hs: Σ log p(u|w); ns: v_w·Σ c_u; pmi: ⟨Σ v_u, v_w⟩; "
        "pmi_cosine: cos(Σ v_u, v_w)"
    )
    keywords: list[Keyword]
    tokens: int = Field(description="number of tokens in the text")
    unknown: list[str] = Field(description="distinct tokens not in the vocabulary")
    reason: str | None = Field(description="why the list is empty, when it is")


class BatchResult(BaseModel):
    id: Any = None
    method: str | None = None
    keywords: list[Keyword] = []
    tokens: int = 0
    unknown: list[str] = []
    reason: str | None = None
    error: ErrorBody | None = None


class KeywordsBatchResponse(BaseModel):
    model: str
    results: list[BatchResult] = Field(description="one per document, in input order")


class SentenceSimilarityRequest(Request):
    """Each side as raw ``text`` (tokenised by the model's tokenizer) or ``tokens``."""

    text1: str | None = None
    tokens1: list[str] | None = None
    text2: str | None = None
    tokens2: list[str] | None = None

    @model_validator(mode="after")
    def _one_form_per_side(self):
        for side in ("1", "2"):
            text_or_tokens(self, f"text{side}", f"tokens{side}")
        return self
