"""Login tests reuse the page builders: real records with real scans in the app's file store."""

import pytest
from sqlalchemy import select

from portal.identity.models import Subject
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)


@pytest.fixture
def own_record(make_record, db_session):  # noqa: F811  (the fixture, not the import)
    """own_record(id_number, kind="individual", **fields) → a result about that person or enterprise."""

    def build(id_number: str, kind: str = "individual", **fields):
        subject = db_session.scalar(select(Subject).where(Subject.kind == kind,
                                                          Subject.id_number == id_number))
        record = make_record(**fields)  # with a subject of its own, replaced here
        if subject is None:
            record.subject.kind, record.subject.id_number = kind, id_number
        else:
            throwaway, record.subject = record.subject, subject
            db_session.flush()
            db_session.delete(throwaway)
        db_session.commit()
        return record

    return build
