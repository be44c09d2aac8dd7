"""Fixtures for import tests; the builders themselves are in builders.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import BatchBuilder

from portal.imports.service import run_import


@pytest.fixture
def batch(tmp_path) -> BatchBuilder:
    return BatchBuilder(tmp_path / "batch-2025-11-03")


@pytest.fixture
def do_import(app, db_session):
    """Run an import the way the CLI does (actor cli:test); returns the ImportBatch."""

    def run(path: Path, **kwargs):
        return run_import(db_session, path, "cli:test", **kwargs)

    return run
