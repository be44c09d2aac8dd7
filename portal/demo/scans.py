"""Real-looking scans of Vietnamese administrative documents, rendered with Pillow.

An A4 page at the requested resolution (200 dpi by default) with the national motto, the issuing
authority, number, title, body, date line, signature block and a red seal; then a light scan look
(grey paper, noise, a fraction of a degree of skew). Saved as JPEG with its dpi, or as a PDF whose
pages are JPEG images drawn full-page at exactly that resolution. Fonts are vendored (DejaVu), so
rendering never depends on the fonts installed on the machine.

Everything is deterministic: noise comes from a seeded generator and the PDF dates are fixed, so
the same result always gives the same bytes (and the same sha256).
"""

from __future__ import annotations

import functools
import io
import math
import random
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont

FONTS = Path(__file__).parent / "fonts"
A4_MM = (210, 297)
INK = (25, 25, 30)
SEAL = (200, 30, 35)
#: Fixed PDF dates: the bytes must not depend on when the batch was written.
PDF_DATE = time.gmtime(1_735_689_600)  # 2025-01-01, a struct_time as Pillow wants


@dataclass
class Document:
    """What is printed on the page."""

    authority_parent: str  # "UBND QUẬN CẦU GIẤY" (may be empty)
    authority: str  # "ỦY BAN NHÂN DÂN PHƯỜNG DỊCH VỌNG"
    number_line: str  # "Số: 123/GPXD"
    title: str
    fields: list[tuple[str, str]]  # (label, value) lines under the title
    body: str  # the trích yếu
    issued: date
    signer_lines: list[str]  # ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    signer_name: str
    seal_text: str  # around the seal
    footer: str = ""


@functools.cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / f"{name}.ttf"), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, fnt, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=fnt) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


class Page:
    def __init__(self, dpi: int):
        self.dpi = dpi
        self.size = (round(A4_MM[0] / 25.4 * dpi), round(A4_MM[1] / 25.4 * dpi))
        self.image = Image.new("RGB", self.size, (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)

    def mm(self, value: float) -> int:
        return round(value / 25.4 * self.dpi)

    def pt(self, points: float) -> int:
        return round(points / 72 * self.dpi)

    def center(self, text: str, y: float, x0: float, x1: float, fnt, fill=INK, underline=False) -> int:
        width = self.draw.textlength(text, font=fnt)
        x = self.mm(x0) + (self.mm(x1 - x0) - width) / 2
        self.draw.text((x, self.mm(y)), text, font=fnt, fill=fill)
        if underline:
            base = self.mm(y) + round(fnt.size * 1.3)
            self.draw.line(
                (x + width * 0.2, base, x + width * 0.8, base), fill=fill, width=max(1, self.pt(0.6))
            )
        return self.mm(y) + fnt.size

    def paragraph(self, text: str, y_px: int, x0: float, x1: float, fnt, indent: float = 10) -> int:
        width = self.mm(x1 - x0)
        lines = _wrap(self.draw, text, fnt, width - self.mm(indent))
        step = round(fnt.size * 1.45)
        for i, line in enumerate(lines):
            x = self.mm(x0 + (indent if i == 0 else 0))
            self.draw.text((x, y_px), line, font=fnt, fill=INK)
            y_px += step
        return y_px


def _header(page: Page, doc: Document) -> None:
    small_bold, small = font("DejaVuSerif-Bold", page.pt(11.5)), font("DejaVuSerif", page.pt(11.5))
    y = 14
    if doc.authority_parent:
        page.center(doc.authority_parent, y, 15, 88, small)
        y += 5.2
    page.center(doc.authority, y, 15, 88, small_bold, underline=True)
    page.center(doc.number_line, y + 9, 15, 88, small)
    page.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 14, 85, 200, small_bold)
    page.center(
        "Độc lập - Tự do - Hạnh phúc", 19.2, 85, 200, font("DejaVuSerif-Bold", page.pt(12.5)), underline=True
    )
    issued = doc.issued
    page.center(
        f"Hà Nội, ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}",
        29,
        85,
        200,
        font("DejaVuSerif-Italic", page.pt(12)),
    )


def _seal(page: Page, cx: int, cy: int, text: str) -> None:
    r = page.mm(19)
    draw = page.draw
    width = max(2, page.pt(1.6))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=SEAL, width=width)
    draw.ellipse(
        (cx - r * 0.62, cy - r * 0.62, cx + r * 0.62, cy + r * 0.62), outline=SEAL, width=width // 2 + 1
    )
    fnt = font("DejaVuSans-Bold", page.pt(6.5))
    # Letters around the ring, each drawn upright: cheap, and reads as a seal at a glance.
    letters = text.upper()[:44]
    for i, ch in enumerate(letters):
        angle = math.pi * (0.85 + 1.3 * i / max(1, len(letters) - 1))
        x = cx + r * 0.8 * math.cos(angle)
        y = cy + r * 0.8 * math.sin(angle)
        draw.text((x, y), ch, font=fnt, fill=SEAL, anchor="mm")
    star = font("DejaVuSans-Bold", page.pt(20))
    draw.text((cx, cy), "★", font=star, fill=SEAL, anchor="mm")


def _signature(page: Page, x: int, y: int, rng: random.Random) -> None:
    points, px = [], x
    for _ in range(14):
        px += rng.randint(page.mm(1.5), page.mm(4))
        points.append((px, y + rng.randint(-page.mm(4), page.mm(4))))
    page.draw.line(points, fill=(20, 40, 120), width=max(2, page.pt(1.2)), joint="curve")


def render_page(doc: Document, dpi: int, rng: random.Random, page_no: int = 1, pages: int = 1) -> Image.Image:
    """One page as a clean RGB image (the scan look is applied by ``scan_look``)."""
    page = Page(dpi)
    body_font = font("DejaVuSerif", page.pt(12.5))
    if page_no == 1:
        _header(page, doc)
        y = page.center(doc.title.upper(), 44, 10, 200, font("DejaVuSerif-Bold", page.pt(15))) + page.mm(8)
        label_font = font("DejaVuSerif", page.pt(12.5))
        for label, value in doc.fields:
            y = page.paragraph(f"{label}: {value}", y, 25, 190, label_font, indent=0)
        y += page.mm(3)
        y = page.paragraph(doc.body, y, 25, 190, body_font)
        y = max(y + page.mm(12), page.mm(185))
        if pages == 1:
            _closing(page, doc, y, rng)
    else:
        page.center(
            f"(Tiếp theo trang {page_no - 1} - {doc.number_line})",
            15,
            10,
            200,
            font("DejaVuSerif-Italic", page.pt(11)),
        )
        y = page.mm(28)
        y = page.paragraph(
            "Ghi chú: " + doc.footer
            if doc.footer
            else "Văn bản này gồm nhiều trang, các trang có giá trị như nhau và được đóng dấu giáp lai.",
            y,
            25,
            190,
            body_font,
        )
        if "XÂY DỰNG" in doc.title.upper() and page_no == 2:
            _floor_plan(page, y + page.mm(10), rng)
            y += page.mm(110)
        if page_no == pages:
            _closing(page, doc, max(y + page.mm(15), page.mm(170)), rng)
    page.center(f"Trang {page_no}/{pages}", 285, 10, 200, font("DejaVuSans", page.pt(8)))
    return page.image


def _closing(page: Page, doc: Document, y: int, rng: random.Random) -> None:
    small = font("DejaVuSerif", page.pt(10.5))
    bold = font("DejaVuSerif-Bold", page.pt(12))
    page.draw.text((page.mm(20), y), "Nơi nhận:", font=font("DejaVuSerif-BoldItalic", page.pt(11)), fill=INK)
    for i, line in enumerate(["- Như trên;", "- Lưu: VT, hồ sơ."]):
        page.draw.text((page.mm(20), y + page.mm(6 + 5 * i)), line, font=small, fill=INK)
    top = y / page.dpi * 25.4
    for i, line in enumerate(doc.signer_lines):
        page.center(line, top + 6 * i, 105, 195, bold)
    sig_y = page.mm(top + 6 * len(doc.signer_lines) + 19)
    _seal(page, page.mm(132), sig_y, doc.seal_text)
    _signature(page, page.mm(138), sig_y, rng)
    page.center(doc.signer_name, top + 6 * len(doc.signer_lines) + 38, 105, 195, bold)


def _floor_plan(page: Page, y: int, rng: random.Random) -> None:
    draw, x0 = page.draw, page.mm(45)
    w, h = page.mm(rng.randint(70, 110)), page.mm(rng.randint(60, 90))
    draw.rectangle((x0, y, x0 + w, y + h), outline=INK, width=page.pt(1.5))
    for _ in range(3):
        xs = x0 + rng.randint(page.mm(15), w - page.mm(15))
        draw.line((xs, y, xs, y + h), fill=INK, width=page.pt(0.8))
    draw.text(
        (x0, y + h + page.mm(3)),
        "MẶT BẰNG TỔNG THỂ - TỶ LỆ 1/100",
        font=font("DejaVuSans", page.pt(9)),
        fill=INK,
    )


def scan_look(image: Image.Image, rng: random.Random) -> Image.Image:
    """Grey paper, grain and a slight skew, from ``rng`` only (deterministic).

    Measured at 200 dpi: bilinear rotation costs ~200 ms a page, nearest-neighbour ~20 ms and
    its slight stair-stepping looks like a scanner's deskew anyway; grain is drawn at a quarter of
    the resolution (a 4-pixel grain compresses well: ~330 KB a page at JPEG quality 72).
    """
    w, h = image.size
    noise = Image.frombytes("L", (w // 4, h // 4), rng.randbytes((w // 4) * (h // 4)))
    noise = noise.point(_GRAIN).resize((w, h), Image.Resampling.NEAREST)
    paper = 8 + rng.randint(0, 10)
    image = ImageChops.subtract(image, Image.merge("RGB", (noise, noise, noise)), offset=-paper)
    gray = 255 - paper
    return image.rotate(
        rng.uniform(-0.6, 0.6), resample=Image.Resampling.NEAREST, fillcolor=(gray, gray, gray - 6)
    )


_GRAIN = [v // 28 for v in range(256)]


def render_pages(doc: Document, dpi: int, pages: int, seed: int) -> list[Image.Image]:
    rng = random.Random(seed)
    return [scan_look(render_page(doc, dpi, rng, i + 1, pages), rng) for i in range(pages)]


def to_jpeg(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=72, dpi=(dpi, dpi))
    return buffer.getvalue()


def to_pdf(images: list[Image.Image], dpi: int, title: str = "") -> bytes:
    """Each page a JPEG drawn over the whole A4 page: resolution = pixels / inches = ``dpi``.

    The page is declared a hair smaller than pixels/dpi so that a reader dividing pixels by inches
    in floating point gets ``dpi`` and not 199.99999.
    """
    buffer = io.BytesIO()
    first, rest = images[0], images[1:]
    first.save(
        buffer,
        "PDF",
        save_all=True,
        append_images=rest,
        resolution=dpi + 0.01,
        quality=72,
        title=title,
        creationDate=PDF_DATE,
        modDate=PDF_DATE,
        producer="portal demo",
    )
    # Pillow leaves each page's encoderinfo holding the append_images list, a reference cycle
    # the cyclic GC frees late: without this, rendering 200 scans peaked at 1.2 GB instead of ~0.2.
    for image in images:
        image.encoderinfo = {}
    return buffer.getvalue()


def render(doc: Document, kind: str, dpi: int, pages: int, seed: int) -> bytes:
    """The scan's bytes: ``kind`` is "jpeg" (one page) or "pdf"."""
    images = render_pages(doc, dpi, 1 if kind == "jpeg" else pages, seed)
    return to_jpeg(images[0], dpi) if kind == "jpeg" else to_pdf(images, dpi, doc.title)
