"""serve, worker and migrate."""

from __future__ import annotations

import logging

import click

from plugin.migrate import ensure_migrated, upgrade_head
from plugin.runtime import Runtime, build_runtime
from plugin.settings import Settings

log = logging.getLogger("shopseg")


def load_runtime(*, migrate_sqlite: bool) -> Runtime:
    """Settings and runtime for a command; the embedded SQLite default migrates itself."""
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    if settings.is_sqlite:
        settings, created = settings.with_local_secret_key()
        if created:
            click.echo("Generated SHOPSEG_SECRET_KEY into .shopseg-secret (keep this file).")
    runtime = build_runtime(settings)
    if settings.is_sqlite and migrate_sqlite:
        upgrade_head(runtime.engine)
    else:
        ensure_migrated(runtime.engine)
    return runtime


@click.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    runtime = build_runtime(Settings.from_env())
    upgrade_head(runtime.engine)
    click.echo(f"Database at {runtime.engine.url.render_as_string()} is up to date.")


COMMANDS: list[click.Command] = [migrate]
