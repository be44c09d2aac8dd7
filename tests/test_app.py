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
