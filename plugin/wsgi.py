"""WSGI entry point for production servers: `gunicorn plugin.wsgi:app`.

Refuses to start on an unmigrated database (run `shopseg migrate`); the worker runs
separately as `shopseg worker`.
"""

from __future__ import annotations

from plugin.app import create_app
from plugin.migrate import ensure_migrated
from plugin.runtime import build_runtime
from plugin.settings import Settings

_runtime = build_runtime(Settings.from_env())
ensure_migrated(_runtime.engine)
app = create_app(_runtime)
