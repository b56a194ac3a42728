"""serve, worker and migrate."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import click

from plugin.errors import ShopSegError
from plugin.logs import configure_logging
from plugin.migrate import ensure_migrated, upgrade_head
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings

log = logging.getLogger("shopseg")


def load_runtime(*, migrate_sqlite: bool) -> Runtime:
    """Settings and runtime for a command; the embedded SQLite default migrates itself."""
    try:
        settings = Settings.from_env()
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    if settings.is_sqlite:
        settings, created = settings.with_local_secret_key()
        if created:
            click.echo("Generated SHOPSEG_SECRET_KEY into .shopseg-secret (keep this file).")
    configure_logging(settings.log_level, settings.secret_values)
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
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Web processes (default 2; the embedded worker needs exactly one).",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
def serve(host: str, port: int, with_worker: bool, workers: int | None, threads: int) -> None:
    """Run the web app on gunicorn (webhooks, admin tab); on SQLite with the worker built in."""
    from plugin.serving import ServeOptions, ShopSegServer

    runtime = load_runtime(migrate_sqlite=True)
    settings = runtime.settings
    runtime.close()  # each web process opens its own after the fork
    embedded = settings.is_sqlite or with_worker
    if embedded and (workers or 1) > 1:
        raise click.UsageError(
            "the embedded worker runs in one web process: drop --workers, or use PostgreSQL"
            " and run `shopseg worker` beside `shopseg serve --workers N`"
        )
    options = ServeOptions(host, port, workers or 2, threads, embedded, settings.log_level)

    def ready(bound: int) -> None:
        click.echo(
            f"Serving on http://{host}:{bound}"
            + (" with the worker" if embedded else " (no worker: run `shopseg worker`)")
        )

    ShopSegServer(settings, options, ready, lambda: click.echo("Stopped.")).run()


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


def _on_signals(action: Callable[[], Any], *signums: signal.Signals) -> None:
    """Graceful stop: the handler only flags; the loops finish their current batch."""
    for signum in signums:
        signal.signal(signum, lambda *_: action())


COMMANDS: list[click.Command] = [migrate, serve, worker]
