"""Fixtures: one app per session on the configured database, a clean slate per test.

- `TEST_DATABASE_URL` (default: SQLite in a temp dir) and `TEST_REDIS_URL` (default: none, jobs
  in-process) choose the services. Tests marked `services` need both PostgreSQL and Redis; they
  are skipped with a reason when absent, and fail instead when `REQUIRE_SERVICES=1`.
- Each test runs in a transaction rolled back at its end; a test that needs real commits is
  marked `commits` (every `services` test does too). A module builds a world once with
  `module_make`. tests/support/database.py tells how.
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
from api.extensions import limiter
from devtools.factory import HASH_METHOD, Maker
from tests.support import fake_wechat
from tests.support.database import CleanSlate

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def services_available() -> tuple[bool, str]:
    if not DATABASE_URL or not DATABASE_URL.startswith("postgresql"):
        return False, "TEST_DATABASE_URL does not name a PostgreSQL database"
    if not REDIS_URL:
        return False, "TEST_REDIS_URL is not set"
    return True, ""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "commits: commits for real (another connection, thread, process or worker sees the "
        "test's rows): its tables are emptied rather than rolled back",
    )


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
            # The factory's cheap scrypt, also for the stand-in hash of unknown usernames.
            "PASSWORD_HASH_METHOD": HASH_METHOD,
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


@pytest.fixture(scope="session")
def database(app):
    """The clean slate of the session app's database (tests/support/database.py)."""
    database = CleanSlate(app)
    database.install()
    yield database
    database.uninstall()


def _commits(item) -> bool:
    return item.get_closest_marker("commits") is not None or "services" in item.keywords


@pytest.fixture(autouse=True)
def _clean_slate(request, app, database):
    """Each test starts with empty tables (its writes rolled back at its end, or the tables
    emptied first for a test that commits), an empty Redis and fresh rate limits."""
    database.begin_test(_commits(request.node))
    redis = app.extensions["redis"]
    if redis is not None:
        redis.flushdb()
    limiter.reset()
    yield
    with app.app_context():
        db.session.remove()
    strays = database.end_test()
    if strays:
        pytest.fail("\n\n".join(strays), pytrace=False)


@pytest.fixture(scope="module")
def module_transaction(database):
    """A transaction for the module's world, built once: rolled back when the module ends, and
    each test of the module rolls back to it (tests/support/database.py)."""
    database.begin_module()
    yield
    database.end_module()


@pytest.fixture(scope="module")
def module_make(app, database, module_transaction):
    """A `Maker` for the module's world (see `module_transaction`). The tests' `make` numbers
    on from where this one stopped, as it would after building the world itself."""
    maker = Maker(app)
    database.module_maker = maker
    yield maker
    database.module_maker = None


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(wechat_server):
    """The fake WeChat (devtools/fake_wechat.py `FakeWeChat`), fresh for the test."""
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
def make(app, database):
    """Registry rows one at a time, committed (see devtools/factory.py `Maker`)."""
    world = database.module_maker
    return Maker(app, start=world._n if world is not None else 0)


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()
