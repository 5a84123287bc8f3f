import pytest

from wordlens.corpus import TOKENIZER_NAMES, from_spec, get_tokenizer


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
