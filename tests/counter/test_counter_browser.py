"""Assisted mode end to end in Chromium (Playwright, Debian's chromium): a clerk, logged in, opens a
session for a person by her id number, sends the consent code, types the code the person reads from
the mail that reached the real SMTP server, opens her result, requests a copy for her and ends the
session. Each action is on her access log as done by the clerk for her, the summary arrives once,
and every page of the counter passes axe-core's WCAG 2.1 A and AA rules. Runs once, in the SQLite
run, like the other browser checks."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit import AuditEntry
from portal.copy_requests.models import CopyRequest
from tests.counter.conftest import CONTACT, PERSON_ID, last_code
from tests.web.a11y_site import axe_violations
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN, chromium_as
from tests.web.test_web_suggest_browser import server  # noqa: F401  (the fixture)

pytestmark = ONCE_IN_THE_SQLITE_RUN

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium (portal counter test)"


def accessible(page) -> None:
    problems = axe_violations(page)
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


def test_a_clerk_acts_for_a_consenting_person_and_it_is_logged_for_her(  # noqa: PLR0915
        app, server, client, world, login_staff, smtp_server, db_session):  # noqa: F811
    app.config["PUBLIC_BASE_URL"] = server
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    login_staff(client, world.clerk)
    with chromium_as(client, server) as (browser, context):
        page = context.new_page()
        page.goto(f"{server}/staff/counter")
        accessible(page)
        page.fill("#id_number", PERSON_ID)
        page.select_option("#unit_id", str(world.ward.id))
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.url == f"{server}/staff/counter/consent"
        assert "l***@example.vn" in page.locator("main").inner_text() and CONTACT not in page.content()
        accessible(page)
        with page.expect_navigation():
            page.click("#counter-send-code")
        [mail] = smtp_server.messages
        assert mail["To"] == CONTACT and "Trần Văn Minh" in mail.get_content()
        page.fill("#code", last_code(smtp_server))
        accessible(page)
        with page.expect_navigation():
            page.click("#counter-confirm-code")
        assert page.url == f"{server}/staff/counter/session"
        main = page.locator("main").inner_text()
        assert "Nguyễn Thị Lan" in main and world.mine.doc_type_name in main
        assert world.mine_elsewhere.doc_type_name not in main and world.other.doc_type_name not in main
        accessible(page)

        with page.expect_navigation():
            page.click(f"a[href='/staff/counter/results/{world.mine.source_id}']")
        assert world.mine.summary in page.locator("main").inner_text()
        accessible(page)
        with page.expect_navigation():
            page.click("#counter-copy-request")
        accessible(page)
        page.check("input[name=kind][value=electronic]")
        page.fill("#purpose", "Bổ sung hồ sơ vay vốn")
        with page.expect_navigation():
            page.click("#counter-submit-copy")
        assert page.url == f"{server}/staff/counter/session"
        made = db_session.scalar(select(CopyRequest))
        assert made is not None and made.reference in page.locator("main [role=status]").inner_text()

        with page.expect_navigation():
            page.click("#counter-end")
        assert "/summary" in page.url and "l***@example.vn" in page.locator("main").inner_text()
        accessible(page)
        page.goto(f"{server}/staff/counter/results/{world.mine.source_id}")  # ended: back to the start
        assert page.url == f"{server}/staff/counter"
        browser.close()

    db_session.expire_all()
    logged = db_session.scalars(select(AuditEntry).where(AuditEntry.subject_id == world.person.id,
                                                         AuditEntry.channel == "counter")
                                .order_by(AuditEntry.id)).all()
    assert [e.action for e in logged] == ["record.view", "counter.copy_request"]
    for entry in logged:
        assert entry.actor == f"staff:{world.clerk.id}" and "thay mặt Nguyễn Thị Lan" in entry.purpose
    summaries = [m for m in smtp_server.messages if "What the one-stop desk did" in m["Subject"]]
    assert len(summaries) == 1 and summaries[0]["To"] == CONTACT
