"""What a file really is, from its bytes: media type, page count and lowest scan resolution.

The extension is never trusted. PDFs are read with pypdf without decoding any image (about
3 ms a file); images with Pillow. Anything that cannot be read is refused with a reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

#: A4 in inches (short side, long side): the page size assumed for an image without a dpi tag.
A4_INCHES = (8.27, 11.69)
#: An image covering less of its page than this is a logo or stamp on a born-digital page,
#: not a scan of the page: its resolution says nothing about the scan quality.
SCAN_MIN_COVERAGE = 0.25
#: Content streams longer than this are not parsed for drawn sizes (born-digital pages with a lot
#: of text); the page size is used instead. Scanned pages have content streams of a few bytes.
MAX_CONTENT_PARSE = 64 * 1024

MEDIA_TYPES = ("application/pdf", "image/tiff", "image/jpeg", "image/png")


@dataclass(frozen=True)
class FileInfo:
    media_type: str
    pages: int
    #: Lowest resolution over the pages; None when no page is a scan (born-digital PDF).
    dpi: int | None


class UnreadableFile(Exception):
    """The file is not a readable PDF, TIFF, JPEG or PNG. ``code`` names why."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en


def sniff(head: bytes) -> str | None:
    """Media type from the first bytes. PDF readers accept junk before the header, so do we."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    return None


def inspect_file(path: Path) -> FileInfo:
    """Raises UnreadableFile."""
    with open(path, "rb") as handle:
        head = handle.read(1024)
        media_type = sniff(head)
        if media_type is None:
            raise UnreadableFile(
                "unknown_type", "Không phải tệp PDF, TIFF, JPEG hay PNG", "not a PDF, TIFF, JPEG or PNG file"
            )
        handle.seek(0)
        if media_type == "application/pdf":
            return _inspect_pdf(handle)
        return _inspect_image(handle, media_type)


def _corrupt(media: str, error: Exception) -> UnreadableFile:
    detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    return UnreadableFile(
        "corrupt",
        f"Tệp {media} bị hỏng hoặc không đọc được ({detail})",
        f"corrupt or unreadable {media} file ({detail})",
    )


# --- PDF -------------------------------------------------------------------------------------


def _inspect_pdf(handle) -> FileInfo:
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(handle, strict=False)
            if reader.is_encrypted:
                raise UnreadableFile(
                    "encrypted", "Tệp PDF được mã hóa, không đọc được", "the PDF is encrypted"
                )
            pages = len(reader.pages)
            if pages == 0:
                raise UnreadableFile("no_pages", "Tệp PDF không có trang nào", "the PDF has no pages")
            dpis = [_page_dpi(page) for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as error:  # pypdf raises many types on broken files; all mean "unreadable"
        raise _corrupt("PDF", error) from error
    scanned = [dpi for dpi in dpis if dpi is not None]
    return FileInfo("application/pdf", pages, min(scanned) if scanned else None)


def _page_dpi(page) -> int | None:
    """Resolution of the page's scan: its largest image, over the size it is drawn at."""
    from pypdf.generic import ContentStream

    images = _image_xobjects(page.get("/Resources"))
    if not images:
        return None
    box = page.mediabox
    unit = float(page.get("/UserUnit", 1) or 1)
    page_w, page_h = float(box.width) * unit, float(box.height) * unit
    if page_w <= 0 or page_h <= 0:
        return None

    drawn: list[tuple[float, float, float, float]] = []  # (px_w, px_h, pt_w, pt_h)
    contents = page.get_contents()
    data = contents.get_data() if contents is not None else b""
    if images and 0 < len(data) <= MAX_CONTENT_PARSE:
        ctm_stack: list[tuple[float, ...]] = []
        ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        for operands, operator in ContentStream(contents, page.pdf).operations:
            if operator == b"q":
                ctm_stack.append(ctm)
            elif operator == b"Q":
                ctm = ctm_stack.pop() if ctm_stack else ctm
            elif operator == b"cm" and len(operands) == 6:
                ctm = _multiply(tuple(float(x) for x in operands), ctm)
            elif operator == b"Do" and operands and str(operands[0]) in images:
                px_w, px_h = images[str(operands[0])]
                pt_w = math.hypot(ctm[0], ctm[1]) * unit
                pt_h = math.hypot(ctm[2], ctm[3]) * unit
                if pt_w > 0 and pt_h > 0:
                    drawn.append((px_w, px_h, pt_w, pt_h))
    if not drawn:
        # Drawn size unknown: assume the largest image fills the page, in the same orientation.
        px_w, px_h = max(images.values(), key=lambda size: size[0] * size[1])
        if (px_w > px_h) != (page_w > page_h):
            page_w, page_h = page_h, page_w
        drawn.append((px_w, px_h, page_w, page_h))

    px_w, px_h, pt_w, pt_h = max(drawn, key=lambda d: d[2] * d[3])
    if pt_w * pt_h < SCAN_MIN_COVERAGE * page_w * page_h:
        return None
    return round(min(px_w / (pt_w / 72), px_h / (pt_h / 72)))


def _multiply(m: tuple[float, ...], n: tuple[float, ...]) -> tuple[float, ...]:
    """m × n for PDF matrices [a b c d e f] (``cm`` pre-multiplies the current matrix)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _image_xobjects(resources, depth: int = 0) -> dict[str, tuple[int, int]]:
    """Name → pixel size of the image XObjects a page (or a form inside it) can draw."""
    found: dict[str, tuple[int, int]] = {}
    if resources is None or depth > 3:
        return found
    resources = resources.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return found
    for name, ref in xobjects.get_object().items():
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            found[str(name)] = (int(obj.get("/Width", 0)), int(obj.get("/Height", 0)))
        elif subtype == "/Form":
            # Images inside a form: their drawn size isn't tracked, the page size stands in.
            for inner, size in _image_xobjects(obj.get("/Resources"), depth + 1).items():
                found[f"{name}{inner}"] = size
    return {name: size for name, size in found.items() if size[0] > 0 and size[1] > 0}


# --- Images ----------------------------------------------------------------------------------


def _inspect_image(handle, media_type: str) -> FileInfo:
    from PIL import Image

    label = media_type.split("/")[1].upper()
    try:
        with warnings.catch_warnings():
            # Large scans trip Pillow's decompression-bomb warning; the hard limit still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                pages = getattr(image, "n_frames", 1)
                dpis = []
                for frame in range(pages):
                    if frame:
                        image.seek(frame)
                    dpis.append(_image_dpi(image))
                image.seek(0)
                if media_type == "image/jpeg":
                    image.draft("L", (image.width // 8 or 1, image.height // 8 or 1))
                # Decode for real: a truncated or damaged file fails here, not when a citizen opens it.
                image.load()
    except Exception as error:
        raise _corrupt(label, error) from error
    if pages == 0:
        raise UnreadableFile("no_pages", "Tệp ảnh không có trang nào", "the image has no pages")
    return FileInfo(media_type, pages, min(dpis))


def _image_dpi(image) -> int:
    dpi = image.info.get("dpi")
    try:
        x, y = (float(dpi[0]), float(dpi[1])) if dpi else (0.0, 0.0)
    except (TypeError, ValueError, IndexError):
        x = y = 0.0
    # Many scanners write 1 or 72 as "unknown"; 72 is also a real (too low) value, so only 0/1 are
    # treated as missing.
    if x > 1 and y > 1:
        return round(min(x, y))
    short_px, long_px = sorted(image.size)
    return round(min(short_px / A4_INCHES[0], long_px / A4_INCHES[1]))
