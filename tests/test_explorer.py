"""The web explorer in a real headless Chromium, against the real server on 127.0.0.1.

Needs Debian's chromium (/usr/bin/chromium) and Playwright's Python package (the
``dev`` extra; no browser download). Without chromium these tests are skipped,
unless WORDLENS_REQUIRE_BROWSER=1 (as in CI), which makes them fail instead.
Screenshots are kept in tests/artifacts/.
"""

import os
from pathlib import Path

import httpx2
import pytest
from conftest import ROOT, running_server

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("WORDLENS_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (set WORDLENS_REQUIRE_BROWSER=1 to fail)",
)


@pytest.fixture(scope="module")
def url(trained_models):
    with running_server(trained_models) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )  # launch() uses a fresh profile
        yield browser
        browser.close()


@pytest.fixture
def page(browser, url):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    page.wait_for_selector("#model option", state="attached")
    yield page
    context.close()
    assert errors == [], errors


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def column_words(page, selector):
    return page.locator(f"{selector} li button.word").all_inner_texts()


def test_both_columns_show_what_the_api_returns(page, url):
    page.fill("#word", "gov")
    page.wait_for_selector("#suggestions li")
    suggestions = page.locator("#suggestions li").all_inner_texts()
    expected = httpx2.get(f"{url}/complete", params={"prefix": "gov", "limit": 8}).json()
    assert suggestions == expected["words"]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # picks the first suggestion with the keyboard
    page.wait_for_selector(".column.related li")
    word = suggestions[0]
    similar = httpx2.get(f"{url}/most_similar", params={"positive": word, "topn": 10}).json()
    related = httpx2.get(f"{url}/related", params={"word": word, "topn": 10}).json()
    assert column_words(page, ".column.similar") == [n["word"] for n in similar["neighbours"]]
    assert column_words(page, ".column.related") == [n["word"] for n in related["neighbours"]]
    info = httpx2.get(f"{url}/words/{word}").json()
    assert f"rank {info['rank']:,}" in page.inner_text("#word-info")
    page.wait_for_selector("#map circle")
    assert page.locator("#map circle").count() >= 11
    assert page.locator("#map circle.query title").text_content().startswith(word)
    shoot(page, "similar-and-related")


def test_comparison_view_pmi_and_word2vec(page, url):
    page.check("#compare")
    page.fill("#word", "war")
    page.press("#word", "Enter")
    page.wait_for_selector(".column.related >> nth=1")
    headings = page.locator(".column h3").all_inner_texts()
    assert [h.split(" ")[0] + " " + h.split(" ")[2] for h in headings] == [
        "Similar pmi",
        "Related pmi",
        "Similar word2vec",
        "Related word2vec",
    ]
    expected = httpx2.get(f"{url}/related", params={"word": "war", "model": "word2vec"}).json()
    columns = page.locator(".column.related")
    assert columns.nth(1).locator("button.word").all_inner_texts() == [
        n["word"] for n in expected["neighbours"]
    ]
    shoot(page, "comparison")


def test_keywords_are_highlighted_in_place(page, url):
    """The page marks the server's spans: full-width letters and "ﬁ" (which NFKC
    folds to other lengths) are marked as written."""
    text = "The ＧＯＶＥＲＮＭＥＮＴ must protect the rights of workers and their ﬁne families."
    page.fill("#text", text)
    page.click("#keywords-form button")
    page.wait_for_selector("#highlighted mark")
    expected = httpx2.post(f"{url}/keywords", json={"text": text, "topn": 5, "explain": True})
    keywords = expected.json()["keywords"]
    marked = [m.split("\n")[0] for m in page.locator("#highlighted mark").all_inner_texts()]
    spans = sorted((start, end) for k in keywords for start, end in k["spans"])
    assert [m.rstrip("0123456789") for m in marked] == [text[start:end] for start, end in spans]
    words = [k["word"] for k in keywords]
    assert page.inner_text("#highlighted").replace("\n", "").startswith("The")
    assert len(page.locator("#keyword-list li").all_inner_texts()) == len(words)
    shoot(page, "keywords")


def test_unknown_word_shows_a_friendly_message(page):
    page.fill("#word", "qwzxv")
    page.press("#word", "Enter")
    page.wait_for_selector("#word-error:not([hidden])")
    assert page.inner_text("#word-error") == "“qwzxv” is not in the vocabulary of model pmi."
    page.fill("#w1", "war")
    page.fill("#w2", "blorptz")
    page.click("#pair-form button")
    page.wait_for_selector("#pair-error:not([hidden])")
    assert "“blorptz” is not in the vocabulary" in page.inner_text("#pair-error")
    shoot(page, "unknown-word")


def test_pair_analogy_and_models_panel(page, url):
    page.fill("#w1", "war")
    page.fill("#w2", "peace")
    page.click("#pair-form button")
    page.wait_for_selector("#pair-result p")
    cosine = httpx2.get(f"{url}/similarity", params={"w1": "war", "w2": "peace"}).json()
    assert f"cosine similarity {cosine['similarity']:.3f}" in page.inner_text("#pair-result")
    for field, word in (("#a", "king"), ("#b", "man"), ("#c", "woman")):
        page.fill(field, word)
    page.click("#analogy-form button")
    page.wait_for_selector("#analogy-result li")
    expected = httpx2.get(
        f"{url}/most_similar", params={"positive": ["king", "woman"], "negative": "man", "topn": 5}
    ).json()
    assert [t.split(" (")[0] for t in page.locator("#analogy-result li").all_inner_texts()] == [
        n["word"] for n in expected["neighbours"]
    ]
    names = page.locator("#models tbody th").all_inner_texts()
    assert {"pmi", "word2vec"} <= set(names)
    shoot(page, "pair-analogy-models")


@pytest.fixture
def offline(browser):
    """A page that can reach only the server: any other address is refused."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    outside = []

    def only_loopback(route):
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert outside == [] and errors == [], (outside, errors)


def test_api_docs_work_offline(offline, url):
    offline.goto(url + "/docs")
    offline.wait_for_selector(".opblock-summary-path")
    paths = offline.locator(".opblock-summary-path").all_inner_texts()
    assert "/most_similar" in paths and "/keywords" in paths
    operation = offline.locator(
        ".opblock-get", has=offline.locator(".opblock-summary-path[data-path='/similarity']")
    )
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("input[placeholder='w1']").fill("war")
    operation.locator("input[placeholder='w2']").fill("peace")
    operation.locator(".execute").click()
    answer = operation.locator(".live-responses-table tr.response")
    answer.wait_for()
    assert answer.locator(".response-col_status").inner_text().strip() == "200"
    assert '"similarity"' in answer.locator("pre").first.inner_text()
    shoot(offline, "api-docs")
    offline.goto(url + "/redoc")
    offline.wait_for_selector("text=/most_similar")
    shoot(offline, "api-redoc")


def test_an_unknown_word_is_inferred_from_sentences(page, url):
    page.fill("#word", "flurb")
    page.press("#word", "Enter")
    page.wait_for_selector("#infer-form:not([hidden])")
    sentences = ["the flurb said friday", "a flurb of the county"]
    page.fill("#infer-contexts", "\n".join(sentences))
    page.click("#infer-form button")
    page.wait_for_selector(".column.similar li")
    expected = httpx2.post(
        f"{url}/infer", json={"word": "flurb", "contexts": sentences, "topn": 10}
    ).json()
    assert column_words(page, ".column.similar") == [n["word"] for n in expected["similar"]]
    assert "confidence" in page.inner_text(".column.similar h3")
    shoot(page, "infer")
