"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import sys

from api.app import create_app
from api.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One clear line, not a traceback: the operator fixes the setting and starts again.
    sys.exit(f"configuration error: {exc}")
