"""Fixtures: one app per session on the configured database, a clean slate per test.

- `TEST_DATABASE_URL` (default: SQLite in a temp dir) and `TEST_REDIS_URL` (default: none, jobs
  in-process) choose the services. Tests marked `services` need both PostgreSQL and Redis; they
  are skipped with a reason when absent, and fail instead when `REQUIRE_SERVICES=1`.
- WeChat is a pytest-httpserver on 127.0.0.1 speaking WeChat's wire format; an autouse fixture
  fails any test that tries to reach anything but the loopback.
"""

from __future__ import annotations

import os
import socket

import pytest
from redis import Redis
from sqlalchemy import text

from api.app import create_app
from api.core import db
from devtools.factory import Maker
from tests.support import fake_wechat

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def services_available() -> tuple[bool, str]:
    if not DATABASE_URL or not DATABASE_URL.startswith("postgresql"):
        return False, "TEST_DATABASE_URL does not name a PostgreSQL database"
    if not REDIS_URL:
        return False, "TEST_REDIS_URL is not set"
    return True, ""


def pytest_collection_modifyitems(config, items):
    ok, reason = services_available()
    if ok:
        return
    for item in items:
        if "services" in item.keywords:
            if REQUIRE_SERVICES:
                item.add_marker(pytest.mark.usefixtures("_fail_missing_services"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL and Redis: {reason}"))


@pytest.fixture
def _fail_missing_services():
    pytest.fail("REQUIRE_SERVICES=1 but PostgreSQL/Redis are not configured")


# --- the network guard ---------------------------------------------------------------------

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        if not (host.startswith("127.") or host in ("::1", "localhost")):
            raise AssertionError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


# --- the app -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def wechat_server(make_httpserver):
    """The session's fake WeChat (pytest-httpserver); `wechat` clears it per test."""
    return make_httpserver


@pytest.fixture(scope="session")
def app(tmp_path_factory, wechat_server):
    database_url = DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL or "",
            "SECRET_KEY": "test-secret-key-0123456789",
            "WECHAT_API_BASE": wechat_server.url_for("/"),
            "WECHAT_TIMEOUT_SECONDS": "1",
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        }
    )
    with app.app_context():
        db.drop_all()
        _drop_alembic_version()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _drop_alembic_version():
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


def _clean_database():
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(t.name for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean_slate(app):
    """Each test starts with empty tables, an empty Redis and fresh rate limits."""
    with app.app_context():
        _clean_database()
        redis = app.extensions["redis"]
        if redis is not None:
            redis.flushdb()
    from api.extensions import limiter

    limiter.reset()
    yield
    with app.app_context():
        db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(wechat_server):
    """The fake WeChat (see tests/support/fake_wechat.py), fresh for the test."""
    wechat_server.clear()
    yield fake_wechat.install(wechat_server)
    wechat_server.clear()


@pytest.fixture
def redis(app) -> Redis:
    if app.extensions["redis"] is None:
        pytest.skip("needs Redis: TEST_REDIS_URL is not set")
    return app.extensions["redis"]


# --- factories -----------------------------------------------------------------------------


@pytest.fixture
def make(app):
    """Registry rows one at a time, committed (see devtools/factory.py `Maker`)."""
    return Maker(app)


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()
