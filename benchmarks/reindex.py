"""Issue 12 benchmark (not a test): a full reindex from the database, step by step.

    python benchmarks/reindex.py [--data-dir DIR] [--database-url URL] [--orm] [--writer-sweep]
                                 [--concurrent] [--pg-from-sqlite SCHEMA]

Reads an already imported database (default: the SQLite one `search_at_scale.py --workdir
/work/bench1m --keep` leaves in /work/bench1m/sqlite) and builds its indexes elsewhere
(--index-dir): the database and index it reads are not written. Prints one table:

1. rows → documents alone: `documents.iter_documents` (plain rows, units looked up once), and with
   --orm the ORM path it replaced (Record objects with joined/selectin loads + `to_document`);
2. documents → tantivy alone: the same documents held in memory, `EmbeddedBackend.rebuild`;
3. the full `indexing.reindex` (build beside, swap), then `indexing.check` (missing/extra/stale).

--database-url runs the steps on that database too (PostgreSQL: one server-side cursor);
--pg-from-sqlite SCHEMA first copies the SQLite database's units, procedures, subjects and records
into that PostgreSQL schema (dropped first), so both engines index the same data.
--writer-sweep builds the in-memory documents with other tantivy writer heaps and thread counts
(tantivy directly, the adapter's schema and document conversion) for the recommendation.
--concurrent: on a copy of the SQLite database (or on --database-url), reindex while another
process corrects results through `feedback.corrections.correct` (status changes, holder renames:
each commits outbox rows and nudges) and the real huey index worker applies them to the live index;
then stops both, drains the outbox (`indexing.drain_outbox`) and runs `indexing.check`: missing,
extra and stale must all be 0.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA_DIR = Path("/work/bench1m/sqlite")
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    model = "?"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, python {platform.python_version()}"


def make_app(data_dir: Path, database_url: str):
    # Imported here: --concurrent first points PORTAL_DATA_DIR (where portal.jobs puts the index
    # queue, at import) at the copy, so this process nudges the same worker as the updater.
    from portal import create_app

    return create_app({"ENV": "development", "DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
                       "SECRET_KEY": "benchmark-only"})


def timed(label: str, results: dict, fn):
    """Wall time and this process's CPU time (every thread, tantivy's too): on a shared machine the
    CPU seconds say more than the wall clock, which also counts the other processes' turns."""
    started, cpu = time.perf_counter(), time.process_time()
    value = fn()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    results[label] = (seconds, cpu)
    print(f"  {label}: {seconds:.1f} s wall, {cpu:.1f} s CPU  ({load()})", flush=True)
    return value


# --- the steps ------------------------------------------------------------------------------------


def orm_documents(session, today, batch_size=1000):
    """The path `iter_documents` took before issue 12: Record objects in keyset batches + to_document."""
    from portal.records.documents import _options, to_document
    from portal.records.models import Record

    last_id = 0
    while True:
        batch = list(session.scalars(sa.select(Record).where(Record.id > last_id).order_by(Record.id)
                                     .limit(batch_size).options(*_options())).unique())
        if not batch:
            return
        for record in batch:
            yield to_document(record, today)
        last_id = batch[-1].id
        del batch


def run_steps(app, index_root: Path, args) -> dict:
    from portal.extensions import db
    from portal.records.documents import iter_documents
    from portal.search.adapters.embedded import EmbeddedBackend
    from portal.search.indexing import check, reindex

    results: dict = {}
    today = date.today()
    with app.app_context():
        session = db.session
        results["results"] = session.scalar(sa.text("SELECT count(*) FROM record"))
        print(f"{results['results']:,} results in {db.engine.url.render_as_string(hide_password=True)}")
        if args.orm:
            timed("rows → documents (ORM, before)", results,
                  lambda: sum(1 for _ in orm_documents(session, today)))
            session.rollback()
            session.expunge_all()
        docs = timed("rows → documents", results, lambda: list(iter_documents(session, today)))
        session.rollback()
        shutil.rmtree(index_root, ignore_errors=True)
        timed("documents → tantivy (in memory → rebuild)", results,
              lambda docs=docs: EmbeddedBackend(index_root / "alone").rebuild(docs))
        if args.writer_sweep:
            writer_sweep(docs, index_root / "sweep", results)
        del docs
        shutil.rmtree(index_root, ignore_errors=True)
        backend = EmbeddedBackend(index_root / "index")
        report = timed("full reindex (into an empty dir)", results, lambda: reindex(session, lambda: backend))
        results["reindex count"] = report.count
        report = timed("full reindex (beside the live index, swap)", results,
                       lambda: reindex(session, lambda: backend))
        session.rollback()
        drift = timed("check", results, lambda: check(session, backend))
        results["check"] = drift.as_dict()
        print(f"  check: {drift.as_dict()}")
        session.rollback()
    return results


def writer_sweep(docs, root: Path, results: dict) -> None:
    """tantivy's writer with other heaps and threads, on the adapter's schema and conversion."""
    from portal.search.adapters.embedded import EmbeddedBackend

    adapter = EmbeddedBackend(root / "unused")
    converted = timed("  Python conversion alone (adapter._document)", results,
                      lambda: [adapter._document(doc) for doc in docs])
    del converted
    for heap_mb, threads in ((200, 0), (200, 1), (500, 0), (1000, 0), (1000, 2)):
        shutil.rmtree(root, ignore_errors=True)
        adapter = EmbeddedBackend(root)
        index = adapter._open_generation(adapter._new_generation())  # the schema and its analyzer

        def build(index=index, adapter=adapter, heap_mb=heap_mb, threads=threads):
            writer = index.writer(heap_mb * 1_000_000, threads)
            for doc in docs:
                writer.add_document(adapter._document(doc))
            writer.commit()
            writer.wait_merging_threads()

        timed(f"  writer heap {heap_mb} MB, threads {threads or 'auto'}", results, build)
    shutil.rmtree(root, ignore_errors=True)


# --- PostgreSQL copy of the SQLite data ------------------------------------------------------------


COPIED_TABLES = ("admin_unit", "unit_succession", "procedure", "subject", "record")
#: Columns pointing at tables not copied (left NULL): no document reads them.
NOT_COPIED = {"import_batch_id"}


def pg_from_sqlite(sqlite_path: Path, schema: str, work: Path) -> str:
    """A migrated PostgreSQL schema holding the SQLite database's units, procedures, subjects and
    records (same ids); returns its URL."""
    import psycopg

    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    conninfo = PG_BASE.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    app = make_app(work / "pg-data", url)
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    started = time.perf_counter()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"SET search_path = {schema}")
        conn.execute("SET TIME ZONE 'UTC'")  # SQLite holds UTC without a zone (portal.db.UTCDateTime)
        for table in reversed(COPIED_TABLES):
            conn.execute(f'DELETE FROM "{table}"')
        for table in COPIED_TABLES:
            names = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')
                     if row[1] not in NOT_COPIED]
            types = {row[0]: row[1] for row in conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s", (schema, table))}
            booleans = [i for i, name in enumerate(names) if types[name] == "boolean"]
            quoted = ", ".join(f'"{name}"' for name in names)
            with conn.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {quoted} FROM "{table}"'):
                    if booleans:
                        row = list(row)
                        for i in booleans:
                            row[i] = None if row[i] is None else bool(row[i])
                    copy.write_row(row)
            if "id" in names:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                             f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))")
        conn.execute("ANALYZE")
        conn.commit()
    print(f"copied {', '.join(COPIED_TABLES)} from {sqlite_path} into PostgreSQL schema {schema} "
          f"in {time.perf_counter() - started:.0f} s")
    return url


# --- reindex under concurrent updates ---------------------------------------------------------------


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=database_url, PORTAL_DATA_DIR=str(data_dir), PORTAL_ENV="development",
               PORTAL_SECRET_KEY="benchmark-only", FLASK_APP="app", PYTHONWARNINGS="ignore")
    return env


def updater(data_dir: Path, database_url: str, stop_file: Path, pause: float, seed: int) -> None:
    """Another app server: clerks correct results (status, sometimes the holder's name) until told to stop."""
    from portal import outbox
    from portal.errors import Forbidden
    from portal.extensions import db
    from portal.feedback import corrections
    from portal.identity.models import StaffRole, StaffUser
    from portal.records.models import Access, Record, ResultStatus
    from portal.units.models import AdminUnit, UnitSystem

    app = make_app(data_dir, database_url)
    rnd = random.Random(seed)
    done = refused = renamed = 0
    with app.app_context():
        session = db.session
        clerk = session.scalar(sa.select(StaffUser).where(StaffUser.username == "bench-reindex"))
        if clerk is None:
            current = session.scalars(sa.select(AdminUnit).where(AdminUnit.system == UnitSystem.CURRENT))
            clerk = StaffUser(username="bench-reindex", full_name="Cán bộ đo", password_hash="!",
                              role=StaffRole.CLERK, units=list(current))
            session.add(clerk)
            outbox.commit(session)
        top = session.scalar(sa.select(sa.func.max(Record.id)))
        statuses = [ResultStatus.REVOKED, ResultStatus.ANNULLED]
        for i in itertools.count():
            if stop_file.exists():
                break
            record = session.get(Record, rnd.randint(1, top))
            if record is None:
                continue
            if i % 5 == 4 and record.access == Access.PUBLIC:  # the holder's other results follow
                changes = {"holder_name": f"{record.subject.name.split(' (')[0]} ({i})"}
                renamed += 1
            else:  # valid → revoked or annulled, and back
                changes = {"status": ResultStatus.VALID if record.status != ResultStatus.VALID
                           else statuses[i % len(statuses)]}
            try:
                corrections.correct(session, clerk, record, changes, f"benchmark {i}")
            except (Forbidden, corrections.InvalidCorrection):
                session.rollback()
                refused += 1
                continue
            outbox.commit(session)  # commits and nudges the index worker, as a view does
            done += 1
            if done == 1:
                (data_dir / "updater-running").touch()
            time.sleep(pause)
    print(f"updater: {done} corrections committed ({renamed} holder renames), {refused} refused", flush=True)


def concurrent(data_dir: Path, database_url: str, args) -> dict:
    from portal import outbox
    from portal.extensions import db
    from portal.records.index_queue import TOPICS
    from portal.search import get_search
    from portal.search.indexing import check, drain_outbox, reindex

    app = make_app(data_dir, database_url)
    env = _env(data_dir, database_url)
    results: dict = {}
    with app.app_context():
        if not (Path(app.config["SEARCH_INDEX_DIR"]) / "current").exists():
            timed("initial reindex (a live index for the worker)", results,
                  lambda: reindex(db.session, get_search))
        db.session.execute(sa.delete(outbox.OutboxItem))
        db.session.commit()
    stop_file = data_dir / "stop-updater"
    stop_file.unlink(missing_ok=True)
    (data_dir / "updater-running").unlink(missing_ok=True)
    log = data_dir / "huey-index.log"
    huey_consumer = str(Path(sys.executable).with_name("huey_consumer"))
    consumer = subprocess.Popen([huey_consumer, "portal.worker.index_huey", "--workers", "1",
                                 "--logfile", str(log)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    update = subprocess.Popen([sys.executable, __file__, "_update", "--data-dir", str(data_dir),
                               "--database-url", database_url, "--pause", str(args.pause)],
                              cwd=ROOT, env=env, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (data_dir / "updater-running").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # updates and drains are under way before the rebuild starts
        with app.app_context():
            report = timed("reindex under concurrent updates", results,
                           lambda: reindex(db.session, get_search))
            results["caught_up"] = report.caught_up
            print(f"  reindex: {report.count:,} documents, {report.caught_up} changed meanwhile handed over")
        time.sleep(5)
    finally:
        stop_file.touch()
        update.wait(120)
        _stop(consumer)
    with app.app_context():
        session = db.session
        left = outbox.pending(session, TOPICS)
        applied = timed("drain_outbox after stopping the worker", results, lambda: drain_outbox(session))
        session.commit()
        print(f"  outbox: {left} rows left by the worker, {applied} applied now")
        drift = timed("check", results, lambda: check(session))
        results["check"] = drift.as_dict()
        print(f"  check after reindex under concurrent updates: {drift.as_dict()}")
        for label, ids in (("missing", drift.missing), ("extra", drift.extra), ("stale", drift.stale)):
            if ids:
                print(f"    {label}: {', '.join(ids[:10])}")
    stop_file.unlink(missing_ok=True)
    return results


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def copy_sqlite(source: Path, target_dir: Path) -> Path:
    """A consistent copy of a live SQLite database (the backup API), its search index beside it."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "portal.sqlite3"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    index = source.parent / "index"
    if (index / "current").exists():  # the index built from it: the worker's live index to start from
        shutil.rmtree(target_dir / "index", ignore_errors=True)
        shutil.copytree(index, target_dir / "index", symlinks=True)
    print(f"copied {source} (and its index) to {target_dir} in {time.perf_counter() - started:.0f} s")
    return target


# --- main -----------------------------------------------------------------------------------------


def print_table(runs: dict[str, dict]) -> None:
    labels = list(dict.fromkeys(label for run in runs.values() for label in run
                                if isinstance(run[label], tuple)))
    names = list(runs)
    print("\n| step (wall / CPU) | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for label in labels:
        cells = [f"{runs[n][label][0]:.1f} s / {runs[n][label][1]:.1f} s" if label in runs[n] else ""
                 for n in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    for n in names:
        if "check" in runs[n]:
            print(f"check ({n}): {runs[n]['check']}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_update":
        parser = argparse.ArgumentParser()
        parser.add_argument("_update")
        parser.add_argument("--data-dir", type=Path)
        parser.add_argument("--database-url", default="")
        parser.add_argument("--pause", type=float, default=0.05)
        a = parser.parse_args()
        updater(a.data_dir, a.database_url, a.data_dir / "stop-updater", a.pause, seed=7)
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="DATA_DIR of the imported SQLite database (read only)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL database holding the data too")
    parser.add_argument("--pg-from-sqlite", metavar="SCHEMA",
                        help="first copy the SQLite data into this PostgreSQL schema")
    parser.add_argument("--keep-pg", action="store_true", help="keep the --pg-from-sqlite schema")
    parser.add_argument("--index-dir", type=Path, default=Path("/tmp/reindex-bench"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--orm", action="store_true", help="also time the ORM document path (before)")
    parser.add_argument("--writer-sweep", action="store_true")
    parser.add_argument("--concurrent", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="for --concurrent: where the copy goes")
    parser.add_argument("--pause", type=float, default=0.05, help="--concurrent: seconds between corrections")
    args = parser.parse_args()
    print(f"== issue 12 reindex benchmark, {date.today()} ==")
    print(f"machine: {machine()}; {load()}")
    runs: dict[str, dict] = {}
    sqlite_path = args.data_dir / "portal.sqlite3"
    if args.pg_from_sqlite:
        args.database_url = pg_from_sqlite(sqlite_path, args.pg_from_sqlite,
                                           Path(tempfile.mkdtemp(prefix="reindex-pg-")))
    if args.concurrent:
        work = args.workdir or Path(tempfile.mkdtemp(prefix="reindex-concurrent-"))
        os.environ["PORTAL_DATA_DIR"] = str(work)
        if args.database_url:
            runs["PostgreSQL, concurrent"] = concurrent(work, args.database_url, args)
        else:
            copy_sqlite(sqlite_path, work)
            runs["SQLite copy, concurrent"] = concurrent(work, "", args)
    else:
        if not args.skip_sqlite:
            app = make_app(args.data_dir, "")
            print("-- SQLite")
            runs["SQLite"] = run_steps(app, args.index_dir / "sqlite", args)
        if args.database_url:
            app = make_app(Path(tempfile.mkdtemp(prefix="reindex-pg-data-")), args.database_url)
            print("-- PostgreSQL")
            runs["PostgreSQL"] = run_steps(app, args.index_dir / "pg", args)
    print_table(runs)
    if args.pg_from_sqlite and not args.keep_pg:
        import psycopg

        conninfo = PG_BASE.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {args.pg_from_sqlite} CASCADE")
    print(f"done; {load()}")


if __name__ == "__main__":
    main()
