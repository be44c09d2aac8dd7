"""Fixity audits: re-hash stored files, keep what was found, tell the admins about bad ones.

Three ways to choose the files (`audit`):
- every stored file (`flask files audit`), in hash order, in batches;
- ``sample=N``: N files drawn at random (`flask files audit --sample N`). Random rather than least
  recently checked: the nightly slice already walks the store in that order, so a spot check by
  a person is most useful as an unbiased estimate of the whole store's state today;
- ``nightly=True``: the night's slice, ceil(stored / FIXITY_CYCLE_DAYS) files, those least
  recently checked first (never checked before all). Each file's last check is kept
  (`FixityFile`), so every file is checked once per cycle even as the store grows: the slice is
  sized from today's count and always takes the oldest checks.

An audit runs for hours on a large store, so it commits as it goes (like an import): the run's
row first (a crash leaves a run without ``finished_at``, the checks done so far kept), then each
batch's results, then the totals, the audit-log entry and the failure mail in one transaction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal import audit, clock, outbox
from portal.db import utcnow
from portal.files.fixity import Finding, Outcome, check
from portal.files.store import FileStore
from portal.fixity import mails, sources
from portal.fixity.models import FixityFile, FixityProblem, FixityRun
from portal.identity.models import StaffRole, StaffUser

log = logging.getLogger(__name__)

#: Files read between two commits.
BATCH = 500


def audit_files(session: Session, store: FileStore, *, actor: str, trigger: str, sample: int | None = None,
                nightly_cycle_days: int | None = None, admin_emails: Iterable[str] = (),
                now: Callable[[], datetime] = utcnow) -> FixityRun:
    """Run one audit (see the module's docstring for the choice of files) and return its run,
    finished. ``nightly_cycle_days`` makes it the night's slice. Commits."""
    started = now()
    stored = sources.count_stored(session)
    if nightly_cycle_days:
        planned = math.ceil(stored / nightly_cycle_days)
    else:
        planned = min(sample, stored) if sample is not None else stored
    run = FixityRun(trigger=trigger, sample=sample, started_at=started, stored=stored, planned=planned)
    session.add(run)
    session.commit()
    # The run's id, read once: a rollback in a batch would expire the object.
    run_id = run.id

    if nightly_cycle_days:
        batches = _least_recently_checked(session, started, planned)
    elif sample is not None:
        batches = _random(session, planned)
    else:
        batches = _every_file(session)
    for hashes in batches:
        _record(session, run, check_each(store, hashes), now)
        session.commit()

    run = session.get(FixityRun, run_id)
    run.finished_at = now()
    recipients = admin_recipients(session, admin_emails) if run.failed else []
    run.notified = ", ".join(recipients)
    channel = "cli" if trigger == "cli" else "worker"
    audit.record(session, actor, "files.audit", f"fixity_run:{run.id}", channel=channel,
                 details={"trigger": trigger, "sample": sample, "stored": stored, "checked": run.checked,
                          "missing": run.missing, "altered": run.altered, "unreadable": run.unreadable})
    if run.failed:
        if recipients:
            mails.queue(session, run.id, recipients)
        else:
            log.error("fixity run %d found %d bad file(s) and no admin has an e-mail address: set "
                      "PORTAL_ADMIN_EMAILS or give an admin account an address", run.id, run.failed)
    outbox.commit(session)  # nudges the mail drain
    return run


def check_each(store: FileStore, hashes: list[str]) -> Iterable[Finding]:
    """The findings of ``hashes``; a hash that is not 64 lowercase hex digits has no path in the
    store and is reported unreadable rather than stopping the audit."""
    for sha256 in hashes:
        try:
            [finding] = check(store, [sha256])
        except ValueError as error:
            finding = Finding(sha256, store.root, Outcome.UNREADABLE, found=str(error)[:300])
        yield finding


def _record(session: Session, run: FixityRun, findings: Iterable[Finding],
            now: Callable[[], datetime]) -> None:
    findings = list(findings)
    known = {row.sha256: row for row in session.scalars(
        select(FixityFile).where(FixityFile.sha256.in_([f.sha256 for f in findings])))}
    for finding in findings:
        checked_at = now()
        row = known.get(finding.sha256) or FixityFile(sha256=finding.sha256)
        row.last_checked_at, row.last_outcome, row.last_run_id = checked_at, finding.outcome.value, run.id
        session.add(row)
        run.checked += 1
        run.bytes_read += finding.size
        if finding.ok:
            continue
        setattr(run, finding.outcome.value, getattr(run, finding.outcome.value) + 1)
        session.add(FixityProblem(run_id=run.id, sha256=finding.sha256[:64], path=str(finding.path)[:500],
                                  outcome=finding.outcome.value, found=finding.found,
                                  used_by=sources.used_by(session, finding.sha256)))


def _every_file(session: Session):
    """Every stored hash in batches, in hash order (keyset: no offset scan, no cursor held open)."""
    stored = sources.stored_hashes()
    after = ""
    while True:
        hashes = list(session.scalars(select(stored.c.sha256).where(stored.c.sha256 > after)
                                      .order_by(stored.c.sha256).limit(BATCH)))
        if not hashes:
            return
        yield hashes
        after = hashes[-1]


def _random(session: Session, count: int):
    stored = sources.stored_hashes()
    hashes = list(session.scalars(select(stored.c.sha256).order_by(func.random()).limit(count)))
    for start in range(0, len(hashes), BATCH):
        yield hashes[start:start + BATCH]


def _least_recently_checked(session: Session, started: datetime, count: int):
    """``count`` hashes, never checked first, then oldest check first. A file checked by this run
    has a check at or after ``started`` and is not taken again."""
    stored = sources.stored_hashes()
    last = FixityFile.last_checked_at
    while count > 0:
        hashes = list(session.scalars(
            select(stored.c.sha256).outerjoin(FixityFile, FixityFile.sha256 == stored.c.sha256)
            .where(or_(last.is_(None), last < started))
            .order_by(last.asc().nulls_first(), stored.c.sha256).limit(min(BATCH, count))))
        if not hashes:
            return
        yield hashes
        count -= len(hashes)


def nightly_due(session: Session, now: datetime, hour: int) -> bool:
    """True from ``hour`` (Hanoi time) until the night's slice has started, once per Hanoi day: a
    worker down at that hour still does the day's slice when it comes back."""
    local = clock.in_hanoi(now)
    if local.hour < hour:
        return False
    midnight = datetime.combine(local.date(), time(0), tzinfo=clock.HANOI)
    return session.scalar(select(func.count()).select_from(FixityRun).where(
        FixityRun.trigger == "nightly", FixityRun.started_at >= midnight)) == 0


def admin_recipients(session: Session, configured: Iterable[str] | str = ()) -> list[str]:
    """Who hears about a failed audit: the configured addresses (PORTAL_ADMIN_EMAILS, comma-separated)
    and every active admin account with an e-mail address, each once."""
    if isinstance(configured, str):
        configured = configured.split(",")
    accounts = session.scalars(select(StaffUser.email).where(
        StaffUser.role == StaffRole.ADMIN.value, StaffUser.active.is_(True), StaffUser.email != "")
        .order_by(StaffUser.id))
    seen: dict[str, str] = {}
    for address in [*configured, *accounts]:
        address = address.strip()
        if address and address.lower() not in seen:
            seen[address.lower()] = address
    return list(seen.values())


def list_runs(session: Session, *, limit: int = 50) -> list[FixityRun]:
    return list(session.scalars(select(FixityRun).order_by(FixityRun.id.desc()).limit(limit)))


def speed(run: FixityRun) -> float:
    """MB/s the run read at (0 when it did not finish or took no time)."""
    if run.finished_at is None:
        return 0.0
    seconds = (run.finished_at - run.started_at) / timedelta(seconds=1)
    return run.bytes_read / 1e6 / seconds if seconds > 0 else 0.0
