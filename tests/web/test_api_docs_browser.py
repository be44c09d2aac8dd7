"""/api/docs in a real browser (Debian's Chromium through Playwright): the API's reference renders
with no console error and no CSP violation, names every operation of the contract, and every link
inside it leads somewhere. It runs once, in the SQLite run, like the other browser checks."""

from __future__ import annotations

from playwright.sync_api import sync_playwright

from tests.web.browser import ONCE_IN_THE_SQLITE_RUN
from tests.web.test_web_suggest_browser import ARGS, CHROMIUM, server  # noqa: F401, F811  (the fixture)

pytestmark = ONCE_IN_THE_SQLITE_RUN


def test_the_reference_renders_every_operation_without_error_or_csp_violation(server, client):  # noqa: F811
    contract = client.get("/api/v1/openapi.json").get_json()
    operations = [(method.upper(), path, op["operationId"])
                  for path, item in contract["paths"].items() for method, op in item.items()]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(locale="vi-VN")
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        # A CSP violation is also an event in the page: counted even if the console said nothing.
        page.add_init_script("document.addEventListener('securitypolicyviolation',"
                             " e => console.error('CSP violation: ' + e.violatedDirective))")
        response = page.goto(f"{server}/api/docs")
        assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        for method, path, operation_id in operations:
            heading = page.locator(f"h2#op-{operation_id}")
            assert heading.is_visible(), operation_id
            assert f"{method} {path}" in heading.inner_text()
        # Every in-page link (operations, schemas) has its target; none is left dangling.
        targets = page.eval_on_selector_all("a[href^='#']", "links => links.map(a => a.hash.slice(1))")
        assert targets
        missing = [t for t in targets if page.locator(f"[id='{t}']").count() != 1]
        assert missing == []
        browser.close()
    assert problems == []
