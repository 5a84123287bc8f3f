"""Pydantic schemas of every HTTP request and response body.

Request bodies are strict: a JSON type is never coerced into another (no ``"3"`` for
3, no 0 for false), except that an integral number such as 3.0 is an integer, as in
JSON Schema. What the schema cannot say through types, it says through ``oneOf`` and
``anyOf`` (text xor tokens; at least one word). The limits that are settings (topn,
list lengths, text length) are written into the OpenAPI document by the server.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from wordlens.app.errors import InvalidQueryError
from wordlens.app.families import DEFAULT_SCORE, ScoreForm

MAX_WORD_CHARACTERS = 1000


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("null is not allowed here: leave the field out")
    return value


Integer = Annotated[int, BeforeValidator(_integral)]
# (the bound before the validator, or JSON Schema would get pydantic's "ge", not "minimum")
PositiveInteger = Annotated[int, Field(ge=1), BeforeValidator(_integral)]
Word = Annotated[str, Field(min_length=1, max_length=MAX_WORD_CHARACTERS)]
Token = Annotated[str, Field(max_length=MAX_WORD_CHARACTERS)]
# A field that may be left out (None) but not given as null
Text = Annotated[str | SkipJsonSchema[None], BeforeValidator(_not_null)]
Tokens = Annotated[list[Token] | SkipJsonSchema[None], BeforeValidator(_not_null)]
TopN = Field(default=10, ge=1, description="number of words to return")
EXACT_DESCRIPTION = "score every word instead of using the model's neighbour index"
EFFORT_DESCRIPTION = (
    "search effort of the neighbour index (candidates kept while searching): "
    "more is slower and finds more of the exact answer (default: the effort the "
    "index was tuned to at build time, recall@10 0.95 on its own words; 64 for "
    "related words)"
)
ModelName = Field(
    default=None,
    min_length=1,
    max_length=MAX_WORD_CHARACTERS,
    description="model name (default: the server's default)",
)


def exactly_one(*names: str) -> dict[str, Any]:
    """JSON Schema: exactly one of the properties ``names`` is present."""
    return {"oneOf": [{"required": [name]} for name in names]}


class Request(BaseModel):
    # strict: JSON types are never coerced (no "3" for 3, no 0 for false)
    model_config = ConfigDict(extra="forbid", strict=True, protected_namespaces=())

    model: str | None = ModelName


# ------------------------------------------------------------------ responses


ERROR_DETAILS = {
    "missing": {
        "type": "array",
        "items": {"type": "string"},
        "description": "unknown_word: every word not in the vocabulary",
    },
    "suggestions": {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": "unknown_word (did you mean): for each of the first 10 missing words, "
        "up to 5 vocabulary words spelled like it, best first: within two edits (insertion, "
        "deletion, substitution, swap of neighbouring characters) once case and accents "
        "are folded, the closest, then the closest as written, then the most frequent; "
        "for Chinese, words sharing all but one character",
    },
}


def _error_details(schema: dict[str, Any]) -> None:
    schema["properties"].update(ERROR_DETAILS)


class ErrorBody(BaseModel):
    code: str = Field(
        description="unknown_word, unknown_model, not_found, method_not_allowed, "
        "unsupported_query, too_large, invalid_query, invalid_request, timeout, "
        "header_too_large, bad_request or internal_error"
    )
    message: str
    # Declared in the schema only: fields set to None would be sent as nulls.
    model_config = ConfigDict(extra="allow", json_schema_extra=_error_details)


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    reason: str | None = Field(
        default=None, description="why the server is not ready, in one line (null when it is)"
    )
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


class Inferred(BaseModel):
    model: str
    word: str = Field(description="the word, folded by the model's tokenizer")
    method: str = Field(
        description="the fit: pmi, hs or ns (the model's family; a Word2Vec model trained "
        "with an à la carte map: hs_alacarte or ns_alacarte, the prior centred on A·u)"
    )
    known: bool = Field(description="the word is in the vocabulary (the fit ignores its vector)")
    confidence: float = Field(
        description="the mean PMI (nats) the inferred vector gives its context words by "
        "the model's own estimate (PMI: ⟨v, v_c⟩; hs: log p(c|w) − log p(c); ns: "
        "w·c + log k): higher means the contexts pin the word down better (README)"
    )
    vector: list[float] = Field(description="the inferred vector, of the model's dimension")
    similar: list[Neighbour] = Field(
        description="nearest known words, each with its cosine, ranked by cosine + "
        "0.02·ln(count) (a mild prior towards well-estimated words; README), best first"
    )
    search: Literal["exact", "index", "tree"] = Field(description="how `similar` was found")
    occurrences: int = Field(description="occurrences of the word in the contexts")
    context_words: int = Field(description="distinct vocabulary words within the window")
    unknown: list[str] = Field(description="context tokens outside the vocabulary, skipped")
    iterations: int = Field(description="optimiser steps (0: PMI's closed form)")


class Neighbours(BaseModel):
    model: str
    method: str = Field(
        description="cosine, cosmul, correlation (similar words); pmi, hs or ns (related words)"
    )
    search: Literal["exact", "index", "tree"] = Field(
        description="exact: every word scored; index: candidates from the model's "
        "approximate neighbour index, scored exactly; tree: candidates from a pruned "
        "walk down a Word2Vec model's Huffman tree (the best by s(a→b), for the "
        "symmetric score then estimated both ways), scored exactly"
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
    words: list[Word] = Field(min_length=1)
    norm: bool = False


class Completion(BaseModel):
    model: str
    prefix: str
    total: int = Field(description="number of vocabulary words with this prefix")
    words: list[str] = Field(description="this page, most frequent first")
    suggestions: list[str] = Field(
        default_factory=list,
        description="when no word has the prefix: words spelled like it (did you mean), "
        "best first; else empty",
    )


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
    """At least one positive word, or (except for cosmul) one negative word."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["positive"], "properties": {"positive": {"minItems": 1}}},
                {
                    "required": ["negative"],
                    "properties": {
                        "negative": {"minItems": 1},
                        "method": {"enum": ["cosine", "correlation"]},
                    },
                },
            ]
        }
    )

    positive: list[Word] = []
    negative: list[Word] = []
    topn: Integer = TopN
    restrict_vocab: PositiveInteger | None = None
    method: Literal["cosine", "cosmul", "correlation"] = "cosine"
    correlation_n: Integer = Field(default=1000, ge=2)
    exact: bool = Field(default=False, description=EXACT_DESCRIPTION)
    effort: PositiveInteger | None = Field(default=None, description=EFFORT_DESCRIPTION)


class SimilarByVectorRequest(Request):
    vector: list[float] = Field(
        min_length=1, description="finite, not all zero, of the model's dimension (dim)"
    )
    topn: Integer = TopN
    restrict_vocab: PositiveInteger | None = None


class InferRequest(Request):
    """Texts in which a word outside the vocabulary occurs, to infer its vector from."""

    contexts: list[str] = Field(
        min_length=1,
        description="texts containing the word: each occurrence written in square "
        "brackets ('a cup of [flurb] this morning'), or, in a text without brackets, "
        "every token equal to `word`. A text without the word is refused (422); "
        "characters and tokens in all are bounded as for one text (413).",
    )
    word: Word | None = Field(
        default=None,
        description="the word (default: the one in brackets); needed for texts without brackets",
    )
    topn: Integer = TopN
    exact: bool = Field(default=False, description=EXACT_DESCRIPTION)
    effort: PositiveInteger | None = Field(default=None, description=EFFORT_DESCRIPTION)


class WordsRequest(Request):
    words: list[Word] = Field(min_length=2)


class SetSimilarityRequest(Request):
    ws1: list[Word] = Field(min_length=1)
    ws2: list[Word] = Field(min_length=1)


class KeywordOptionsBody(Request):
    topn: Integer = Field(default=10, ge=1, description="number of keywords")
    exclude_stopwords: bool = Field(
        default=True, description="leave out the default stop-words of the model's language"
    )
    stopwords: list[Token] = Field(default=[], description="further words to leave out")
    min_length: Integer = Field(default=1, ge=1, description="shortest keyword, in characters")
    min_count: Integer = Field(default=1, ge=1, description="least corpus count of a keyword")
    variant: Literal["default", "cosine"] = Field(
        default="default", description="cosine: rank by cos(Σ v_u, v_w) (PMI models)"
    )
    diversity: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="0: rank by score alone; up to 1: maximal marginal relevance with "
        "λ = 1 − diversity, trading score (scaled to [0, 1] over the text's candidates) "
        "for dissimilarity (cosine) to the keywords already picked",
    )
    explain: bool = Field(
        default=False,
        description="give each keyword the text tokens that contributed most to its score "
        "and the [start, end) character spans where it occurs in the text",
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

    model_config = ConfigDict(json_schema_extra=exactly_one("text", "tokens"))

    text: Text = None
    tokens: Tokens = None

    @model_validator(mode="after")
    def _one_form(self):
        text_or_tokens(self)
        return self


BatchId = str | int | float | bool | None


class BatchDocument(BaseModel):
    """A document of a batch: one without exactly one of ``text`` or ``tokens``, or
    beyond a limit, gets its own error in the results."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: BatchId = Field(default=None, description="a JSON scalar, carried over to the result")
    text: str | None = None
    tokens: list[Token] | None = None


class KeywordsBatchRequest(KeywordOptionsBody):
    documents: list[BatchDocument]


class BatchQuery(BaseModel):
    """A query of a ``/most_similar/batch``: one without words, with an unknown word,
    whose words cancel out, or beyond a limit of one query, gets its own error."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: BatchId = Field(default=None, description="a JSON scalar, carried over to the result")
    positive: list[Word] = []
    negative: list[Word] = []


BATCH_LIMITS = (
    "A batch holds at most WORDLENS_MAX_BATCH_QUERIES queries and "
    "WORDLENS_MAX_BATCH_WORDS query words in all, and asks for at most "
    "WORDLENS_MAX_BATCH_NEIGHBOURS neighbours (queries × topn); beyond them, or with "
    "a topn beyond its limit, the whole batch fails with 413 too_large."
)


class MostSimilarBatchRequest(Request):
    """Many ``most_similar`` queries (cosine) with the same ``topn`` and
    ``restrict_vocab``."""

    queries: list[BatchQuery] = Field(description=BATCH_LIMITS)
    topn: Integer = TopN
    restrict_vocab: PositiveInteger | None = None
    exact: bool = Field(default=False, description=EXACT_DESCRIPTION)
    effort: PositiveInteger | None = Field(default=None, description=EFFORT_DESCRIPTION)


PRIOR_WEIGHT_DESCRIPTION = (
    "Word2Vec: the weight λ of the prior log p(b) subtracted from log p(b|a); 1 gives the "
    "PMI, below 1 favours frequent words (default: 0.4 for the symmetric score, 0.9 for "
    "su; PMI models ignore it)"
)
SCORE_DESCRIPTION = (
    "Word2Vec: the form of the context score: symmetric (default), the average of "
    "log p(b|a) − λ log p(b) and log p(a|b) − λ log p(a), which finds more related words; "
    "su, Su Jianlin's log p(b|a) − λ log p(b) (PMI models: both are the inner product)"
)


class RelatedBatchRequest(Request):
    """The related words of many words, with the same ``topn``, ``score`` and
    ``prior_weight``."""

    words: list[Word] = Field(description=BATCH_LIMITS)
    topn: Integer = TopN
    prior_weight: float | None = Field(
        default=None, ge=0.0, le=2.0, description=PRIOR_WEIGHT_DESCRIPTION
    )
    score: ScoreForm = Field(default=DEFAULT_SCORE, description=SCORE_DESCRIPTION)
    exact: bool = Field(default=False, description=EXACT_DESCRIPTION)
    effort: PositiveInteger | None = Field(default=None, description=EFFORT_DESCRIPTION)


QueryErrorField = Field(
    default=None, description="this query's own error (then no neighbours), else null"
)


class MostSimilarBatchResult(BaseModel):
    id: BatchId = None
    neighbours: list[Neighbour] = []
    search: Literal["exact", "index", "tree"] | None = Field(
        default=None, description="as for the single query; null with an error"
    )
    error: ErrorBody | None = QueryErrorField


class RelatedBatchResult(BaseModel):
    word: str = Field(description="the word as given")
    neighbours: list[Neighbour] = []
    search: Literal["exact", "index", "tree"] | None = Field(
        default=None, description="as for the single query; null with an error"
    )
    error: ErrorBody | None = QueryErrorField


class MostSimilarBatchResponse(BaseModel):
    model: str
    method: Literal["cosine"]
    results: list[MostSimilarBatchResult] = Field(description="one per query, in input order")


class RelatedBatchResponse(BaseModel):
    model: str
    method: str = Field(description="pmi, hs or ns, as for /related")
    results: list[RelatedBatchResult] = Field(description="one per word, in input order")


class Contribution(BaseModel):
    token: str = Field(description="a distinct token of the text")
    contribution: float = Field(
        description="its share of the keyword's score, all its occurrences together"
    )


class Keyword(BaseModel):
    word: str
    score: float = Field(
        description="how well the word predicts the text, per token of the text: hs the "
        "mean log p(u | w) over the text's known tokens u (a log-probability, ≤ 0; "
        "−5 means the word gives each token a probability of about e⁻⁵ on average), "
        "ns the mean v_w·c_u, pmi the mean PMI estimate ⟨v_u, v_w⟩, pmi_cosine "
        "cos(Σ v_u, v_w); higher is better, comparable within a text"
    )
    contributions: list[Contribution] | None = Field(
        default=None,
        description="with explain: the tokens that added most to the score, largest first "
        "(at most 10)",
    )
    other: float | None = Field(
        default=None,
        description="with explain: what the other tokens added (contributions + other = score)",
    )
    spans: list[tuple[int, int]] | None = Field(
        default=None,
        description="with explain: [start, end) of each occurrence of the word, in "
        "characters of the text as given (token positions for a token list)",
    )


class KeywordsResponse(BaseModel):
    model: str
    method: str = Field(
        description="hs: mean log p(u|w); ns: mean v_w·c_u; pmi: mean ⟨v_u, v_w⟩, each over "
        "the text's known tokens u; pmi_cosine: cos(Σ v_u, v_w)"
    )
    keywords: list[Keyword]
    tokens: int = Field(description="number of tokens in the text")
    unknown: list[str] = Field(description="distinct tokens not in the vocabulary")
    reason: str | None = Field(description="why the list is empty, when it is")


class BatchResult(BaseModel):
    id: BatchId = None
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

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [exactly_one("text1", "tokens1"), exactly_one("text2", "tokens2")]
        }
    )

    text1: Text = None
    tokens1: Tokens = None
    text2: Text = None
    tokens2: Tokens = None

    @model_validator(mode="after")
    def _one_form_per_side(self):
        for side in ("1", "2"):
            text_or_tokens(self, f"text{side}", f"tokens{side}")
        return self
