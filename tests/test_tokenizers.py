import pytest

from wordlens.corpus import TOKENIZER_NAMES, from_spec, get_tokenizer
from wordlens.corpus.tokenizers import TextTooLargeError


@pytest.fixture(scope="module")
def english():
    return get_tokenizer("english")


@pytest.fixture(scope="module")
def jieba_tokenizer():
    return get_tokenizer("jieba")


def test_english_words_numbers_and_punctuation(english):
    text = "Don't stop: the well-known café costs $3.50, or 1,000 yen in 1961!"
    assert english(text) == [
        "don't",
        "stop",
        "the",
        "well",
        "known",
        "café",
        "costs",
        "3.50",
        "or",
        "1,000",
        "yen",
        "in",
        "1961",
    ]


def test_english_folds_case_width_and_apostrophes(english):
    assert english("ÉCOLE Ｆｕｌｌ width It’s") == ["école", "full", "width", "it's"]
    assert english.normalize("  Paris ") == "paris"
    assert english.normalize("It’s") == "it's"


def test_english_drops_emoji_and_symbols(english):
    assert english("I ❤️ NY 😀😀 ok #1 @home") == ["i", "ny", "ok", "1", "home"]


def test_english_other_scripts_are_words(english):
    assert english("Москва и Zürich") == ["москва", "и", "zürich"]


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "!!! ... ---", "😀"])
def test_empty_and_wordless_text(english, jieba_tokenizer, text):
    assert english(text) == []
    assert jieba_tokenizer(text) == []
    assert get_tokenizer("whitespace")(text) == ([] if not text.strip() else text.split())


def test_very_long_line(english):
    text = "alpha beta, gamma. " * 100_000
    tokens = english(text)
    assert len(tokens) == 300_000
    assert tokens[:3] == ["alpha", "beta", "gamma"]


def test_jieba_chinese_and_latin_runs(jieba_tokenizer):
    tokens = jieba_tokenizer("我爱北京天安门，iPhone 12很好用！")
    assert "北京" in tokens and "天安门" in tokens
    assert "iphone" in tokens and "12" in tokens
    assert "，" not in tokens and "！" not in tokens and " " not in tokens


def test_jieba_mixed_with_emoji(jieba_tokenizer):
    tokens = jieba_tokenizer("今天天气很好😀 Python编程")
    assert "😀" not in tokens
    assert "python" in tokens and "编程" in tokens


def test_whitespace_tokenizer():
    assert get_tokenizer("whitespace")("New_York  is\tBIG") == ["New_York", "is", "BIG"]
    lower = get_tokenizer("whitespace", lowercase=True)
    assert lower("New_York BIG") == ["new_york", "big"]
    assert lower.normalize("BIG") == "big"


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
def test_spec_round_trip(name):
    tokenizer = get_tokenizer(name)
    rebuilt = from_spec(tokenizer.spec)
    assert rebuilt.spec == tokenizer.spec
    assert rebuilt("Hello World 你好") == tokenizer("Hello World 你好")


@pytest.mark.parametrize(
    "tokenizer",
    [get_tokenizer(name) for name in TOKENIZER_NAMES]
    + [get_tokenizer("whitespace", lowercase=True)],
    ids=repr,
)
@pytest.mark.parametrize(
    "words", [["The", " Cat ", "sat"], ["Ｃａｆé", "don\u2019t", "ÉCOLE", "plain"], []]
)
def test_normalize_all_is_normalize_of_each_word(tokenizer, words):
    assert tokenizer.normalize_all(words) == [tokenizer.normalize(w) for w in words]


def test_settings_are_recorded():
    assert get_tokenizer("jieba", hmm=False).spec == {"name": "jieba", "hmm": False}
    assert get_tokenizer("whitespace", lowercase=True).spec == {
        "name": "whitespace",
        "lowercase": True,
    }


def test_unknown_tokenizer_and_bad_settings():
    with pytest.raises(ValueError, match="unknown tokenizer 'klingon'"):
        get_tokenizer("klingon")
    with pytest.raises(ValueError, match="bad settings"):
        get_tokenizer("english", lowercase=False)


# Pieces of text whose normalisation reaches across characters: decomposed accents,
# marks of mixed classes (reordered), Hangul jamo, two-part vowels, half-width kana
# with voicing marks, final sigma, and text that NFKC lengthens or that lower() does.
FRAGMENTS = [
    "e\u0301",
    "a\u0316\u0301\u0300",
    "\u1100\u1161\u11a8",
    "\u3131\u314f\u3133",
    "\uffa1\uffc2",
    "\u0b95\u0bc6\u0bbe",
    "\uff76\uff9e",
    "\u0f40\u0f73",
    "ΟΔΟΣ",
    "\ufdfa",
    "İ",
    "ﬁ",
    "北京天安门",
    "，",
    "。",
    "don\u2019t",
    "Ｆｕｌｌ",
    "\u00a0",
    " ",
    "x",
]


@pytest.mark.parametrize("separators", [True, False], ids=["with separators", "without"])
def test_piecewise_normalisation_is_exactly_that_of_the_whole(separators):
    """Cut before white space or CJK punctuation where there is some, else before a
    character that starts a combining sequence: the same as normalising the whole."""
    import random
    import unicodedata

    from wordlens.corpus.tokenizers import _APOSTROPHES, _SEPARATOR, _fold

    rng = random.Random(0)
    fragments = [f for f in FRAGMENTS if separators or not _SEPARATOR.search(f)]
    text = "".join(rng.choice(fragments) for _ in range(20_000))
    straight = str.maketrans(dict.fromkeys(_APOSTROPHES, "'"))
    assert _fold(text) == unicodedata.normalize("NFKC", text).translate(straight).lower()


def test_the_characters_that_join_the_previous_one_are_all_listed():
    """_JOINS_PREVIOUS, derived from this Python's Unicode data: the starters that are
    the second half of a canonical composition or decompose to a combining mark."""
    import unicodedata

    from wordlens.corpus.tokenizers import _JOINS_PREVIOUS

    characters = list(map(chr, range(0x30000)))
    second_halves = {
        chr(int(parts[1], 16))
        for c in characters
        if len(parts := unicodedata.decomposition(c).split()) == 2
        and not parts[0].startswith("<")
        and unicodedata.normalize("NFC", chr(int(parts[0], 16)) + chr(int(parts[1], 16))) == c
    }
    hangul = {chr(c) for c in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    joining = {
        c
        for c in characters
        if unicodedata.combining(c) == 0
        and (
            unicodedata.combining(first := unicodedata.normalize("NFKD", c)[0])
            or first in second_halves | hangul
        )
    }
    assert joining == set(filter(_JOINS_PREVIOUS.match, characters))


@pytest.mark.parametrize(
    "tokenizer",
    [get_tokenizer(name) for name in TOKENIZER_NAMES],
    ids=repr,
)
def test_limits_stop_every_tokenizer(tokenizer):
    from wordlens.corpus.tokenizers import TextTooLargeError

    text = "天气 word " * 1000
    assert tokenizer(text, max_chars=len(text), max_tokens=10_000) == tokenizer(text)
    with pytest.raises(TextTooLargeError, match="more than 100 tokens") as info:
        tokenizer(text, max_tokens=100)
    assert info.value.limit == 100
    with pytest.raises(TextTooLargeError, match="more than 20 characters once normalised"):
        tokenizer("\ufdfa" * 2 if tokenizer.name != "whitespace" else "x" * 21, max_chars=20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The cat's  well-known hat.", [("the", 0, 3), ("cat's", 4, 9), ("well", 11, 15)]),
        # NFKC: "ﬁ" is one character that folds to two; full-width letters fold to ASCII
        ("a ﬁne ＣＡＴ day", [("a", 0, 1), ("fine", 2, 5), ("cat", 6, 9), ("day", 10, 13)]),
        # a decomposed é (e + U+0301) folds to one character; İ lower-cases to "i" and
        # a combining dot, which is no letter (so it splits the word, as ever)
        ("cafe\u0301 İstanbul", [("café", 0, 5), ("i", 6, 7), ("stanbul", 7, 14)]),
    ],
)
def test_english_spans_point_into_the_original_text(english, text, expected):
    spans = english.spans(text)
    assert spans[: len(expected)] == expected
    assert [token for token, _, _ in spans] == english(text)


def test_spans_of_every_token_cover_its_original_substring(english):
    text = "Ｔｈｅ ﬁrst ﬂoor’s “ｏｆｆｉｃｅ” — Ⅻ rooms"
    for token, start, end in english.spans(text):
        assert english.normalize(text[start:end]).endswith(token)


def test_jieba_spans(jieba_tokenizer):
    text = "我爱北京天安门，ＡＢＣ 公司的iPhone很好"
    spans = jieba_tokenizer.spans(text)
    assert [token for token, _, _ in spans] == jieba_tokenizer(text)
    for token, start, end in spans:
        assert jieba_tokenizer.normalize(text[start:end]) == token
    assert ("天安门", 4, 7) in spans and ("abc", 8, 11) in spans


def test_whitespace_spans():
    tokenizer = get_tokenizer("whitespace", lowercase=True)
    assert tokenizer.spans(" New  York ") == [("new", 1, 4), ("york", 6, 10)]


def test_spans_keep_the_limits(english):
    with pytest.raises(TextTooLargeError):
        english.spans("one two three", max_tokens=2)
    with pytest.raises(TextTooLargeError):
        english.spans("ﬁne " * 10, max_chars=30)
