"""Debian's Chromium holding the test client's login: the feature tests log in through the test
client (the test identity provider, or staff with their second factor), then hand its cookies to the
browser. Same address and User-Agent as the client, as flask-login's "strong" session protection
wants: set ``client.environ_base["HTTP_USER_AGENT"]`` before logging in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.web.test_web_suggest_browser import ARGS, CHROMIUM

#: A browser module's ``pytestmark``: its checks run once, in the SQLite run.
ONCE_IN_THE_SQLITE_RUN = pytest.mark.skipif(
    os.environ.get("PORTAL_TEST_DB", "sqlite") == "postgresql",
    reason="browser checks run once, in the SQLite run: the database does not change what a page shows")


@contextmanager
def chromium_as(client, server: str, **context_options) -> Iterator[tuple[Browser, BrowserContext]]:
    """The browser and a context carrying ``client``'s cookies for ``server`` (Vietnamese locale)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(locale="vi-VN", user_agent=client.environ_base["HTTP_USER_AGENT"],
                                          **context_options)
            context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": server}
                                 for cookie in client._cookies.values()])
            yield browser, context
        finally:
            browser.close()
