"""Share-link tests: results about the test provider's accounts, and Hanoi's clock set by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal import clock
from tests.identity.conftest import own_record  # noqa: F401  (fixture, re-exported)
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
OTHER_ID = ACCOUNTS["other-citizen"]["claims"]["SoDinhDanh"]
ENTERPRISE = ACCOUNTS["business"]["claims"]["MaSoDoanhNghiep"]


@pytest.fixture
def set_now(monkeypatch):
    """set_now(moment): Hanoi's clock shows ``moment`` (a naive datetime is Hanoi's wall clock)."""

    def move(moment: datetime) -> None:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=clock.HANOI)
        monkeypatch.setattr(clock, "now", lambda: aware)

    return move


@pytest.fixture
def login_another(sso, login_citizen):
    """login_another(client, account): a second person logs in within the same test (the test
    provider otherwise remembers the first one's session)."""

    def login(client, account: str):
        sso.http.cookies.clear()
        return login_citizen(client, account)

    return login


@pytest.fixture
def personal(own_record, db_session):  # noqa: F811  (the fixture, not the import)
    """The citizen's birth extract (personal), with scans (a 2-page PDF and a JPEG), valid to 2030."""
    record = own_record(CITIZEN_ID, access="personal", files=True, doc_type_name="Trích lục khai sinh",
                        doc_number="77", doc_notation="TLKS", holder="NGUYỄN THỊ LAN",
                        summary="Đăng ký khai sinh cho cháu Nguyễn Minh An", valid_to=date(2030, 1, 1))
    record.subject.birth_date = date(1985, 3, 12)
    db_session.commit()
    return record
