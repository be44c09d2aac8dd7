"""Every page a person can reach passes axe-core's WCAG 2.1 A and AA rules, in Chromium.

axe-core comes from PyPI axe-playwright-python (it ships axe.min.js and injects it through
Playwright); the browser is Debian's Chromium, as in test_web_suggest_browser.py. One app, one
live server and one browser serve the whole module: `site` (tests/web/a11y_site.py) fills them
with demo data and logs each role in through the real pages. Each entry of PAGES is checked in
Vietnamese and English, in a tab holding that role's cookies (a fresh one for a page reached by
sending a form).

`test_every_html_page_is_checked_or_skipped_with_a_reason` reads the URL map: a GET route that
is neither in PAGES nor in SKIPPED (with why) fails the run, so a new page cannot slip past.

Browser checks need no second database: the suite's PostgreSQL run skips this module.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.serving import WSGIRequestHandler, make_server

from portal import create_app
from portal.extensions import db
from portal.files.store import FileStore
from tests.identity.staff_builders import make_staff
from tests.web import a11y_site
from tests.web.browser import ONCE_IN_THE_SQLITE_RUN
from tests.web.conftest import add_document, make_record

pytestmark = ONCE_IN_THE_SQLITE_RUN

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LANGS = ["vi", "en"]

ANON, CITIZEN, EMPTY, LOA1 = "anonymous", "citizen", "citizen-empty", "citizen-level-1"
CLERK, IDLE, ADMIN = "clerk", "clerk-idle", "admin"


@dataclass(frozen=True)
class Page:
    """One page to check: ``path`` is formatted with the site's references; ``steps`` act on it
    (fill and send a form) and leave the browser on the page to check."""

    endpoint: str
    role: str
    state: str
    path: str
    steps: Callable | None = None
    status: int = 200

    def __str__(self) -> str:
        return f"{self.endpoint}[{self.role}: {self.state}]"


# --- steps: what a person does on the page before the one checked ----------------------------------

def _fill_and_send(fields: dict[str, str], button: str):
    def steps(page, site):
        for selector, value in fields.items():
            page.fill(selector, value.format(**site.refs))
        a11y_site.submit(page, button)
    return steps


def _choose_and_send(choice: str, button: str):
    def steps(page, site):
        if choice:
            page.check(choice)
        a11y_site.submit(page, button)
    return steps


def _petition_sent(page, site):
    a11y_site.send_petition(page, site.server)


def _report_sent(page, site):
    a11y_site.send_report(page, site.server, site.public)


def _digitization_sent(page, site):
    """A request to digitize a result of the clerk's ward, sent through the form."""
    from sqlalchemy import select

    from portal.units.models import AdminUnit

    unit_id = db.session.scalar(select(AdminUnit.id).where(AdminUnit.system == "current",
                                                           AdminUnit.slug == site.busy_ward))
    page.goto(f"{site.server}/digitization-requests/new?number=123%2FGPXD")
    page.fill("#issued_date", "2019-05-14")
    page.select_option("#issuing_unit_id", str(unit_id))
    page.fill("#requester_name", "Lê Văn Tám")
    page.fill("#requester_email", "tam.le@example.vn")
    a11y_site.submit(page, "form.digitization-form button[type=submit]")


def _digitization_opened(page, site):
    _digitization_sent(page, site)
    page.goto(f"{site.server}/staff/digitization-requests/")
    with page.expect_navigation():
        page.locator("table.digitization-queue tbody th a").first.click()


def _suggestions_open(page, site):
    page.locator("#q").press_sequentially("giay phep", delay=30)
    page.locator("#q-suggestions [role=option]").first.wait_for()


def _not_a_pdf(page, site):
    page.set_input_files("#file", files=[{"name": "ban-sao.txt", "mimeType": "text/plain",
                                          "buffer": b"not a PDF"}])
    a11y_site.submit(page, "form[enctype='multipart/form-data'] button[type=submit]")


def _unfollow_link_opened(page, site):
    """The unfollow page as a reminder's link opens it: the citizen follows her result first."""
    from flask import current_app
    from sqlalchemy import select

    from portal.follows import links
    from portal.follows.models import Follow
    from portal.records.models import Record

    _fill_and_send({"#email": "lan@example.vn"}, SEND)(page, site)
    follow = db.session.scalar(select(Follow).join(Record).where(Record.source_id == site.refs["own"]))
    token = links.unfollow_token(follow.id, follow.link_nonce, current_app.config)
    page.goto(f"{site.server}/follows/unfollow/{token}")


def _share_link(site, revoked: bool = False) -> str:
    """A link the holder of the "own" result made, showing every field (revoked at once if asked)."""
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from portal.identity.models import Citizen
    from portal.records.models import Record
    from portal.sharing import services

    record = db.session.scalar(select(Record).where(Record.source_id == site.refs["own"]))
    holder = Citizen(issuer="a11y", sub=f"share-holder-{uuid.uuid4()}", subject_id=record.subject_id)
    db.session.add(holder)
    db.session.flush()
    created = services.create(db.session, holder, record.source_id, recipient="Ngân hàng Thử nghiệm",
                              fields=list(services.OPTIONAL_FIELDS), lifetime=timedelta(days=7),
                              one_time=False, max_days=90)
    if revoked:
        services.revoke(db.session, holder, created.link.id)
    db.session.commit()
    return created.token


def _share_link_opened(page, site):
    page.goto(f"{site.server}/s/{_share_link(site)}")


def _revoked_share_link_opened(page, site):
    page.goto(f"{site.server}/s/{_share_link(site, revoked=True)}")


def _privacy_request_opened(page, site):
    """A person's objection, opened by staff from the list of personal-data requests."""
    from sqlalchemy import select

    from portal.identity.models import Citizen
    from portal.privacy import services

    citizen = db.session.scalar(select(Citizen).order_by(Citizen.id))
    if citizen is None:
        citizen = Citizen(issuer="a11y", sub="privacy", name="Nguyễn Thị Lan")
        db.session.add(citizen)
        db.session.flush()
    made = services.request_objection(db.session, citizen, "objection", "public_search", "Không muốn hiển thị")
    db.session.commit()
    page.goto(f"{site.server}/staff/privacy/{made.reference}")


def _password_step(username: str, password: str):
    return _fill_and_send({"#username": username, "#password": password}, "main form button[type=submit]")


SEND = "main form button[type=submit]"
CHECK_ANSWERS = "button[name=continue]"

PAGES = [
    # Public pages, and what a logged-in person sees of them.
    Page("main.home", ANON, "home", "/"),
    Page("main.home", ANON, "search suggestions open", "/", steps=_suggestions_open),
    Page("main.home", CITIZEN, "home", "/"),
    Page("main.home", CLERK, "home", "/"),
    Page("records.search", ANON, "no query", "/search"),
    Page("records.search", ANON, "no hits", "/search?q=zzqxw+khong+co"),
    Page("records.search", ANON, "hits", "/search?q=giay+phep"),
    Page("records.search", CITIZEN, "hits", "/search?q=dang+ky"),
    Page("records.detail", ANON, "public result", "/results/{public}"),
    Page("records.detail", ANON, "personal result, not logged in", "/results/{own}"),
    Page("records.detail", CITIZEN, "own personal result", "/results/{own}"),
    Page("records.detail", ANON, "no such result (404)", "/results/HN-NO-SUCH-RESULT", status=404),
    Page("records.page_view", ANON, "scan page", "{scan_page}"),
    Page("records.mine", CITIZEN, "with results", "/my/results"),
    Page("records.mine", EMPTY, "no results", "/my/results"),
    Page("records.mine", LOA1, "level of identification too low", "/my/results", status=403),
    Page("units.index", ANON, "list", "/units"),
    Page("api_docs.reference", ANON, "API reference", "/api/docs"),
    Page("units.detail", ANON, "with results", "/units/{busy_ward}"),
    Page("units.detail", ANON, "no results", "/units/{idle_ward}"),
    Page("units.legacy", ANON, "with results", "/units/legacy/{legacy_busy}"),
    Page("units.legacy", ANON, "no results", "/units/legacy/{legacy_empty}"),
    Page("scorecard.city", ANON, "city", "/scorecard"),
    Page("scorecard.unit", ANON, "current unit", "/scorecard/{busy_ward_code}"),
    Page("scorecard.unit", ANON, "former unit", "/scorecard/{legacy_code}"),
    Page("verify.form", ANON, "form", "/verify"),
    Page("verify.form", ANON, "upload refused", "/verify", steps=_not_a_pdf),
    Page("verify.by_code", ANON, "valid copy", "/verify/{copy_code}"),
    Page("verify.by_code", ANON, "unknown code", "/verify/ZZZZ-0000-0000"),
    Page("copies.download", ANON, "expired link (410)", "/copies/{expired_link}", status=410),
    # Copy requests.
    Page("copy_requests.track", ANON, "form", "/copy-requests/track"),
    Page("copy_requests.track", ANON, "no match", "/copy-requests/track",
         steps=_fill_and_send({"#reference": "{issued}", "#code": "WRONG-CODE"}, SEND)),
    Page("copy_requests.track", ANON, "found", "/copy-requests/track",
         steps=_fill_and_send({"#reference": "{issued}", "#code": "{issued_code}"}, SEND)),
    Page("copy_requests.new", CITIZEN, "form", "/results/{own}/copy-request"),
    Page("copy_requests.check", CITIZEN, "answers missing", "/results/{own}/copy-request",
         steps=_choose_and_send("", CHECK_ANSWERS)),
    Page("copy_requests.check", CITIZEN, "check the answers", "/results/{own}/copy-request",
         steps=_choose_and_send("#kind-electronic", CHECK_ANSWERS)),
    Page("copy_requests.new", CITIZEN, "refused: not hers (403)", "/results/{not_hers}/copy-request",
         status=403),
    Page("copy_requests.detail", CITIZEN, "issued", "/copy-requests/{issued}"),
    Page("copy_requests.detail", CITIZEN, "waiting", "/copy-requests/{waiting}"),
    Page("copy_requests.mine", CITIZEN, "with requests", "/my/copy-requests"),
    # Following results (issue 17, item 1).
    Page("follows.new", CITIZEN, "form", "/results/{own}/follow"),
    Page("follows.new", CITIZEN, "address missing (400)", "/results/{own}/follow",
         steps=_fill_and_send({"#email": ""}, SEND)),
    Page("follows.new", CITIZEN, "not hers (404)", "/results/{not_hers}/follow", status=404),
    Page("follows.new", CITIZEN, "a public result of others (403)", "/results/{public}/follow", status=403),
    Page("follows.mine", CITIZEN, "following a result", "/results/{own}/follow",
         steps=_fill_and_send({"#email": "lan@example.vn"}, SEND)),
    Page("follows.mine", EMPTY, "nothing followed", "/my/follows"),
    Page("follows.unfollow_link", CITIZEN, "asks before stopping (from a mail)", "/results/{own}/follow",
         steps=_unfollow_link_opened),
    Page("follows.unfollow_link", ANON, "not a link of the portal (404)", "/follows/unfollow/not-a-token",
         status=404),
    # Share links (issue 17, item 2).
    Page("share.new", CITIZEN, "form", "/my/results/{own}/share"),
    Page("share.new", CITIZEN, "recipient missing (400)", "/my/results/{own}/share",
         steps=_fill_and_send({"#recipient": ""}, SEND)),
    Page("share.new", CITIZEN, "not hers (404)", "/my/results/{not_hers}/share", status=404),
    Page("share.mine", CITIZEN, "link just made", "/my/results/{own}/share",
         steps=_fill_and_send({"#recipient": "Ngân hàng Thử nghiệm"}, SEND)),
    Page("share.mine", EMPTY, "no links", "/my/shares"),
    Page("share.open_page", ANON, "a link opened by its recipient", "/", steps=_share_link_opened),
    Page("share.open_page", ANON, "revoked link (410)", "/", steps=_revoked_share_link_opened, status=410),
    Page("share.open_page", ANON, "unknown link (404)", "/s/not-a-token", status=404),
    Page("copy_requests.mine", EMPTY, "no requests", "/my/copy-requests"),
    # Personal data (issue 17, item 4).
    Page("privacy.notice", ANON, "notice", "/privacy"),
    Page("privacy.mine", CITIZEN, "with results", "/my/data"),
    Page("privacy.mine", EMPTY, "nothing yet", "/my/data"),
    Page("privacy.correction", CITIZEN, "correction: description missing (400)", "/my/data",
         steps=_choose_and_send("", "#send-correction")),
    Page("privacy.mine", CITIZEN, "objection sent", "/my/data", steps=_choose_and_send("", "#send-objection")),
    Page("privacy_staff.index", ADMIN, "requests", "/staff/privacy/"),
    Page("privacy_staff.detail", ADMIN, "one request", "/staff/", steps=_privacy_request_opened),
    Page("ratings.rate", CITIZEN, "issued: the form", "/copy-requests/{issued}/rating"),
    Page("ratings.rate", CITIZEN, "not handled yet (409)", "/copy-requests/{waiting}/rating", status=409),
    # Feedback.
    Page("petitions.new", ANON, "form", "/feedback/petitions/new"),
    Page("petitions.new", CITIZEN, "prefilled", "/feedback/petitions/new"),
    Page("petitions.new", ANON, "answers missing", "/feedback/petitions/new",
         steps=_choose_and_send("", "form.petition-form button[type=submit]")),
    Page("petitions.received", ANON, "sent", "/", steps=_petition_sent),
    Page("petitions.track", ANON, "form", "/feedback/petitions/track"),
    Page("petitions.track", ANON, "no match", "/feedback/petitions/track",
         steps=_fill_and_send({"#reference": "{petition}", "#code": "WRONG-CODE"}, SEND)),
    Page("petitions.track", ANON, "found", "/feedback/petitions/track",
         steps=_fill_and_send({"#reference": "{petition}", "#code": "{petition_code}"}, SEND)),
    Page("petitions.answers", ANON, "published answers", "/feedback/answers"),
    Page("petitions.answers", ANON, "no hits", "/feedback/answers?q=zzqxw"),
    Page("petitions.answer", ANON, "an answer", "/feedback/answers/{published}"),
    Page("reports.new", ANON, "form", "/results/{public}/report"),
    Page("reports.new", CITIZEN, "form, own result", "/results/{own}/report"),
    Page("reports.new", ANON, "answers missing", "/results/{public}/report",
         steps=_choose_and_send("", "form.pr-form button[type=submit]")),
    Page("reports.sent", ANON, "sent", "/", steps=_report_sent),
    # Citizens' login and account.
    Page("dev_idp.authorize", ANON, "choose a demo person", "/login"),
    Page("identity.callback", ANON, "login refused", "/auth/callback?error=access_denied&state=x",
         status=401),
    Page("identity.logged_out", ANON, "logged out", "/logged-out"),
    Page("dev_idp.end_session", ANON, "logged out at the provider",
         "/dev-idp/end-session?client_id=portal-dev"),
    Page("identity.access_log", CITIZEN, "with entries", "/my/access-log"),
    Page("identity.access_log", EMPTY, "no entries", "/my/access-log"),
    # Staff.
    Page("staff.login", ANON, "form", "/staff/login"),
    Page("staff.login", ANON, "wrong password", "/staff/login",
         steps=_password_step("{clerk}", "wrong-password")),
    Page("staff.second_factor", ANON, "code", "/staff/login",
         steps=_password_step("{clerk}", "{clerk_password}")),
    Page("staff.enrol", ANON, "first login", "/staff/login",
         steps=_password_step("{newcomer}", "{newcomer_password}")),
    Page("staff.dashboard", CLERK, "work waiting", "/staff/"),
    Page("staff.dashboard", IDLE, "nothing waiting", "/staff/"),
    Page("staff.dashboard", ADMIN, "administrator", "/staff/"),
    Page("staff.accounts.index", ADMIN, "accounts", "/staff/accounts"),
    Page("staff.accounts.index", CLERK, "forbidden to a clerk (403)", "/staff/accounts", status=403),
    Page("staff.accounts.create", ADMIN, "form", "/staff/accounts/new"),
    Page("staff.accounts.create", ADMIN, "answers missing", "/staff/accounts/new",
         steps=_choose_and_send("", "main form button[type=submit]")),
    Page("staff.accounts.edit", ADMIN, "an account", "/staff/accounts/{newcomer_id}"),
    Page("staff.accounts.reset_password", ADMIN, "new password shown", "/staff/accounts/{spare_id}",
         steps=_choose_and_send("", "form[action$='/password'] button[type=submit]")),
    Page("api_keys.index", ADMIN, "API keys", "/staff/api-keys"),
    Page("api_keys.issue", ADMIN, "form", "/staff/api-keys/new"),
    Page("api_keys.show", ADMIN, "a key and its use", "/staff/api-keys/{api_key_id}"),
    Page("fixity.index", ADMIN, "fixity runs", "/staff/admin/fixity"),
    Page("fixity.detail", ADMIN, "a run that found an altered file", "/staff/admin/fixity/{fixity_run}"),
    Page("imports_staff.index", ADMIN, "imports", "/staff/imports/"),
    Page("imports_staff.index", CLERK, "forbidden to a clerk (403)", "/staff/imports/", status=403),
    Page("imports_staff.new", ADMIN, "upload form", "/staff/imports/new"),
    Page("imports_staff.detail", ADMIN, "finished, refused lines", "/staff/imports/{import_done}"),
    Page("imports_staff.detail", ADMIN, "waiting for the worker", "/staff/imports/{import_waiting}"),
    Page("copy_requests_staff.index", CLERK, "queue", "/staff/copy-requests/"),
    Page("copy_requests_staff.index", IDLE, "empty queue", "/staff/copy-requests/"),
    Page("copy_requests_staff.detail", CLERK, "issued", "/staff/copy-requests/{issued}"),
    Page("copy_requests_staff.detail", CLERK, "waiting", "/staff/copy-requests/{waiting}"),
    Page("petitions_staff.index", CLERK, "queue", "/staff/petitions/"),
    Page("petitions_staff.index", IDLE, "empty queue", "/staff/petitions/"),
    Page("petitions_staff.detail", CLERK, "received", "/staff/petitions/{petition}"),
    Page("reports_staff.index", CLERK, "queue", "/staff/problem-reports/"),
    Page("reports_staff.index", IDLE, "empty queue", "/staff/problem-reports/"),
    Page("reports_staff.detail", CLERK, "received", "/staff/problem-reports/{report}"),
    Page("reports_staff.correct", CLERK, "correction form", "/staff/problem-reports/{report}/correct"),
    Page("reports_staff.correct_record", CLERK, "correction form", "/staff/records/{own}/correct"),
    Page("duplicates_staff.index", CLERK, "pairs to decide", "/staff/duplicates/"),
    Page("duplicates_staff.index", IDLE, "no pair", "/staff/duplicates/?state=different"),
    Page("duplicates_staff.detail", CLERK, "a pair side by side", "/staff/duplicates/{duplicate}"),
    Page("procedures_staff.index", ADMIN, "uncatalogued procedures", "/staff/procedures/"),
    Page("procedures_staff.index", CLERK, "forbidden to a clerk (403)", "/staff/procedures/", status=403),
    Page("procedures_staff.edit", ADMIN, "completing one", "/staff/procedures/{uncatalogued}"),
    Page("procedures_staff.edit", ADMIN, "answers missing", "/staff/procedures/{uncatalogued}",
         steps=_fill_and_send({"#name": "", "#field": ""}, "main form button[type=submit]")),
    # Coverage and requests to digitize.
    Page("coverage.unit", ANON, "current unit", "/units/{busy_ward}/coverage"),
    Page("coverage.legacy_unit", ANON, "former unit", "/units/legacy/{legacy_busy}/coverage"),
    Page("coverage.new", ANON, "form", "/digitization-requests/new"),
    Page("coverage.new", ANON, "answers missing", "/digitization-requests/new",
         steps=_choose_and_send("", "form.digitization-form button[type=submit]")),
    Page("coverage.received", ANON, "sent", "/", steps=_digitization_sent),
    Page("coverage.track", ANON, "form", "/digitization-requests/track"),
    Page("coverage.track", ANON, "no match", "/digitization-requests/track",
         steps=_fill_and_send({"#reference": "SH-2026-000001", "#code": "WRONG-CODE"}, SEND)),
    Page("digitization_staff.index", CLERK, "queue", "/staff/digitization-requests/"),
    Page("digitization_staff.detail", CLERK, "a request", "/", steps=_digitization_opened),
    Page("coverage_staff.issued", ADMIN, "upload form", "/staff/coverage/issued"),
    Page("coverage_staff.issued", CLERK, "forbidden to a clerk (403)", "/staff/coverage/issued", status=403),
    # Assisted mode at the counter: the start page; the pages behind a person's consent are checked with
    # axe-core by tests/counter/test_counter_browser.py, which gets the consent code from the mail.
    Page("counter.index", CLERK, "start form", "/staff/counter"),
]

#: GET routes not checked, and why: none of them answers with an HTML page of its own.
SKIPPED = {
    "privacy.export_json": "JSON download of one's personal data (tests/privacy)",
    "privacy.export_pdf": "PDF download of one's personal data (tests/privacy)",
    "static": "CSS, scripts and images",
    "main.healthz": "JSON for the load balancer",
    "operations.readyz": "JSON for the load balancer",
    "search_api.search": "JSON API",
    "search_api.suggest": "JSON for the search box's suggestions",
    "search_api.result": "JSON API: one result",
    "share.scan": "PNG of a scanned page through a share link (tests/sharing)",
    "share_api.share": "JSON API: a share link (its page is share.open_page)",
    "search_api.openapi": "JSON: the API's OpenAPI document (its page is /api/docs)",
    "counter.consent": "in a counter session: axe-checked in tests/counter/test_counter_browser.py",
    "counter.home": "in a counter session: axe-checked in tests/counter/test_counter_browser.py",
    "counter.result": "in a counter session: axe-checked in tests/counter/test_counter_browser.py",
    "counter.copy_request": "in a counter session: axe-checked in tests/counter/test_counter_browser.py",
    "counter.rate": "in a counter session, a handled request: tests/counter/test_actions.py",
    "counter.summary": "after a counter session: axe-checked in tests/counter/test_counter_browser.py",
    "api_keys_api.my_usage": "JSON: an API key's own use per day",
    "units_api.list_units": "JSON API: units, old and current, for pickers (their pages are units.*)",
    "units_api.get_unit": "JSON API: one unit with its successors and predecessors",
    "units_api.list_procedures": "JSON API: the procedure catalogue, for pickers",
    "units_api.get_procedure": "JSON API: one procedure",
    "verify_api.by_code": "JSON API: a copy's verification by code (its page is verify.by_code)",
    "verify_api.upload": "JSON API: verification of an uploaded copy (its page is verify.form)",
    "tracking_api.copy_request_status": "JSON API: a copy request's status (its page is copy_requests.track)",
    "tracking_api.petition_status": "JSON API: a petition's status (its page is petitions.track)",
    "dev_idp.discovery": "JSON: OpenID discovery document",
    "dev_idp.jwks": "JSON: the provider's public keys",
    "dev_idp.userinfo": "JSON for the portal's server",
    "records.preview": "a PNG image of a scanned page (its HTML page, records.page_view, is checked)",
    "scorecard.city_csv": "CSV download",
    "imports_staff.progress": "JSON the import page polls for its progress",
    "imports_staff.csrf_token": "JSON: a fresh CSRF token for a long upload",
    "imports_staff.report_csv": "CSV download of an import's report",
    "imports_staff.upload_job": "a redirect from a finished upload to its import's page (checked)",
    "reports_staff.attachment": "the reporter's attached file, downloaded as it was sent",
    "units.old_url": "a permanent redirect from the old /don-vi/<slug> address to the unit's page",
    "identity.login": "a redirect to the identity provider (its page, dev_idp.authorize, is checked)",
    "metrics.export": "Prometheus text for monitoring",
}


# --- one app, one server, one browser for the module ------------------------------------------------

@pytest.fixture(scope="module")
def site_app(database):
    data = Path(tempfile.mkdtemp(prefix="a11y-"))
    app = create_app({"TESTING": True, "DATABASE_URL": database(), "DATA_DIR": str(data / "data"),
                      "HUEY_IMMEDIATE": True, "SERVER_NAME": None, "DEV_IDP": True, "ENV": "development",
                      "SECRET_KEY": "a11y-" * 8, "SESSION_COOKIE_SECURE": False,
                      # Forms are sent more often here than one person would. (Not RATELIMIT_ENABLED:
                      # Flask-Limiter's switch outlives the app, in the one limiter every app shares.)
                      **{f"{key}_RATE_LIMIT": "1000 per minute" for key in (
                          "STAFF_LOGIN", "FEEDBACK_REPORT", "FEEDBACK_PETITION", "FEEDBACK_RATING",
                          "FEEDBACK_TRACK", "COVERAGE_REQUEST", "COVERAGE_TRACK")}})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # hundreds of requests: only failures matter
        pass


@pytest.fixture(scope="module")
def server(site_app):
    httpd = make_server("127.0.0.1", 0, site_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_port}"
    site_app.config["PUBLIC_BASE_URL"] = url  # the demo citizens' issuer: the dev provider here
    yield url
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(site_app, server, browser):
    # The page builders of tests/web/conftest.py and tests/identity/staff_builders.py, bound to this
    # module's app (they are function-scoped fixtures; __wrapped__ is the function behind each).
    adder = add_document.__wrapped__(db.session, FileStore.from_config(site_app.config))
    records = make_record.__wrapped__(db.session, adder)
    staff = make_staff.__wrapped__(site_app)
    return a11y_site.build_site(site_app, server, browser, records, staff)


# --- the checks -------------------------------------------------------------------------------------

def _endpoint(app, url: str) -> str:
    adapter = app.url_map.bind("127.0.0.1")
    path = urlsplit(url).path
    for method in ("GET", "POST"):
        try:
            return adapter.match(path, method=method)[0]
        except MethodNotAllowed:
            continue
        except NotFound:
            return "(no route)"
    return "(no route)"


def _new_tab(browser, site, role: str):
    context = browser.new_context(storage_state=site.states.get(role))
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture(scope="module")
def tabs(site, browser):
    """tabs(role) → that role's tab, kept for the pages reached by a plain GET (they leave nothing
    in the browser that a later page would show); a page reached by sending a form gets a context
    of its own, fresh and closed after it."""
    opened = {}

    def tab(role: str):
        if role not in opened:
            opened[role] = _new_tab(browser, site, role)
        return opened[role]

    yield tab
    for page in opened.values():
        page.context.close()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("spec", PAGES, ids=str)
def test_page_has_no_wcag_violation(site_app, site, browser, tabs, spec, lang):
    page = _new_tab(browser, site, spec.role) if spec.steps else tabs(spec.role)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": site.server}])
    try:
        response = page.goto(site.server + spec.path.format(**site.refs))
        if spec.steps:
            spec.steps(page, site)
        else:
            assert response.status == spec.status, f"{spec}: {page.url} answered {response.status}"
        where = f"{spec} in {lang} at {page.url}"
        assert _endpoint(site_app, page.url) == spec.endpoint, f"{where}: not the page meant"
        content_type, page_lang = page.evaluate("[document.contentType, document.documentElement.lang]")
        assert (content_type, page_lang) == ("text/html", lang), where
        violations = a11y_site.axe_violations(page)
        assert not violations, f"{where}: WCAG 2.1 A/AA violations\n" + "\n".join(violations)
    finally:
        if spec.steps:
            page.context.close()


def test_every_html_page_is_checked_or_skipped_with_a_reason(site_app):
    visited = {spec.endpoint for spec in PAGES}
    get_routes = {rule.endpoint: rule.rule for rule in site_app.url_map.iter_rules() if "GET" in rule.methods}
    missing = {endpoint: rule for endpoint, rule in get_routes.items()
               if endpoint not in visited and endpoint not in SKIPPED}
    assert not missing, f"GET routes neither checked (PAGES) nor in SKIPPED with a reason: {missing}"
    endpoints = {rule.endpoint for rule in site_app.url_map.iter_rules()}
    stale = (visited | set(SKIPPED)) - endpoints
    assert not stale, f"PAGES or SKIPPED name endpoints the app does not have: {sorted(stale)}"
    assert not visited & set(SKIPPED), "an endpoint is both checked and skipped"
    assert all(reason.strip() for reason in SKIPPED.values())
