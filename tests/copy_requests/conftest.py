"""Builders for copy-request tests, shared by every part (requests, workbench, signing, e-mail).

- `make_citizen(id_number=…, kind="individual", loa=2)` → a Citizen account linked to its Subject
  (for service-level tests; page tests log in through the real provider with `login_citizen`).
- `record_of(id_number, kind="individual", **fields)` → a result about that person or enterprise,
  with scans (a 2-page PDF and a 1-page JPEG: 3 pages) unless ``files=False``.
- `make_request(record=None, citizen=None, kind="electronic", copies=1, now=None, **data)` →
  ``(CopyRequest, tracking_code)``, created by the real `services.submit` and committed. Without
  arguments: a personal result of a new citizen, who requests an electronic copy of it.
"""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from portal.copy_requests import services
from portal.identity.models import Citizen, Subject
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)

#: The "citizen" account of tests/identity/oidc_provider/accounts.json (Nguyễn Thị Lan, level 2).
CITIZEN_ID = "001085012345"
#: The enterprise of the "business" account (Công ty TNHH Hoa Sen).
ENTERPRISE = "0101234567"


def _subject(session, kind: str, id_number: str, name: str) -> Subject:
    subject = session.scalar(select(Subject).where(Subject.kind == kind, Subject.id_number == id_number))
    if subject is None:
        subject = Subject(kind=kind, id_number=id_number, name=name)
        session.add(subject)
        session.flush()
    return subject


@pytest.fixture
def make_citizen(db_session):
    counter = itertools.count(1)

    def build(id_number: str | None = None, kind: str = "individual", loa: int = 2,
              name: str = "Nguyễn Văn Nam") -> Citizen:
        n = next(counter)
        id_number = id_number or f"0010990{n:05}"
        citizen = Citizen(issuer="https://sso.test", sub=f"test-{n}-{id_number}", name=name, loa=loa,
                          account_type=kind)
        subject = _subject(db_session, kind, id_number, name)
        if kind == "organization":
            citizen.organization = subject
        else:
            citizen.subject = subject
        db_session.add(citizen)
        db_session.commit()
        return citizen

    return build


@pytest.fixture
def record_of(make_record, db_session):  # noqa: F811  (the fixture, not the import)
    def build(id_number: str, kind: str = "individual", files: bool = True, **fields):
        record = make_record(files=files, **fields)  # with a subject of its own, replaced here
        throwaway = record.subject
        record.subject = _subject(db_session, kind, id_number, throwaway.name)
        db_session.flush()
        db_session.delete(throwaway)
        db_session.commit()
        return record

    return build


@pytest.fixture
def make_request(db_session, make_citizen, record_of):
    def build(record=None, citizen=None, *, kind: str = "electronic", copies: int = 1, now=None,
              purpose: str = "Bổ sung hồ sơ vay vốn ngân hàng", email: str = "lan@example.vn",
              delivery_address: str = "", **kwargs):
        if citizen is None:
            citizen = make_citizen()
        if record is None:
            subject = citizen.subject or citizen.organization
            record = record_of(subject.id_number, kind=citizen.account_type, access="personal", **kwargs)
        if kind == "paper_post" and not delivery_address:
            delivery_address = "Số 12 ngõ 34 phố Trần Thái Tông, phường Cầu Giấy, Hà Nội"
        request, code = services.submit(db_session, citizen, record.source_id, services.RequestData(
            kind=kind, copies=copies, purpose=purpose, delivery_address=delivery_address, email=email),
            now=now)
        db_session.commit()
        return request, code

    return build


# Signed-copy builders (tests/copy_requests/signing_builders.py): dev_ca, issuable, issue.
from tests.copy_requests.signing_builders import dev_ca, issuable, issue  # noqa: E402, F401
