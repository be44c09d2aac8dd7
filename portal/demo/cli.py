"""``flask demo seed`` and ``flask demo write-batch``: realistic demo data through the real importer.

The demo data goes in the way real data does: a batch folder in the import format, then
``run_import``. Nothing is written to the tables directly, so the demo also exercises the importer.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Dữ liệu mẫu / Demo data.")


def _options(command):
    command = click.option(
        "--out",
        "out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Thư mục lô / batch folder (mặc định DATA_DIR/demo/batch-<seed>-<N>).",
    )(command)
    command = click.option(
        "--unique-scans",
        "unique_scans",
        type=click.IntRange(min=0),
        default=None,
        help="Số kết quả có bản quét riêng / results with their own scan (mặc định/default min(N, 200)).",
    )(command)
    command = click.option(
        "--seed", type=int, default=1, show_default=True, help="Hạt giống ngẫu nhiên / random seed."
    )(command)
    command = click.option(
        "--results",
        "results",
        type=click.IntRange(min=1),
        required=True,
        help="Số kết quả / number of results (N).",
    )(command)
    return command


def _write(results: int, seed: int, unique_scans: int | None, out: Path | None) -> Path:
    from portal.demo.batch import write_batch
    from portal.demo.generator import load_units
    from portal.extensions import db
    from portal.refdata import ensure_loaded

    ensure_loaded(db.session)
    folder = out or Path(current_app.config["DATA_DIR"]) / "demo" / f"batch-{seed}-{results}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    units = load_units(db.session)
    db.session.rollback()  # only read: release the connection while the batch is written

    def progress(lines: int) -> None:
        if lines % max(1000, results // 10 // 1000 * 1000) == 0:
            click.echo(f"  … {lines}/{results} dòng / lines")

    click.echo(f"Ghi lô dữ liệu mẫu / writing demo batch: {folder}")
    stats = write_batch(folder, units, results, seed=seed, unique_scans=unique_scans, progress=progress)
    if stats.reused:
        click.echo(
            "Lô đã có với cùng tham số, dùng lại / batch already written with these parameters, reused."
        )
    else:
        click.echo(
            f"Đã ghi / written: {stats.lines} dòng / lines, {stats.files} tệp / files in "
            f"{stats.seconds:.1f} s ({stats.lines_per_second:.0f} dòng/s / lines/s, "
            f"{stats.lines_per_second_without_rendering:.0f} without rendering); "
            f"{stats.rendered_pages} trang quét / scanned pages, {stats.ms_per_page:.0f} ms/trang / page."
        )
    return folder


@demo_cli.command("write-batch")
@_options
def write_batch_command(results: int, seed: int, unique_scans: int | None, out: Path | None) -> None:
    """Chỉ ghi lô dữ liệu mẫu / Only write the demo batch (no import)."""
    _write(results, seed, unique_scans, out)


@demo_cli.command("seed")
@_options
@click.option(
    "--no-import", "no_import", is_flag=True, help="Chỉ ghi lô, không nhập / write only, no import."
)
def seed_command(
    results: int, seed: int, unique_scans: int | None, out: Path | None, no_import: bool
) -> None:
    """Ghi rồi nhập N kết quả mẫu / Write then import N demo results (running it again changes nothing)."""
    folder = _write(results, seed, unique_scans, out)
    if no_import:
        return
    from portal.extensions import db
    from portal.imports.service import run_import
    from portal.search.indexing import catch_up

    shown = {"step": -1}

    def progress(p) -> None:
        step = 10 * p.done_lines // max(1, p.total_lines)
        if step != shown["step"]:
            shown["step"] = step
            counts = ", ".join(f"{k}={v}" for k, v in sorted(p.counts.items()))
            click.echo(f"  nhập / import {p.done_lines}/{p.total_lines} {counts}")

    started = time.perf_counter()
    batch = run_import(db.session, folder, actor="cli:demo-seed", progress=progress)
    seconds = time.perf_counter() - started
    summary = batch.summary or {}
    click.echo(
        "Kết quả nhập / import summary: "
        + ", ".join(
            f"{key}={summary.get(key, 0)}" for key in ("read", "created", "updated", "unchanged", "refused")
        )
    )
    click.echo(f"Thời gian / time: {seconds:.1f} s")
    problem = catch_up(db.session)
    click.echo("Chỉ mục tìm kiếm đã cập nhật / search index updated." if problem is None else
               f"Chỉ mục chưa cập nhật / index not updated ({problem}); run `flask search drain`.")
    _refresh_scorecard()
    if summary.get("refused"):
        raise click.ClickException(
            f"{summary['refused']} dòng bị từ chối / lines refused: see the batch report"
        )


@demo_cli.command("activity")
@click.option("--requests", "requests", type=click.IntRange(min=0), default=600, show_default=True,
              help="Số yêu cầu cấp bản sao / copy requests.")
@click.option("--petitions", type=click.IntRange(min=0), default=70, show_default=True,
              help="Số phản ánh, kiến nghị / petitions.")
@click.option("--seed", type=int, default=7, show_default=True, help="Hạt giống ngẫu nhiên / random seed.")
def activity_command(requests: int, petitions: int, seed: int) -> None:
    """Hoạt động mẫu 12 tháng / a year of demo activity: requests, ratings, petitions (idempotent)."""
    from portal.demo.activity import generate
    from portal.extensions import db

    config = current_app.config
    # The development identity provider's issuer, so a demo person who logs in owns these requests.
    base = (config["PUBLIC_BASE_URL"] or "http://127.0.0.1:8000").rstrip("/")
    issuer = config["OIDC_ISSUER"] or f"{base}/dev-idp"
    started = time.perf_counter()
    try:
        stats = generate(db.session, issuer=issuer, requests=requests, petitions=petitions, seed=seed)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _refresh_scorecard()
    if stats.skipped:
        click.echo("Đã có hoạt động mẫu, không thêm / demo activity already there, nothing added.")
        return
    click.echo(f"Hoạt động mẫu / demo activity: {stats.requests} yêu cầu / requests ({stats.events} events), "
               f"{stats.ratings} đánh giá / ratings, {stats.petitions} phản ánh / petitions, {stats.reports} "
               f"báo lỗi / problem reports, {stats.citizens} người dân / citizens "
               f"in {time.perf_counter() - started:.1f} s. Xem / see /scorecard")


def _refresh_scorecard() -> None:
    """Count the public scorecard now, so the demo shows its figures at once instead of at the
    worker's next refresh."""
    from portal.db import utcnow
    from portal.extensions import db
    from portal.scorecard import snapshots

    report = snapshots.refresh(db.session, utcnow())
    db.session.commit()
    click.echo(f"Bảng chỉ số đã tính lại / scorecard counted: {report.scorecards} in {report.seconds:.1f} s.")
