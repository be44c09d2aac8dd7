"""PNG previews of scanned pages, rendered once and cached on disk beside the data.

A preview depends only on the file's content (its sha256), the page and the width, so the cache
path ``DATA_DIR/previews/<sha256>/<page>-<width>.png`` never goes stale and its name is the ETag.
Widths are rounded up to a few steps so that a crawler cannot fill the disk with every width.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

from portal.errors import NotFound
from portal.files.store import FileStore, replaced_atomically

log = logging.getLogger(__name__)

#: The widths we render; a requested width is rounded up to the next one (and capped at the last).
WIDTHS = (240, 480, 800)
DEFAULT_WIDTH = 480
#: PDF pages are rasterized for the largest width at most; never at the PDF's own huge scale.
_PDF_MAX_SCALE = 4.0


def snap_width(requested: int | None) -> int:
    if not requested or requested <= 0:
        return DEFAULT_WIDTH
    return next((w for w in WIDTHS if w >= requested), WIDTHS[-1])


def preview_path(data_dir: str | Path, sha256: str, page: int, width: int) -> Path:
    return Path(data_dir) / "previews" / sha256 / f"{page}-{width}.png"


def served_preview(config: Mapping, sha256: str, media_type: str, page: int,
                   requested_width: int | None) -> tuple[Path, int]:
    """The cached preview of a stored file's page and its width, as every page of scans serves it;
    NotFound (404) when the stored file is missing or cannot be rendered (logged)."""
    width = snap_width(requested_width)
    cache = preview_path(config["DATA_DIR"], sha256, page, width)
    source = FileStore.from_config(config).path_for(sha256)
    try:
        return get_preview(source, media_type, cache, page, width), width
    except (FileNotFoundError, EOFError, ValueError):
        log.warning("no preview for %s page %s", sha256, page)
        raise NotFound() from None


def get_preview(source: Path, media_type: str, cache: Path, page: int, width: int) -> Path:
    """The cached preview at ``cache``, rendering it first if needed. ``page`` starts at 1.

    Raises FileNotFoundError when the stored file is missing, ValueError when it can't be rendered.
    """
    if cache.is_file():
        return cache
    image = _render(source, media_type, page, width)
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # optimize=True: 5.2 s instead of 0.7 s for 800 px, 11 % smaller
    # Two requests may render the same page at once: each writes its own temp file, the last
    # rename wins, and a reader never sees a half-written PNG.
    with replaced_atomically(cache, suffix=".png") as out:
        out.write(buffer.getvalue())
    return cache


def _render(source: Path, media_type: str, page: int, width: int) -> Image.Image:
    if media_type == "application/pdf":
        return _render_pdf(source, page, width)
    if media_type.startswith("image/"):
        with Image.open(source) as image:
            image.seek(page - 1)  # multi-page TIFF; EOFError past the end
            image.draft("RGB", (width, width * 4))  # JPEG: decode at a reduced scale when possible
            frame = image.convert("L" if image.mode in ("1", "L", "I;16") else "RGB")
            frame.thumbnail((width, width * 4), Image.LANCZOS)
            return frame
    raise ValueError(f"no preview for {media_type}")


def _render_pdf(source: Path, page: int, width: int) -> Image.Image:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    try:
        if not 1 <= page <= len(pdf):
            raise ValueError(f"page {page} out of range")
        pdf_page = pdf[page - 1]
        try:
            points_wide = pdf_page.get_width() or 1
            scale = min(_PDF_MAX_SCALE, width / points_wide)
            bitmap = pdf_page.render(scale=scale, grayscale=False)
            try:
                return bitmap.to_pil().convert("RGB")
            finally:
                bitmap.close()
        finally:
            pdf_page.close()
    finally:
        pdf.close()


