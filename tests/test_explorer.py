"""The web explorer in a real headless Chromium, against the real server on 127.0.0.1.

Needs Debian's chromium (/usr/bin/chromium) and Playwright's Python package (the
``dev`` extra; no browser download). Without chromium these tests are skipped,
unless WORDLENS_REQUIRE_BROWSER=1 (as in CI), which makes them fail instead.
Every page test runs at 1280 px and at 390 px (a phone), checks that the page does not
scroll sideways, and runs axe-core (bundled by the ``axe-playwright-python`` package)
on each state it reaches: no critical or serious violation. Screenshots, one per state
and width, are kept in tests/artifacts/ (``<state>-<width>.png``).
"""

import contextlib
import csv
import io
import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

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


WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(params=list(WIDTHS.values()), ids=list(WIDTHS))
def page(browser, url, request):
    context = browser.new_context(viewport={"width": request.param, "height": 1000})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "/")
    page.wait_for_selector("#model option", state="attached")
    yield page
    context.close()
    assert errors == [], errors


def check_accessible(page):
    """axe-core finds no critical or serious violation, and nothing scrolls sideways."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in violations]
    assert [v for v in bad if v[1] in ("critical", "serious")] == []
    width = page.viewport_size["width"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    assert page.evaluate(LABELS_AWAY_FROM_THEIR_BOXES) == []


# A visible label whose box does not sit on the same line (vertical overlap) as the
# label: on a phone, a label wrapped to the end of one line with its box on the next.
LABELS_AWAY_FROM_THEIR_BOXES = """() => [...document.querySelectorAll("label[for]")]
  .filter((label) => label.offsetParent !== null)
  .filter((label) => {
    const box = document.getElementById(label.htmlFor);
    if (!box || box.offsetParent === null || box.tagName === "TEXTAREA") return false;
    const a = label.getBoundingClientRect(), b = box.getBoundingClientRect();
    return a.bottom <= b.top || b.bottom <= a.top;
  })
  .map((label) => label.htmlFor)"""


def shoot(page, name, ours=True):
    """A screenshot of this state (at this width), once our page's state passed axe-core."""
    if ours:
        check_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"]
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def column_words(page, selector):
    return page.locator(f"{selector} li button.word").all_inner_texts()


def test_initial_page(page):
    page.wait_for_selector("#models tbody th")
    shoot(page, "initial")


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
    page.wait_for_selector("#map g.point")
    assert page.locator("#map g.point").count() >= 11
    assert page.locator("#map g.point.query title").text_content().startswith(word)
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
    shoot(offline, "api-docs", ours=False)
    offline.goto(url + "/redoc")
    offline.wait_for_selector("text=/most_similar")
    shoot(offline, "api-redoc", ours=False)


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


def explore(page, word):
    page.fill("#word", word)
    page.press("#word", "Enter")
    page.wait_for_selector(".column.related li")


def test_enter_never_reopens_the_suggestions_over_results(page):
    """A look-up still in flight when Enter is pressed is aborted or ignored."""
    held = []
    page.route(
        "**/complete?*", lambda route: held.append(route)
    )  # hold the look-up until Enter was pressed
    page.fill("#word", "war")
    page.wait_for_function("() => true")
    page.wait_for_timeout(200)  # past the 120 ms debounce: the request is sent
    assert held, "the look-up was not sent"
    page.press("#word", "Enter")
    page.wait_for_selector(".column.related li")
    for route in held:
        with contextlib.suppress(Exception):  # the page aborted it: that is the fix
            route.continue_()
    page.wait_for_timeout(300)
    assert page.locator("#suggestions").is_hidden()
    assert page.get_attribute("#word", "aria-expanded") == "false"
    assert page.get_attribute("#word", "aria-activedescendant") is None


def test_combobox_aria_state(page):
    page.fill("#word", "gov")
    page.wait_for_selector("#suggestions li")
    assert page.get_attribute("#word", "aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#word", "aria-activedescendant")
    assert page.locator(f"#suggestions #{active}").count() == 1
    shoot(page, "suggestions")
    page.keyboard.press("Escape")
    assert page.get_attribute("#word", "aria-expanded") == "false"
    assert page.get_attribute("#word", "aria-activedescendant") is None


def test_each_list_says_what_its_score_means(page, url):
    explore(page, "war")
    assert "cosine: 1 = same contexts, 0 = unrelated" in page.inner_text(".column.similar .meaning")
    method = httpx2.get(f"{url}/related", params={"word": "war"}).json()["method"]
    assert method == "pmi"
    assert "more often than chance" in page.inner_text(".column.related .meaning")
    page.select_option("#model", "word2vec")  # changing the model re-runs the query
    page.wait_for_selector(".column.related h3:has-text('word2vec')")
    assert "log p(b|a) + log p(a|b)" in page.inner_text(".column.related .meaning")
    page.click("#keywords-form button")
    page.wait_for_selector("#keyword-list li")
    assert "mean log-probability per token" in page.inner_text("#keyword-meaning")
    shoot(page, "score-meanings")


def test_map_legend_both_marks_and_keyboard(page, url):
    def in_both_lists(word):
        similar = httpx2.get(f"{url}/most_similar", params={"positive": word}).json()
        related = httpx2.get(f"{url}/related", params={"word": word}).json()
        return {n["word"] for n in similar["neighbours"]} & {
            n["word"] for n in related["neighbours"]
        }

    candidates = ["war", "peace", "government", "tax", "president", "court", "money", "state"]
    word, both = next((w, in_both_lists(w)) for w in candidates if in_both_lists(w))
    explore(page, word)
    page.wait_for_selector("#map g.point")
    assert [t.strip() for t in page.locator(".legend li").all_inner_texts()] == [
        "the word",
        "similar",
        "related",
        "both (similar and related)",
    ]
    assert (
        set(page.locator("#map g.point.both").evaluate_all("ps => ps.map(p => p.dataset.word)"))
        == both
    )
    assert set(page.locator(".column.similar li.both button.word").all_inner_texts()) == both
    labels = page.locator("#map text").evaluate_all(
        "ts => ts.map(t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; })"
    )
    overlaps = [
        (a, b)
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    ]
    assert overlaps == []
    # Readable on a phone too: the labels' rendered height on screen, in CSS pixels.
    heights = page.locator("#map text").evaluate_all(
        "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert min(heights) >= 10
    shoot(page, "map")
    point = page.locator("#map g.point.similar").first
    word = point.get_attribute("data-word")
    point.focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        f"() => new URLSearchParams(location.search).get('word') === {json.dumps(word)}"
    )
    page.wait_for_selector(f"#word-info:has-text('{word}')")


def test_url_state_back_forward_and_shared_links(page, url):
    explore(page, "war")
    explore(page, "peace")
    assert parse_qs(urlparse(page.url).query) == {"word": ["peace"], "model": ["pmi"]}
    page.go_back()
    page.wait_for_selector("#word-info:has-text('“war”')")
    assert page.input_value("#word") == "war"
    page.go_forward()
    page.wait_for_selector("#word-info:has-text('“peace”')")
    page.goto(url + "/?word=war&model=word2vec&compare=1")  # a shared link
    page.wait_for_selector(".column.related >> nth=1")
    assert page.input_value("#model") == "word2vec" and page.is_checked("#compare")
    assert page.locator(".column h3").first.inner_text().startswith("Similar — word2vec")
    shoot(page, "shared-link")


def test_unknown_word_offers_the_api_suggestions(page, url):
    body = httpx2.get(f"{url}/words/goverment").json()["error"]
    offered = [w for words in body["suggestions"].values() for w in words]
    assert offered, body
    page.fill("#word", "goverment")
    page.press("#word", "Enter")
    page.wait_for_selector("#word-error a.suggestion")
    assert page.locator("#word-error a.suggestion").all_inner_texts() == list(
        dict.fromkeys(offered)
    )
    assert page.is_visible("#infer-form")  # the infer form stays
    shoot(page, "unknown-with-suggestions")
    page.click("#word-error a.suggestion >> nth=0")
    page.wait_for_selector(f"#word-info:has-text('“{offered[0]}”')")


def test_export_csv_and_json(page, url):
    explore(page, "war")
    with page.expect_download() as csv_download:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    with page.expect_download() as json_download:
        page.click("#export-json")
    records = json.loads(Path(json_download.value.path()).read_text())
    similar = httpx2.get(f"{url}/most_similar", params={"positive": "war", "topn": 10}).json()
    related = httpx2.get(f"{url}/related", params={"word": "war", "topn": 10}).json()
    expected = [("similar", n) for n in similar["neighbours"]] + [
        ("related", n) for n in related["neighbours"]
    ]
    assert [(r["list"], r["word"]) for r in records] == [(k, n["word"]) for k, n in expected]
    assert [r["score"] for r in records] == [n["score"] for _, n in expected]
    assert [(r["list"], r["word"], float(r["score"])) for r in rows] == [
        (k, n["word"], n["score"]) for k, n in expected
    ]
    assert {r["model"] for r in rows} == {"pmi"}


def test_compare_mode_answers_analogies_side_by_side(page, url):
    page.check("#compare")
    for field, word in (("#a", "king"), ("#b", "man"), ("#c", "woman")):
        page.fill(field, word)
    page.click("#analogy-form button")
    page.wait_for_selector("#analogy-result .column >> nth=1")
    for i, model in enumerate(["pmi", "word2vec"]):
        column = page.locator("#analogy-result .column").nth(i)
        assert column.locator("h3").inner_text().endswith(model)
        expected = httpx2.get(
            f"{url}/most_similar",
            params={"positive": ["king", "woman"], "negative": "man", "topn": 5, "model": model},
        ).json()
        words = [t.split(" (")[0] for t in column.locator("li").all_inner_texts()]
        assert words == [n["word"] for n in expected["neighbours"]]
    shoot(page, "analogy-compare")


def test_compare_mode_answers_keywords_side_by_side(page, url):
    page.check("#compare")
    page.click("#keywords-form button")
    page.wait_for_selector("#keyword-compare .column >> nth=1")
    text = page.input_value("#text")
    for i, model in enumerate(["pmi", "word2vec"]):
        column = page.locator("#keyword-compare .column").nth(i)
        assert column.locator("h3").inner_text().endswith(model)
        body = {"text": text, "topn": 5, "exclude_stopwords": True, "model": model}
        expected = httpx2.post(f"{url}/keywords", json=body).json()
        words = [t.split(" (")[0] for t in column.locator("li").all_inner_texts()]
        assert words == [k["word"] for k in expected["keywords"]]
    shoot(page, "keywords-compare")
    page.uncheck("#compare")
    page.click("#keywords-form button")
    page.wait_for_selector("#keyword-compare .column", state="detached")
