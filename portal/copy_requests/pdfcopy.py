"""Building the PDF of a copy (before signing): the scans, a certification page with a QR code, and
a footer with the verification code on every page.

reportlab draws what we add (pyhanko's own stamp spaces Vietnamese letters badly) with an embedded
DejaVu font; pypdf merges it with the scans. PDF scans are kept as they are; images (JPEG, PNG,
TIFF, every frame) are placed on A4 pages. No Flask here: signing.py gathers the texts.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image
from pypdf import PdfReader, PdfWriter, Transformation
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONTS = Path(__file__).resolve().parent.parent / "demo" / "fonts"
REGULAR, BOLD = "PortalSans", "PortalSans-Bold"
#: The document-information key holding the copy's code: how an uploaded copy is matched with
#: the copy we issued even when a byte of it was changed.
CODE_KEY = "/PortalCopyCode"
CODE_PATTERN = re.compile(rb"/PortalCopyCode\s*\(((?:[^()\\]|\\[0-7]{1,3}|\\.){8,160})\)")
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)")
FOOTER_HEIGHT = 12 * mm


def _register_fonts() -> None:
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))


@dataclass(frozen=True)
class Scan:
    data: bytes
    media_type: str


@dataclass(frozen=True)
class CertificationPage:
    """What the certification page says, already in the words printed on it."""

    title: str
    #: (label, value) lines.
    lines: list[tuple[str, str]]
    #: The "valid as of" statement, and the status it ends with (printed large on its own line).
    statement: str
    status: str
    code: str
    verify_url: str
    #: Small print under the QR code (how to check the copy).
    note: str
    #: Printed in red at the top when the signing certificate is a development one.
    warning: str = ""
    #: Footer text; "{page}" and "{pages}" are filled in.
    footer: str = "{code} · {page}/{pages}"


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if pdfmetrics.stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines or [""]


def _qr(c: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    qr = segno.make(url, error="m")
    rows = list(qr.matrix)
    cell = size / len(rows)
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    for r, row in enumerate(rows):
        for col, dark in enumerate(row):
            if dark:
                path.rect(x + col * cell, y + size - (r + 1) * cell, cell, cell)
    c.drawPath(path, stroke=0, fill=1)


def certification_page(page: CertificationPage) -> bytes:
    _register_fonts()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    y = height - 25 * mm
    if page.warning:
        c.setFillColorRGB(0.75, 0.05, 0.05)
        c.setFont(BOLD, 10)
        c.drawCentredString(width / 2, y, page.warning)
        y -= 10 * mm
    c.setFillColorRGB(0, 0, 0)
    c.setFont(BOLD, 15)
    for line in _wrap(page.title, BOLD, 15, right - left):
        c.drawCentredString(width / 2, y, line)
        y -= 8 * mm
    y -= 4 * mm
    label_width = 52 * mm
    for label, value in page.lines:
        c.setFont(BOLD, 10)
        c.drawString(left, y, label)
        c.setFont(REGULAR, 10)
        for line in _wrap(value, REGULAR, 10, right - left - label_width):
            c.drawString(left + label_width, y, line)
            y -= 5.5 * mm
        y -= 1.5 * mm
    y -= 4 * mm
    c.setFont(BOLD, 11)
    for line in _wrap(page.statement, BOLD, 11, right - left):
        c.drawString(left, y, line)
        y -= 6 * mm
    c.setFont(BOLD, 14)
    c.drawString(left, y - 1 * mm, page.status)
    y -= 14 * mm
    qr_size = 40 * mm
    _qr(c, page.verify_url, left, y - qr_size, qr_size)
    text_x = left + qr_size + 8 * mm
    c.setFont(REGULAR, 10)
    ty = y - 6 * mm
    for line in _wrap(page.note, REGULAR, 10, right - text_x):
        c.drawString(text_x, ty, line)
        ty -= 5.5 * mm
    ty -= 2 * mm
    c.setFont(BOLD, 12)
    c.drawString(text_x, ty, page.code)
    ty -= 6 * mm
    c.setFont(REGULAR, 8.5)
    for line in _wrap(page.verify_url, REGULAR, 8.5, right - text_x):
        c.drawString(text_x, ty, line)
        ty -= 4.5 * mm
    c.showPage()
    c.save()
    return buffer.getvalue()


def _image_pages(data: bytes) -> bytes:
    """Each frame of an image on an A4 page (portrait or landscape, whichever fits it better)."""
    image = Image.open(io.BytesIO(data))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    frame = 0
    while True:
        try:
            image.seek(frame)
        except EOFError:
            break
        picture = image.convert("RGB") if image.mode not in ("RGB", "L") else image.copy()
        w, h = picture.size
        size = A4 if h >= w else (A4[1], A4[0])
        c.setPageSize(size)
        margin = 10 * mm
        box_w, box_h = size[0] - 2 * margin, size[1] - margin - FOOTER_HEIGHT
        scale = min(box_w / w, box_h / h)
        draw_w, draw_h = w * scale, h * scale
        c.drawImage(ImageReader(picture), (size[0] - draw_w) / 2, FOOTER_HEIGHT + (box_h - draw_h) / 2,
                    draw_w, draw_h)
        c.showPage()
        frame += 1
    c.save()
    return buffer.getvalue()


def _footer_overlay(sizes: list[tuple[float, float]], text: str) -> PdfReader:
    _register_fonts()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, invariant=1)
    for number, (w, h) in enumerate(sizes, start=1):
        c.setPageSize((w, h))
        c.setFillColorRGB(1, 1, 1)
        c.rect(0, 0, w, 7 * mm, stroke=0, fill=1)  # readable over a dark scan edge
        c.setFillColorRGB(0.2, 0.2, 0.2)
        c.setFont(REGULAR, 7)
        c.drawCentredString(w / 2, 2.5 * mm, text.format(page=number, pages=len(sizes)))
        c.showPage()
    c.save()
    return PdfReader(io.BytesIO(buffer.getvalue()))


def build_copy(scans: list[Scan], page: CertificationPage, *, title: str = "") -> bytes:
    """The unsigned copy: every scan page, then the certification page; a footer on each.

    Raises ValueError when a scan cannot be read (damaged file, unknown type).
    """
    writer = PdfWriter()
    for scan in scans:
        if scan.media_type == "application/pdf":
            source = PdfReader(io.BytesIO(scan.data))
        elif scan.media_type.startswith("image/"):
            source = PdfReader(io.BytesIO(_image_pages(scan.data)))
        else:
            raise ValueError(f"cannot place a {scan.media_type} file in a copy")
        for source_page in source.pages:
            writer.add_page(source_page)
    writer.add_page(PdfReader(io.BytesIO(certification_page(page))).pages[0])

    sizes = []
    for target in writer.pages:
        if target.get("/Rotate"):
            target.transfer_rotation_to_content()
        box = target.mediabox
        sizes.append((float(box.width), float(box.height)))
    overlay = _footer_overlay(sizes, page.footer.replace("{code}", page.code))
    for target, stamp in zip(writer.pages, overlay.pages, strict=True):
        box = target.mediabox
        target.merge_transformed_page(stamp, Transformation().translate(float(box.left), float(box.bottom)))

    writer.add_metadata({"/Title": title or page.title, "/Producer": "Hanoi results portal",
                         CODE_KEY: page.code})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def find_code(data: bytes) -> str | None:
    """The copy code written in a PDF's document information, if any (works on a damaged copy)."""
    matches = CODE_PATTERN.findall(data)
    if not matches:
        return None
    # Literal strings may escape characters (pypdf writes "-" as \055).
    raw = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else m.group(1),
                      matches[-1])
    return raw.decode("latin-1")
