"""Import and search benchmark on demo data (not a test: prints numbers for docs/benchmarks.md).

    python benchmarks/import_and_search.py --results 100000 [--database-url URL]

1. writes a demo batch of N results whose scans are reused from a small pool (metadata-only),
   imports it into an empty database and reports results/second;
2. rewrites the same batch so that every result has a file of its own (a pooled scan with a
   unique trailer, so each is hashed, inspected and stored), imports that into another empty
   database and reports results/second;
3. rebuilds the search index from the database and times queries through the search service
   (identifier lookup, no diacritics, typo, prefix, filters): p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import create_app  # noqa: E402


def _app(data_dir: Path, database_url: str | None):
    app = create_app({"ENV": "development", "DATA_DIR": str(data_dir), "DATABASE_URL": database_url or ""})
    with app.app_context():
        from flask_migrate import upgrade

        from portal.extensions import db
        from portal.refdata import ensure_loaded

        if database_url and database_url.startswith("postgresql"):
            schema = re.search(r"search_path%3D(\w+)", database_url)
            if schema:
                with sa.create_engine(database_url.split("?")[0]).begin() as conn:
                    conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema[1]}")
            db.metadata.drop_all(db.engine)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        ensure_loaded(db.session)
    return app


def write_demo_batch(app, folder: Path, results: int) -> float:
    from portal.demo.batch import write_batch
    from portal.demo.generator import load_units
    from portal.extensions import db

    with app.app_context():
        units = load_units(db.session)
        started = time.perf_counter()
        write_batch(folder, units, results, seed=7, unique_scans=50, reuse=False)
        return time.perf_counter() - started


def give_every_line_its_own_file(source: Path, target: Path, limit: int) -> int:
    """Same lines, but each points at its own copy of its scan with a unique trailer."""
    shutil.rmtree(target, ignore_errors=True)
    (target / "files").mkdir(parents=True)
    total = 0
    cache: dict[str, bytes] = {}
    with open(source / "manifest.jsonl", encoding="utf-8") as src, \
            open(target / "manifest.jsonl", "w", encoding="utf-8") as dst:
        for number, raw in enumerate(src, 1):
            if number > limit:
                break
            line = json.loads(raw)
            for position, entry in enumerate(line["files"]):
                data = cache.get(entry["path"])
                if data is None:
                    data = cache[entry["path"]] = (source / entry["path"]).read_bytes()
                # Readers ignore bytes after a JPEG's EOI marker and a comment line after a PDF's %%EOF.
                own = data + f"\n%{number}-{position}\n".encode()
                name = f"files/{number:07d}-{position}{Path(entry['path']).suffix}"
                (target / name).write_bytes(own)
                entry.update(path=name, sha256=hashlib.sha256(own).hexdigest())
                total += len(own)
            dst.write(json.dumps(line, ensure_ascii=False) + "\n")
    return total


def timed_import(app, folder: Path) -> tuple[float, dict]:
    from portal.extensions import db
    from portal.imports.service import run_import

    with app.app_context():
        started = time.perf_counter()
        batch = run_import(db.session, folder, "benchmark", chunk_size=500)
        return time.perf_counter() - started, dict(batch.summary)


def search_numbers(app, rounds: int = 200) -> dict[str, tuple[float, float]]:
    import random

    from sqlalchemy import select

    from portal.extensions import db
    from portal.records.models import Record
    from portal.search.indexing import reindex
    from portal.search.service import search_records

    with app.app_context():
        started = time.perf_counter()
        report = reindex(db.session)
        print(f"reindex: {report.count} documents in {time.perf_counter() - started:.1f} s")
        rnd = random.Random(3)
        sample = list(db.session.scalars(select(Record).where(Record.access == "public").limit(2000)))
        from portal.text import fold

        def typo(text: str) -> str:
            words = fold(text).split()
            long = [i for i, w in enumerate(words) if len(w) >= 4] or [0]
            i = rnd.choice(long)
            w = words[i]
            words[i] = w[:1] + w[2:3] + w[1:2] + w[3:] if len(w) >= 4 else w
            return " ".join(words)

        kinds = {
            "identifier": lambda r: r.number_display,
            "exact (diacritics)": lambda r: f"{r.doc_type_name} {r.issuing_unit.name}",
            "no diacritics": lambda r: fold(f"{r.doc_type_name} {r.issuing_unit.name}"),
            "typo": lambda r: typo(f"{r.doc_type_name} {r.subject.name}"),
            "prefix (search as you type)": lambda r: fold(r.subject.name)[:-2],
        }
        results = {}
        for name, make in kinds.items():
            timings = []
            for _ in range(rounds):
                text = make(rnd.choice(sample))
                t0 = time.perf_counter()
                search_records(db.session, text, page=1, per_page=20)
                timings.append((time.perf_counter() - t0) * 1000)
                db.session.rollback()
            timings.sort()
            results[name] = (statistics.median(timings), timings[int(len(timings) * 0.95) - 1])
        timings = []
        for _ in range(rounds):
            record = rnd.choice(sample)
            t0 = time.perf_counter()
            search_records(db.session, fold(record.doc_type_name), page=1, per_page=20,
                           filters={"status": "valid", "year": str(record.issued_date.year)})
            timings.append((time.perf_counter() - t0) * 1000)
            db.session.rollback()
        timings.sort()
        results["filtered (status + year)"] = (statistics.median(timings),
                                               timings[int(len(timings) * 0.95) - 1])
        return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-files", action="store_true", help="skip the one-file-per-result run")
    # Every demo scan is ~330 KB: 100,000 distinct files would need ~66 GB (batch + store).
    parser.add_argument("--file-results", type=int, default=20_000,
                        help="results in the one-file-per-result run (default 20000)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="portal-bench-"))
    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, work dir {work}")
    db_kind = "PostgreSQL" if args.database_url else "SQLite"

    app = _app(work / "a", args.database_url)
    seconds = write_demo_batch(app, work / "batch", args.results)
    print(f"batch written: {args.results} lines in {seconds:.1f} s ({args.results / seconds:.0f} lines/s)")
    seconds, summary = timed_import(app, work / "batch")
    print(f"import, scans reused ({db_kind}): {seconds:.1f} s = "
          f"{args.results / seconds:.0f} results/s {summary}")
    seconds, summary = timed_import(app, work / "batch")
    print(f"import again, all unchanged ({db_kind}): {seconds:.1f} s = {args.results / seconds:.0f} results/s")
    for name, (p50, p95) in search_numbers(app).items():
        print(f"search {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")

    if not args.skip_files:
        count = min(args.file_results, args.results)
        size = give_every_line_its_own_file(work / "batch", work / "batch-files", count)
        print(f"one file per result: {count} results, {size / 1e9:.2f} GB")
        app = _app(work / "b", args.database_url)
        seconds, summary = timed_import(app, work / "batch-files")
        print(f"import, one file per result ({db_kind}): {seconds:.1f} s = "
              f"{count / seconds:.0f} results/s {summary}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
