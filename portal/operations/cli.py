"""`flask doctor`: every component checked, what is wrong said in Vietnamese and English."""

from __future__ import annotations

import json
import sys
import textwrap

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.operations import doctor

_WIDTH = 100


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="JSON for machines instead of the table.")
@with_appcontext
def doctor_command(as_json: bool) -> None:
    """Kiểm tra cấu hình và mọi thành phần; mã thoát 1 nếu có lỗi / Check the configuration and every
    component; exit 1 on any FAIL (WARN alone exits 0)."""
    results = doctor.run(current_app._get_current_object())
    if as_json:
        click.echo(json.dumps(doctor.report(results), ensure_ascii=False, indent=2))
    else:
        name_width = max(len(r.name) for r in results)
        indent = " " * (6 + name_width + 2)
        for result in results:
            lead = f"{result.status:<4}  {result.name:<{name_width}}  "
            colour = {"OK": "green", "WARN": "yellow", "FAIL": "red"}[result.status]
            lines = textwrap.wrap(result.vi, _WIDTH - len(indent)) + \
                textwrap.wrap(result.en, _WIDTH - len(indent))
            click.echo(click.style(lead, fg=colour) + (lines[0] if lines else ""))
            for line in lines[1:]:
                click.echo(indent + line)
        status = doctor.worst(results)
        counts = {s: sum(r.status == s for r in results) for s in ("OK", "WARN", "FAIL")}
        click.echo(f"\nKết quả / result: {status}  ({counts['OK']} OK, {counts['WARN']} WARN, "
                   f"{counts['FAIL']} FAIL)")
    if doctor.worst(results) == doctor.FAIL:
        sys.exit(1)
