"""Write a demo batch folder in exactly the import format v1 (shared/spec/import-batch.md).

``manifest.jsonl`` is streamed line by line and ``files/`` filled as lines are generated, so a
million lines need no more memory than a hundred. The first ``unique_scans`` results get a scan
rendered with their own details; the others point at a small pool of generic scans, one per
document type and format (the same bytes, stored once by the content-addressed store).

The folder is written under a temporary name and renamed when complete, with ``demo-params.json``
recording how it was made: a folder with the same parameters is reused as is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from portal.demo import scans
from portal.demo.generator import DEFAULT_AS_OF, DemoResult, Generator, UnitCatalog, ascii_key, vn_date

PARAMS_FILE = "demo-params.json"
#: Bump when the generator's output changes, so old folders are not reused.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BatchParams:
    results: int
    seed: int
    unique_scans: int
    as_of: str
    version: int = FORMAT_VERSION


@dataclass
class WriteStats:
    lines: int = 0
    files: int = 0
    rendered_pages: int = 0
    render_seconds: float = 0.0
    seconds: float = 0.0
    reused: bool = False

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0

    @property
    def lines_per_second_without_rendering(self) -> float:
        spent = self.seconds - self.render_seconds
        return self.lines / spent if spent > 0 else 0.0

    @property
    def ms_per_page(self) -> float:
        return 1000 * self.render_seconds / self.rendered_pages if self.rendered_pages else 0.0


def default_as_of() -> date:
    return min(date.today(), DEFAULT_AS_OF)


def is_complete(folder: Path, params: BatchParams) -> bool:
    marker = folder / PARAMS_FILE
    try:
        return json.loads(marker.read_text(encoding="utf-8")) == asdict(params)
    except (OSError, ValueError):
        return False


def write_batch(
    folder: Path,
    units: UnitCatalog,
    results: int,
    seed: int = 1,
    unique_scans: int | None = None,
    as_of: date | None = None,
    progress: Callable[[int], None] | None = None,
    reuse: bool = True,
) -> WriteStats:
    """Write the batch into ``folder`` (replacing anything else there); returns timings."""
    as_of = as_of or default_as_of()
    unique_scans = min(results, 200) if unique_scans is None else max(0, unique_scans)
    params = BatchParams(results, seed, unique_scans, as_of.isoformat())
    folder = Path(folder)
    if reuse and is_complete(folder, params):
        return WriteStats(lines=results, reused=True)

    started = time.perf_counter()
    work = folder.with_name(folder.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    (work / "files" / "results").mkdir(parents=True)
    (work / "files" / "pool").mkdir()
    stats = WriteStats()
    pool: dict[tuple[str, str], tuple[str, str]] = {}
    generator = Generator(seed, units, as_of)
    with open(work / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as manifest:
        for result in generator.generate(results):
            line = result.line
            if result.seq <= unique_scans:
                path, digest = _write_unique(work, result, stats)
            else:
                key = (line["doc_type_name"], result.scan.kind)
                if key not in pool:
                    pool[key] = _write_pooled(work, result, len(pool) + 1, stats)
                path, digest = pool[key]
                # The pooled scans are one page at 200 dpi: the line says what the file is.
                line["archive"]["pages"] = 1
                line["digitization"]["dpi"] = 200
            line["files"] = [{"path": path, "sha256": digest, "role": "result"}]
            manifest.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
            manifest.write("\n")
            stats.lines += 1
            if progress and stats.lines % 1000 == 0:
                progress(stats.lines)
    (work / PARAMS_FILE).write_text(json.dumps(asdict(params)), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(work, folder)
    stats.seconds = time.perf_counter() - started
    return stats


def _write_file(work: Path, relative: str, data: bytes, stats: WriteStats) -> tuple[str, str]:
    (work / relative).write_bytes(data)
    stats.files += 1
    return relative, hashlib.sha256(data).hexdigest()


def _write_unique(work: Path, result: DemoResult, stats: WriteStats) -> tuple[str, str]:
    spec = result.scan
    began = time.perf_counter()
    data = scans.render(document_for(result), spec.kind, spec.dpi, spec.pages, seed=result.seq)
    stats.render_seconds += time.perf_counter() - began
    stats.rendered_pages += 1 if spec.kind == "jpeg" else spec.pages
    suffix = "jpg" if spec.kind == "jpeg" else "pdf"
    name = f"files/results/{result.seq:07d}-{ascii_key(result.line['doc_type_name'])[:24].lower()}.{suffix}"
    return _write_file(work, name, data, stats)


def _write_pooled(work: Path, result: DemoResult, number: int, stats: WriteStats) -> tuple[str, str]:
    began = time.perf_counter()
    data = scans.render(generic_document(result), result.scan.kind, 200, 1, seed=number)
    stats.render_seconds += time.perf_counter() - began
    stats.rendered_pages += 1
    suffix = "jpg" if result.scan.kind == "jpeg" else "pdf"
    name = f"files/pool/{number:03d}-{ascii_key(result.line['doc_type_name'])[:24].lower()}.{suffix}"
    return _write_file(work, name, data, stats)


# --- What the page shows -----------------------------------------------------------------------


def _signer_lines(title: str, issuer: str) -> list[str]:
    if title.startswith("Công chức"):
        return ["NGƯỜI KÝ TRÍCH LỤC", title.upper()]
    top = ["TM. ỦY BAN NHÂN DÂN"] if issuer.startswith("Ủy ban") else []
    if title.startswith("Phó "):
        return [*top, f"KT. {title[4:].upper()}", title.upper()]
    return [*top, title.upper()]


def _authority(line: dict, parent: str | None) -> tuple[str, str]:
    issuer = line["issuer_name"]
    if not issuer.startswith("Ủy ban"):
        return "UBND THÀNH PHỐ HÀ NỘI", issuer.replace(" thành phố Hà Nội", "").upper()
    return (f"UBND {parent.upper()}" if parent else ""), issuer.upper()


def document_for(result: DemoResult) -> scans.Document:
    line, extra = result.line, result.extra
    subject = line["subject"]
    if subject["type"] == "individual":
        fields = [
            ("Họ, chữ đệm và tên", subject["name"]),
            ("Ngày, tháng, năm sinh", vn_date(date.fromisoformat(subject["birth_date"]))),
            ("Số định danh cá nhân", subject["id_number"]),
        ]
    else:
        fields = [("Tên tổ chức", subject["name"]), ("Mã số doanh nghiệp", subject["id_number"])]
    for key, label in (
        ("father", "Họ, chữ đệm, tên cha"),
        ("mother", "Họ, chữ đệm, tên mẹ"),
        ("spouse", "Họ, chữ đệm, tên vợ/chồng"),
        ("book", "Quyển số"),
    ):
        if key in extra:
            fields.append((label, extra[key]))
    if line.get("scope"):
        fields.append(("Phạm vi", line["scope"]))
    if line.get("valid_to"):
        fields.append(("Có giá trị đến ngày", vn_date(date.fromisoformat(line["valid_to"]))))
    number = line["doc_number"] + (f"/{line['doc_notation']}" if line.get("doc_notation") else "")
    parent, authority = _authority(line, extra.get("parent"))
    signer = line.get("signer") or {}
    return scans.Document(
        authority_parent=parent,
        authority=authority,
        number_line=f"Số: {number}",
        title=line["doc_type_name"],
        fields=fields,
        body=line["summary"],
        issued=date.fromisoformat(line["issued_date"]),
        signer_lines=_signer_lines(signer.get("title", "Chủ tịch"), line["issuer_name"]),
        signer_name=signer.get("name", ""),
        seal_text=line["issuer_name"],
        footer=f"Mã hồ sơ: {line.get('dossier_code') or ''}",
    )


def generic_document(result: DemoResult) -> scans.Document:
    """A scan without personal details, shared by many results of the same document type."""
    line = result.line
    return scans.Document(
        authority_parent="",
        authority="ỦY BAN NHÂN DÂN",
        number_line="Số: ......",
        title=line["doc_type_name"],
        fields=[
            ("Họ, chữ đệm và tên", "................................"),
            ("Số định danh cá nhân", "................................"),
        ],
        body=(
            "Bản quét minh họa dùng chung cho dữ liệu mẫu của cổng tra cứu; các thông tin của kết quả "
            "được ghi trong siêu dữ liệu. Shared illustrative scan for demo data: the result's details "
            "are in its metadata."
        ),
        issued=date(2025, 1, 1),
        signer_lines=["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        signer_name="",
        seal_text="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
    )


__all__ = ["BatchParams", "WriteStats", "write_batch", "is_complete", "default_as_of", "DEFAULT_AS_OF"]
