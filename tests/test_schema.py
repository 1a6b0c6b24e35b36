"""The migrations build the schema the models describe."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal.models import Base


def test_models_and_migrations_agree(engine):
    """Autogenerate finds no difference between the migrated database and the models."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrated_database_has_every_table(engine):
    """Every table of the model exists after `db upgrade`."""
    names = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= names
    assert "alembic_version" in names


def test_downgrade_and_upgrade_round_trip(tmp_path):
    """All migrations can be rolled back and applied again on a fresh database."""
    from portal.core.migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    upgrade(url)
    downgrade(url, revision="base")
    from sqlalchemy import create_engine

    eng = create_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    eng.dispose()
    upgrade(url)
    eng = create_engine(url)
    assert set(Base.metadata.tables) <= set(inspect(eng).get_table_names())
    eng.dispose()
