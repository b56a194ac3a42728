"""`shopseg triggers list|set`: each trigger's switch and settings for one shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.errors import ShopSegError
from plugin.triggers import settings as trigger_settings
from plugin.triggers.catalogue import GENERAL


@click.group()
def triggers() -> None:
    """Triggers (abandoned checkout, reactivation, welcome, category follow-up)."""


@contextmanager
def _session() -> Iterator[tuple[Session, str]]:
    """One transaction; a ShopSegError becomes a clean CLI error and nothing is saved."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            yield session, runtime.settings.secret_key
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()


def _listing(session: Session, shop_id: int) -> dict[str, dict[str, Any]]:
    listing = {
        name: trigger_settings.load(session, shop_id, name) for name in trigger_settings.NAMES
    }
    listing[GENERAL]["webhook_secret"] = (
        "set" if trigger_settings.has_secret(session, shop_id) else None
    )
    return listing


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return str(value).lower()
    return "-" if value is None else str(value)


@triggers.command("list")
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def list_(domain: str, as_json: bool) -> None:
    """Every trigger of shop DOMAIN with its settings (defaults where none were set)."""
    with _session() as (session, _key):
        listing = _listing(session, find_shop(session, domain).id)
    if as_json:
        click.echo(json.dumps(listing, indent=2, ensure_ascii=False))
        return
    for name, values in listing.items():
        state = "" if "enabled" not in values else ("on" if values["enabled"] else "off")
        click.echo(f"{name} {state}".rstrip())
        for key, value in values.items():
            if key != "enabled":
                click.echo(f"  {key} = {_show(value)}")


def _pairs(assignments: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"{text!r} is not key=value (e.g. enabled=false)")
        pairs[key.strip()] = value.strip()
    return pairs


@triggers.command("set")
@click.argument("domain")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True)
def set_(domain: str, name: str, assignments: tuple[str, ...]) -> None:
    """Change settings of trigger NAME (or `general`) of shop DOMAIN: key=value ...

    \b
    shopseg triggers set shop.myshopify.com abandoned_checkout steps=1h,24h,72h
    shopseg triggers set shop.myshopify.com welcome enabled=false
    shopseg triggers set shop.myshopify.com category_follow_up product_type=Shoes days=5
    shopseg triggers set shop.myshopify.com general webhook_url=https://example.com/hook
    shopseg triggers set shop.myshopify.com general quiet_hours=21:00-08:00
    """
    pairs = _pairs(assignments)
    with _session() as (session, secret_key):
        shop_id = find_shop(session, domain).id
        edit = trigger_settings.apply_edit(session, shop_id, name, pairs, secret_key)
    for key in pairs:
        if key in edit.values:
            click.echo(f"{name}.{key} = {_show(edit.values[key])}")
    if edit.new_secret:
        click.echo(
            f"Webhook signing secret (shown once; verify X-ShopSegments-Signature with it):"
            f"\n  {edit.new_secret}"
        )
