"""Settings, read from the environment and validated before the app starts.

Every setting has an embedded default except where production needs a real value; a bad or
missing value raises `ConfigError` with one line that says which setting and why.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from urllib.parse import urlparse

from limits import parse_many
from redis.connection import parse_url as parse_redis_url
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from api.core.labels import NOTICE_CATEGORIES
from api.pool import engine_options

DEV_SECRET = "dev-only-secret-do-not-use-in-production"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name: (default, description) — README lists these; keep them in step.
SETTINGS = {
    "APP_ENV": (
        "development",
        "`production` makes SECRET_KEY, WECHAT_APPID and WECHAT_SECRET required",
    ),
    "DATABASE_URL": (
        "sqlite:///<instance>/app.db",
        "SQLAlchemy URL: sqlite:///… or postgresql+psycopg://…",
    ),
    "REDIS_URL": ("", "Redis for the RQ queues and rate limits; unset: jobs run in-process"),
    "REDIS_TIMEOUT_SECONDS": (
        "0.5",
        "longest wait for Redis to connect or answer one call; a hung Redis costs no more",
    ),
    "PERIODIC_CHECK_SECONDS": (
        "30",
        "how often a worker checks that every periodic job has its next run scheduled",
    ),
    "SECRET_KEY": (
        DEV_SECRET,
        "signs bearer tokens; required in production and with any database but SQLite",
    ),
    "TOKEN_TTL_SECONDS": ("604800", "how long a bearer token stays valid (default 7 days)"),
    "WECHAT_APPID": ("wx-demo-appid", "the mini-program's AppID"),
    "WECHAT_SECRET": ("demo-secret", "the mini-program's AppSecret"),
    "WECHAT_API_BASE": (
        "https://api.weixin.qq.com/",
        "WeChat's API base URL; tests and the demo point it at a local fake",
    ),
    "WECHAT_TIMEOUT_SECONDS": ("3", "timeout of one WeChat call, so a login answers within 5 s"),
    "STAFF_LOGIN_LIMIT": ("5 per minute", "failed staff logins allowed per username and address"),
    "STAFF_LOGIN_ADDRESS_LIMIT": (
        "30 per hour",
        "failed staff logins allowed per address over all usernames (password spraying)",
    ),
    "UPLOAD_DIR": ("<instance>/uploads", "where uploaded files are stored"),
    "WECHAT_SEND_RATE_PER_SECOND": (
        "20",
        "subscription messages sent per second at most, over all workers (0: no cap)",
    ),
    "NOTICE_TEMPLATE_ID": (
        "notice-demo-template",
        "subscription message template of notices (thing1 title, time2 time, thing3 category)",
    ),
    "NOTICE_TEMPLATE_IDS": (
        "",
        "per-category templates that replace NOTICE_TEMPLATE_ID: `utility_cut=ID,construction=ID`",
    ),
    "NOTICE_PAGE": (
        "pages/notices/detail?id={id}",
        "the mini-program page a notice message opens; {id} is the notice's id",
    ),
    "NOTICE_BATCH_SIZE": ("200", "recipients per delivery job of a notice"),
    "NOTICE_RETRY_SECONDS": (
        "10,60,300,900",
        "waits before each retry of a message WeChat failed to take; then it is failed",
    ),
    "GATE_BASIS": (
        "ballots",
        "the satisfaction gate's reading: `ballots` (satisfied ÷ ballots cast, with the quorum) "
        "or `households` (satisfied ÷ every eligible household); see docs/gate.md",
    ),
    "GATE_MIN_OPEN_DAYS": (
        "7",
        "days a plan satisfaction consultation stays open at least, unless every household voted",
    ),
    "RESULTS_MIN_BALLOTS": (
        "10",
        "households that must have voted before staff see a live satisfaction figure",
    ),
    "RESIDENT_RETENTION_DAYS": (
        "1095",
        "days after a resident's last sign-in when their personal data is erased, as by "
        "DELETE /me (default 3 years; daily job, `flask residents-purge`)",
    ),
    "LOG_FORMAT": ("text", "`text` or `json` (one object per line, with the request id)"),
    "LOG_LEVEL": ("INFO", "DEBUG, INFO, WARNING or ERROR"),
    "METRICS_TOKEN": (
        "",
        "bearer token Prometheus sends to read /metrics; unset: loopback only, 404 in production",
    ),
    "CONSOLE_DIST": (
        "<project>/console/dist",
        "the built staff console (`cd console && npm ci && npm run build`), served at /console/",
    ),
    "PROMETHEUS_MULTIPROC_DIR": (
        "",
        "an empty folder where every gunicorn worker keeps its request counters, summed per scrape",
    ),
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _redact(url) -> str:
    """The URL with any password replaced, for error messages that end up in logs."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", str(url))


def _env(environ, name):
    value = environ.get(name)
    return value if value not in (None, "") else None


def load(instance_path: str, environ=None, overrides: dict | None = None) -> dict:
    """Read and validate the settings; return the Flask config mapping.

    `overrides` (from `create_app(config=...)`) win over the environment.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})

    def get(name):
        if name in overrides:
            return overrides.pop(name)
        value = _env(environ, name)
        if value is not None:
            return value
        default = SETTINGS[name][0]
        return default.replace("<instance>", instance_path) if default else None

    app_env = get("APP_ENV")
    if app_env not in ("development", "production", "test"):
        raise ConfigError(f"APP_ENV must be development, production or test, not {app_env!r}")
    production = app_env == "production"

    database_url = get("DATABASE_URL")
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(
            f"DATABASE_URL is not a database URL: {_redact(database_url)!r} "
            "(expected sqlite:///path or postgresql+psycopg://user@host/db)"
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"DATABASE_URL names an unsupported database {url.get_backend_name()!r}: "
            "use sqlite or postgresql+psycopg"
        )
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        try:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"DATABASE_URL names a SQLite file whose folder cannot be created: "
                f"{url.database!r} ({exc.strerror})"
            ) from None

    redis_url = get("REDIS_URL")
    if redis_url and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"REDIS_URL must start with redis:// or rediss://, not {_redact(redis_url)!r}"
        )
    if redis_url:
        try:
            parse_redis_url(redis_url)
        except ValueError as exc:
            raise ConfigError(f"REDIS_URL is malformed: {_redact(redis_url)!r} ({exc})") from None
        # redis-py quietly takes database 0 for a path that is not a number.
        db_path = urlparse(redis_url).path.strip("/")
        if urlparse(redis_url).scheme != "unix" and db_path and not db_path.isdigit():
            raise ConfigError(f"REDIS_URL names a database that is not a number: {db_path!r}")

    secret = get("SECRET_KEY")
    weak_secret = secret in (None, DEV_SECRET) or len(secret) < 16
    if production and weak_secret:
        raise ConfigError(
            "SECRET_KEY must be set to a random string of 16+ characters in production"
        )
    if weak_secret and url.get_backend_name() != "sqlite":
        # A real database without APP_ENV=production is still a real service: tokens signed with
        # the public development key could be forged by anyone.
        raise ConfigError(
            "SECRET_KEY must be set to a random string of 16+ characters when DATABASE_URL is "
            "not SQLite (the development key is public)"
        )

    wechat_base = get("WECHAT_API_BASE")
    if urlparse(wechat_base).scheme not in ("http", "https"):
        raise ConfigError(f"WECHAT_API_BASE must be an http(s) URL, not {wechat_base!r}")
    if not urlparse(wechat_base).hostname:
        raise ConfigError(f"WECHAT_API_BASE names no host: {wechat_base!r}")
    if not wechat_base.endswith("/"):
        wechat_base += "/"

    appid, wechat_secret = get("WECHAT_APPID"), get("WECHAT_SECRET")
    if production and (
        appid == SETTINGS["WECHAT_APPID"][0] or wechat_secret == SETTINGS["WECHAT_SECRET"][0]
    ):
        raise ConfigError("WECHAT_APPID and WECHAT_SECRET must be set in production")

    def number(name, kind=int):
        raw = get(name)
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ConfigError(f"{name} must be a positive number, not {raw!r}")
        return value

    def rate_limit(name):
        raw = get(name)
        try:
            parse_many(str(raw))
        except ValueError:
            # Flask-Limiter would log the bad limit and then not limit at all.
            raise ConfigError(f"{name} is not a rate limit like '5 per minute': {raw!r}") from None
        return raw

    notices = _notice_settings(get, number)

    config = {
        "APP_ENV": app_env,
        "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(url.get_backend_name()),
        "REDIS_URL": redis_url,
        "REDIS_TIMEOUT_SECONDS": number("REDIS_TIMEOUT_SECONDS", float),
        "PERIODIC_CHECK_SECONDS": number("PERIODIC_CHECK_SECONDS", float),
        "SECRET_KEY": secret,
        "TOKEN_TTL_SECONDS": number("TOKEN_TTL_SECONDS"),
        "RESIDENT_RETENTION_DAYS": _days(number, "RESIDENT_RETENTION_DAYS"),
        "WECHAT_APPID": appid,
        "WECHAT_SECRET": wechat_secret,
        "WECHAT_API_BASE": wechat_base,
        "WECHAT_TIMEOUT_SECONDS": number("WECHAT_TIMEOUT_SECONDS", float),
        "STAFF_LOGIN_LIMIT": rate_limit("STAFF_LOGIN_LIMIT"),
        "STAFF_LOGIN_ADDRESS_LIMIT": rate_limit("STAFF_LOGIN_ADDRESS_LIMIT"),
        "UPLOAD_DIR": get("UPLOAD_DIR"),
        "CONSOLE_DIST": _console_dist(get),
        # JSON bodies are small; uploads raise this per request (see api.http.allow_upload).
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # A file may be 10 MiB (feedback.models.uploads.MAX_BYTES); the body carries it in a
        # multipart envelope, a few hundred bytes more.
        "UPLOAD_MAX_CONTENT_LENGTH": 10 * 1024 * 1024 + 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "JSON_AS_ASCII": False,
        "PROPAGATE_EXCEPTIONS": False,
    }
    config.update(notices)
    config.update(_gate_settings(get))
    config.update(_ops_settings(get, environ))
    config.update(overrides)  # anything else a test or caller sets directly
    return config


def _console_dist(get) -> str:
    """The console's build folder, absolute; it need not exist (`/console/` then says how to
    build it)."""
    raw = str(get("CONSOLE_DIST")).replace("<project>", str(PROJECT_ROOT))
    return str(Path(raw).expanduser().resolve())


def _days(number, name) -> int:
    """A whole number of days, 1 to 36,500 (a century: a date that far back still exists)."""
    days = number(name)
    if days > 36500:
        raise ConfigError(f"{name} must be at most 36500 days, not {days}")
    return days


TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _notice_settings(get, number) -> dict:
    """The WeChat send rate and the notice message settings."""
    raw_rate = get("WECHAT_SEND_RATE_PER_SECOND")
    try:
        rate = int(raw_rate)
    except (TypeError, ValueError):
        rate = -1
    if rate < 0:
        raise ConfigError(
            f"WECHAT_SEND_RATE_PER_SECOND must be a whole number, 0 for no cap, not {raw_rate!r}"
        )
    template = get("NOTICE_TEMPLATE_ID")
    if not TEMPLATE_ID.match(template or ""):
        raise ConfigError(f"NOTICE_TEMPLATE_ID is not a template id: {template!r}")
    raw_ids = get("NOTICE_TEMPLATE_IDS") or ""
    if isinstance(raw_ids, dict):  # given directly to create_app
        raw_ids = ",".join(f"{k}={v}" for k, v in raw_ids.items())
    per_category = {}
    for pair in filter(None, (p.strip() for p in raw_ids.split(","))):
        category, _, value = (part.strip() for part in pair.partition("="))
        if category not in NOTICE_CATEGORIES or not TEMPLATE_ID.match(value):
            raise ConfigError(
                f"NOTICE_TEMPLATE_IDS must be category=template_id pairs separated by commas; "
                f"{pair!r} is not (categories: {', '.join(NOTICE_CATEGORIES)})"
            )
        per_category[category] = value
    page = get("NOTICE_PAGE")
    try:
        page.format(id=1)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"NOTICE_PAGE may hold only the placeholder {{id}}: {page!r}") from None
    batch = number("NOTICE_BATCH_SIZE")
    if batch > 5000:
        raise ConfigError(f"NOTICE_BATCH_SIZE must be at most 5000, not {batch}")
    raw_retry = get("NOTICE_RETRY_SECONDS")
    try:
        retry = tuple(int(part) for part in str(raw_retry).split(","))
    except ValueError:
        retry = ()
    if not retry or len(retry) > 10 or any(not 0 < wait <= 86400 for wait in retry):
        raise ConfigError(
            "NOTICE_RETRY_SECONDS must be 1 to 10 whole seconds (1..86400) separated by commas, "
            f"not {raw_retry!r}"
        )
    return {
        "WECHAT_SEND_RATE_PER_SECOND": rate,
        "NOTICE_TEMPLATE_ID": template,
        "NOTICE_TEMPLATE_IDS": per_category,
        "NOTICE_PAGE": page,
        "NOTICE_BATCH_SIZE": batch,
        "NOTICE_RETRY_SECONDS": retry,
    }


GATE_BASES = ("ballots", "households")


def _gate_settings(get) -> dict:
    """The prefecture's reading of the satisfaction gate, the shortest vote, and when staff see
    a live result."""
    basis = str(get("GATE_BASIS")).strip().lower()
    if basis not in GATE_BASES:
        raise ConfigError(f"GATE_BASIS must be ballots or households, not {basis!r}")
    values = {}
    for name, lowest in (("GATE_MIN_OPEN_DAYS", 0), ("RESULTS_MIN_BALLOTS", 1)):
        raw = get(name)
        try:
            value = int(str(raw).strip())
        except ValueError:
            value = None
        if value is None or not lowest <= value <= 366:
            raise ConfigError(f"{name} must be a whole number from {lowest} to 366, not {raw!r}")
        values[name] = value
    return {"GATE_BASIS": basis, **values}


LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _ops_settings(get, environ) -> dict:
    """Logs and metrics."""
    log_format = str(get("LOG_FORMAT")).lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    log_level = str(get("LOG_LEVEL")).upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
    token = get("METRICS_TOKEN") or ""
    if token and (len(token) < 16 or not token.isprintable() or " " in token):
        raise ConfigError("METRICS_TOKEN must be 16+ printable characters without spaces")
    # prometheus_client reads this one itself, from the environment, when it is imported.
    multiproc = _env(environ, "PROMETHEUS_MULTIPROC_DIR")
    if multiproc and not os.path.isdir(multiproc):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR is not a folder: {multiproc!r}")
    return {"LOG_FORMAT": log_format, "LOG_LEVEL": log_level, "METRICS_TOKEN": token}
