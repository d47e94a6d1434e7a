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
from decimal import Decimal

import pytest
from redis import Redis
from sqlalchemy import text

from api import auth
from api.app import create_app
from api.core import db
from participation.models import (
    Building,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Resident,
    RoleGrant,
    Staff,
)
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


class Factory:
    """Builds registry rows directly (committed), and tokens for them."""

    def __init__(self, app):
        self.app = app
        self._n = 0

    def _next(self):
        self._n += 1
        return self._n

    def _save(self, obj):
        with self.app.app_context():
            db.session.add(obj)
            db.session.commit()
            db.session.refresh(obj)
            db.session.expunge(obj)
        return obj

    def county(self, name=None):
        return self._save(County(name=name or f"县{self._next()}"))

    def community(self, county=None, name=None):
        county = county or self.county()
        return self._save(Community(county_id=county.id, name=name or f"社区{self._next()}"))

    def estate(self, community=None, name=None):
        community = community or self.community()
        return self._save(Estate(community_id=community.id, name=name or f"小区{self._next()}"))

    def household(
        self,
        estate=None,
        building="1栋",
        unit="1单元",
        room=None,
        name="张三",
        phone="1234",
        area="88.50",
    ):
        estate = estate or self.estate()
        with self.app.app_context():
            b = db.session.query(Building).filter_by(estate_id=estate.id, name=building).first()
            if b is None:
                b = Building(estate_id=estate.id, name=building)
                db.session.add(b)
                db.session.flush()
            household = Household(
                estate_id=estate.id,
                building_id=b.id,
                unit=unit,
                room=room or str(100 + self._next()),
                floor_area=Decimal(area),
                owner_name=name,
                owner_phone_last4=phone,
            )
            db.session.add(household)
            db.session.commit()
            db.session.refresh(household)
            db.session.expunge(household)
        return household

    def resident(self, nickname=None):
        n = self._next()
        return self._save(Resident(openid=f"openid-{n}", nickname=nickname or f"居民{n}"))

    def member(self, household, resident=None, status="verified", relation="owner"):
        """A resident holding a claim (verified by default) on `household`."""
        resident = resident or self.resident()
        with self.app.app_context():
            h = db.session.get(Household, household.id)
            estate = db.session.get(Estate, h.estate_id)
            claim = HouseholdClaim(
                resident_id=resident.id,
                household_id=h.id,
                community_id=estate.community_id,
                relation=relation,
                claimed_name=h.owner_name,
                claimed_phone_last4=h.owner_phone_last4,
                status=status,
            )
            db.session.add(claim)
            db.session.commit()
        return resident

    def staff(self, role=None, scope=None, username=None, password="correct-horse-1"):
        n = self._next()
        with self.app.app_context():
            staff = Staff(
                username=username or f"staff{n}",
                password_hash=auth.hash_password(password),
                display_name=f"工作人员{n}",
            )
            db.session.add(staff)
            db.session.flush()
            if role:
                scope_id = getattr(scope, "id", scope)
                db.session.add(RoleGrant(staff_id=staff.id, role=role, scope_id=scope_id))
            db.session.commit()
            db.session.refresh(staff)
            db.session.expunge(staff)
        return staff

    def token(self, who) -> str:
        kind = auth.RESIDENT if isinstance(who, Resident) else auth.STAFF
        with self.app.test_request_context():
            return auth.issue_token(kind, who.id)

    def headers(self, who) -> dict:
        return {"Authorization": f"Bearer {self.token(who)}"}


@pytest.fixture
def make(app):
    return Factory(app)


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()
