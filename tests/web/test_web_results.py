"""The result page: what a visitor sees of public and of personal results."""

import re
from datetime import date, timedelta

from portal import clock
from portal.units.services import successors
from tests.web.conftest import legacy_unit_with_successor


def page(client, url):
    response = client.get(url)
    return response, response.get_data(as_text=True)


def test_public_result_shows_its_fields_status_and_as_of(client, make_record):
    record = make_record(files=True)
    response, html = page(client, f"/results/{record.source_id}")
    assert response.status_code == 200
    for text in ("Giấy phép xây dựng", "401/GPXD", "Ủy ban nhân dân quận Cầu Giấy", "Trần Văn Bình",
                 "14/05/2019", "Công ty TNHH Hoa Sen", "Trần Thái Tông", record.procedure.name,
                 record.procedure_code, "HS-2019-017"):
        assert text in html, text
    assert "Còn hiệu lực" in html
    today = clock.now().strftime("%d/%m/%Y")
    assert re.search(rf"Tình trạng tại thời điểm \d\d:\d\d ngày {today}", html)
    # Never shown, even on a public register: the holder's id number.
    assert record.subject.id_number not in html


def test_legacy_unit_shows_its_successor_since_the_merger(client, make_record, db_session):
    record = make_record()
    links = successors(record.issuing_unit)
    assert links
    _, html = page(client, f"/results/{record.source_id}")
    assert record.issuing_unit.name in html
    assert "nay thuộc" in html
    assert links[0].new_unit.name in html


def test_partial_successor_is_marked(client, make_record, db_session):
    record = make_record(unit=legacy_unit_with_successor(db_session, partial=True))
    _, html = page(client, f"/results/{record.source_id}")
    assert "(một phần)" in html


def test_valid_result_past_its_end_date_shows_expired(client, make_record):
    record = make_record(valid_to=date.today() - timedelta(days=2))
    _, html = page(client, f"/results/{record.source_id}")
    assert "Hết hiệu lực" in html
    assert "Còn hiệu lực" not in html.split('id="status-title"')[1].split("</section>")[0]


def test_revoked_result_shows_its_history(client, make_record):
    record = make_record(status="revoked", history=[("valid", "revoked", "Vi phạm quy hoạch")])
    _, html = page(client, f"/results/{record.source_id}")
    assert "Đã bị thu hồi" in html
    assert "Vi phạm quy hoạch" in html


def test_replacement_links_both_ways(client, make_record):
    old = make_record(status="replaced")
    new = make_record(replaces_source_id=old.source_id, doc_number="999")
    _, old_html = page(client, f"/results/{old.source_id}")
    assert f'href="/results/{new.source_id}"' in old_html
    assert "Đã được thay thế" in old_html
    _, new_html = page(client, f"/results/{new.source_id}")
    assert f'href="/results/{old.source_id}"' in new_html


def test_personal_result_shows_only_type_unit_and_status(client, make_record):
    record = make_record(access="personal", doc_type_name="Trích lục khai sinh", doc_number="77",
                         doc_notation="TLKS", holder="Phạm Văn Đông", id_number="001085012345",
                         summary="Đăng ký khai sinh cho cháu Phạm Minh An", files=True,
                         signer_name="Lê Văn Tám")
    response, html = page(client, f"/results/{record.source_id}")
    assert response.status_code == 200
    assert "Trích lục khai sinh" in html
    assert record.issuing_unit.name in html
    assert "Còn hiệu lực" in html
    assert "đăng nhập" in html
    for secret in ("Phạm Văn Đông", "001085012345", "Phạm Minh An", "77/TLKS", "Lê Văn Tám", "14/05/2019",
                   record.dossier_code, "/pages/"):
        assert secret not in html, secret
    assert '<meta name="robots" content="noindex">' in html


def test_unknown_result_is_a_vietnamese_404(client):
    response, html = page(client, "/results/KHONG-CO")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in html
    assert 'href="/"' in html


def test_result_page_in_english(client, make_record):
    record = make_record()
    _, html = page(client, f"/results/{record.source_id}?lang=en")
    assert '<html lang="en">' in html
    assert "Valid" in html and "Status as of" in html
