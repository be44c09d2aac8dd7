"""Hostile files, made in the test that needs them (nothing large is committed): each is small on
disk and costly to whoever parses it naively."""

from __future__ import annotations

import io
import struct
import zlib

#: A content stream that draws the page's image: what a scan's page says, here said again and again.
DRAW = b"q 595 0 0 842 0 0 cm /Im0 Do Q\n"


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (1 0 obj is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _image() -> bytes:
    return _stream(b"/Type /XObject /Subtype /Image /Width 10 /Height 10 /ColorSpace /DeviceGray "
                   b"/BitsPerComponent 8 /Filter /FlateDecode", zlib.compress(b"\x80" * 100))


def page_tree_bomb(entries: int = 200, stream_bytes: int = 60_000) -> bytes:
    """The finding's PDF: a page tree of ``entries`` kids that are all the same page, whose
    content stream draws its image ``stream_bytes`` worth of times (62 KB: 28 s of CPU before)."""
    content = DRAW * (stream_bytes // len(DRAW))
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join([b"3 0 R"] * entries) + b"] /Count %d >>" % entries,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(b"", content),
        _image(),
    ])


def many_pages_pdf(pages: int) -> bytes:
    """A well-formed PDF of ``pages`` distinct pages (tiny, one shared image)."""
    first_page = 4
    kids = b" ".join(b"%d 0 R" % (first_page + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
               _image()]
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im0 3 0 R >> >> >>")
    objects += [page] * pages
    return raw_pdf(objects)


def png_bomb(width: int = 13_000, height: int = 13_000) -> bytes:
    """The finding's PNG: ``width`` × ``height`` RGBA pixels of zeros (13,000² is 676 MB decoded),
    about 0.7 MB on disk, made without ever holding the image: one compressed megabyte of zeros,
    flushed so that it stands alone, repeated; the checksum of n zero bytes is known."""
    total = height * (1 + 4 * width)  # a filter byte, then the row
    block = 1024 * 1024
    compressor = zlib.compressobj(9)
    first = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(total, block)
    tail = compressor.compress(bytes(rest)) + compressor.flush()
    adler = ((total % 65521) << 16) | 1  # adler32 of zeros: a stays 1, b counts the bytes
    idat = io.BytesIO()
    idat.write(first)
    for _ in range(whole - 1):
        idat.write(again)
    idat.write(tail[:-4] + struct.pack(">I", adler))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", idat.getvalue()) + chunk(b"IEND", b""))


def html_polyglot(pdf: bytes) -> bytes:
    """An HTML page that carries ``pdf`` in a comment (polyglot.html.pdf): a browser shows the
    page and runs its script; a lenient PDF reader finds the PDF."""
    return (b"<html><body><script>alert(document.domain)</script><!--\n" + pdf + b"\n--></body></html>\n")


def pdf_with_script_head(pdf: bytes) -> bytes:
    """A PDF that starts right, with web-page markup in a comment on its second line."""
    assert pdf.startswith(b"%PDF-")
    first, rest = pdf.split(b"\n", 1)
    return first + b"\n%<html><script>alert(document.domain)</script>\n" + rest
