"""A second app for tests that need settings the session app does not have.

`fresh_app(tmp_path, **settings)` builds an app on its own SQLite file with its tables created,
jobs in-process (no REDIS_URL) unless a setting says otherwise; `dispose(app)` closes its pool.
"""

from __future__ import annotations

from api.app import create_app
from api.core import db
from devtools.factory import HASH_METHOD


def fresh_app(tmp_path, **settings):
    config = {
        "APP_ENV": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
        "REDIS_URL": "",
        "SECRET_KEY": "fresh-app-secret-0123456789",
        "PASSWORD_HASH_METHOD": HASH_METHOD,
        "WECHAT_API_BASE": "http://127.0.0.1:9/",
        "WECHAT_TIMEOUT_SECONDS": "1",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    config.update(settings)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
