"""serve, worker and migrate."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from plugin.errors import ShopSegError
from plugin.migrate import ensure_migrated, upgrade_head
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings

log = logging.getLogger("shopseg")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Their INFO lines (every job run, every migration context) drown the app's own.
    for noisy in ("apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def load_runtime(*, migrate_sqlite: bool) -> Runtime:
    """Settings and runtime for a command; the embedded SQLite default migrates itself."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        settings, created = settings.with_local_secret_key()
        if created:
            click.echo("Generated SHOPSEG_SECRET_KEY into .shopseg-secret (keep this file).")
    runtime = build_runtime(settings)
    try:
        if settings.is_sqlite and migrate_sqlite:
            upgrade_head(runtime.engine)
        else:
            ensure_migrated(runtime.engine)
    except ShopSegError as exc:
        runtime.close()
        raise click.ClickException(exc.detail) from exc
    return runtime


@click.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    runtime = build_runtime(Settings.from_env())
    upgrade_head(runtime.engine)
    click.echo(f"Database at {runtime.engine.url.render_as_string()} is up to date.")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port.")
@click.option(
    "--with-worker",
    is_flag=True,
    help="Run the inbox worker and scheduler in this process (always on with SQLite).",
)
def serve(host: str, port: int, with_worker: bool) -> None:
    """Run the web app (webhooks, admin tab); on SQLite with the worker built in."""
    from werkzeug.serving import make_server

    from plugin.app import create_app

    runtime = load_runtime(migrate_sqlite=True)
    server = make_server(host, port, create_app(runtime), threaded=True)
    stop = threading.Event()
    embedded = runtime.settings.is_sqlite or with_worker
    worker = _start_worker_thread(runtime, stop) if embedded else None
    _on_signals(lambda: threading.Thread(target=server.shutdown).start(), signal.SIGTERM)
    click.echo(
        f"Serving on http://{host}:{server.port}"
        + (" with the worker" if worker else " (no worker: run `shopseg worker`)")
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if worker:
            worker.join(timeout=30)
        server.server_close()
        runtime.close()
        click.echo("Stopped.")


@click.command()
@click.option("--drain", is_flag=True, help="Process every due delivery, then exit.")
def worker(drain: bool) -> None:
    """Process the webhook inbox and run the periodic jobs until SIGTERM/SIGINT."""
    from plugin.worker import drain as drain_inbox
    from plugin.worker import run_worker

    runtime = load_runtime(migrate_sqlite=True)
    try:
        if drain:
            click.echo(f"Processed {drain_inbox(runtime)} deliveries.")
            return
        stop = threading.Event()
        _on_signals(stop.set, signal.SIGTERM, signal.SIGINT)
        click.echo("Worker running; stop with Ctrl-C or SIGTERM.")
        run_worker(runtime, stop)
    finally:
        runtime.close()


def _start_worker_thread(runtime: Runtime, stop: threading.Event) -> threading.Thread:
    from plugin.worker import run_worker

    thread = threading.Thread(
        target=run_worker, args=(runtime, stop), name="shopseg-worker", daemon=True
    )
    thread.start()
    return thread


def _on_signals(action: Callable[[], Any], *signums: signal.Signals) -> None:
    """Graceful stop: the handler only flags; the loops finish their current batch."""
    for signum in signums:
        signal.signal(signum, lambda *_: action())


COMMANDS: list[click.Command] = [migrate, serve, worker]
