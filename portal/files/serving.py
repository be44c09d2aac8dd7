"""Sending back a file someone uploaded (a problem report's attachment, a correction's scan), so
that no browser renders it as a page of the portal.

Always a download (``Content-Disposition: attachment``), with the media type found from the
stored bytes (never the uploaded name or type), ``nosniff``, and a CSP of its own that allows
nothing and sandboxes the document should a browser open it anyway. The download name keeps the
uploader's words but gets the extension of what the file is ("thu.html" holding a PDF is saved
as "thu.pdf", so opening the saved file does not open a web page either).
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from portal.files.inspect import HEAD, sniff

#: The CSP of an uploaded file's response: no script, no subresource, a unique origin.
UNTRUSTED_CSP = "default-src 'none'; sandbox"
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif"}
FALLBACK_NAME = "tep-dinh-kem"


def download_name(name: str | None, media_type: str) -> str:
    """``name`` without folders or control characters, ending in the extension of ``media_type``."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>').strip(" .")[:200] or FALLBACK_NAME
    extension = EXTENSIONS.get(media_type, ".bin")
    if name.lower().endswith(extension) or (extension == ".jpg" and name.lower().endswith(".jpeg")):
        return name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem or FALLBACK_NAME) + extension


def send_untrusted(path: Path, name: str | None) -> Response:
    """The stored file at ``path`` as a download that no browser renders."""
    with open(path, "rb") as handle:
        media_type = sniff(handle.read(HEAD)) or "application/octet-stream"
    response = send_file(path, mimetype=media_type, as_attachment=True,
                         download_name=download_name(name, media_type))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = UNTRUSTED_CSP  # portal.security keeps it
    return response
