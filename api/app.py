"""`create_app`: the one place the app is built: settings, extensions, blueprints, error
handlers, and the domains' wiring (the rules that guard lifecycle steps, event listeners).

Importing this module builds nothing."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from api import config as settings
from api.cli import register_commands
from api.core import audit, db, listen, periodic, provide
from api.core.db import install_error_scrubbing
from api.core.fields import ID_MAX
from api.core.jobs import install_session_hooks
from api.extensions import limiter, migrate
from api.http import (
    API_DESCRIPTION,
    ErrorSchema,
    JSONProvider,
    SpecPlugin,
    enforce_body_limit,
    enforce_request_limits,
    install_error_handlers,
)
from api.jobs import InlineRunner, RQRunner, connect_redis, redis_options
from api.logs import configure as configure_logging
from api.routes import console, ops, register_blueprints
from api.wechat import WeChat
from feedback import jobs as feedback_jobs
from feedback import policy as feedback_policy
from feedback.service import personal as feedback_personal
from feedback.service import ratings, uploads, warranty
from notices import jobs as notice_jobs
from notices.service import events as notice_events
from notices.service import personal as notices_personal
from participation import jobs as participation_jobs
from participation import queries as participation_queries
from participation.service import erasure
from participation.service import projects as project_service
from voting import jobs as voting_jobs
from voting import policy as voting_policy
from voting.queries import decisions as voting_decisions
from voting.service import members as voting_members
from voting.service import personal as voting_personal

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class _Api(Api):
    ERROR_SCHEMA = ErrorSchema


class _IdConverter(IntegerConverter):
    """`<int:…>` in a path: a number beyond the id columns' range becomes 0, an id that no row
    has, so the view answers its own 404 rather than the database failing to compare it (a 500
    on PostgreSQL). Refusing the match instead would let werkzeug answer 405 when another
    method shares the path."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= ID_MAX else 0


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding any setting.

    Raises `api.config.ConfigError` (one line naming the setting) when a setting is bad.
    """
    # No static files: every reply is JSON. Without merged slashes `//x` is a JSON 404, not an
    # HTML redirect page.
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.url_map.merge_slashes = False
    app.url_map.converters["int"] = _IdConverter
    app.config.update(settings.load(app.instance_path, overrides=config))
    app.json = JSONProvider(app)  # Chinese stays readable; bodies read by api.http.load_json
    app.config.update(
        API_TITLE="老旧小区改造居民参与 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        RATELIMIT_STORAGE_URI=app.config["REDIS_URL"] or "memory://",
        RATELIMIT_KEY_PREFIX="limits",
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_ENABLED=app.config.get("RATELIMIT_ENABLED", True),
        # Redis may vanish: limits then fall back to this process's memory, not to a 500.
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS=redis_options(app.config["REDIS_TIMEOUT_SECONDS"]),
    )
    configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])

    install_session_hooks()
    install_error_scrubbing()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    limiter.init_app(app)

    redis = (
        connect_redis(app.config["REDIS_URL"], app.config["REDIS_TIMEOUT_SECONDS"])
        if app.config["REDIS_URL"]
        else None
    )
    app.extensions["redis"] = redis
    app.extensions["jobs"] = RQRunner(redis) if redis is not None else InlineRunner()
    app.extensions["wechat"] = WeChat.from_config(app.config, redis)

    api = _Api(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
            "marshmallow_plugin": SpecPlugin(),
        },
    )
    register_blueprints(api)
    ops.register(app)  # /healthz, /readyz, /metrics (not in the OpenAPI document); request ids
    console.register(app)  # /console/: the built staff console (not in the OpenAPI document)
    install_error_handlers(app)
    app.before_request(enforce_request_limits)
    app.before_request(enforce_body_limit)

    register_commands(app)
    wire_domains(app)
    return app


def wire_domains(app: Flask) -> None:
    """The domains' rules, listeners and periodic jobs, wired once per app; nothing else
    installs them.

    Every caller of `participation.service.projects.transition` runs the guards, so no caller can
    move a project past the 90% gate or into `accepted` without its acceptance record.
    """
    project_service.register_guard(app, "construction", voting_policy.guard_construction)
    project_service.register_guard(app, "accepted", feedback_policy.require_acceptance)
    project_service.register_effect(app, "completed", ratings.open_rating_window)
    # The warranty (保修期) ends warranty_years after the acceptance date; PATCH recomputes it.
    project_service.register_effect(app, "accepted", warranty.start_warranty)
    provide(app, "warranty_ends_on", warranty.warranty_ends_on)
    uploads.install_session_hooks()  # a stored photo's file follows its transaction
    # Every staff write leaves one audit row in its own transaction, scoped where they work.
    audit.install(scope_of=participation_queries.staff_home_scope)
    # What an owners' decision decided: it alone adopts a contribution scheme or estate rules.
    provide(app, "decision_outcome", voting_decisions.outcome)
    listen(app, "consultation_opened", notice_events.consultation_opened)
    listen(app, "consultation_closing", notice_events.consultation_closing)
    listen(app, "gate_final", notice_events.gate_final)
    listen(app, "ticket_answered", notice_events.ticket_answered)
    listen(app, "signup_reviewed", notice_events.signup_reviewed)
    listen(app, "ballot_replaced", notice_events.ballot_replaced)
    listen(app, "progress_posted", notice_events.progress_posted)
    listen(app, "scheme_adopted", notice_events.scheme_adopted)
    listen(app, "scheme_cancelled", notice_events.scheme_cancelled)
    listen(app, "membership_ended", voting_members.membership_ended)
    listen(app, "membership_revoked", notice_events.membership_revoked)
    # What a worker keeps scheduled (api.core.periodic): each asks for its job's next run.
    periodic.register(app, voting_jobs.schedule_reconcile)
    periodic.register(app, notice_jobs.schedule_sweep)  # and the daily overdue milestones
    periodic.register(app, feedback_jobs.schedule_reconcile)
    periodic.register(app, participation_jobs.schedule_purge)  # daily: the retention period
    # What each domain erases of a resident (DELETE /me, the retention job); participation's own
    # part runs after them all (participation.service.erasure.erase_resident).
    erasure.register_eraser(app, voting_personal.erase)
    erasure.register_eraser(app, feedback_personal.erase)
    erasure.register_eraser(app, notices_personal.erase)
