"""`shopseg serve` on gunicorn, the production WSGI server, with the request log redacted.

The master process only binds the socket and supervises; each web process builds its own
runtime after the fork (no engine or thread crosses a fork). With the embedded worker
(always on SQLite, `--with-worker` on PostgreSQL) there is exactly one web process, and the
inbox worker and scheduler run in a thread of it, stopped and joined when it exits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from plugin.logs import redact_query, redact_target
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings

# Apache's combined format; gunicorn writes it as plain text (no colours) to stdout.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


class RedactedAccessLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with credentials (`id_token`, OAuth `code`, `hmac`, `state` …)
    taken out of the request line, the query and the referrer."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        # The whole line passes plugin.logs' redaction too; these are parsed, not matched.
        raw_uri = environ.get("RAW_URI", "")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {redact_target(raw_uri)} {atoms['H']}"
        atoms["q"] = redact_query(environ.get("QUERY_STRING", ""))
        atoms["f"] = redact_target(environ.get("HTTP_REFERER", "-"))
        return atoms


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    threads: int
    embedded_worker: bool
    log_level: str


class ShopSegServer(BaseApplication):  # type: ignore[misc]
    """The app under gunicorn; `on_ready(port)` is told the bound port (`--port 0`),
    `on_exit()` runs in the master once every web process has stopped."""

    def __init__(
        self,
        settings: Settings,
        options: ServeOptions,
        on_ready: Callable[[int], None],
        on_exit: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.options = options
        self.on_ready = on_ready
        self.on_exit = on_exit
        self.runtime: Runtime | None = None
        self.stop = threading.Event()
        self.worker_thread: threading.Thread | None = None
        super().__init__()

    def load_config(self) -> None:
        opts = self.options
        config: dict[str, Any] = {
            "bind": [f"{opts.host}:{opts.port}"],
            "workers": 1 if opts.embedded_worker else opts.workers,
            "worker_class": "gthread",
            "threads": opts.threads,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "errorlog": "-",
            "loglevel": opts.log_level.lower(),
            "logger_class": RedactedAccessLogger,
            "control_socket_disable": True,
            "when_ready": lambda arbiter: self.on_ready(_bound_port(arbiter)),
            "post_worker_init": self._start_worker,
            "worker_exit": lambda _arbiter, _worker: self._stop_worker(),
            "on_exit": lambda _arbiter: self.on_exit(),
        }
        for key, value in config.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from plugin.app import create_app

        self.runtime = build_runtime(self.settings)
        return create_app(self.runtime)

    def _start_worker(self, _worker: Any) -> None:
        if not self.options.embedded_worker or self.runtime is None:
            return
        from plugin.worker import run_worker

        self.worker_thread = threading.Thread(
            target=run_worker, args=(self.runtime, self.stop), name="shopseg-worker", daemon=True
        )
        self.worker_thread.start()

    def _stop_worker(self) -> None:
        """In the web process: let the worker finish its batch, then close the runtime.
        (gunicorn also calls this in the master, which has neither.)"""
        self.stop.set()
        if self.worker_thread is not None:
            self.worker_thread.join(timeout=30)
        if self.runtime is not None:
            self.runtime.close()


def _bound_port(arbiter: Any) -> int:
    return int(arbiter.LISTENERS[0].sock.getsockname()[1])
