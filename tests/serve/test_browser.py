"""End to end in headless Chromium: the web explorer used as a person would use it.

The system's Chromium (``/usr/bin/chromium``, installed by ``.ci/browser.sh``) is driven by
Playwright against uvicorn serving the toy run on 127.0.0.1. Screenshots go to
``$ATTNREC_ARTIFACTS`` (default ``tests/artifacts/``). Without Chromium the test is skipped,
unless ``ATTNREC_REQUIRE_BROWSER=1`` makes that a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ATTNREC_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_ENV = "ATTNREC_REQUIRE_BROWSER"
ARTIFACTS = Path(os.environ.get("ATTNREC_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1 requires the browser test)")
    pytest.skip(f"{reason} (install it with .ci/browser.sh; {REQUIRE_ENV}=1 makes this fail)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("width", [1280, 420])
def test_explorer_end_to_end(browser, live_url: str, width: int) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on("request", lambda r: None if r.url.startswith(live_url) else problems.append(r.url))

    # opens the page: the run is described once the API answers
    page.goto(live_url + "/")
    page.wait_for_function("document.getElementById('run-info').textContent.includes('60 users')")
    assert page.locator("#error").is_hidden()

    # picks a user and reads a recommendation's explanation
    page.fill("#user-input", "2")
    page.click("#user-go")
    page.wait_for_selector("#recs-list li.rec")
    assert page.locator("#recs-title").inner_text() == "Recommendations for user 2"
    sentence = page.locator("#recs-list li.rec .sentence").first.inner_text()
    assert sentence.startswith("Recommended") or "fallback" in sentence
    assert page.locator("#chart-sim .bar-row").count() == 10
    assert page.locator("#chart-rec .bar-row").count() == 10
    first = page.locator("#recs-list li.rec").first
    if first.locator(".chip").count():
        assert "user" in first.locator(".chip").inner_text()

    # an unknown user shows the error, and the page recovers
    page.fill("#user-input", "9999")
    page.click("#user-go")
    page.wait_for_selector("#error:not([hidden])")
    assert "unknown user '9999'" in page.locator("#error").inner_text()

    # builds a new profile from three searched titles and gets recommendations
    page.click("#tab-profile")
    for query in ("space story 1 (", "space story 5 ", "western story 2 ("):
        page.fill("#search-input", query)
        add = page.locator("#search-results li[data-item] button.add:not([disabled])").first
        add.wait_for()
        add.click()
    assert page.locator("#profile-list li").count() == 3
    page.click("#profile-go")
    page.wait_for_function(
        "document.getElementById('recs-title').textContent.includes('your profile')"
    )
    page.wait_for_selector("#recs-list li.rec")
    assert page.locator("#error").is_hidden()
    assert page.locator("#chart-rec .bar-row").count() == 3

    # toggles the scramble: originals beside both permuted lists
    page.locator("label[for='scramble-toggle']").click()
    page.wait_for_selector("#scramble-table tbody tr")
    headers = page.locator("#scramble-table thead th").all_inner_texts()
    assert any("rec" in h for h in headers) and any("sim" in h for h in headers)
    assert page.locator("#scramble-table tbody tr").count() == 10

    # a screenshot as an artifact
    page.evaluate("window.scrollTo(0, 0)")
    shot = ARTIFACTS / f"explorer-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not problems, problems
    page.close()
