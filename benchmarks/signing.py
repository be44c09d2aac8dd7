"""Signed copies issued per second for a result with a 2-page scan (not a test: prints numbers for
docs/benchmarks.md, "Signed copies (issue 5)").

    python benchmarks/signing.py [--copies 40]

Builds a throwaway SQLite portal (migrations, units), one result whose scan is a 2-page A4 PDF
at 200 dpi (JPEG pages, ~ the size of a real scanned permit), a clerk of its current unit and a
development CA; then issues N copies through `signing.issue_copy` (build + sign + store + row,
committed one by one, as the workbench does) and reports copies/second, then the split:
build (scans + certification page + QR + footer), sign (PAdES B-B, ECDSA P-256) and validate
(pyhanko's validator against the dev root), median and p95 in ms.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

FONT = Path(__file__).resolve().parents[1] / "portal" / "demo" / "fonts" / "DejaVuSerif.ttf"


def scan_pdf(pages: int = 2) -> bytes:
    """A scanned-looking A4 PDF: grey paper, lines of text, JPEG pages at 200 dpi."""
    rng = random.Random(5)
    fnt = ImageFont.truetype(str(FONT), 28)
    frames = []
    for page in range(pages):
        image = Image.new("L", (1654, 2339), 236)
        draw = ImageDraw.Draw(image)
        for y in range(160, 2200, 46):
            words = " ".join(rng.choice(["Ủy ban", "nhân dân", "phường", "cấp phép", "xây dựng", "nhà ở",
                                         "riêng lẻ", "diện tích", "tầng", "số", "ngày", "tháng"])
                             for _ in range(rng.randint(6, 11)))
            draw.text((150 + rng.randint(-4, 4), y), words, fill=rng.randint(20, 60), font=fnt)
        for _ in range(4000):  # paper grain: keeps the JPEG from compressing like a blank page
            x, y = rng.randrange(1654), rng.randrange(2339)
            draw.point((x, y), fill=rng.randint(180, 220))
        frames.append(image.convert("RGB"))
        del page
    buffer = io.BytesIO()
    frames[0].save(buffer, "PDF", resolution=200, save_all=True, append_images=frames[1:], quality=75)
    # pypdf rewrite: the reader pyhanko uses is strict about Pillow's cross-reference table.
    from pypdf import PdfReader, PdfWriter

    out = io.BytesIO()
    PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue()))).write(out)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app
    from portal.copy_requests import devca, events, pdfcopy, signing, verification
    from portal.copy_requests import keys as keys_module
    from portal.copy_requests.models import CopyRequest
    from portal.copy_requests.workflow import Action
    from portal.extensions import db
    from portal.files.store import FileStore
    from portal.identity.models import Citizen, StaffUser, Subject
    from portal.procedures.models import Procedure
    from portal.records.models import Document, Record, RecordFile
    from portal.refdata import sync_all
    from portal.units.models import AdminUnit, UnitSystem

    workdir = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    app = create_app({"DATA_DIR": str(workdir), "ENV": "development", "SECRET_KEY": "bench" * 8})
    with app.app_context(), app.test_request_context(base_url="https://ketqua.hanoi.gov.vn"):
        upgrade()
        sync_all(db.session)
        devca.ensure_root(app.config)
        unit = db.session.scalars(select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT,
                                                          AdminUnit.level == "commune")).first()
        devca.ensure_unit(app.config, unit)
        data = scan_pdf(2)
        sha = FileStore.from_config(app.config).put_bytes(data)
        document = Document(sha256=sha, size=len(data), media_type="application/pdf", pages=2, dpi=200)
        subject = Subject(kind="organization", id_number="0101234567", name="Công ty TNHH Hoa Sen")
        procedure = db.session.scalars(select(Procedure.code)).first()
        record = Record(source_id="BENCH-1", procedure_code=procedure, doc_type_name="Giấy phép xây dựng",
                        doc_number="123", doc_notation="GPXD", issued_date=date(2024, 5, 14),
                        issuer_name="Ủy ban nhân dân phường", issuing_unit=unit,
                        summary="Cấp phép xây dựng nhà ở riêng lẻ", subject=subject,
                        valid_from=date(2024, 5, 14), status="valid", access="public", number_key="123gpxd",
                        content_hash="0" * 64,
                        files=[RecordFile(document=document, position=1, role="result",
                                          original_path="a.pdf")])
        clerk = StaffUser(username="bench.clerk", full_name="Lê Thị Thu Hà", password_hash="x",
                          role="clerk", units=[unit])
        citizen = Citizen(issuer="bench", sub="bench", name="Bench", loa=2, account_type="organization",
                          organization=subject)
        db.session.add_all([record, clerk, citizen])
        db.session.commit()

        def new_request(n: int) -> CopyRequest:
            now = datetime.now(UTC)
            request = CopyRequest(reference=f"BS-2026-{n:06d}", record=record, requester=citizen, unit=unit,
                                  kind="electronic", copies=1, purpose="benchmark", pages=2, fee_vnd=0,
                                  submitted_at=now, due_at=now + timedelta(days=1))
            db.session.add(request)
            db.session.flush()
            events.record_submitted(db.session, request, citizen.audit_name)
            events.transition(db.session, request, Action.ASSIGN, clerk.audit_name)
            db.session.commit()
            return request

        # Warm-up: fonts registered, key loaded, first-call imports.
        signing.issue_copy(db.session, new_request(0), clerk, datetime.now(UTC))
        db.session.commit()

        requests = [new_request(n) for n in range(1, args.copies + 1)]
        started = time.perf_counter()
        for request in requests:
            copy = signing.issue_copy(db.session, request, clerk, datetime.now(UTC))
            events.transition(db.session, request, Action.ISSUE, clerk.audit_name)
            db.session.commit()
        elapsed = time.perf_counter() - started

        signer = keys_module.find_signer(app.config, unit)
        roots = keys_module.trust_roots(app.config)
        scans = signing.scans_of(record, FileStore.from_config(app.config))
        build_ms, sign_ms, validate_ms = [], [], []
        signed = b""
        for _ in range(args.copies):
            code = signing.new_code()
            page = signing.certification(record, requests[0], clerk, datetime.now(UTC), code,
                                         signing.verify_url(code), signer)
            t0 = time.perf_counter()
            unsigned = pdfcopy.build_copy(scans, page)
            t1 = time.perf_counter()
            signed = signing.sign_pdf(unsigned, signer, reason="bench", name=clerk.full_name)
            t2 = time.perf_counter()
            check = verification.check_signature(signed, roots)
            t3 = time.perf_counter()
            assert check is not None and check.ok
            build_ms.append((t1 - t0) * 1000)
            sign_ms.append((t2 - t1) * 1000)
            validate_ms.append((t3 - t2) * 1000)

        machine = platform.processor() or platform.machine()
        print(f"== signed copies, {date.today()} on {platform.node()} ({machine}, {os.cpu_count()} cores), "
              f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f} ==")
        print(f"scan: 2-page A4 PDF at 200 dpi, {len(data) / 1024:.0f} KiB; signed copy "
              f"{copy.size / 1024:.0f} KiB, {len(pdfcopy.find_code(signed) or '')}-character code")
        print(f"issued: {args.copies} copies in {elapsed:.2f} s = {args.copies / elapsed:.1f} copies/s "
              f"({elapsed / args.copies * 1000:.0f} ms each: build + sign + store + row + commit)")
        for name, values in (("build", build_ms), ("sign", sign_ms), ("validate", validate_ms)):
            print(f"{name:>9}: median {statistics.median(values):6.1f} ms, "
                  f"p95 {percentile(values, 0.95):6.1f} ms")


if __name__ == "__main__":
    main()
