"""Search as you type in a real browser (Debian's Chromium through Playwright) against a real server.

scripts/run-tests.sh installs Chromium when it is missing; here it is required, never skipped.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from portal.search import suggest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(app):
    suggest.clear_cache()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def test_typing_shows_suggestions_arrow_and_enter_navigate(server, browser):
    page = browser.new_page(locale="vi-VN")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{server}/?lang=vi")
    box = page.locator("#q")
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("nghia d", delay=30)
    listbox = page.locator("#q-suggestions")
    expect(listbox).to_be_visible()
    expect(listbox).to_have_attribute("role", "listbox")
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.locator("[role=option]")
    count = options.count()
    assert 1 <= count <= 8
    expect(page.locator("[role=status]").filter(has_text="gợi ý")).to_have_text(f"{count} gợi ý")
    first = options.first
    label = first.inner_text()
    assert "Nghĩa Đô" in label

    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "q-suggestions-0")
    expect(first).to_have_attribute("aria-selected", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    box.press("ArrowDown")  # reopens
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "q-suggestions-0")
    with page.expect_navigation():
        box.press("Enter")
    assert urlsplit(page.url).path.startswith("/units/")
    assert "Nghĩa Đô" in page.locator("h1").inner_text()
    assert errors == []  # no CSP violation or script error


def test_the_search_page_box_suggests_too_and_mouse_picks(server, browser, make_record):
    make_record(doc_type_name="Giấy phép xây dựng")
    page = browser.new_page()
    page.goto(f"{server}/search?lang=vi")
    page.locator("#q").press_sequentially("giay phep x", delay=30)
    option = page.locator("#q-suggestions [role=option]", has_text="Giấy phép xây dựng").first
    expect(option).to_be_visible()
    with page.expect_navigation():
        option.click()
    assert parse_qs(urlsplit(page.url).query)["q"] == ["Giấy phép xây dựng"]


def test_without_javascript_the_form_still_works(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/?lang=vi")
    box = page.locator("#q")
    assert box.get_attribute("role") is None  # nothing enhanced
    box.fill("giay phep xay dung")
    with page.expect_navigation():
        box.press("Enter")
    assert urlsplit(page.url).path == "/search"
    assert parse_qs(urlsplit(page.url).query)["q"] == ["giay phep xay dung"]
    assert page.locator("#q-suggestions").count() == 0
    context.close()
