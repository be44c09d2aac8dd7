"""Follow tests: an app whose mail goes to the real test SMTP server, results about the test
provider's accounts, and Hanoi's clock set by hand."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from portal import clock
from tests.identity.conftest import own_record  # noqa: F401  (fixture, re-exported)
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
OTHER_ID = ACCOUNTS["other-citizen"]["claims"]["SoDinhDanh"]
ENTERPRISE = ACCOUNTS["business"]["claims"]["MaSoDoanhNghiep"]
BASE = "https://ketqua.hanoi.gov.vn"
#: The end date of the results the reminders are about.
ENDS = date(2027, 6, 30)


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL=BASE))
    with app.app_context():
        yield app


@pytest.fixture
def set_today(monkeypatch):
    """set_today(day): Hanoi's clock shows 08:00 on ``day`` (the daily job's hour)."""

    def move(day: date) -> None:
        moment = datetime.combine(day, time(8, 0), tzinfo=clock.HANOI)
        monkeypatch.setattr(clock, "now", lambda: moment)

    return move
