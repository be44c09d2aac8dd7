"""The readable copy of an export: a PDF with a heading per section and each row as "field: value"
lines, in the DejaVu font the signed copies embed (Vietnamese letters). No Flask here: the view
gives the texts."""

from __future__ import annotations

import io
import json
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from portal.copy_requests.pdfcopy import BOLD, FONTS, REGULAR

#: Longest value printed as is; longer ones are cut (the JSON has them whole).
MAX_VALUE = 1500


def _fonts() -> None:
    if REGULAR not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(REGULAR, str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(BOLD, str(FONTS / "DejaVuSans-Bold.ttf")))


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE] + "…"


def render(data: dict, *, title: str, intro: str, empty: str, more: str) -> bytes:
    """The PDF of an export's ``data``; ``more`` is said under a truncated section ("{count}")."""
    _fonts()
    h1 = ParagraphStyle("h1", fontName=BOLD, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=BOLD, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=8.5, leading=11)
    item = ParagraphStyle("item", parent=body, leftIndent=4 * mm, spaceAfter=4)
    story = [Paragraph(escape(title), h1), Paragraph(escape(intro), body),
             Paragraph(escape(f"{data['schema']} · {data['generated_at']}"), body)]
    for section in data["sections"].values():
        story.append(Paragraph(escape(f"{section['title']} ({section['count']})"), h2))
        if not section["items"]:
            story.append(Paragraph(escape(empty), body))
        for row in section["items"]:
            lines = [f"<b>{escape(key)}</b>: {escape(_text(value))}" for key, value in row.items()]
            story.append(Paragraph("<br/>".join(lines), item))
        if section["truncated"]:
            story.append(Paragraph(escape(more.format(count=section["count"])), body))
    story.append(Spacer(1, 4 * mm))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=16 * mm, bottomMargin=16 * mm, invariant=1).build(story)
    return buffer.getvalue()
