"""Coverage pages (docs/coverage.md): digitized results per unit, procedure and year of issue, with
the successor rule, and the share where staff uploaded how many were issued (CSV, all or nothing)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.coverage.models import IssuedCount
from portal.extensions import db
from portal.procedures.models import Procedure
from tests.conftest import csrf_token
from tests.web.conftest import legacy_unit_with_successor

UPLOAD = "/staff/coverage/issued"


@pytest.fixture
def merged(db_session):
    """An old commune wholly merged into a current ward: (old, current)."""
    old = legacy_unit_with_successor(db_session, partial=False)
    return old, old.successor_links[0].new_unit


@pytest.fixture
def procedures(db_session) -> list[Procedure]:
    return list(db_session.scalars(select(Procedure).order_by(Procedure.code).limit(2)))


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def year_row(html: str, year: int) -> str:
    return re.search(rf'<tr><th scope="row">{year}</th>(.*?)</tr>', html, re.S).group(1)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def test_a_ward_counts_its_own_results_and_its_former_units_by_year_and_procedure(
    client, merged, procedures, make_record
):
    old, ward = merged
    first, second = procedures
    for issued, digitized in (
        (date(2019, 3, 1), datetime(2024, 3, 1, 2, tzinfo=UTC)),
        (date(2019, 7, 9), datetime(2023, 11, 20, 2, tzinfo=UTC)),
        (date(2021, 1, 5), None),
    ):
        make_record(
            unit=old, procedure_code=first.code, issued_date=issued, digitized_at=digitized, access="personal"
        )  # personal results count too: a number only
    make_record(
        unit=ward,
        procedure_code=second.code,
        issued_date=date(2026, 2, 2),
        digitized_at=datetime(2026, 3, 1, 2, tzinfo=UTC),
    )

    html = page(client, f"/units/{ward.slug}/coverage")
    assert re.search(r'id="coverage-total">4<', html)
    assert re.search(r'id="coverage-since">20/11/2023<', html)  # the earliest digitized
    assert cells(year_row(html, 2019))[0] == "2" and cells(year_row(html, 2021))[0] == "1"
    assert cells(year_row(html, 2026))[0] == "1"
    assert first.name in html and second.name in html
    assert "<svg" in html and 'role="img"' in html

    old_html = page(client, f"/units/legacy/{old.slug}/coverage")  # its own, not the ward's
    assert re.search(r'id="coverage-total">3<', old_html)
    assert "2026" not in re.findall(r'<th scope="row">(\d{4})</th>', old_html)
    assert f"/units/{ward.slug}/coverage" in old_html  # the successor's page

    one = page(client, f"/units/{ward.slug}/coverage?procedure={second.code}")
    assert re.search(r'id="coverage-total">1<', one)
    assert client.get(f"/units/{ward.slug}/coverage?procedure=9.999999").status_code == 404
    assert client.get(f"/units/{ward.slug}/coverage?procedure=<x>").status_code == 404
    assert client.get("/units/no-such-unit/coverage").status_code == 404
    # The unit page links to it.
    assert f"/units/{ward.slug}/coverage" in page(client, f"/units/{ward.slug}")


def test_the_page_is_public_and_cached_like_the_unit_pages(client, merged, make_record):
    old, ward = merged
    make_record(unit=old)
    response = client.get(f"/units/{ward.slug}/coverage")
    assert "public" in response.headers["Cache-Control"] and response.headers.get("ETag")


def upload(client, data: bytes, name: str = "issued.csv"):
    import io

    return client.post(
        UPLOAD,
        data={"csrf_token": csrf_token(client, UPLOAD), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def supervisor(app, make_staff, login_staff, merged):
    staff = make_staff(role="supervisor", units=[merged[1]])
    client = app.test_client()
    login_staff(client, staff)
    return client


def stored_counts() -> list[tuple]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                IssuedCount.unit_id, IssuedCount.procedure_code, IssuedCount.year, IssuedCount.issued
            ).order_by(IssuedCount.year)
        )
    ]


def test_a_supervisor_uploads_issued_counts_and_the_page_shows_the_share(
    client, supervisor, merged, procedures, make_record
):
    old, ward = merged
    code = procedures[0].code
    for _ in range(2):
        make_record(unit=old, procedure_code=code, issued_date=date(2019, 5, 1))
    # The leading zeros of a unit code are optional; Windows line ends.
    csv = f"unit_code,procedure_code,year,issued\r\n{int(ward.code)},{code},2019,8\r\n"
    csv += f"{ward.code},{code},2020,5\r\n"
    response = upload(supervisor, "\ufeff".encode() + csv.encode())  # a BOM, as spreadsheets write
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 'id="issued-loaded"' in response.get_data(as_text=True)
    assert stored_counts() == [(ward.id, code, 2019, 8), (ward.id, code, 2020, 5)]

    html = page(client, f"/units/{ward.slug}/coverage")
    assert cells(year_row(html, 2019))[1] == "2 / 8 (25.0 %)"
    assert cells(year_row(html, 2020)) == ["0", "0 / 5 (0.0 %)"]  # issued, none digitized yet

    # Uploading again replaces the same unit, procedure and year (and keeps the others).
    assert (
        upload(
            supervisor, f"unit_code,procedure_code,year,issued\n{ward.code},{code},2019,4\n".encode()
        ).status_code
        == 200
    )
    assert stored_counts() == [(ward.id, code, 2019, 4), (ward.id, code, 2020, 5)]
    assert cells(year_row(page(client, f"/units/{ward.slug}/coverage"), 2019))[1] == "2 / 4 (50.0 %)"


def test_a_file_with_one_bad_line_loads_nothing_and_each_error_names_its_line(supervisor, merged, procedures):
    ward = merged[1]
    code = procedures[0].code
    lines = [
        "unit_code,procedure_code,year,issued",
        f"{ward.code},{code},2019,8",  # good
        f"{ward.code},1.00119,2019,8",  # line 3: malformed procedure code
        f"{ward.code},{code},20x9,-1",  # line 4: year and count
        f"{ward.code},{code},2019,9",  # line 5: same key as line 2
        f"{ward.code},{code},2019",
    ]  # line 6: a column missing
    response = upload(supervisor, "\n".join(lines).encode())
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for line in (3, 4, 5, 6):
        assert f"Dòng {line}:" in html
    assert "Dòng 2:" not in html
    assert "trùng với dòng 2" in html and "D.DDDDDD" in html
    assert stored_counts() == []  # the good line neither: all or nothing

    assert "Dòng 1:" in upload(supervisor, b"unit,procedure,year,count\n1,2,3,4\n").get_data(as_text=True)
    assert "UTF-8" in upload(
        supervisor,
        f"unit_code,procedure_code,year,issued\n{ward.code},{code},2019,8\n\n# Hà Nội".encode(
            "cp1258", errors="replace"
        ).replace(b"#", b"\xff"),
    ).get_data(as_text=True)
    assert stored_counts() == []


def test_a_supervisor_uploads_only_for_the_units_they_serve_and_a_clerk_not_at_all(
    app, supervisor, make_staff, login_staff, merged, procedures, db_session
):
    from portal.units.models import AdminUnit

    other = db_session.scalar(
        select(AdminUnit)
        .where(AdminUnit.system == "current", AdminUnit.level == "commune", AdminUnit.id != merged[1].id)
        .order_by(AdminUnit.code)
    )
    response = upload(
        supervisor,
        f"unit_code,procedure_code,year,issued\n{other.code},{procedures[0].code},2019,3\n".encode(),
    )
    assert response.status_code == 400 and "không phụ trách" in response.get_data(as_text=True)
    assert stored_counts() == []

    clerk = app.test_client()
    login_staff(clerk, make_staff(role="clerk", units=[merged[1]]))
    assert clerk.get(UPLOAD).status_code == 403


def test_budgets_of_an_upload(make_app, make_staff, login_staff, merged, procedures):
    app = make_app(COVERAGE_ISSUED_MAX_ROWS=2, COVERAGE_ISSUED_MAX_BYTES=200)
    with app.app_context():
        ward = db.session.merge(merged[1])
        client = app.test_client()
        login_staff(client, make_staff(role="admin"))
        rows = "".join(f"{ward.code},{procedures[0].code},{year},1\n" for year in (2019, 2020, 2021))
        many = upload(client, f"unit_code,procedure_code,year,issued\n{rows}".encode())
        assert many.status_code == 400 and "quá nhiều dòng" in many.get_data(as_text=True)
        big = upload(client, b"unit_code,procedure_code,year,issued\n" + b" " * 300)
        assert big.status_code == 400 and "quá lớn" in big.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(IssuedCount)) == 0


def test_the_command_line_loads_the_same_file(app, runner, tmp_path, merged, procedures):
    ward = merged[1]
    path = tmp_path / "issued.csv"
    path.write_text(
        f"unit_code,procedure_code,year,issued\n{ward.code},{procedures[0].code},2022,12\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(args=["coverage", "load-issued", str(path)])
    assert result.exit_code == 0, result.output
    assert stored_counts() == [(ward.id, procedures[0].code, 2022, 12)]

    path.write_text("unit_code,procedure_code,year,issued\n99999,1.001193,2022,12\n", encoding="utf-8")
    refused = runner.invoke(args=["coverage", "load-issued", str(path)])
    assert refused.exit_code == 1 and "Dòng 2:" in refused.output
