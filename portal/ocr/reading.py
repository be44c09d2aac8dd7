"""Reading the words off one stored file: a PDF page's text layer directly, page images with Tesseract.

Tesseract is Debian's binary and Vietnamese model (`tesseract-ocr`, `tesseract-ocr-vie`), driven
through pytesseract, one process per page. Chosen over tesserocr (in process, its PyPI wheel
bundles its own libtesseract): a page past OCR_PAGE_TIMEOUT_SECONDS is killed, which no call into
a library can be, and an engine crash costs one page, not the worker. It costs ~0.06 s a page of
process start and model load (0.56 against 0.50 s on a 200-dpi demo page, docs/ocr.md).

Pure: no database, no app. Files reach here only once imports stored them (they passed the upload
budgets); still, pages per file and seconds per page are bounded (`Budgets`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

#: A PDF page whose text layer has fewer letters and digits than this is read as an image: a scan
#: with a stray page number or an empty layer is not a text layer.
MIN_LAYER_CHARS = 16
#: A PDF page is rendered for OCR at OCR_DPI, but never larger than this many pixels a side (an A0
#: drawing at 300 dpi would be 14,000): A4 at 300 dpi is 2,480 × 3,508.
MAX_RENDER_SIDE = 7000


@dataclass(frozen=True)
class Budgets:
    lang: str = "vie"
    #: Highest resolution PDF pages are rendered at for OCR: a page scanned at 200 dpi is rendered
    #: at 200 (1.5 × faster than at 300, the same CER on the demo scans); images are read as they are.
    dpi: int = 300
    page_timeout: float = 60.0
    max_pages: int = 50

    @classmethod
    def from_config(cls, config) -> Budgets:
        return cls(lang=config["OCR_LANG"], dpi=config["OCR_DPI"],
                   page_timeout=config["OCR_PAGE_TIMEOUT_SECONDS"], max_pages=config["OCR_MAX_PAGES"])


@dataclass
class Reading:
    text: str
    #: "text-layer" (every page read had one), "ocr" (none had), "mixed".
    method: str
    #: "tesseract 5.3.0 vie" when any page went through OCR, else "pdfium".
    engine: str
    pages: int
    seconds: float
    #: Pages left out: past the limit, or a page Tesseract gave up on (the rest is still read).
    notes: list[str] = field(default_factory=list)


class EngineMissing(RuntimeError):
    """Tesseract or its language model is not installed: a fault of the machine, not of the file,
    so nothing is marked failed and the work stays pending."""


class Unreadable(Exception):
    """The file can't be read at all (every page failed, or it won't open): the reason is kept."""


@functools.cache
def engine_version(lang: str) -> str:
    """``tesseract 5.3.0 vie``; raises EngineMissing when the binary or the ``lang`` model is absent."""
    import pytesseract

    try:
        version = pytesseract.get_tesseract_version()
        languages = pytesseract.get_languages()
    except pytesseract.TesseractNotFoundError as error:
        raise EngineMissing("tesseract is not installed: apt-get install tesseract-ocr tesseract-ocr-vie") \
            from error
    if lang not in languages:
        raise EngineMissing(f"Tesseract has no {lang!r} model: apt-get install tesseract-ocr-{lang}")
    return f"tesseract {version} {lang}"


def ocr_image(image: Image.Image, budgets: Budgets) -> str:
    """Tesseract's reading of one page image. Raises TimeoutError past the page budget."""
    import pytesseract

    # One thread per Tesseract: its OpenMP threads made a page 3 × slower on 2 cores (1.65 s
    # against 0.56 s, docs/ocr.md). pytesseract passes our environment to the process it starts.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    gray = image if image.mode == "L" else image.convert("L")  # grey: ~20 % faster, same words
    try:
        return pytesseract.image_to_string(gray, lang=budgets.lang, timeout=budgets.page_timeout)
    except RuntimeError as error:  # pytesseract's way of saying it killed the process
        if "timeout" in str(error).lower():
            raise TimeoutError(f"Tesseract took longer than {budgets.page_timeout:g} s") from error
        raise


def read_file(path: Path, media_type: str, budgets: Budgets, dpi: int | None = None) -> Reading:
    """Every page's text, in order, at most ``budgets.max_pages`` pages. ``dpi``: the scan's own
    resolution (`Document.dpi`, measured at import), if known: PDF pages are rendered at it, at most
    at ``budgets.dpi``.

    Raises EngineMissing (install Tesseract), Unreadable (the file), FileNotFoundError (the store).
    """
    started = time.perf_counter()
    if not path.is_file():
        raise FileNotFoundError(path)
    texts: list[str] = []
    notes: list[str] = []
    layer = ocr = 0
    engine = "pdfium"
    total = 0
    try:
        for number, (text, image) in enumerate(_pages(path, media_type, budgets, dpi), start=1):
            total = number
            if text is not None:
                texts.append(text)
                layer += 1
                continue
            engine = engine_version(budgets.lang)
            try:
                texts.append(ocr_image(image, budgets))
                ocr += 1
            except TimeoutError as error:
                notes.append(f"page {number}: {error}")
            except Exception as error:  # noqa: BLE001 - pytesseract.TesseractError: this page only
                notes.append(f"page {number}: {str(error)[:120]}")
            finally:
                image.close()
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as error:
        raise Unreadable(f"unreadable {media_type}: {str(error)[:200]}") from error
    if total and not (layer or ocr):
        raise Unreadable("; ".join(notes)[:300] or "no page could be read")
    if total >= budgets.max_pages:
        pages = _page_count(path, media_type)
        if pages > budgets.max_pages:
            notes.append(f"pages {budgets.max_pages + 1}–{pages} not read (OCR_MAX_PAGES)")
    method = "text-layer" if not ocr else ("ocr" if not layer else "mixed")
    return Reading(text="\n\f".join(t.strip() for t in texts).strip(), method=method, engine=engine,
                   pages=layer + ocr, seconds=time.perf_counter() - started, notes=notes)


def _pages(path: Path, media_type: str, budgets: Budgets,
           dpi: int | None) -> Iterator[tuple[str | None, Image.Image | None]]:
    """(text layer, None) or (None, page image) for each page, at most budgets.max_pages."""
    if media_type == "application/pdf":
        yield from _pdf_pages(path, budgets, min(budgets.dpi, dpi or budgets.dpi))
    elif media_type.startswith("image/"):
        yield from _image_pages(path, budgets)
    else:
        raise ValueError(f"no reader for {media_type}")


def _pdf_pages(path: Path, budgets: Budgets, dpi: int) -> Iterator[tuple[str | None, Image.Image | None]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise ValueError(str(error)) from error
    try:
        for index in range(min(len(pdf), budgets.max_pages)):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_bounded()
                finally:
                    textpage.close()
                if sum(ch.isalnum() for ch in text) >= MIN_LAYER_CHARS:
                    yield text.replace("\r\n", "\n"), None
                    continue
                width, height = page.get_size()
                scale = min(dpi / 72, MAX_RENDER_SIDE / max(width, height, 1))
                bitmap = page.render(scale=scale, grayscale=True)
                try:
                    image = bitmap.to_pil().convert("L")
                finally:
                    bitmap.close()
            finally:
                page.close()
            yield None, image
    finally:
        pdf.close()


def _image_pages(path: Path, budgets: Budgets) -> Iterator[tuple[str | None, Image.Image | None]]:
    with Image.open(path) as image:
        for index in range(min(getattr(image, "n_frames", 1), budgets.max_pages)):
            image.seek(index)  # multi-page TIFF
            yield None, image.convert("L")


def _page_count(path: Path, media_type: str) -> int:
    if media_type == "application/pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            return len(pdf)
        finally:
            pdf.close()
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)
