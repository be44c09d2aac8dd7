"""What a file really is, from its bytes: media type, page count and lowest scan resolution,
found within explicit budgets (pages, pixels, decoded bytes, time).

The extension is never trusted, nor a file that is two things at once: a PDF starts with
``%PDF-`` at its first byte, and no accepted file has web-page markup in its first kilobyte (an
HTML page with a PDF inside is refused, not guessed at). PDFs are read with pypdf without
decoding any image (about 3 ms a file); images with Pillow, after their size in pixels is known
to fit. Anything unreadable or over a budget is refused with a reason (UnreadableFile).

This runs in the calling process and keeps its budgets by counting: pages and pixels before any
work, decoded bytes as they come, CPU time between steps. Web uploads run it in a child process
with hard limits besides (portal.files.isolated); imports run it here (see that module why).
"""

from __future__ import annotations

import math
import struct
import time
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
#: Content bytes parsed over a whole file (pypdf parses about 1 MB a second): past it, pages use
#: the page size too. A 500-page scan has about 25 KB of content; a hostile file is stopped here.
MAX_CONTENT_PARSE_PER_FILE = 512 * 1024
#: Image XObjects looked at over a whole file (a page of a scan has one).
MAX_XOBJECTS_PER_FILE = 10_000
#: Depth of a page tree (real files: 2 or 3 levels).
MAX_PAGE_TREE_DEPTH = 32
#: How many bytes of the head are checked for markup.
HEAD = 1024
#: Web-page markup that no PDF, TIFF, JPEG or PNG has in its first kilobyte. A browser that sniffs
#: (or an "open with") would render such a file as a page of our site.
MARKUP = (b"<html", b"<!doctype", b"<script", b"<body", b"<head", b"<iframe", b"<svg", b"<?xml-stylesheet")

MEDIA_TYPES = ("application/pdf", "image/tiff", "image/jpeg", "image/png")


@dataclass(frozen=True)
class FileInfo:
    media_type: str
    pages: int
    #: Lowest resolution over the pages; None when no page is a scan (born-digital PDF).
    dpi: int | None


@dataclass(frozen=True)
class Budgets:
    """What inspecting one file may cost. Config: UPLOAD_MAX_PAGES, UPLOAD_MAX_PIXELS,
    UPLOAD_MAX_FILE_PIXELS, UPLOAD_MAX_DECODED_BYTES, UPLOAD_MAX_SECONDS, UPLOAD_MAX_MEMORY_MB."""

    max_pages: int = 500
    #: Pixels of one image (a 600 dpi A3 scan is 70 million).
    max_pixels: int = 100_000_000
    #: Pixels of all the images of one file together.
    max_file_pixels: int = 5_000_000_000
    #: Bytes decoded: an image's pixels in memory, a PDF's content streams.
    max_decoded_bytes: int = 512 * 1024 * 1024
    #: CPU seconds of one inspection.
    max_seconds: float = 3.0
    #: Memory of the child process that inspects a web upload (portal.files.isolated).
    max_memory_mb: int = 1024

    @classmethod
    def from_config(cls, config) -> Budgets:
        return cls(max_pages=int(config["UPLOAD_MAX_PAGES"]), max_pixels=int(config["UPLOAD_MAX_PIXELS"]),
                   max_file_pixels=int(config["UPLOAD_MAX_FILE_PIXELS"]),
                   max_decoded_bytes=int(config["UPLOAD_MAX_DECODED_BYTES"]),
                   max_seconds=float(config["UPLOAD_MAX_SECONDS"]),
                   max_memory_mb=int(config["UPLOAD_MAX_MEMORY_MB"]))


class UnreadableFile(Exception):
    """The file is not a readable PDF, TIFF, JPEG or PNG, or is over a budget. ``code`` names why;
    ``vi`` and ``en`` say it to a person (with the budget's numbers)."""

    def __init__(self, code: str, vi: str, en: str):
        super().__init__(en)
        self.code, self.vi, self.en = code, vi, en

    #: Codes of a file that may be sound but costs more than allowed to check.
    BUDGET_CODES = frozenset({"too_many_pages", "too_many_pixels", "too_much_data", "too_slow", "too_complex",
                              "page_tree"})

    @property
    def over_budget(self) -> bool:
        return self.code in self.BUDGET_CODES

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.vi


def _vi_number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def _en_number(value: float) -> str:
    return f"{value:,.0f}"


def too_many_pages(pages: int | None, limit: int) -> UnreadableFile:
    vi_max, en_max = _vi_number(limit), _en_number(limit)
    if pages is None:
        return UnreadableFile("too_many_pages", f"Tệp có hơn {vi_max} trang, tối đa {vi_max} trang",
                              f"the file has more than {en_max} pages, at most {en_max}")
    return UnreadableFile("too_many_pages", f"Tệp có {_vi_number(pages)} trang, tối đa {vi_max} trang",
                          f"the file has {_en_number(pages)} pages, at most {en_max}")


def too_many_pixels(pixels: int, limit: int, *, whole_file: bool = False) -> UnreadableFile:
    mpx, max_mpx = math.ceil(pixels / 1e6), limit // 1_000_000
    if whole_file:
        return UnreadableFile(
            "too_many_pixels",
            f"Các ảnh trong tệp có tổng cộng {_vi_number(mpx)} triệu điểm ảnh, "
            f"vượt quá {_vi_number(max_mpx)} triệu",
            f"the images of the file have {_en_number(mpx)} million pixels in all, "
            f"more than {_en_number(max_mpx)} million")
    return UnreadableFile(
        "too_many_pixels",
        f"Ảnh có {_vi_number(mpx)} triệu điểm ảnh, vượt quá {_vi_number(max_mpx)} triệu điểm ảnh cho một ảnh",
        f"an image has {_en_number(mpx)} million pixels, more than the {_en_number(max_mpx)} million allowed")


def too_much_data(limit: int) -> UnreadableFile:
    mb = limit // (1024 * 1024)
    return UnreadableFile("too_much_data",
                          f"Tệp giải nén ra hơn {_vi_number(mb)} MB dữ liệu, vượt quá giới hạn",
                          f"the file unpacks to more than {_en_number(mb)} MB")


def too_slow(seconds: float) -> UnreadableFile:
    return UnreadableFile(
        "too_slow", f"Tệp quá phức tạp để kiểm tra trong thời gian cho phép ({seconds:g} giây)",
        f"the file is too complex to check in the time allowed ({seconds:g} s)")


def too_complex(memory_mb: int) -> UnreadableFile:
    return UnreadableFile(
        "too_complex", f"Tệp quá phức tạp để kiểm tra: cần hơn {_vi_number(memory_mb)} MB bộ nhớ",
        f"the file is too complex to check: it needs more than {_en_number(memory_mb)} MB of memory")


def _page_tree(detail_vi: str, detail_en: str) -> UnreadableFile:
    return UnreadableFile("page_tree", f"Danh sách trang của tệp PDF không hợp lệ ({detail_vi})",
                          f"the PDF's page tree is not valid ({detail_en})")


class Meter:
    """The budgets of one inspection, spent as it goes."""

    def __init__(self, budgets: Budgets):
        self.budgets = budgets
        self._started = time.thread_time()
        self.decoded = 0
        self.pixels = 0
        self.parsed = 0
        self.xobjects = 0

    def tick(self) -> None:
        """Between steps: refuse once the CPU time is spent (thread time: a busy machine does not
        make a file too slow, only the file's own work does)."""
        if time.thread_time() - self._started > self.budgets.max_seconds:
            raise too_slow(self.budgets.max_seconds)

    def decode(self, size: int) -> None:
        self.decoded += size
        if self.decoded > self.budgets.max_decoded_bytes:
            raise too_much_data(self.budgets.max_decoded_bytes)

    def image(self, width: int, height: int, *, count: bool = True) -> None:
        """An image of the file, before it is decoded (if it is); ``count`` False only checks
        the size of one image (a PNG's header, before Pillow counts its frames)."""
        pixels = max(0, int(width)) * max(0, int(height))
        if pixels > self.budgets.max_pixels:
            raise too_many_pixels(pixels, self.budgets.max_pixels)
        if count:
            self.pixels += pixels
            if self.pixels > self.budgets.max_file_pixels:
                raise too_many_pixels(self.pixels, self.budgets.max_file_pixels, whole_file=True)


def has_markup(head: bytes) -> bool:
    lowered = head[:HEAD].lower()
    return any(marker in lowered for marker in MARKUP)


def sniff(head: bytes) -> str | None:
    """Media type from the first bytes, or None: unknown, or a polyglot (markup in the head).

    PDF readers accept junk before the header; we do not: ISO 32000 puts the header on the first
    line, and "junk" before it is how an HTML page carries a PDF (a polyglot).
    """
    if has_markup(head):
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_head(head: bytes) -> str:
    """The media type of a file starting with ``head``; raises UnreadableFile (unknown_type,
    polyglot). The cheap check, before anything is parsed."""
    media_type = sniff(head)
    if media_type is not None:
        return media_type
    if has_markup(head):
        raise UnreadableFile("polyglot",
                             "Tệp chứa mã trang web (HTML), không phải tệp PDF, TIFF, JPEG hay PNG",
                             "the file contains web-page markup (HTML), not a PDF, TIFF, JPEG or PNG file")
    raise UnreadableFile("unknown_type", "Không phải tệp PDF, TIFF, JPEG hay PNG",
                         "not a PDF, TIFF, JPEG or PNG file")


def inspect_file(path: Path, budgets: Budgets | None = None) -> FileInfo:
    """Raises UnreadableFile, also when the file is over a budget (default budgets if None)."""
    meter = Meter(budgets or Budgets())
    with open(path, "rb") as handle:
        media_type = check_head(handle.read(HEAD))
        handle.seek(0)
        if media_type == "application/pdf":
            return _inspect_pdf(handle, meter)
        return _inspect_image(handle, media_type, meter)


def _corrupt(media: str, error: Exception) -> UnreadableFile:
    detail = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    return UnreadableFile(
        "corrupt",
        f"Tệp {media} bị hỏng hoặc không đọc được ({detail})",
        f"corrupt or unreadable {media} file ({detail})",
    )


# --- PDF -------------------------------------------------------------------------------------


def _inspect_pdf(handle, meter: Meter) -> FileInfo:
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(handle, strict=False)
            if reader.is_encrypted:
                raise UnreadableFile(
                    "encrypted", "Tệp PDF được mã hóa, không đọc được", "the PDF is encrypted"
                )
            pages = count_pages(reader, meter)
            if pages == 0:
                raise UnreadableFile("no_pages", "Tệp PDF không có trang nào", "the PDF has no pages")
            dpis = []
            for page in reader.pages:  # each page once: count_pages refused a page listed twice
                meter.tick()
                dpis.append(_page_dpi(page, meter))
    except (UnreadableFile, MemoryError):
        raise
    except Exception as error:  # pypdf raises many types on broken files; all mean "unreadable"
        raise _corrupt("PDF", error) from error
    scanned = [dpi for dpi in dpis if dpi is not None]
    return FileInfo("application/pdf", pages, min(scanned) if scanned else None)


def count_pages(reader, meter: Meter) -> int:
    """The pages of the page tree, walked without trusting it: a node (page or branch) listed
    twice, a loop, a tree deeper than MAX_PAGE_TREE_DEPTH or more pages than the budget is
    refused before any page is read (one page listed 200 times made 200 pages to parse)."""
    from pypdf.generic import DictionaryObject, IndirectObject

    limit = meter.budgets.max_pages
    root = reader.trailer["/Root"].get_object()
    top = root.raw_get("/Pages") if isinstance(root, DictionaryObject) and "/Pages" in root else None
    if top is None:
        raise _page_tree("không có", "missing")
    seen: set[object] = set()
    pages = 0
    stack = [(top, 0)]
    while stack:
        ref, depth = stack.pop()
        key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else id(ref)
        if key in seen:
            raise _page_tree("một trang hoặc nhánh được liệt kê nhiều lần",
                             "a page or branch is listed more than once")
        seen.add(key)
        if len(seen) > 2 * limit + 100:  # branches without pages cost too
            raise too_many_pages(None, limit)
        node = ref.get_object()
        if not isinstance(node, DictionaryObject):
            raise _page_tree("nút không phải từ điển", "a node is not a dictionary")
        kids = node.get("/Kids")
        if node.get("/Type") == "/Pages" or kids is not None:
            if depth >= MAX_PAGE_TREE_DEPTH:
                raise _page_tree("quá nhiều tầng", "too deep")
            children = list(kids.get_object()) if kids is not None else []
            stack.extend((kid, depth + 1) for kid in reversed(children))
        else:
            pages += 1
            if pages > limit:
                declared = top.get_object().get("/Count")
                declared = int(declared) if isinstance(declared, int) and declared > limit else None
                raise too_many_pages(declared, limit)
        if len(seen) % 64 == 0:
            meter.tick()
    return pages


def _page_dpi(page, meter: Meter) -> int | None:
    """Resolution of the page's scan: its largest image, over the size it is drawn at."""
    from pypdf.generic import ContentStream

    images = _image_xobjects(page.get("/Resources"), meter)
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
    meter.decode(len(data))
    if 0 < len(data) <= MAX_CONTENT_PARSE and meter.parsed + len(data) <= MAX_CONTENT_PARSE_PER_FILE:
        meter.parsed += len(data)
        ctm_stack: list[tuple[float, ...]] = []
        ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        for count, (operands, operator) in enumerate(ContentStream(contents, page.pdf).operations):
            if count % 1024 == 0:
                meter.tick()
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


def _image_xobjects(resources, meter: Meter, depth: int = 0) -> dict[str, tuple[int, int]]:
    """Name → pixel size of the image XObjects a page (or a form inside it) can draw. Each image
    counts against the pixel budgets (not decoded: a PDF's images are never decoded here)."""
    found: dict[str, tuple[int, int]] = {}
    if resources is None or depth > 3:
        return found
    resources = resources.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return found
    for name, ref in xobjects.get_object().items():
        meter.xobjects += 1
        if meter.xobjects > MAX_XOBJECTS_PER_FILE:
            raise too_slow(meter.budgets.max_seconds)
        obj = ref.get_object()
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            size = (int(obj.get("/Width", 0)), int(obj.get("/Height", 0)))
            meter.image(*size)
            found[str(name)] = size
        elif subtype == "/Form":
            # Images inside a form: their drawn size isn't tracked, the page size stands in.
            for inner, size in _image_xobjects(obj.get("/Resources"), meter, depth + 1).items():
                found[f"{name}{inner}"] = size
    return {name: size for name, size in found.items() if size[0] > 0 and size[1] > 0}


# --- Images ----------------------------------------------------------------------------------

#: Bytes per pixel of Pillow's image modes in memory (RGB is stored as 4).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 4, "PA": 4, "RGB": 4, "RGBA": 4, "CMYK": 4,
               "YCbCr": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}


def png_size(head: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk (IHDR, which must come first)."""
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise UnreadableFile("corrupt", "Tệp PNG bị hỏng hoặc không đọc được (thiếu IHDR)",
                             "corrupt or unreadable PNG file (no IHDR)")
    return struct.unpack(">II", head[16:24])


def _inspect_image(handle, media_type: str, meter: Meter) -> FileInfo:
    from PIL import Image

    label = media_type.split("/")[1].upper()
    if media_type == "image/png":
        # Before Pillow reads anything: a PNG of 13,000 × 13,000 pixels is 700 KB of zeros.
        meter.image(*png_size(handle.read(24)), count=False)
        handle.seek(0)
    # Pillow's own bomb check at our budget, as an error: the warning is never silenced.
    Image.MAX_IMAGE_PIXELS = meter.budgets.max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(handle) as image:
                dpis = []
                frame = 0
                while True:
                    meter.tick()
                    meter.image(image.width, image.height)
                    dpis.append(_image_dpi(image))
                    frame += 1
                    if frame > meter.budgets.max_pages:
                        raise too_many_pages(None, meter.budgets.max_pages)
                    try:
                        image.seek(frame)
                    except EOFError:
                        break
                image.seek(0)
                if media_type == "image/jpeg":
                    image.draft("L", (image.width // 8 or 1, image.height // 8 or 1))
                meter.decode(image.width * image.height * _MODE_BYTES.get(image.mode, 4))
                # Decode for real: a truncated or damaged file fails here, not when a citizen opens it.
                image.load()
    except (UnreadableFile, MemoryError):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise too_many_pixels(_bomb_pixels(error), meter.budgets.max_pixels) from error
    except Exception as error:
        raise _corrupt(label, error) from error
    return FileInfo(media_type, len(dpis), min(dpis))


def _bomb_pixels(error: Exception) -> int:
    digits = [int(word) for word in str(error).replace(",", " ").split() if word.isdigit()]
    return digits[0] if digits else 0


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
