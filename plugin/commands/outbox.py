"""`shopseg activity` (what the app did in a shop, and why) and `shopseg outbox retry`."""

from __future__ import annotations

import json

import click
from sqlalchemy.orm import Session

from plugin.commands import decisions
from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import ShopSegError
from plugin.outbox import services
from plugin.outbox.activity import activity_json, what
from plugin.outbox.models import DEAD, OutboxItem
from plugin.profiles.queries import platform_ids


@click.command()
@click.argument("domain")
@click.option("--failed", is_flag=True, help="Only rows that failed for good (dead).")
@click.option(
    "--skipped",
    is_flag=True,
    help="Trigger decisions that sent nothing (skipped, deferred, cancelled) and exactly why.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
def activity(domain: str, failed: bool, skipped: bool, limit: int, as_json: bool) -> None:
    """What the app pushed to DOMAIN, newest first: tags added and removed, triggers fired,
    why, when, attempts, state and the last error. Customers are the shop's own ids."""
    if failed and skipped:
        raise click.UsageError("use --failed or --skipped, not both")
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            shop_id = find_shop(session, domain).id
            if skipped:
                lines = decisions.listing(session, shop_id, limit, as_json)
            else:
                lines = _pushed(session, shop_id, failed, limit, as_json)
                lines += [] if failed or as_json else decisions.hint(session, shop_id, domain)
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    for line in lines:
        click.echo(line)


def _pushed(session: Session, shop_id: int, failed: bool, limit: int, as_json: bool) -> list[str]:
    rows = services.items_of(session, shop_id, states=[DEAD] if failed else None, limit=limit)
    ids = platform_ids(session, shop_id, (row.customer_id for row in rows))
    if not rows and not as_json:
        return ["No failed rows." if failed else "Nothing yet."]
    if as_json:
        return [json.dumps(activity_json(row, ids.get(row.customer_id or 0))) for row in rows]
    return [activity_line(row, ids.get(row.customer_id or 0)) for row in rows]


def activity_line(row: OutboxItem, customer: str | None = None) -> str:
    when = (row.done_at or row.created_at).strftime("%Y-%m-%d %H:%M:%S")
    error = f"\n    error: {row.last_error}" if row.last_error and row.state != "done" else ""
    return (
        f"{when}  {row.state:<9} x{row.attempts:<3} {what(row, customer)}\n"
        f"    why: {row.why or '-'}{error}"
    )


@click.group()
def outbox() -> None:
    """The outbox of calls the app owes shops (tags, triggers)."""


@outbox.command()
@click.argument("domain")
def retry(domain: str) -> None:
    """Re-queue DOMAIN's dead rows with a fresh set of attempts (after fixing their cause)."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            count = services.retry_dead(session, find_shop(session, domain).id, utcnow())
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    click.echo(f"{count} dead rows of {domain} are pending again.")
