"""Flask extensions that blueprints use at import time, bound to an app in `create_app`."""

from flask import current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

# Flask-Limiter keeps these on the Limiter object and replaces them on every `init_app`.
_PER_APP = ("_storage", "_limiter", "enabled")
_STATE = "limiter_state"


def _per_app(name):
    def get(self):
        if has_app_context():
            state = current_app.extensions.get(_STATE)
            if state is not None:
                return state[name]
        return self.__dict__.get(name)

    def set_(self, value):
        self.__dict__[name] = value

    return property(get, set_)


class AppLimiter(Limiter):
    """Flask-Limiter's `Limiter` with its storage and on/off switch kept per app.

    The blueprints decorate views with one module-level limiter. Plain Flask-Limiter would let the
    last app built take the storage of every app before it (a second `create_app`, as tests do,
    moved the first app's limits from Redis to memory). Here each app keeps its own; outside an
    app context the first app's is used.
    """

    _storage = _per_app("_storage")
    _limiter = _per_app("_limiter")
    enabled = _per_app("enabled")

    def init_app(self, app):
        first = {name: self.__dict__.get(name) for name in _PER_APP}
        with app.app_context():  # so that init_app reads and writes no other app's state
            super().init_app(app)
        app.extensions[_STATE] = {name: self.__dict__.get(name) for name in _PER_APP}
        if self.__dict__.get("_first_app_initialized"):
            self.__dict__.update(first)
        self.__dict__["_first_app_initialized"] = True


migrate = Migrate()
limiter = AppLimiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
