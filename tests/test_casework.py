"""portal.casework: who works on which units' cases, the claim, what is overdue, who acted (two
threads racing for a claim: tests/copy_requests/test_workbench.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from portal import casework
from portal.feedback import petitions
from portal.feedback.models import Petition
from portal.units.models import AdminUnit, UnitSuccession


def merged_ward(session) -> AdminUnit:
    """A current ward that took in at least one old unit (from the reference data)."""
    return session.scalar(select(AdminUnit).join(UnitSuccession, UnitSuccession.new_unit_id == AdminUnit.id)
                          .where(AdminUnit.system == "current", AdminUnit.level == "commune")
                          .order_by(AdminUnit.code).limit(1))


def test_clerks_and_supervisors_work_for_their_wards_and_the_old_units_in_them(db_session, make_staff):
    ward = merged_ward(db_session)
    olds = {link.old_unit_id for link in ward.predecessor_links}
    assert olds
    for role in ("clerk", "supervisor"):
        assert casework.unit_ids(make_staff(role=role, units=[ward])) == {ward.id, *olds}


def test_admins_and_disabled_accounts_work_on_no_case(db_session, make_staff):
    ward = merged_ward(db_session)
    assert casework.unit_ids(make_staff(role="admin", units=[ward])) == set()
    assert casework.unit_ids(make_staff(role="clerk", units=[ward], active=False)) == set()


def test_a_claim_on_what_was_read_fails_once_a_colleague_changed_it(db_session):
    petition, _ = petitions.submit_petition(db_session, None, {
        "sender_name": "Trần Văn An", "sender_address": "Hà Nội", "sender_phone": "0912345678",
        "about": "rules", "title": "Thủ tục", "content": "Nội dung phản ánh đủ hai mươi ký tự."})
    now = datetime.now(UTC)
    casework.claim(db_session, petition, now, "unit_id")  # nothing changed since it was read
    db_session.execute(update(Petition).where(Petition.id == petition.id).values(state="in_progress")
                       .execution_options(synchronize_session=False))  # a colleague classifies it
    with pytest.raises(casework.AlreadyProcessed):
        casework.claim(db_session, petition, now, "unit_id")


@dataclass
class Case:
    state: str
    due_at: datetime


def test_overdue_means_open_and_past_the_deadline():
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    open_states = {"received", "in_progress"}
    assert casework.is_overdue(Case("received", now - timedelta(seconds=1)), open_states, now)
    assert not casework.is_overdue(Case("received", now), open_states, now)
    assert not casework.is_overdue(Case("answered", now - timedelta(days=30)), open_states, now)


@dataclass
class Event:
    actor: str


def test_the_timeline_names_colleagues_and_lets_the_area_name_the_others(db_session, make_staff):
    clerk = make_staff(role="clerk", full_name="Nguyễn Thị Lan")
    events = [Event("citizen:7"), Event(clerk.audit_name), Event("staff:999999"), Event("system")]
    rows = casework.timeline(db_session, events, lambda kind: ("Người gửi", kind))
    assert [(row.who, row.who_kind) for row in rows] == [
        ("Người gửi", "citizen"), ("Nguyễn Thị Lan", "staff"), ("staff:999999", "staff"),
        ("Người gửi", "system")]
    assert [row.event for row in rows] == events
