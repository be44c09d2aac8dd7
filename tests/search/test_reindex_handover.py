"""The hand-over at the end of `reindex`: a change the worker applied to the old generation while
the rebuild ran must reach the new one. Changes made through the services, in their own session
(another request), the worker's drain applied to the live index before the swap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.feedback import corrections
from portal.identity.models import StaffUser, Subject
from portal.records.models import Record
from portal.search import get_search
from portal.search.indexing import check, drain_outbox, reindex
from portal.units.services import handling_unit


class _ChangeBeforeSwap:
    """The live backend, whose rebuild runs ``change`` after the last document was read, before the swap."""

    def __init__(self, change) -> None:
        self.backend, self.change = get_search(), change

    def rebuild(self, documents, progress=None):
        def read_then_change():
            yield from documents
            self.change(self.backend)

        return self.backend.rebuild(read_then_change(), progress=progress)


def test_a_holder_renamed_during_a_reindex_is_not_left_stale(app, db_session, make_record, make_staff):
    first = make_record(holder="Công ty TNHH Hoa Sen", id_number="0101999888")
    second = make_record(holder="x", id_number="0101999887")
    second.subject = first.subject  # the same enterprise holds both
    db_session.commit()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)  # imported long before the rebuild
    db_session.execute(update(Record).values(updated_at=an_hour_ago))
    db_session.execute(update(Subject).values(updated_at=an_hour_ago))
    db_session.commit()
    clerk = make_staff(role="clerk", units=[handling_unit(first.issuing_unit)])
    reindex(db_session, get_search)
    first_id, clerk_id = first.id, clerk.id

    def rename(live) -> None:
        # A clerk corrects the holder's name (the service stamps the corrected result and the
        # Subject, and queues both results); the worker applies the rows to the old generation.
        with Session(db.engine) as session:
            corrections.correct(session, session.get(StaffUser, clerk_id), session.get(Record, first_id),
                                {"holder_name": "Công ty TNHH Bạch Dương"}, "Sai tên")
            session.commit()
            assert drain_outbox(session, backend=live) == 2

    report = reindex(db_session, lambda: _ChangeBeforeSwap(rename))
    drain_outbox(db_session)  # what the worker does with the hand-over's rows
    db_session.commit()
    result = check(db_session)
    assert result.ok, result.as_dict()  # was: stale, the other result with the old name
    assert report.caught_up == 2
