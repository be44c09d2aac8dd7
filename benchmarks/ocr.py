"""OCR on the demo scans, whose text is known: character error rate and pages per second (issue 14,
item 3; not a test: prints the numbers for docs/benchmarks.md "OCR of scans").

    python benchmarks/ocr.py [--pages 20] [--seed 1]

Generates demo results as `flask demo seed` does (portal/demo: realistic lines, each scan rendered
from what its line says, with grain and skew, JPEG or PDF at the demo's 200-300 dpi), writes each
scan to disk and reads it with `portal.ocr.reading.read_file`, exactly what the OCR worker runs
(one Tesseract process a page, `vie` model, OMP_THREAD_LIMIT=1), until --pages pages are read.

The reference is what `portal.demo.scans.render_page` prints, line by line (the seal's letters and
the signature, drawings rather than text, are left out). Three measures, over all pages:

- CER, line-aligned: each printed line against the stretch of the OCR text that matches it best
  (rapidfuzz), edit distance / reference characters. Two-column headers ("UBND …" beside "CỘNG
  HÒA …") are read row by row by Tesseract, so a plain diff would count the column order as errors.
- CER, reading order: the whole page's text against the reference in the renderer's order, both with
  spaces collapsed; the column interleaving and the seal's stray letters count as errors here.
- word recall: the share of printed words (with their diacritics, case ignored) found in the OCR text,
  and the same with tone marks folded (what a search typed without diacritics needs).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def page_lines(doc, page_no: int, pages: int) -> list[str]:
    """What `scans.render_page` prints on page ``page_no`` of ``pages``, in its drawing order."""
    lines: list[str] = []
    if page_no == 1:
        if doc.authority_parent:
            lines.append(doc.authority_parent)
        issued = doc.issued
        lines += [doc.authority, doc.number_line, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                  f"Hà Nội, ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}", doc.title.upper()]
        lines += [f"{label}: {value}" for label, value in doc.fields]
        lines.append(doc.body)
    else:
        lines.append(f"(Tiếp theo trang {page_no - 1} - {doc.number_line})")
        lines.append("Ghi chú: " + doc.footer if doc.footer else
                     "Văn bản này gồm nhiều trang, các trang có giá trị như nhau và được đóng dấu giáp lai.")
        if "XÂY DỰNG" in doc.title.upper() and page_no == 2:
            lines.append("MẶT BẰNG TỔNG THỂ - TỶ LỆ 1/100")
    if page_no == pages:
        lines += ["Nơi nhận:", "- Như trên;", "- Lưu: VT, hồ sơ.", *doc.signer_lines]
        if doc.signer_name:
            lines.append(doc.signer_name)
    lines.append(f"Trang {page_no}/{pages}")
    return [" ".join(line.split()) for line in lines if line.strip()]


def measure(reference: list[str], text: str) -> dict[str, float]:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Levenshtein

    from portal.text import fold

    ocr = " ".join(text.split())
    aligned = 0
    for line in reference:
        match = fuzz.partial_ratio_alignment(line, ocr)
        best = ocr[match.dest_start:match.dest_end] if match is not None else ""
        aligned += Levenshtein.distance(line, best)
    whole = " ".join(reference)
    words = [w.lower() for w in whole.split()]
    found = Counter(w.lower() for w in ocr.split())
    folded_found = Counter(fold(w) for w in ocr.split())
    hit = sum(min(count, found[w]) for w, count in Counter(words).items())
    folded = Counter(fold(w) for w in words)
    folded_hit = sum(min(count, folded_found[w]) for w, count in folded.items())
    return {"chars": len(whole) - (len(reference) - 1), "aligned": aligned,
            "ordered": Levenshtein.distance(whole, ocr), "ordered_chars": len(whole),
            "words": len(words), "words_found": hit, "words_found_folded": folded_hit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20, help="read at least this many pages")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import scans
    from portal.demo.batch import document_for
    from portal.demo.generator import Generator, load_units
    from portal.extensions import db
    from portal.ocr.reading import Budgets, engine_version, read_file
    from portal.refdata import sync_all

    workdir = Path(tempfile.mkdtemp(prefix="bench-ocr-"))
    app = create_app({"DATA_DIR": str(workdir), "ENV": "development", "SECRET_KEY": "bench" * 8})
    with app.app_context():
        upgrade()
        sync_all(db.session)
        db.session.commit()
        units = load_units(db.session)
        budgets = Budgets.from_config(app.config)
    engine = engine_version(budgets.lang)

    totals: Counter = Counter()
    files = render_seconds = read_seconds = 0.0
    kinds: Counter = Counter()
    for result in Generator(args.seed, units).generate(10 * args.pages):
        if totals["pages"] >= args.pages:
            break
        spec = result.scan
        doc = document_for(result)
        pages = 1 if spec.kind == "jpeg" else spec.pages
        began = time.perf_counter()
        data = scans.render(doc, spec.kind, spec.dpi, spec.pages, seed=result.seq)
        render_seconds += time.perf_counter() - began
        path = workdir / f"{result.seq:05d}.{'jpg' if spec.kind == 'jpeg' else 'pdf'}"
        path.write_bytes(data)
        began = time.perf_counter()
        reading = read_file(path, "image/jpeg" if spec.kind == "jpeg" else "application/pdf", budgets, spec.dpi)
        read_seconds += time.perf_counter() - began
        files += 1
        kinds[f"{spec.kind} {spec.dpi} dpi"] += pages
        texts = reading.text.split("\n\f")
        for page_no in range(1, pages + 1):
            text = texts[page_no - 1] if page_no <= len(texts) else ""
            totals.update(measure(page_lines(doc, page_no, pages), text))
            totals["pages"] += 1

    cer = totals["aligned"] / totals["chars"]
    ordered = totals["ordered"] / totals["ordered_chars"]
    rate = totals["pages"] / read_seconds
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
    print(f"OCR benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {cpu}, "
          f"{os.cpu_count()} cores; {engine}, OMP_THREAD_LIMIT={os.environ.get('OMP_THREAD_LIMIT', '1')}")
    print(f"  {int(totals['pages'])} pages in {int(files)} files ({', '.join(f'{n} {k}' for k, n in kinds.items())})")
    print(f"  CER, line-aligned:  {cer:.2%}  ({int(totals['aligned'])} edits / {int(totals['chars'])} chars)")
    print(f"  CER, reading order: {ordered:.2%}")
    print(f"  words found:        {totals['words_found'] / totals['words']:.1%} as printed, "
          f"{totals['words_found_folded'] / totals['words']:.1%} without tone marks")
    print(f"  speed:              {rate:.2f} pages/s, {read_seconds / totals['pages']:.2f} s a page, "
          f"one worker (rendering the scans took {render_seconds:.1f} s, not counted)")


if __name__ == "__main__":
    main()
