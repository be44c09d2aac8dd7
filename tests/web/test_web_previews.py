"""Page previews: PNG thumbnails of public scans only, cached on disk, with validators."""

import io
from pathlib import Path

from PIL import Image


def fetch(client, url, **kwargs):
    """Status, headers and body of a response, closed at once (send_file keeps the file open)."""
    with client.get(url, **kwargs) as response:
        return response.status_code, response.headers, response.mimetype, response.get_data()


def test_pdf_page_preview_is_a_png_capped_in_width(app, client, make_record):
    record = make_record(files=True)
    status, headers, mimetype, body = fetch(client, f"/results/{record.source_id}/files/1/pages/2.png?w=5000")
    assert (status, mimetype) == (200, "image/png")
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG" and image.width <= 800
    assert "max-age=86400" in headers["Cache-Control"]
    assert "public" in headers["Cache-Control"]
    again = fetch(client, f"/results/{record.source_id}/files/1/pages/2.png?w=5000",
                  headers={"If-None-Match": headers["ETag"]})
    assert again[0] == 304
    cached = list((Path(app.config["DATA_DIR"]) / "previews").rglob("2-800.png"))
    assert len(cached) == 1


def test_jpeg_preview_is_a_small_png(client, make_record):
    record = make_record(files=True)
    status, _, _, body = fetch(client, f"/results/{record.source_id}/files/2/pages/1.png?w=240")
    assert status == 200
    image = Image.open(io.BytesIO(body))
    assert image.format == "PNG" and image.width == 240


def test_result_page_shows_thumbnails_with_alt_text_and_a_larger_view(client, make_record):
    record = make_record(files=True)
    html = client.get(f"/results/{record.source_id}").get_data(as_text=True)
    assert f'src="/results/{record.source_id}/files/1/pages/1.png?w=240"' in html
    assert 'alt="Trang 1 của Giấy phép xây dựng số 401/GPXD"' in html
    assert f'href="/results/{record.source_id}/files/1/pages/2"' in html
    larger = client.get(f"/results/{record.source_id}/files/1/pages/2")
    assert larger.status_code == 200
    assert "Trang 2/2" in larger.get_data(as_text=True)


def test_no_previews_of_personal_results(client, make_record):
    record = make_record(access="personal", files=True)
    assert fetch(client, f"/results/{record.source_id}/files/1/pages/1.png")[0] == 404
    assert client.get(f"/results/{record.source_id}/files/1/pages/1").status_code == 404


def test_out_of_range_pages_and_files_are_404(client, make_record):
    record = make_record(files=True)
    for url in ("files/1/pages/3.png", "files/1/pages/0.png", "files/9/pages/1.png", "files/2/pages/2.png"):
        assert fetch(client, f"/results/{record.source_id}/{url}")[0] == 404, url
    assert client.get("/results/KHONG-CO/files/1/pages/1.png").status_code == 404


def test_missing_stored_file_is_404_not_500(app, client, make_record, store):
    record = make_record(files=True)
    store.path_for(record.files[1].document_sha256).unlink()
    assert fetch(client, f"/results/{record.source_id}/files/2/pages/1.png")[0] == 404
