"""`shopseg privacy exports`: the data-request exports kept for a shop's merchant."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.commands.core import load_runtime
from plugin.privacy.exports import export_summary, get_export, list_exports
from plugin.shops.models import Shop


@click.group()
def privacy() -> None:
    """Privacy requests: customer data exports."""


@privacy.command()
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--id", "export_id", type=int, help="Print this export's document.")
def exports(domain: str, as_json: bool, export_id: int | None) -> None:
    """List the shop's data-request exports, newest first, or print one (always JSON)."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            shop_id = _shop_id(session, domain)
            if export_id is not None:
                _print_one(session, shop_id, export_id)
            else:
                _print_list(session, shop_id, as_json)
    finally:
        runtime.close()


def _shop_id(session: Session, domain: str) -> int:
    shop_id = session.scalar(select(Shop.id).where(Shop.domain == domain.strip().lower()))
    if shop_id is None:
        raise click.ClickException(f"unknown shop: {domain} (see `shopseg shops list`)")
    return shop_id


def _print_one(session: Session, shop_id: int, export_id: int) -> None:
    export = get_export(session, shop_id, export_id)
    if export is None:
        raise click.ClickException(f"no export {export_id} for this shop")
    click.echo(json.dumps(export.data, indent=2, sort_keys=True))


def _print_list(session: Session, shop_id: int, as_json: bool) -> None:
    summaries = [export_summary(e) for e in list_exports(session, shop_id)]
    if as_json:
        click.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        click.echo("No exports.")
        return
    click.echo(f"{'ID':>8}  {'CREATED':<32}  {'CUSTOMER':<20}  REQUEST")
    for s in summaries:
        request = s["request_id"] or "-"
        click.echo(f"{s['id']:>8}  {s['created_at']:<32}  {s['customer_id']:<20}  {request}")
