"""The retention period of residents' personal data (issue 12): a resident who has not signed in
for `RESIDENT_RETENTION_DAYS` days is erased as `DELETE /me` erases (tests/registry/
test_erasure.py), by a daily job (`participation.jobs`) or by `flask residents-purge`, whose
`--dry-run` shows the ids it would erase and changes nothing. The commands also run as a real
process on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.config import ConfigError, load
from api.core import LOCAL, db, periodic, utcnow
from participation import jobs
from participation.models import HouseholdClaim, Resident
from participation.service.personal import tombstone
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.database import every_row

ROOT = Path(__file__).resolve().parents[2]
DAYS = 1095


def _residents(app, make, ages: dict[str, int | None]) -> dict[str, int]:
    """A resident per name, last signed in that many days ago (None: erased long ago), each a
    verified member of a household; their ids."""
    household = make.household()
    ids = {}
    for name, days in ages.items():
        resident = make.member(household, make.resident(f"居民{name}"))
        with app.app_context():
            row = db.session.get(Resident, resident.id)
            row.last_login_at = utcnow() - timedelta(days=abs(days or DAYS * 2))
            if days is None:
                row.openid, row.erased_at = tombstone(row.id), utcnow()
                row.nickname = None
            db.session.commit()
        ids[name] = resident.id
    return ids


AGES = {"fresh": 3, "almost": DAYS - 1, "stale": DAYS + 1, "ancient": DAYS * 3, "gone": None}


def _erased(app) -> set[int]:
    with app.app_context():
        try:
            return set(
                db.session.scalars(select(Resident.id).where(Resident.erased_at.is_not(None)))
            )
        finally:
            db.session.remove()


def test_the_default_is_three_years(tmp_path):
    assert load(str(tmp_path))["RESIDENT_RETENTION_DAYS"] == 1095


@pytest.mark.parametrize("value", ["0", "-30", "1.5", "three years", "36501", "nan"])
def test_a_bad_retention_period_is_a_config_error_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^RESIDENT_RETENTION_DAYS "):
        load(str(tmp_path), environ={"RESIDENT_RETENTION_DAYS": value})


def test_the_purge_erases_those_past_the_period_and_no_one_else(app, make):
    ids = _residents(app, make, AGES)
    with app.app_context():
        assert jobs.due() == [ids["stale"], ids["ancient"]]
        erased = jobs.purge()
        db.session.remove()
    assert erased == [ids["stale"], ids["ancient"]]
    assert _erased(app) == {ids["stale"], ids["ancient"], ids["gone"]}
    with app.app_context():
        for name in ("stale", "ancient"):
            resident = db.session.get(Resident, ids[name])
            assert resident.openid == tombstone(resident.id) and resident.nickname is None
        # Erased exactly as DELETE /me erases: the claims go too.
        claims = set(db.session.scalars(select(HouseholdClaim.resident_id)))
        # ("gone" was marked erased by hand, claim and all: the purge does not take it again.)
        assert claims == {ids["fresh"], ids["almost"], ids["gone"]}
        assert jobs.purge() == []  # nothing left to do
        db.session.remove()


def test_the_period_is_the_setting(app, make, monkeypatch):
    ids = _residents(app, make, {"week": 8, "day": 1})
    monkeypatch.setitem(app.config, "RESIDENT_RETENTION_DAYS", 7)
    with app.app_context():
        assert jobs.purge() == [ids["week"]]
        db.session.remove()


def test_the_dry_run_names_ids_only_and_changes_nothing(app, make):
    ids = _residents(app, make, AGES)
    before = every_row(app)
    result = app.test_cli_runner().invoke(args=["residents-purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"would erase 2 residents not signed in for {DAYS} days: {ids['stale']}, {ids['ancient']}"
    )
    for private in ("居民", "openid-", "张三"):
        assert private not in result.output
    assert every_row(app) == before

    result = app.test_cli_runner().invoke(args=["residents-purge"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"erased 2 residents not signed in for {DAYS} days"
    assert _erased(app) == {ids["stale"], ids["ancient"], ids["gone"]}

    again = app.test_cli_runner().invoke(args=["residents-purge", "--dry-run"])
    assert again.output.strip() == f"would erase 0 residents not signed in for {DAYS} days: none"


def test_the_daily_run_is_registered_and_named_by_its_local_date(app):
    assert jobs.schedule_purge in app.extensions[periodic._REGISTERED]
    # 03:59 on the local clock: today at 04:00; 04:00 itself: tomorrow's.
    before = datetime(2027, 3, 10, 3, 59, tzinfo=LOCAL).astimezone(UTC)
    assert jobs.next_purge_at(before) == datetime(2027, 3, 10, 4, 0, tzinfo=LOCAL)
    at_four = datetime(2027, 3, 10, 4, 0, tzinfo=LOCAL).astimezone(UTC)
    assert jobs.next_purge_at(at_four) == datetime(2027, 3, 11, 4, 0, tzinfo=LOCAL)


def test_the_daily_job_purges_then_asks_for_the_next_run(app, make, monkeypatch):
    ids = _residents(app, make, {"stale": DAYS + 10})
    asked = []
    monkeypatch.setattr(jobs, "schedule_purge", lambda now=None: asked.append(True))
    with app.app_context():
        assert jobs.purge_job() == [ids["stale"]]
        db.session.remove()
    assert asked == [True]


# --- as a real process, on PostgreSQL ----------------------------------------------------------


def _flask(*args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
    env.update(
        APP_ENV="development",
        DATABASE_URL=DATABASE_URL or "",
        REDIS_URL=REDIS_URL or "",
        SECRET_KEY="test-secret-key-0123456789",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.services
def test_the_command_on_postgresql(app, make):
    ids = _residents(app, make, AGES)
    dry = _flask("residents-purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.strip().endswith(f": {ids['stale']}, {ids['ancient']}")
    assert _erased(app) == {ids["gone"]}

    real = _flask("residents-purge")
    assert real.returncode == 0, real.stderr
    assert real.stdout.strip() == f"erased 2 residents not signed in for {DAYS} days"
    assert _erased(app) == {ids["stale"], ids["ancient"], ids["gone"]}
    with app.app_context():
        stale = db.session.get(Resident, ids["stale"])
        assert stale.openid == tombstone(stale.id) and stale.erased_at is not None
        db.session.remove()
