"""Share links end to end in Chromium (Playwright, Debian's chromium): the holder, logged in, makes a
link from her result's page; the recipient opens it in another browser context (no cookie, no login)
and sees the chosen fields only; the holder revokes it; the recipient's reload is refused. Runs once,
in the SQLite run, like the other browser checks."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import sync_playwright

from tests.sharing.conftest import CITIZEN_ID
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN
from tests.web.test_web_suggest_browser import ARGS, CHROMIUM, server  # noqa: F401  (the fixture)

pytestmark = ONCE_IN_THE_SQLITE_RUN

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium (portal share test)"


def test_share_open_elsewhere_revoke_and_refused(app, server, client, login_citizen, own_record,  # noqa: F811
                                                 db_session):
    app.config["PUBLIC_BASE_URL"] = server  # the link shown is on this very server
    record = own_record(CITIZEN_ID, access="personal", files=True, doc_type_name="Trích lục khai sinh",
                        doc_number="77", doc_notation="TLKS", holder="NGUYỄN THỊ LAN",
                        summary="Đăng ký khai sinh cho cháu Nguyễn Minh An", valid_to=date(2030, 1, 1))
    # Logged in through the test provider by the test client, then the browser takes its cookie:
    # same address and User-Agent, as the "strong" session protection of flask-login wants.
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    login_citizen(client, "citizen")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(locale="vi-VN", user_agent=USER_AGENT)
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": server}
                             for cookie in client._cookies.values()])
        holder = context.new_page()
        holder.goto(f"{server}/results/{record.source_id}")
        with holder.expect_navigation():
            holder.click("#share-result")
        holder.fill("#recipient", "Ngân hàng Thử nghiệm")
        holder.check("#holder_name")
        holder.check("#scans")
        holder.check("input[name=expiry][value='1d']")
        with holder.expect_navigation():
            holder.click("main form button[type=submit]")
        assert holder.url.startswith(f"{server}/my/shares")
        link = holder.input_value("#share-url")
        assert link.startswith(f"{server}/s/")

        recipient = browser.new_context(locale="vi-VN").new_page()  # another browser: no cookie at all
        answer = recipient.goto(link)
        assert answer.status == 200
        assert answer.headers["x-robots-tag"] == "noindex, nofollow"
        assert answer.headers["referrer-policy"] == "no-referrer"
        shown = recipient.locator("main").inner_text()
        assert "NGUYỄN THỊ LAN" in shown and "77/TLKS" in shown and "01/01/2030" in shown
        assert CITIZEN_ID not in shown and "Nguyễn Minh An" not in shown  # not chosen
        images = recipient.locator("main figure.scan img")
        assert images.count() == 3
        images.first.scroll_into_view_if_needed()
        recipient.wait_for_function("document.querySelector('main figure.scan img').naturalWidth > 0")
        code = recipient.inner_text("#verification-code")

        holder.reload()
        row = holder.locator("main table tbody tr").first
        assert code in row.inner_text() and "Ngân hàng Thử nghiệm" in row.inner_text()
        with holder.expect_navigation():
            row.locator("button[type=submit]").click()
        assert "Đã thu hồi" in holder.locator("main table").inner_text()

        refused = recipient.reload()
        assert refused.status == 410
        text = recipient.locator("main").inner_text()
        assert "thu hồi" in text and "NGUYỄN THỊ LAN" not in text and "77/TLKS" not in text
        browser.close()
