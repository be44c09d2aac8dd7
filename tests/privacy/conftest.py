"""Personal-data tests: an app whose mail goes to the real test SMTP server, results about the test
provider's accounts (fixtures of tests/identity and tests/web)."""

from __future__ import annotations

import pytest

from tests.identity.conftest import own_record  # noqa: F401  (fixture, re-exported)
from tests.identity.oidc_fixtures import ACCOUNTS
from tests.web.conftest import add_document, make_record, store  # noqa: F401  (fixtures, re-exported)

CITIZEN_ID = ACCOUNTS["citizen"]["claims"]["SoDinhDanh"]
OTHER_ID = ACCOUNTS["other-citizen"]["claims"]["SoDinhDanh"]
ENTERPRISE = ACCOUNTS["business"]["claims"]["MaSoDoanhNghiep"]
BASE = "https://ketqua.hanoi.gov.vn"


@pytest.fixture
def app(make_app, smtp_server):
    app = make_app(**smtp_server.config(PUBLIC_BASE_URL=BASE))
    with app.app_context():
        yield app

