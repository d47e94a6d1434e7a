"""The migrations agree with the models, on SQLite and on PostgreSQL, and can all be undone."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from api.core import db
from tests.conftest import DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "migrations"


def _flask_db(database_url: str, *args: str):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_", "FLASK_")) and k not in ("REDIS_URL",)
    }
    env.update(
        {
            "APP_ENV": "development",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key-0123456789",  # PostgreSQL refuses the development key
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask db {' '.join(args)} failed:\n{done.stderr}"
    return done


def _differences(database_url: str) -> list:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "compare_server_default": True},
            )
            return compare_metadata(context, db.metadata)
    finally:
        engine.dispose()


def _check_constraints(database_url: str) -> dict[str, set[str]]:
    """CHECK constraint names per table: autogenerate does not compare these, so we do."""
    engine = create_engine(database_url)
    try:
        inspector = inspect(engine)
        return {
            table: {c["name"] for c in inspector.get_check_constraints(table) if c["name"]}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def _model_check_constraints() -> dict[str, set[str]]:
    from sqlalchemy import CheckConstraint

    found = {}
    for table in db.metadata.sorted_tables:
        names = set()
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and constraint.name:
                names.add(str(constraint.name))
        # Boolean and Enum columns may add CHECKs of their own on some backends; only the
        # named constraints the models declare are compared.
        found[table.name] = names
    return found


def _assert_migrations_match_models(database_url: str):
    _flask_db(database_url, "upgrade")

    differences = _differences(database_url)
    assert differences == [], "models and migrations disagree:\n" + "\n".join(
        map(repr, differences)
    )
    in_database = _check_constraints(database_url)
    assert set(in_database) == {t.name for t in db.metadata.sorted_tables}
    for table, names in _model_check_constraints().items():
        missing = names - in_database[table]
        assert not missing, f"{table}: CHECK constraints not in the migrations: {missing}"

    # and back down again: every migration can be undone
    _flask_db(database_url, "downgrade", "base")
    engine = create_engine(database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_have_one_head():
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations branch: heads {heads}; merge them"


def test_migrations_match_the_models_on_sqlite(tmp_path):
    _assert_migrations_match_models(f"sqlite:///{tmp_path / 'migrated.db'}")


@pytest.fixture
def fresh_postgres_database():
    """A new, empty PostgreSQL database next to the test database, dropped afterwards."""
    admin_url = make_url(DATABASE_URL)
    name = f"test_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.services
def test_migrations_match_the_models_on_postgresql(fresh_postgres_database):
    _assert_migrations_match_models(fresh_postgres_database)
