"""`shopseg inbox`: what is waiting, stuck or dead in a shop's webhook inbox."""

from __future__ import annotations

from datetime import timedelta

import click

from plugin.commands.core import load_runtime
from plugin.db import utcnow
from plugin.errors import NotFoundError
from plugin.inbox import services
from plugin.inbox.models import AWAITING_INSTALL, DEAD, DONE, DUPLICATE, IGNORED, PENDING

SHOWN_STATUSES = (PENDING, AWAITING_INSTALL, DEAD, DONE, DUPLICATE, IGNORED)


@click.group()
def inbox() -> None:
    """The durable inbox of verified webhook deliveries."""


@inbox.command()
@click.argument("domain")
@click.option("--platform", default="shopify", show_default=True)
def status(domain: str, platform: str) -> None:
    """Counts by status and the age of the oldest pending delivery of DOMAIN."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            report = services.inbox_status(session, domain.lower(), platform)
    except NotFoundError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    click.echo(f"Inbox of {domain}" + ("" if report.shop_known else " (shop not installed yet)"))
    extra = sorted(set(report.counts) - set(SHOWN_STATUSES))
    for name in (*SHOWN_STATUSES, *extra):
        click.echo(f"  {name:<17}{report.counts.get(name, 0):>8}")
    age = report.oldest_pending_age(utcnow())
    click.echo(f"  oldest pending   {format_age(age) if age is not None else '-':>8}")


@inbox.command("retry-dead")
@click.argument("domain")
@click.option("--platform", default="shopify", show_default=True)
def retry_dead(domain: str, platform: str) -> None:
    """Give DOMAIN's dead deliveries a fresh set of attempts (after fixing their cause)."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            count = services.retry_dead(session, platform, domain.lower())
    finally:
        runtime.close()
    click.echo(f"{count} dead deliveries of {domain} are pending again.")


def format_age(age: timedelta) -> str:
    """Compact age: 45s, 12m 5s, 3h 2m, 4d 1h."""
    seconds = max(int(age.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"
