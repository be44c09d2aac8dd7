"""Reading one file: Tesseract on page images, a PDF's text layer without it, and the budgets."""

from __future__ import annotations

import pytest
from ocr_scans import text_png

from portal.ocr import reading
from portal.ocr.reading import Budgets, Unreadable, read_file
from portal.text import fold
from tests.imports.builders import born_digital_pdf


def test_tesseract_reads_vietnamese_words_off_a_page_image(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(text_png(["Thửa đất số 56 tại xứ Đồng Quạnh", "Giấy chứng nhận quyền sử dụng đất"]))
    result = read_file(path, "image/png", Budgets())
    assert result.method == "ocr" and result.pages == 1
    assert result.engine.startswith("tesseract ") and result.engine.endswith(" vie")
    assert "Đồng Quạnh" in result.text  # diacritics as printed
    assert "giay chung nhan quyen su dung dat" in fold(result.text)


def test_a_pdf_text_layer_is_read_without_tesseract(tmp_path, monkeypatch):
    def no_ocr(*args, **kwargs):
        raise AssertionError("a page with a text layer went to Tesseract")

    monkeypatch.setattr(reading, "ocr_image", no_ocr)
    path = tmp_path / "born-digital.pdf"
    path.write_bytes(born_digital_pdf("Giay phep khai thac nuoc ngam so 77 tai xa Van Phuc"))
    result = read_file(path, "application/pdf", Budgets())
    assert result.method == "text-layer" and result.engine == "pdfium"
    assert "nuoc ngam so 77 tai xa Van Phuc" in result.text


def test_a_scanned_pdf_page_is_rendered_and_read_by_tesseract(tmp_path):
    from PIL import Image

    png = tmp_path / "page.png"
    png.write_bytes(text_png(["Biên bản nghiệm thu công trình"], dpi=200))
    pdf = tmp_path / "scan.pdf"
    with Image.open(png) as image:
        image.save(pdf, "PDF", resolution=200)
    result = read_file(pdf, "application/pdf", Budgets())
    assert result.method == "ocr"
    assert "nghiem thu cong trinh" in fold(result.text)


def test_a_page_past_its_time_budget_is_killed_and_the_file_fails_with_the_reason(tmp_path):
    path = tmp_path / "page.png"
    path.write_bytes(text_png(["Một trang chậm"]))
    with pytest.raises(Unreadable, match="page 1: Tesseract took longer than 0.001 s"):
        read_file(path, "image/png", Budgets(page_timeout=0.001))


def test_pages_past_the_limit_are_left_out_and_noted(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "long.pdf"
    pdf = canvas.Canvas(str(path))
    for number in range(1, 4):
        pdf.drawString(72, 720, f"Trang thu {number} cua giay phep, noi dung dai hon mot dong")
        pdf.showPage()
    pdf.save()
    result = read_file(path, "application/pdf", Budgets(max_pages=2))
    assert result.pages == 2
    assert "Trang thu 2" in result.text and "Trang thu 3" not in result.text
    assert result.notes == ["pages 3–3 not read (OCR_MAX_PAGES)"]


def test_a_file_that_will_not_open_is_unreadable(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\nnot a pdf any more\n")
    with pytest.raises(Unreadable, match="unreadable application/pdf"):
        read_file(path, "application/pdf", Budgets())
