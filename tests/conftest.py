"""Fixtures: a real database per run (SQLite, or PostgreSQL with PORTAL_TEST_DB=postgresql).

The schema is built once per run by the real migrations, reference data (units, procedures)
loaded once; each test then starts from that state: a copied SQLite file, or PostgreSQL tables
truncated after the test. Tests commit for real, so subprocesses and a second session see data.
CSRF stays on: `csrf_token(client, url)` reads the token from the page as a browser would.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import create_app

TEST_DB = os.environ.get("PORTAL_TEST_DB", "sqlite")
PG_URL = os.environ.get("PORTAL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Tables loaded once per run and kept between tests.
REFERENCE_TABLES = {"admin_unit", "unit_succession", "procedure", "alembic_version"}
#: Every app of the run, production-like ones too, writes its audit chain with this key, given as a
#: deployment gives it (outside development and tests an app without one refuses to start).
os.environ.setdefault("PORTAL_AUDIT_KEYS", "tests-audit-key-" + "5" * 48)


def _pg_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Yields a function giving each test its database URL, built from one migrated template."""
    base = tmp_path_factory.mktemp("db")
    if TEST_DB == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(PG_URL)
        try:
            with admin.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        except sa.exc.OperationalError as error:  # expected but unreachable: fail, never skip
            pytest.exit(f"PostgreSQL expected at {PG_URL} but unreachable: {error}", returncode=3)
        url = _pg_url(schema)
    elif TEST_DB == "sqlite":
        template = base / "template.sqlite3"
        url = f"sqlite:///{template}"
    else:
        raise pytest.UsageError(f"PORTAL_TEST_DB={TEST_DB!r}; expected sqlite or postgresql")

    app = create_app({"TESTING": True, "DATABASE_URL": url, "DATA_DIR": str(base / "data")})
    with app.app_context():
        from flask_migrate import upgrade

        from portal.extensions import db
        from portal.refdata import sync_all

        upgrade()
        sync_all(db.session)
        db.session.commit()
        db.engine.dispose()

    counter = iter(range(1_000_000))

    def for_test() -> str:
        if TEST_DB == "postgresql":
            return url
        copy = base / f"test-{next(counter)}.sqlite3"
        shutil.copyfile(template, copy)
        return f"sqlite:///{copy}"

    yield for_test

    if TEST_DB == "postgresql":
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _truncate(engine) -> None:
    tables = [t for t in sa.inspect(engine).get_table_names() if t not in REFERENCE_TABLES]
    if tables:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def make_app(database, tmp_path):
    """Build an app on this test's database; extra config as keyword overrides."""
    apps = []

    def build(**overrides):
        config = {"TESTING": True, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data"),
                  "HUEY_IMMEDIATE": True, "SERVER_NAME": None}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    database_url = database()
    yield build
    for app in apps:
        with app.app_context():
            from portal.extensions import db

            db.session.remove()
            if TEST_DB == "postgresql" and app is apps[0]:
                _truncate(db.engine)
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def db_session(app):
    from portal.extensions import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form on ``url``, read from the HTML like a browser would."""
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


@pytest.fixture
def data_root(tmp_path) -> Path:
    return tmp_path


# Citizens log in through a real OpenID provider: oidc_provider, sso, login_citizen(client, account).
from tests.identity.oidc_fixtures import login_citizen, oidc_provider, sso  # noqa: E402, F401

# Staff accounts for every test directory: make_staff(role=..., units=[...]), login_staff(client, staff),
# totp_clock (the hand-moved time the portal checks TOTP codes against).
from tests.identity.staff_builders import login_staff, make_staff, totp_clock  # noqa: E402, F401

# A real SMTP server (aiosmtpd) collecting what the portal sends: smtp_server (tests/mail_fixtures.py).
from tests.mail_fixtures import smtp_server  # noqa: E402, F401
