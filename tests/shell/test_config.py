"""Settings are validated at start: a bad one stops the app with one line naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from api.app import create_app
from api.config import ConfigError, load
from tests.support.preforked import COMPILE_ONCE

ROOT = Path(__file__).resolve().parents[2]
STRONG_SECRET = "a-long-random-production-secret-0123"


def _load(tmp_path, **environ):
    return load(str(tmp_path / "instance"), environ=environ)


def test_no_settings_is_the_embedded_default(tmp_path):
    config = _load(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance' / 'app.db'}"
    assert config["REDIS_URL"] is None
    assert config["STAFF_LOGIN_LIMIT"] == "5 per minute"
    assert (tmp_path / "instance").is_dir()


@pytest.mark.parametrize(
    "value",
    [
        "not a url",
        "mysql://user@localhost/renovation",
        "postgres://user@localhost/renovation",  # Heroku spelling: SQLAlchemy has no such dialect
        "postgresql+psycopg://user@localhost:notaport/renovation",
        "sqlite:////proc/no-such-folder/app.db",  # a folder that cannot be created
    ],
)
def test_bad_database_url_is_a_config_error_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL ") as raised:
        _load(tmp_path, DATABASE_URL=value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2", "postgresql+psycopg"])
def test_postgresql_url_uses_the_psycopg_driver(tmp_path, scheme):
    config = _load(
        tmp_path,
        DATABASE_URL=f"{scheme}://user@db.internal:5432/renovation",
        SECRET_KEY=STRONG_SECRET,
    )
    engine = create_engine(config["SQLALCHEMY_DATABASE_URI"])  # connects to nothing yet
    assert engine.dialect.driver == "psycopg"
    assert engine.url.database == "renovation"


def test_error_messages_hide_passwords(tmp_path):
    with pytest.raises(ConfigError) as bad_database:
        _load(tmp_path, DATABASE_URL="postgresql+psycopg://app:s3cr3t-pw@db:port/renovation")
    with pytest.raises(ConfigError) as bad_redis:
        _load(tmp_path, REDIS_URL="redis://:s3cr3t-pw@cache:port/0")
    for raised in (bad_database, bad_redis):
        assert "s3cr3t-pw" not in str(raised.value)


def test_production_without_secret_key_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^SECRET_KEY "):
        _load(tmp_path, APP_ENV="production", WECHAT_APPID="wx123", WECHAT_SECRET="s" * 32)


@pytest.mark.parametrize("secret", ["short", "dev-only-secret-do-not-use-in-production"])
def test_production_with_a_weak_or_the_dev_secret_key_is_a_config_error(tmp_path, secret):
    with pytest.raises(ConfigError, match=r"^SECRET_KEY "):
        _load(
            tmp_path,
            APP_ENV="production",
            SECRET_KEY=secret,
            WECHAT_APPID="wx123",
            WECHAT_SECRET="s" * 32,
        )


POSTGRESQL = "postgresql+psycopg://renovation@db.internal:5432/renovation"


@pytest.mark.parametrize("app_env", [None, "development", "test"])
@pytest.mark.parametrize("secret", [None, "dev-only-secret-do-not-use-in-production", "short"])
def test_a_real_database_refuses_the_development_key_whatever_app_env_says(
    tmp_path, app_env, secret
):
    # DATABASE_URL set and APP_ENV forgotten: tokens must not be signed with the public key.
    settings = {"DATABASE_URL": POSTGRESQL, "APP_ENV": app_env, "SECRET_KEY": secret}
    with pytest.raises(ConfigError, match=r"^SECRET_KEY .*DATABASE_URL is not SQLite"):
        _load(tmp_path, **{k: v for k, v in settings.items() if v is not None})


def test_a_real_database_with_its_own_key_starts_and_sqlite_keeps_the_development_key(tmp_path):
    assert _load(tmp_path, DATABASE_URL=POSTGRESQL, SECRET_KEY=STRONG_SECRET)["SECRET_KEY"] == (
        STRONG_SECRET
    )
    embedded = _load(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}")
    assert embedded["SECRET_KEY"] == "dev-only-secret-do-not-use-in-production"


def test_production_with_the_demo_wechat_credentials_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^WECHAT_APPID and WECHAT_SECRET "):
        _load(tmp_path, APP_ENV="production", SECRET_KEY=STRONG_SECRET)


def test_production_with_every_required_setting_starts(tmp_path):
    config = _load(
        tmp_path,
        APP_ENV="production",
        SECRET_KEY=STRONG_SECRET,
        WECHAT_APPID="wx123",
        WECHAT_SECRET="s" * 32,
    )
    assert config["SECRET_KEY"] == STRONG_SECRET


@pytest.mark.parametrize(
    "value",
    [
        "localhost:6379",
        "http://localhost:6379/0",
        "redis://localhost:notaport/0",
        "redis://localhost:6379/fifteen",  # redis-py would quietly use database 0
    ],
)
def test_bad_redis_url_is_a_config_error_naming_it(tmp_path, value):
    with pytest.raises(ConfigError, match=r"^REDIS_URL "):
        _load(tmp_path, REDIS_URL=value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ENV", "staging"),
        ("TOKEN_TTL_SECONDS", "a week"),
        ("TOKEN_TTL_SECONDS", "0"),
        ("WECHAT_TIMEOUT_SECONDS", "-1"),
        ("WECHAT_TIMEOUT_SECONDS", "nan"),
        ("WECHAT_TIMEOUT_SECONDS", "inf"),
        ("REDIS_TIMEOUT_SECONDS", "0"),
        ("REDIS_TIMEOUT_SECONDS", "soon"),
        ("PERIODIC_CHECK_SECONDS", "0"),
        ("PERIODIC_CHECK_SECONDS", "a minute"),
        ("WECHAT_API_BASE", "ftp://api.weixin.qq.com/"),
        ("WECHAT_API_BASE", "http://"),
        ("STAFF_LOGIN_LIMIT", "five a minute"),
        ("STAFF_LOGIN_ADDRESS_LIMIT", "thirty an hour"),
    ],
)
def test_other_bad_settings_are_config_errors_naming_them(tmp_path, name, value):
    with pytest.raises(ConfigError, match=rf"^{name} "):
        _load(tmp_path, **{name: value})


def test_create_app_validates_its_overrides_too(tmp_path):
    with pytest.raises(ConfigError, match=r"^DATABASE_URL "):
        create_app({"DATABASE_URL": "mysql://user@localhost/x"})
    with pytest.raises(ConfigError, match=r"^REDIS_URL "):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_URL": "nope"})


# --- the entry point: one line, no traceback ------------------------------------------------


@dataclass
class Started:
    returncode: int
    stdout: str
    stderr: str


def _run(args, tmp_path, timeout=60, **settings):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_", "FLASK_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    env.update({"APP_ENV": "development", "PYTHONDONTWRITEBYTECODE": "1"}, **settings)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


ENTRY_POINTS = {
    "import wsgi": [sys.executable, "-c", "import wsgi"],
    "flask routes": [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
}
BAD_SETTINGS = {
    "database": {"DATABASE_URL": "mysql://user@localhost/renovation"},
    "database-port": {"DATABASE_URL": "postgresql+psycopg://user@localhost:notaport/renovation"},
    "production-secret": {"APP_ENV": "production"},
    "postgresql-secret": {"DATABASE_URL": "postgresql+psycopg://renovation@127.0.0.1:9/renovation"},
    "redis": {"REDIS_URL": "redis://localhost:notaport/0"},
}


# Runs in a fresh interpreter: loads the third-party libraries every start needs once and compiles
# the project's sources (tests/support/preforked.py), running none of them, then forks one child
# per start, which takes its settings, sends its output to its own files and runs the
# entry point as `python -c "import wsgi"` or `python -m flask ...` would; whatever it raises
# leaves it at the top, where the interpreter prints it (a traceback, or SystemExit's one line)
# and sets the exit status, as in a real start.
_STARTER = r"""
import json, os, runpy, sys
import flask, flask.cli, flask_smorest, flask_sqlalchemy, flask_limiter, flask_migrate
import marshmallow, sqlalchemy, redis, rq, wechatpy, openpyxl, webargs, apispec, click

PROJECT = ("api", "participation", "voting", "feedback", "notices", "devtools", "wsgi")
assert not [m for m in sys.modules if m.split(".")[0] in PROJECT], "app preloaded"
COMPILE_ONCE
starts, workers = json.loads(sys.argv[1]), int(sys.argv[2])
running, statuses = {}, [None] * len(starts)

def reap():
    pid, status = os.wait()
    statuses[running.pop(pid)] = os.waitstatus_to_exitcode(status)

for i, (args, settings, out, err) in enumerate(starts):
    if len(running) >= workers:
        reap()
    pid = os.fork()
    if pid:
        running[pid] = i
        continue
    os.environ.update(settings)
    for fd, name in ((1, out), (2, err)):
        os.dup2(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
    sys.path[0] = ""
    if args[0] == "-c":
        sys.argv = ["-c"]
        exec(args[1], {"__name__": "__main__"})
    else:  # -m
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    sys.exit(0)
while running:
    reap()
print(json.dumps(statuses))
""".replace("COMPILE_ONCE\n", COMPILE_ONCE)


@pytest.fixture(scope="module")
def starts(tmp_path_factory) -> dict:
    """Every entry point started with each bad setting, and `flask routes` with good ones: each
    start loads the app in a process of its own (see `_STARTER`), side by side, once per module.
    """
    runs = {
        (entry, name): (ENTRY_POINTS[entry], settings)
        for entry in ENTRY_POINTS
        for name, settings in BAD_SETTINGS.items()
    }
    runs["good"] = (ENTRY_POINTS["flask routes"], {})
    folder = tmp_path_factory.mktemp("starts")
    plan, files = [], {}
    for i, (key, (args, settings)) in enumerate(runs.items()):
        tmp_path = tmp_path_factory.mktemp("start")
        settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", **settings}
        files[key] = (folder / f"{i}.out", folder / f"{i}.err")
        plan.append((args[1:], settings, *map(str, files[key])))
    starter = [sys.executable, "-c", _STARTER, json.dumps(plan), str(os.cpu_count() or 2)]
    done = _run(starter, folder, timeout=300)
    assert done.returncode == 0, done.stderr
    statuses = json.loads(done.stdout)
    return {
        key: Started(status, out.read_text(), err.read_text())
        for status, (key, (out, err)) in zip(statuses, files.items(), strict=True)
    }


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("name", BAD_SETTINGS)
def test_bad_setting_stops_the_start_with_one_line(starts, entry, name):
    done = starts[(entry, name)]

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("configuration error: ")
    setting = next(iter(BAD_SETTINGS[name]))
    assert setting.replace("APP_ENV", "SECRET_KEY") in lines[0]


def test_good_settings_start(starts):
    done = starts["good"]
    assert done.returncode == 0, done.stderr
    assert "/api/v1/auth/wechat-login" in done.stdout
