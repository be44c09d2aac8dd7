"""The counter's pages end to end with the test client: opening, consent by code, what the session
reaches, actions on the person's access log and the audit chain, the end and its summary mail."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.audit import AuditEntry
from portal.counter.models import CounterSession
from tests.counter.conftest import CONTACT


def test_a_session_by_code_lists_and_opens_the_persons_results(client, world, open_counter, smtp_server,
                                                               db_session):
    message = open_counter(client)
    assert message["To"] == CONTACT
    page = client.get("/staff/counter/session")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert world.mine.doc_type_name in text
    assert world.mine_elsewhere.doc_type_name not in text  # another unit
    assert world.other.doc_type_name not in text  # another person
    response = client.get(f"/staff/counter/results/{world.mine.source_id}")
    assert response.status_code == 200 and world.mine.summary in response.get_data(as_text=True)
    entry = db_session.scalar(select(AuditEntry).where(
        AuditEntry.object_ref == f"record:{world.mine.source_id}", AuditEntry.channel == "counter"))
    assert entry.subject_id == world.person.id and entry.actor == f"staff:{world.clerk.id}"
    assert entry.purpose == ("Cán bộ Trần Văn Minh (bộ phận một cửa "
                             f"{world.ward.name}) thay mặt Nguyễn Thị Lan")
    assert entry.details["counter_session"] == db_session.scalar(select(func.max(CounterSession.id)))
