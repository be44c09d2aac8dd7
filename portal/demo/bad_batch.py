"""A small batch with deliberate mistakes, for the documentation and the end-to-end tests.

``write_bad_batch(path)`` writes good lines and one line per kind of mistake the importer must
refuse, and returns {line number (1-based): field the importer should name}.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

from portal.demo import scans

#: Real Hanoi units (statistics-office codes): Phường Dịch Vọng and Quận Cầu Giấy before the reform,
#: Phường Cầu Giấy since.
_GOOD = {
    "source_id": "HN-DICHVONG-KS-2019-B00001",
    "procedure_code": "1.001193",
    "result_type_code": "KQ.H26.900001",
    "dossier_code": "000.16.05.H26-190502-0007",
    "doc_type_name": "Giấy khai sinh",
    "doc_number": "123",
    "doc_notation": None,
    "issued_date": "2019-05-14",
    "issuer_name": "Ủy ban nhân dân phường Dịch Vọng",
    "admin_unit": {"code": "00166", "level": "commune", "system": "legacy"},
    "signer": {"name": "Trần Văn Bình", "title": "Phó Chủ tịch"},
    "summary": "Đăng ký khai sinh cho Nguyễn Minh An, sinh ngày 02/05/2019 tại Bệnh viện Phụ sản Hà Nội; "
    "nơi cư trú: số 12 ngõ 34 phố Trần Thái Tông, phường Dịch Vọng, quận Cầu Giấy",
    "subject": {
        "type": "individual",
        "id_number": "001219012345",
        "name": "Nguyễn Minh An",
        "birth_date": "2019-05-02",
    },
    "valid_from": "2019-05-14",
    "valid_to": None,
    "scope": None,
    "status": "valid",
    "replaces": None,
    "access": "personal",
    "archive": {
        "fonds_code": "P00166",
        "file_code": "P00166.2019.KS.05",
        "doc_seq": 3,
        "language": "vi",
        "pages": 1,
    },
    "digitization": {
        "digitized_at": "2025-10-21T09:12:00+07:00",
        "operator": "op-17",
        "source_form": "original",
        "dpi": 200,
    },
}


def _scan(title: str, dpi: int, kind: str, seed: int) -> bytes:
    doc = scans.Document(
        authority_parent="UBND QUẬN CẦU GIẤY",
        authority="ỦY BAN NHÂN DÂN PHƯỜNG DỊCH VỌNG",
        number_line="Số: 123",
        title=title,
        fields=[("Họ, chữ đệm và tên", "Nguyễn Minh An")],
        body="Bản quét mẫu cho lô dữ liệu có lỗi / sample scan for the bad batch.",
        issued=date(2019, 5, 14),
        signer_lines=["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
        signer_name="Trần Văn Bình",
        seal_text="ỦY BAN NHÂN DÂN PHƯỜNG DỊCH VỌNG",
    )
    return scans.render(doc, kind, dpi, 1, seed)


def _low_dpi_scan() -> bytes:
    # Rendered at 150 dpi and tagged as such: the importer must refuse it as below 200 dpi.
    return _scan("Giấy khai sinh", 150, "jpeg", 7)


def write_bad_batch(path: Path) -> dict[int, str]:
    """Write the batch into ``path``; returns {line_no: field} for each line that must be refused."""
    path = Path(path)
    (path / "files").mkdir(parents=True, exist_ok=True)
    good_pdf = _scan("Giấy khai sinh", 200, "pdf", 1)
    good_jpg = _scan("Giấy chứng nhận kết hôn", 200, "jpeg", 2)
    files = {
        "files/good-1.pdf": good_pdf,
        "files/good-2.jpg": good_jpg,
        "files/low-dpi.jpg": _low_dpi_scan(),
        "files/broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        b"trailer garbage, no pages\n%%EOF\n",
    }
    for name, data in files.items():
        (path / name).write_bytes(data)
    sha = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}

    def line(n: int, file: str = "files/good-1.pdf", **changes) -> dict:
        data = copy.deepcopy(_GOOD)
        data["source_id"] = f"HN-DICHVONG-KS-2019-B{n:05d}"
        data["result_type_code"] = f"KQ.H26.9{n:05d}"
        data["doc_number"] = str(120 + n)
        data["files"] = [{"path": file, "sha256": sha[file], "role": "result"}]
        data.update(changes)
        return data

    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    marriage = dict(
        procedure_code="1.000894",
        doc_type_name="Giấy chứng nhận kết hôn",
        summary="Đăng ký kết hôn giữa anh Lê Văn Hùng, sinh năm 1990 và chị Phạm Thu Trang, "
        "sinh năm 1992; nơi cư trú: số 8 phố Duy Tân, phường Dịch Vọng Hậu, quận Cầu Giấy",
        subject={
            "type": "individual",
            "id_number": "001090023456",
            "name": "Lê Văn Hùng",
            "birth_date": "1990-08-19",
        },
    )
    current = dict(
        issued_date="2025-09-03",
        valid_from="2025-09-03",
        issuer_name="Ủy ban nhân dân phường Cầu Giấy",
        admin_unit={"code": "00166", "level": "commune", "system": "current"},
    )
    lines: list[tuple[dict, str | None]] = [
        (line(1), None),
        (line(2, "files/good-2.jpg", **marriage), None),
        (line(3, **current), None),
        (
            _with(line(4), files=[{"path": "files/good-1.pdf", "sha256": "0" * 64, "role": "result"}]),
            "files[0].sha256",
        ),
        (_without(line(5), "summary"), "summary"),
        (line(6, issued_date=tomorrow, valid_from=tomorrow), "issued_date"),
        (
            line(
                7,
                subject={
                    "type": "individual",
                    "id_number": "00108501234",
                    "name": "Nguyễn Thị Lan",
                    "birth_date": "1985-03-02",
                },
            ),
            "subject.id_number",
        ),
        (line(8, "files/low-dpi.jpg"), "files[0].path"),
        (line(9, "files/broken.pdf"), "files[0].path"),
        (line(10), None),
    ]
    expected: dict[int, str] = {}
    with open(path / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as manifest:
        for number, (data, field) in enumerate(lines, start=1):
            manifest.write(json.dumps(data, ensure_ascii=False) + "\n")
            if field:
                expected[number] = field
    return expected


def _with(data: dict, **changes) -> dict:
    data.update(changes)
    return data


def _without(data: dict, key: str) -> dict:
    data.pop(key)
    return data


__all__ = ["write_bad_batch"]
