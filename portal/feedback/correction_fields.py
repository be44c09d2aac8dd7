"""The fields of a result a clerk may correct, and how pages and mails name them and show values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal.records.labels import status_label


@dataclass(frozen=True)
class EditableField:
    label: Any  # a lazy string
    #: Vietnamese label for mails (rendered outside any request).
    label_vi: str
    kind: str  # "text", "date", "status", "file"
    required: bool = False
    max_length: int = 0


#: The fields a clerk may correct, in the order of the form.
EDITABLE_FIELDS: dict[str, EditableField] = {
    "holder_name": EditableField(_l("Holder"), "Người được cấp", "text", True, 200),
    "doc_number": EditableField(_l("Document number"), "Số văn bản", "text", True, 11),
    "doc_notation": EditableField(_l("Notation"), "Ký hiệu", "text", False, 30),
    "issued_date": EditableField(_l("Issued on"), "Ngày cấp", "date", True),
    "valid_from": EditableField(_l("Valid from"), "Hiệu lực từ ngày", "date", True),
    "valid_to": EditableField(_l("Valid until"), "Hiệu lực đến ngày", "date", False),
    "signer_name": EditableField(_l("Signed by"), "Người ký", "text", False, 120),
    "signer_title": EditableField(_l("Signer's title"), "Chức vụ người ký", "text", False, 120),
    "summary": EditableField(_l("Summary"), "Trích yếu", "text", True, 500),
    "status": EditableField(_l("Status"), "Tình trạng hiệu lực", "status", True),
    "scan": EditableField(_l("Scanned pages"), "Bản quét", "file"),
}


def field_label(name: str) -> str:
    spec = EDITABLE_FIELDS.get(name)
    return str(spec.label) if spec else name


def field_label_vi(name: str) -> str:
    spec = EDITABLE_FIELDS.get(name)
    return spec.label_vi if spec else name


def display_value(name: str, value: Any) -> str:
    """A value of ``before``/``after`` as the pages show it: dates dd/mm/yyyy, statuses by name."""
    spec = EDITABLE_FIELDS.get(name)
    if value is None or value == "":
        return "—"
    if spec is not None and spec.kind == "date":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except (TypeError, ValueError):
            return str(value)
    if spec is not None and spec.kind == "status":
        return status_label(value)
    if spec is not None and spec.kind == "file" and isinstance(value, list):
        return ngettext("%(num)s file", "%(num)s files", len(value))
    return str(value)
