"""`shopseg tags resync`: read every customer's current tags from the shop again."""

from __future__ import annotations

import click

from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import ShopSegError


@click.group()
def tags() -> None:
    """The customer tags the app manages in a shop."""


@tags.command()
@click.argument("domain")
def resync(domain: str) -> None:
    """Queue a tag import for DOMAIN: the worker reads every customer's tags through a bulk
    query, records them, then repairs drift (stale managed tags go, missing ones come back)."""
    from plugin.tagsync.imports import queue_import

    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            item = queue_import(session, find_shop(session, domain).id, "resync", utcnow())
            item_id = item.id
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    click.echo(f"Queued tag import #{item_id} for {domain}; see `shopseg activity {domain}`.")


COMMANDS: list[click.Command] = [tags]
