"""The migrations build exactly the schema the models describe (no model change left unmigrated)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_migrated_schema_matches_models(app):
    # The test database was built by `flask db upgrade` from an empty one (see conftest).
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []
