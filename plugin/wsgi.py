"""WSGI entry point for production servers (`gunicorn plugin.wsgi:app`); no worker inside."""

from __future__ import annotations

from wsgiref.types import WSGIApplication

from plugin.app import create_app
from plugin.errors import ConfigurationError
from plugin.logs import configure_logging
from plugin.migrate import ensure_migrated
from plugin.runtime import build_runtime
from plugin.settings import Settings


def build_app(settings: Settings) -> WSGIApplication:
    """The app, refusing an unmigrated database (run `shopseg migrate`) or a missing key."""
    if settings.is_sqlite:
        settings, _ = settings.with_local_secret_key()
    if not settings.secret_key:
        raise ConfigurationError("SHOPSEG_SECRET_KEY must be set for the web app")
    configure_logging(settings.log_level, settings.secret_values)
    runtime = build_runtime(settings)
    ensure_migrated(runtime.engine)
    return create_app(runtime)


app = build_app(Settings.from_env())
