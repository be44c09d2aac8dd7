"""Small, clean page images with known Vietnamese words, for real Tesseract runs (~0.2 s a page).

A plain module (not conftest.py) so test modules can import the builders by name.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from portal.demo.scans import font


def text_png(lines: list[str], dpi: int = 300) -> bytes:
    """A white strip with ``lines`` in the demo scans' serif at about 12 pt: what a scanner gives of
    a printed line at ``dpi``, without the noise (the benchmark measures noisy demo pages)."""
    size = round(12 / 72 * dpi)
    face = font("DejaVuSerif", size)
    width = max(round(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(line, font=face)) for line in lines)
    image = Image.new("L", (width + 2 * size, (len(lines) + 1) * round(size * 1.6)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((size, round(size * 0.8) + index * round(size * 1.6)), line, font=face, fill=20)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi))
    return buffer.getvalue()
