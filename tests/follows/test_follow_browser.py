"""Following end to end in Chromium (Playwright, Debian's chromium): a logged-in citizen follows
her result through the form, Hanoi's clock moves to 30 days before its end, the daily job runs,
the reminder arrives at the real SMTP server, and its unfollow link, opened in the browser, stops
the follow. Runs once, in the SQLite run, like the other browser checks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.follows import tasks as follow_tasks
from portal.follows.models import Follow
from tests.follows.conftest import CITIZEN_ID, ENDS
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN, chromium_as
from tests.web.test_web_suggest_browser import server  # noqa: F401  (the fixture)

pytestmark = ONCE_IN_THE_SQLITE_RUN

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium (portal follow test)"


def test_follow_get_the_reminder_and_unfollow_from_it(app, server, client, login_citizen,  # noqa: F811
                                                      own_record, set_today, smtp_server, db_session):
    app.config["PUBLIC_BASE_URL"] = server  # the mail's links lead to this very server
    record = own_record(CITIZEN_ID, access="personal", valid_to=ENDS, doc_type_name="Giấy phép lái xe")
    # Logged in through the test provider by the test client, then the browser takes its cookie:
    # same address and User-Agent, as the "strong" session protection of flask-login wants.
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    login_citizen(client, "citizen")
    with chromium_as(client, server) as (browser, context):
        page = context.new_page()
        page.goto(f"{server}/results/{record.source_id}")
        with page.expect_navigation():
            page.click("#follow-result")
        page.fill("#email", "lan@example.vn")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.url == f"{server}/my/follows"
        assert "lan@example.vn" in page.locator("main table").inner_text()

        set_today(ENDS - timedelta(days=30))
        assert follow_tasks.send_follow_notices.call_local() == 1
        [message] = smtp_server.messages
        assert message["To"] == "lan@example.vn" and "(30 ngày)" in message["Subject"]
        link = message["List-Unsubscribe"].strip("<>")
        assert link.startswith(f"{server}/follows/unfollow/")

        stranger = browser.new_context(locale="vi-VN").new_page()  # no login: the link is enough
        stranger.goto(link)
        assert "lan@example.vn" in stranger.locator("main").inner_text()
        assert _follows(db_session) == 1  # opening the link changed nothing
        with stranger.expect_navigation():
            stranger.click("main form button[type=submit]")
        assert stranger.locator("main [role=status]").is_visible()
        browser.close()
    assert _follows(db_session) == 0


def _follows(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Follow))
