"""The schema and the layout: migrations agree with the models, the dependency rule of
DESIGN.md §3 holds, and the OpenAPI document covers every route with its errors."""

from __future__ import annotations

import ast
import os
import re
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

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
DOMAINS = ("participation", "voting", "feedback", "notices")


# --- (a) migrations agree with the models ---------------------------------------------------


def _flask_db(database_url: str, *args: str):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_", "FLASK_")) and k not in ("REDIS_URL",)
    }
    env.update(
        {"APP_ENV": "development", "DATABASE_URL": database_url, "PYTHONDONTWRITEBYTECODE": "1"}
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


# --- (b) the dependency rule (DESIGN.md §3) --------------------------------------------------


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """Every imported name as a dotted path (`flask.request`, `api.auth`), with its line.

    `import a.b` gives `a.b`; `from a.b import c` gives `a.b.c`; relative imports are resolved
    against `package`; imports inside functions count too. So does `flask.request` used as an
    attribute after `import flask`.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "flask"
            and node.attr == "request"
        ):
            found.append((node.lineno, "flask.request"))
    return found


def _matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def _violations(paths, forbidden) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in paths
        for line, name in _imports(path)
        if any(_matches(name, f) for f in forbidden)
    ]


DOMAIN_MODULES = [path for domain in DOMAINS for path in _modules(domain)]


def test_the_rule_checker_sees_what_it_must():
    source = (
        "import flask\n"
        "from flask import request\n"
        "from api import auth\n"
        "def f():\n"
        "    from api.routes.auth import blp\n"
        "    return flask.request\n"
        "from . import models\n"
        "from ..voting.tally import _helper\n"
    )
    names = {name for _, name in _imports_in(source, "participation")}
    assert {
        "flask.request",
        "api.auth",
        "api.routes.auth.blp",
        "participation.models",
        "voting.tally._helper",
    } <= names
    assert _matches("api.routes.auth.blp", "api.routes")
    assert not _matches("api.routesx", "api.routes")


def test_domains_import_no_request_no_blueprint_and_no_auth():
    assert DOMAIN_MODULES, "no domain modules found"
    assert _violations(DOMAIN_MODULES, ("flask.request", "api.routes", "api.auth")) == []


def test_participation_imports_no_other_domain():
    # voting, feedback and notices may use participation, never the other way round.
    assert _violations(_modules("participation"), ("voting", "feedback", "notices")) == []


def test_no_domain_imports_another_domains_private_helpers():
    bad = []
    for domain in DOMAINS:
        for path in _modules(domain):
            for line, name in _imports(path):
                parts = name.split(".")
                if parts[0] in DOMAINS and parts[0] != domain:
                    if any(part.startswith("_") and part != "__init__" for part in parts):
                        bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert bad == []


def test_the_kernel_imports_no_domain_and_no_request_state():
    forbidden = (*DOMAINS, "flask.request", "flask.g", "flask.session", "api.routes", "api.auth")
    assert _violations([ROOT / "api" / "core.py"], forbidden) == []
    # nor any other part of the shell: the kernel sits under everything
    shell = [
        name
        for _, name in _imports(ROOT / "api" / "core.py")
        if name.startswith("api.") and not name.startswith("api.core")
    ]
    assert shell == []


# --- (c) the OpenAPI document ---------------------------------------------------------------

ERROR_REF = "#/components/schemas/Error"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def openapi(app):
    reply = app.test_client().get("/api/openapi.json")
    assert reply.status_code == 200
    assert reply.mimetype == "application/json"
    return reply.get_json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield path, method, operation


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def test_openapi_is_valid_json_with_the_basics(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"]
    assert openapi["components"]["schemas"]["Error"]["properties"]["error"]


def test_openapi_lists_every_api_route_of_the_app(app, openapi):
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - IGNORED_METHODS
    }
    assert routes, "no /api/v1 routes found"
    documented = {(path, method) for path, method, _ in _operations(openapi)}
    assert sorted(routes - documented) == []
    # and nothing documented that the app does not serve
    assert sorted(documented - routes) == []


def test_every_operation_documents_its_errors_in_the_error_shape(openapi):
    problems = []
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        errors = {code: r for code, r in responses.items() if code == "default" or code >= "400"}
        if not [code for code in errors if code != "default"]:
            problems.append(f"{where}: no error responses")
        for code, response in errors.items():
            schema = _resolve(openapi, response).get("content", {}).get("application/json", {})
            if schema.get("schema", {}).get("$ref") != ERROR_REF:
                problems.append(f"{where}: {code} is not documented with the Error schema")
        secured = operation.get("security", openapi.get("security")) not in (None, [])
        if secured and "401" not in responses:
            problems.append(f"{where}: needs a token but does not document 401")
        if "{" in path and "404" not in responses:
            problems.append(f"{where}: takes an id but does not document 404")
        takes_input = "requestBody" in operation or any(
            p.get("in") == "query" for p in operation.get("parameters", [])
        )
        if takes_input and "422" not in responses:
            problems.append(f"{where}: validates input but does not document 422")
        successes = [code for code in responses if code.startswith("2")]
        if not successes:
            problems.append(f"{where}: no success response")
    assert problems == []


def test_every_request_body_and_reply_has_a_schema(openapi):
    problems = []
    for path, method, operation in _operations(openapi):
        where = f"{method.upper()} {path}"
        body = operation.get("requestBody")
        if body is not None and not any(
            media.get("schema") for media in _resolve(openapi, body)["content"].values()
        ):
            problems.append(f"{where}: request body without a schema")
        for code, response in operation["responses"].items():
            if code.startswith("2") and code != "204":
                content = _resolve(openapi, response).get("content", {})
                if not any(media.get("schema") for media in content.values()):
                    problems.append(f"{where}: {code} reply without a schema")
    assert problems == []
