"""The site the accessibility test walks: demo data, people logged in, and axe-core in Chromium.

`build_site` fills one app with what a person meets on every page: the demo results and a year of
demo activity (the real `flask demo` commands), a citizen with results and one without, clerks
with and without work, an administrator, and the things made by hand through the pages (a copy
request issued and one waiting, a petition, a problem report), each made as a person makes it:
through the pages in the browser. Logins go through the real flows too (the development OpenID
provider for citizens; password and TOTP for staff); each role's cookies are kept as a Playwright
storage state, so that every checked page opens in a fresh context of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from unittest import mock
from urllib.parse import urlsplit

import itsdangerous
import pyotp
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import func, or_, select

from portal.api_keys import service as api_keys
from portal.copy_requests.models import CopyRequest, IssuedCopy
from portal.db import utcnow
from portal.extensions import db
from portal.feedback.models import Petition, ProblemReport
from portal.fixity.models import FixityProblem, FixityRun
from portal.identity.models import Citizen, Subject
from portal.records.models import Access, Record
from portal.units.models import AdminUnit, UnitSuccession

#: WCAG 2.1 levels A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
_axe = Axe()


def axe_violations(page) -> list[str]:
    """One line per violated rule: the rule id, its impact and help, then every node's selector."""
    results = _axe.run(page, options=AXE_OPTIONS).response
    lines = []
    for violation in results["violations"]:
        lines.append(f"  {violation['id']} ({violation['impact']}, {len(violation['nodes'])} nodes): "
                     f"{violation['help']} [{violation['helpUrl'].split('?')[0]}]")
        for node in violation["nodes"]:
            target = " ".join(map(str, node["target"]))
            checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
            message = checks[0]["message"] if checks else node.get("failureSummary", "")
            lines.append(f"    {target}: {message}")
    return lines


@dataclass
class Site:
    """Where things are: references, codes, paths and each role's storage state."""

    server: str
    states: dict[str, dict] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> str:
        try:
            return self.refs[name]
        except KeyError:
            raise AttributeError(name) from None


# --- logins through the real pages -----------------------------------------------------------------

def login_citizen(page, server: str, subject: Subject, loa: str = "2") -> None:
    """At /login the development OpenID provider offers the demo people: choose ``subject``."""
    page.goto(f"{server}/login")
    assert "/dev-idp/authorize" in page.url, page.url
    page.check(f"input[name=subject][value='{subject.id}']")
    page.check(f"input[name=loa][value='{loa}']")
    with page.expect_navigation(url=re.compile(r"/my/results")):
        page.click("button[name=action][value=login]")


def login_staff(page, server: str, staff) -> None:
    page.goto(f"{server}/staff/login")
    page.fill("#username", staff.username)
    page.fill("#password", staff.test_password)
    with page.expect_navigation():
        page.press("#password", "Enter")
    if staff.totp_secret is None:  # not enrolled: the enrolment page comes next
        return
    assert page.url.endswith("/staff/login/otp"), page.url
    # Each account logs in once here: the code of this moment is one it has not used.
    page.fill("#code", pyotp.TOTP(staff.totp_secret).now())
    with page.expect_navigation():
        page.press("#code", "Enter")
    assert page.url.endswith("/staff/"), page.url


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


# --- what the pages need ---------------------------------------------------------------------------

def _new_units(record: Record) -> list[AdminUnit]:
    """The current units that handle ``record`` (its own unit, or its unit's successors)."""
    unit = record.issuing_unit
    if unit.system == "current":
        return [unit]
    return list(db.session.scalars(
        select(AdminUnit).join(UnitSuccession, UnitSuccession.new_unit_id == AdminUnit.id)
        .where(UnitSuccession.old_unit_id == unit.id)))


def _idle_ward(busy: set[int]) -> AdminUnit:
    """A current ward with no results, requests, petitions nor reports: a clerk there has nothing."""
    taken = busy | set(db.session.scalars(select(CopyRequest.unit_id))) \
        | set(db.session.scalars(select(Petition.unit_id).where(Petition.unit_id.is_not(None)))) \
        | set(db.session.scalars(select(ProblemReport.unit_id)))
    wards = db.session.scalars(select(AdminUnit).where(AdminUnit.system == "current",
                                                       AdminUnit.level == "commune")
                               .order_by(AdminUnit.code.desc()))
    return next(w for w in wards if w.id not in taken)


def _offered(browser, server: str) -> list[Subject]:
    """The people and businesses the development provider offers at /login, in its order."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/login")
    ids = page.locator("input[name=subject]").evaluate_all("inputs => inputs.map(i => i.value)")
    context.close()
    return [db.session.get(Subject, int(i)) for i in ids]


def _import_jobs(site: Site, unit: AdminUnit, staff) -> None:
    """A finished import with refused lines and one waiting for the worker, written directly (the
    upload itself is driven through the page in tests/web/test_import_upload_browser.py)."""
    from portal.imports.job_models import ImportJob
    from portal.imports.models import ImportBatch, ImportLine

    refusals = [{"field": "issued_date", "code": "future_date", "vi": "Ngày ban hành 2031-01-01 ở tương lai",
                 "en": "issued_date 2031-01-01 is in the future"}]
    batch = ImportBatch(name="lo-2025-11-03", manifest_sha256="c" * 64, status="completed",
                        actor=staff.audit_name, lines_total=3,
                        summary={"read": 3, "created": 1, "updated": 0, "unchanged": 0, "refused": 2},
                        lines=[ImportLine(line_no=1, source_id="A11Y-1", outcome="created", errors=[]),
                               ImportLine(line_no=2, source_id="A11Y-2", outcome="refused", errors=refusals),
                               ImportLine(line_no=3, source_id=None, outcome="refused", errors=[
                                   {"field": "", "code": "json", "vi": "Dòng không phải JSON",
                                    "en": "the line is not JSON"}])])
    done = ImportJob(unit_id=unit.id, staff_id=staff.id, filename="lo-2025-11-03.zip",
                     path="/nonexistent.zip", status="completed", batch=batch, lines_total=3, lines_done=3,
                     files_total=1, refused=2)
    waiting = ImportJob(unit_id=unit.id, staff_id=staff.id, filename="lo-2025-11-04.zip",
                        path="/nonexistent.zip", status="queued")
    db.session.add_all([done, waiting])
    db.session.commit()
    site.refs.update(import_done=str(done.id), import_waiting=str(waiting.id))


def _duplicate_and_new_procedure(site: Site, own: Record, make_record) -> None:
    """An uncatalogued procedure and a possible duplicate in the clerk's ward (issue 14), written
    directly: the imports that raise them are tested in tests/imports."""
    from portal.procedures.models import Procedure
    from portal.records.models import DuplicateFlag

    db.session.add(Procedure(code="2.999001", name="Thủ tục chưa biên mục", field="", level="", catalogued=False))
    twin = make_record(unit=own.issuing_unit, holder="Hộ kinh doanh Song Sinh", doc_number=own.doc_number)
    flag = DuplicateFlag(record_id=own.id, other_id=twin.id, reasons="number file", state="open")
    db.session.add(flag)
    db.session.commit()
    site.refs.update(uncatalogued="2.999001", duplicate=str(flag.id))


def build_site(app, server: str, browser, make_record, make_staff) -> Site:
    site = Site(server)
    runner = app.test_cli_runner()

    def run(*args: str) -> None:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, f"flask {' '.join(args)}:\n{result.output}"

    def fresh(state: dict | None = None):
        context = browser.new_context(storage_state=state)
        context.set_default_timeout(10_000)
        return context, context.new_page()

    def keep(role: str, context) -> None:
        site.states[role] = context.storage_state()
        context.close()

    # A person whose only result was transferred after she logged in: her lists are empty.
    lonely = make_record(access="personal", holder="Phạm Thị Vân", id_number="001190000777")
    lonely.subject.kind = "individual"
    db.session.commit()
    context, page = fresh()
    login_citizen(page, server, lonely.subject)
    keep("citizen-empty", context)
    lonely.subject = Subject(kind="individual", id_number="001190000778", name="Phạm Văn Tú")
    db.session.commit()

    run("demo", "seed", "--results", "40")
    run("copies", "dev-ca")

    # The citizen: the first demo person the provider offers who has a valid personal result with scans.
    offered = _offered(browser, server)
    requestable = (Record.access == Access.PERSONAL, Record.files.any(), Record.status == "valid",
                   or_(Record.valid_to.is_(None), Record.valid_to > date.today() + timedelta(days=30)))
    own = next(record for record in (
        db.session.scalars(select(Record).where(Record.subject_id == subject.id, *requestable)
                           .order_by(Record.id)).first()
        for subject in offered if subject.kind == "individual") if record is not None)
    person = own.subject
    public = db.session.scalars(select(Record).where(Record.access == Access.PUBLIC, Record.files.any())
                                .order_by(Record.id)).first()
    units = _new_units(own)
    clerk = make_staff(role="clerk", units=units, username="clerk.busy", full_name="Lê Thị Thu Hà")
    admin = make_staff(role="admin", username="admin.one", full_name="Trần Quốc Toản")
    run("demo", "activity", "--requests", "40", "--petitions", "12")  # favours the clerk's ward
    idle = make_staff(role="clerk", units=[_idle_ward({u.id for u in units})], username="clerk.idle",
                      full_name="Vũ Minh Châu")
    newcomer = make_staff(role="clerk", units=units, username="clerk.new", full_name="Đặng Văn Lâm",
                          enrolled=False)
    not_hers = db.session.scalars(select(Record).where(
        Record.access == Access.PERSONAL, Record.files.any(), Record.subject_id != person.id)
        .order_by(Record.id)).first()
    spare = make_staff(role="clerk", units=units, username="clerk.spare", full_name="Hoàng Thị Mai")
    site.refs.update(own=own.source_id, not_hers=not_hers.source_id, spare_id=str(spare.id),
                     public=public.source_id, newcomer=newcomer.username,
                     newcomer_id=str(newcomer.id), newcomer_password=newcomer.test_password,
                     clerk=clerk.username, clerk_password=clerk.test_password)
    site.staff = {"clerk": clerk, "clerk-idle": idle, "admin": admin}
    _import_jobs(site, units[0], admin)
    api_key = api_keys.issue(db.session, "cli", organization="Ngân hàng Thử nghiệm", scopes=["status:batch"],
                             daily_quota=1000).key
    db.session.commit()
    site.refs["api_key_id"] = str(api_key.id)

    context, page = fresh()
    login_citizen(page, server, person)
    keep("citizen", context)
    # Someone else logs in at level 1 (the level is kept on the account: not the same person).
    other = next(subject for subject in offered if subject.kind == "individual" and subject.id != person.id)
    context, page = fresh()
    login_citizen(page, server, other, loa="1")
    keep("citizen-level-1", context)
    for role, staff in site.staff.items():
        context, page = fresh()
        login_staff(page, server, staff)
        keep(role, context)

    # The citizen asks for two copies of her result, through the form; the clerk issues the first.
    codes = []
    for kind in ("electronic", "paper_desk"):
        context, page = fresh(site.states["citizen"])
        page.goto(f"{server}/results/{own.source_id}/copy-request")
        page.check(f"#kind-{kind}")
        page.fill("#purpose", "Bổ sung hồ sơ vay vốn ngân hàng")
        submit(page, "button[name=continue]")
        submit(page, f"form[action$='/results/{own.source_id}/copy-request'] button[type=submit]")
        codes.append((page.url.rsplit("/", 1)[1], page.inner_text(".tracking-code")))
        context.close()
    (site.refs["issued"], site.refs["issued_code"]), (site.refs["waiting"], _) = codes
    context, page = fresh(site.states["clerk"])
    page.goto(f"{server}/staff/copy-requests/{site.issued}")
    submit(page, "form[action$='/assign'] button[type=submit]")
    submit(page, "form[action$='/issue'] button[type=submit]")
    context.close()
    issued = db.session.scalar(select(IssuedCopy).join(CopyRequest)
                               .where(CopyRequest.reference == site.issued))
    site.refs["copy_code"] = issued.code
    old = itsdangerous.timed.TimestampSigner.get_timestamp(None) - 30 * 24 * 3600
    with mock.patch.object(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: old), \
            app.test_request_context():
        from portal.copy_requests import signing

        site.refs["expired_link"] = signing.download_url(issued).split("/copies/", 1)[1]

    # A petition to the clerk's ward, sent through the form by someone not logged in.
    context, page = fresh()
    send_petition(page, server, unit_id=str(units[0].id))
    site.refs["petition"] = page.inner_text(".reference")
    site.refs["petition_code"] = page.inner_text(".tracking-code")
    context.close()

    # The citizen reports a mistake in her result (handled by the clerk's ward).
    context, page = fresh(site.states["citizen"])
    send_report(page, server, own.source_id)
    site.refs["report"] = page.inner_text("#reference")
    context.close()

    # A scanned page anyone may open: the first public result whose page links to one.
    context, page = fresh()
    for source_id in db.session.scalars(select(Record.source_id).where(
            Record.access == Access.PUBLIC, Record.files.any()).order_by(Record.id)):
        page.goto(f"{server}/results/{source_id}")
        links = page.locator("a[href*='/pages/']")
        if links.count():
            site.refs["scan_page"] = urlsplit(links.first.get_attribute("href")).path
            break
    context.close()

    published = db.session.scalars(select(Petition).where(Petition.published.is_(True))
                                   .order_by(Petition.id)).first()
    site.refs["published"] = published.reference
    site.refs["busy_ward"] = units[0].slug
    site.refs["busy_ward_code"] = units[0].code
    # A former commune split between several new ones has a page of its own (one successor: a redirect).
    split = select(UnitSuccession.old_unit_id).group_by(UnitSuccession.old_unit_id) \
        .having(func.count() > 1)
    splits = list(db.session.scalars(select(AdminUnit).where(
        AdminUnit.system == "legacy", AdminUnit.level == "commune", AdminUnit.id.in_(split))
        .order_by(AdminUnit.code).limit(2)))
    make_record(unit=splits[0], holder="Hộ kinh doanh Minh Châu")
    site.refs.update(legacy_busy=splits[0].slug, legacy_code=splits[0].code, legacy_empty=splits[1].slug)
    assert not db.session.scalar(select(func.count(Record.id)).where(Record.issuing_unit_id == splits[1].id))
    site.refs["idle_ward"] = idle.units[0].slug
    citizen = db.session.scalar(select(Citizen).where(Citizen.subject_id == person.id))
    assert citizen is not None
    _duplicate_and_new_procedure(site, own, make_record)
    # A fixity run that found an altered file, written directly: altering a real scan would
    # change the pages that show it.
    altered = FixityProblem(sha256="a" * 64, path="/srv/portal/files/aa/aa/" + "a" * 64, outcome="altered",
                            found="b" * 64, used_by="result HN-1 (a.pdf)")
    fixity = FixityRun(trigger="nightly", stored=3, planned=1, checked=1, altered=1, finished_at=utcnow(),
                       problems=[altered])
    db.session.add(fixity)
    db.session.commit()
    site.refs["fixity_run"] = str(fixity.id)
    return site


def send_petition(page, server: str, *, unit_id: str = "") -> None:
    page.goto(f"{server}/feedback/petitions/new")
    page.fill("#sender_name", "Nguyễn Văn Hải")
    page.fill("#sender_address", "Số 5 ngõ 12 phố Hoàng Quốc Việt, phường Nghĩa Đô")
    page.fill("#sender_email", "hai@example.vn")
    page.check("input[name=about][value=application]")
    if unit_id:
        page.select_option("#unit_id", unit_id)
    page.fill("#title", "Bộ phận một cửa hẹn trả kết quả nhưng không trả đúng hẹn")
    page.fill("#content", "Tôi nộp hồ sơ ngày 3/3, được hẹn trả ngày 10/3 nhưng đến nay vẫn chưa "
                          "nhận được kết quả.")
    submit(page, "form.petition-form button[type=submit]")


def send_report(page, server: str, source_id: str) -> None:
    page.goto(f"{server}/results/{source_id}/report")
    page.locator("input[name=kind]").first.check()
    page.fill("#description", "Ngày cấp ghi sai: đúng là ngày 14/05/2019.")
    page.fill("#reporter_name", "Nguyễn Thị Lan")
    page.fill("#reporter_email", "lan@example.vn")
    submit(page, "form.pr-form button[type=submit]")
