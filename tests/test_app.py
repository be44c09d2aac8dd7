from portal import create_app


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_refuses_to_start_without_secret_key_in_production(tmp_path):
    import pytest

    with pytest.raises(RuntimeError, match="PORTAL_SECRET_KEY"):
        create_app({"DATA_DIR": str(tmp_path), "ENV": "production", "SECRET_KEY": ""})


def test_reference_data_is_loaded(db_session):
    from sqlalchemy import func, select

    from portal.units.models import AdminUnit

    counts = dict(db_session.execute(
        select(AdminUnit.system, func.count()).where(AdminUnit.level == "commune").group_by(AdminUnit.system)
    ).all())
    # Hà Nội: 126 communes and wards since 1 July 2025, 526 before.
    assert counts == {"current": 126, "legacy": 526}


def test_an_unknown_environment_refuses_to_start(tmp_path, monkeypatch):
    """PORTAL_ENV is an allow-list: a misspelling must not fall through to a development mode."""
    import pytest

    for env in ("prod", "Production", "PRODUCTION", "staging ", "dev", ""):
        with pytest.raises(RuntimeError, match="PORTAL_ENV"):
            create_app({"DATA_DIR": str(tmp_path), "ENV": env, "SECRET_KEY": "s" * 32})
    monkeypatch.setenv("PORTAL_ENV", "prod")
    with pytest.raises(RuntimeError, match="'prod' is not one of"):
        create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 32})


def test_the_development_provider_starts_only_in_development_or_testing(tmp_path, monkeypatch):
    import pytest

    for env in ("production", "staging"):
        with pytest.raises(RuntimeError, match="PORTAL_DEV_IDP"):
            create_app({"DATA_DIR": str(tmp_path), "ENV": env, "SECRET_KEY": "s" * 32, "DEV_IDP": True})
    for env in ("development", "testing"):
        app = create_app({"DATA_DIR": str(tmp_path / env), "ENV": env, "SECRET_KEY": "s" * 32, "DEV_IDP": True})
        assert any(rule.rule.startswith("/dev-idp") for rule in app.url_map.iter_rules()), env
    # TESTING comes from code only: PORTAL_TESTING cannot turn a staging server into a test one.
    monkeypatch.setenv("PORTAL_TESTING", "true")
    with pytest.raises(RuntimeError, match="PORTAL_DEV_IDP"):
        create_app({"DATA_DIR": str(tmp_path), "ENV": "staging", "SECRET_KEY": "s" * 32, "DEV_IDP": True})
    staging = create_app({"DATA_DIR": str(tmp_path / "s"), "ENV": "staging", "SECRET_KEY": "s" * 32})
    assert staging.testing is False and staging.config["SESSION_COOKIE_SECURE"] is True
    assert staging.config["MAIL_SUPPRESS"] is False
