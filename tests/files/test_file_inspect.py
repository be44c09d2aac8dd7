"""What a file is, from its bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from portal.files.inspect import FileInfo, UnreadableFile, inspect_file


def _image(kind: str, dpi: int | None, size=(120, 170)) -> bytes:
    buffer = io.BytesIO()
    extra = {"dpi": (dpi, dpi)} if dpi else {}
    Image.new("L", size, 200).save(buffer, kind, **extra)
    return buffer.getvalue()


def png_scan(dpi: int = 300, size=(120, 170)) -> bytes:
    return _image("PNG", dpi, size)


def jpeg_scan(dpi: int = 300) -> bytes:
    return _image("JPEG", dpi)


def pdf_scan(dpi: int = 300, pages: int = 1) -> bytes:
    """Pillow's PDF writer sizes the page from the resolution: the image fills it at ``dpi``."""
    buffer = io.BytesIO()
    frames = [Image.new("L", (120, 170), 100 + i) for i in range(pages)]
    frames[0].save(buffer, "PDF", resolution=dpi, save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def born_digital_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(72, 720, "Giay phep")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nbroken\n"


def _file(tmp_path, name, data) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _tiff(dpi: int, pages: int) -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("L", (100, 140), 255) for _ in range(pages)]
    frames[0].save(buffer, "TIFF", dpi=(dpi, dpi), save_all=True, append_images=frames[1:])
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(born_digital_pdf())))
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("scan.pdf", pdf_scan(dpi=300, pages=3), FileInfo("application/pdf", 3, 300)),
        ("low.pdf", pdf_scan(dpi=150), FileInfo("application/pdf", 1, 150)),
        ("born-digital.pdf", born_digital_pdf(), FileInfo("application/pdf", 1, None)),
        ("scan.png", png_scan(dpi=400), FileInfo("image/png", 1, 400)),
        ("scan.jpg", jpeg_scan(dpi=250), FileInfo("image/jpeg", 1, 250)),
        ("scan.tif", _tiff(dpi=300, pages=2), FileInfo("image/tiff", 2, 300)),
        # No dpi tag: an A4 page is assumed (2480 px across A4's 8.27 in ≈ 300 dpi).
        ("untagged.png", _image("PNG", None, size=(2480, 3508)), FileInfo("image/png", 1, 300)),
        # The extension lies; the bytes decide.
        ("really-a-png.pdf", png_scan(dpi=300), FileInfo("image/png", 1, 300)),
    ],
)
def test_inspect(tmp_path, name, data, expected):
    assert inspect_file(_file(tmp_path, name, data)) == expected


def test_the_drawn_size_of_a_pdf_image_gives_its_resolution(tmp_path):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(595, 842))  # A4
    image = io.BytesIO()
    Image.new("L", (1000, 1400), 255).save(image, "PNG")
    pdf.drawImage(ImageReader(image), 0, 0, width=360, height=504)  # 5 in wide: 200 dpi
    pdf.drawImage(ImageReader(io.BytesIO(png_scan(size=(20, 20)))), 500, 780, width=72, height=72)  # a logo
    pdf.showPage()
    pdf.save()

    assert inspect_file(_file(tmp_path, "drawn.pdf", buffer.getvalue())).dpi == 200


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (corrupt_pdf(), "corrupt"),
        (_encrypted_pdf(), "encrypted"),
        (jpeg_scan()[:200], "corrupt"),
        (png_scan()[:60], "corrupt"),
        (b"hello, not a scan", "unknown_type"),
        (b"", "unknown_type"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path, data, code):
    with pytest.raises(UnreadableFile) as refused:
        inspect_file(_file(tmp_path, "x.bin", data))
    assert refused.value.code == code and refused.value.vi and refused.value.en
