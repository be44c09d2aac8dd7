"""Counter tests: an app whose mail goes to the real test SMTP server, a person with results in a
ward and elsewhere (and another person's result in the ward), the person's own portal account and
contact on file (an e-mail given when following a result), clerks of the ward, and helpers that open
a session through the real pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.follows.models import Follow
from portal.identity.models import Citizen, StaffUser, Subject
from portal.records.models import Record
from portal.units.models import AdminUnit, UnitLevel, UnitSystem
from tests.identity.conftest import own_record  # noqa: F401  (fixture, re-exported)
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.identity.staff_builders import form_token
from tests.web.conftest import add_document, legacy_unit_with_successor, make_record, store  # noqa: F401

PERSON_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
OTHER_ID = ACCOUNTS["other-citizen"]["claims"]["SoDinhDanh"]
CONTACT = "lan.nguyen@example.vn"
BASE = "https://ketqua.hanoi.gov.vn"
CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL=BASE))
    with app.app_context():
        yield app


@dataclass
class World:
    ward: AdminUnit
    elsewhere: AdminUnit
    person: Subject
    account: Citizen
    mine: Record
    mine_elsewhere: Record
    other: Record
    clerk: StaffUser
    other_clerk: StaffUser


@pytest.fixture
def world(own_record, make_staff, db_session) -> World:  # noqa: F811
    old_unit = legacy_unit_with_successor(db_session, partial=False)
    (link,) = old_unit.successor_links  # merged whole into one current ward
    ward = link.new_unit
    elsewhere = db_session.scalar(
        select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT, AdminUnit.level == UnitLevel.COMMUNE,
                                AdminUnit.id != ward.id).order_by(AdminUnit.code))
    mine = own_record(PERSON_ID, access="personal", unit=old_unit, files=True,
                      doc_type_name="Trích lục khai sinh", doc_number="77", doc_notation="TLKS",
                      holder="NGUYỄN THỊ LAN",
                      summary="Đăng ký khai sinh cho cháu Nguyễn Minh An")
    mine_elsewhere = own_record(PERSON_ID, access="personal", unit=elsewhere, files=True,
                                doc_type_name="Giấy chứng nhận kết hôn", doc_number="12", doc_notation="KH",
                                summary="Đăng ký kết hôn ở nơi khác")
    other = own_record(OTHER_ID, access="personal", unit=old_unit, files=True,
                       doc_type_name="Trích lục khai tử", doc_number="91", doc_notation="TLKT",
                       summary="Kết quả của người khác")
    person = mine.subject
    person.name = "Nguyễn Thị Lan"
    account = Citizen(issuer="https://sso.example.vn", sub="counter-person", name=person.name,
                      subject_id=person.id, last_login_at=datetime(2026, 11, 1, tzinfo=UTC))
    db_session.add(account)
    db_session.flush()
    # The contact on file: the address the person gave when following one of her results.
    db_session.add(Follow(citizen_id=account.id, record_id=mine.id, email=CONTACT))
    db_session.commit()
    clerk = make_staff(role="clerk", units=[ward], full_name="Trần Văn Minh")
    other_clerk = make_staff(role="clerk", units=[ward], full_name="Lê Thị Hoa")
    return World(ward, elsewhere, person, account, mine, mine_elsewhere, other, clerk, other_clerk)


def post(client, path: str, data: dict | None = None, token_page: str = "/staff/counter", **kwargs):
    return client.post(path, data={"csrf_token": form_token(client, token_page), **(data or {})}, **kwargs)


def last_code(smtp_server) -> str:
    message = smtp_server.messages[-1]
    return CODE.search(message.get_content()).group(1)


@pytest.fixture
def open_counter(world, login_staff, smtp_server):
    """open_counter(client, clerk=None) → logs the clerk in and starts a session for the person by
    code, through the pages; returns the code mail."""

    def run(client, clerk: StaffUser | None = None, id_number: str = PERSON_ID):
        login_staff(client, clerk or world.clerk)
        response = post(client, "/staff/counter/start", {"id_number": id_number, "unit_id": world.ward.id})
        assert response.status_code == 303 and response.location.endswith("/staff/counter/consent"), \
            response.get_data(as_text=True)[:2000]
        sent = len(smtp_server.messages)
        response = post(client, "/staff/counter/consent/send-code", token_page="/staff/counter/consent")
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        assert len(smtp_server.messages) == sent + 1
        message = smtp_server.messages[-1]
        response = post(client, "/staff/counter/consent/code", {"code": last_code(smtp_server)},
                        token_page="/staff/counter/consent")
        assert response.status_code == 303 and response.location.endswith("/staff/counter/session"), \
            response.get_data(as_text=True)[:2000]
        return message

    return run
