"""``flask demo seed`` goes through the real importer and can be run twice."""

from __future__ import annotations

import re
from pathlib import Path


def _summary(output: str) -> dict[str, int]:
    match = re.search(r"import summary: (.*)", output)
    assert match, output
    return {k: int(v) for k, v in (part.split("=") for part in match.group(1).split(", "))}


def test_seed_imports_everything_then_changes_nothing(runner, app):
    result = runner.invoke(args=["demo", "seed", "--results", "60", "--unique-scans", "6"])
    assert result.exit_code == 0, result.output
    assert _summary(result.output) == {"read": 60, "created": 60, "updated": 0, "unchanged": 0, "refused": 0}
    assert (Path(app.config["DATA_DIR"]) / "demo" / "batch-1-60" / "manifest.jsonl").is_file()

    again = runner.invoke(args=["demo", "seed", "--results", "60", "--unique-scans", "6"])
    assert again.exit_code == 0, again.output
    assert "reused" in again.output
    assert _summary(again.output) == {"read": 60, "created": 0, "updated": 0, "unchanged": 60, "refused": 0}

    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.records.models import Record

    assert db.session.scalar(select(func.count()).select_from(Record)) == 60


def test_write_batch_only_writes(runner, app, tmp_path):
    result = runner.invoke(
        args=[
            "demo",
            "write-batch",
            "--results",
            "5",
            "--unique-scans",
            "1",
            "--seed",
            "3",
            "--out",
            str(tmp_path / "b"),
        ]
    )
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "b" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()) == 5
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.records.models import Record

    assert db.session.scalar(select(func.count()).select_from(Record)) == 0
