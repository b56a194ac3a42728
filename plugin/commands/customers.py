"""`shopseg customers show`: one customer's profile, tags, consent and metrics."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.commands.core import load_runtime
from plugin.errors import NotFoundError
from plugin.profiles.queries import customer_document
from plugin.shops.models import Shop


@click.group()
def customers() -> None:
    """Customer profiles kept by the app."""


def find_shop(session: Session, domain: str) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.domain == domain.strip().lower()))
    if shop is None:
        raise NotFoundError(f"unknown shop: {domain} (see `shopseg shops list`)")
    return shop


def show_document(session: Session, domain: str, customer_id: str) -> dict[str, Any]:
    """The profile document of a shop's customer, or NotFoundError naming what is missing."""
    shop = find_shop(session, domain)
    document = customer_document(session, shop, customer_id.strip())
    if document is None:
        raise NotFoundError(f"no customer {customer_id} in {shop.domain}")
    return document


@customers.command()
@click.argument("domain")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
def show(domain: str, customer_id: str, as_json: bool) -> None:
    """Show customer CUSTOMER_ID (the platform's id) of shop DOMAIN with its metrics."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            document = show_document(session, domain, customer_id)
    except NotFoundError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(render(document))


def render(doc: dict[str, Any]) -> str:
    """The document as aligned text sections for a terminal."""
    profile, metrics, consent = doc["profile"], doc["metrics"], doc["consent"]
    name = " ".join(p for p in (profile["first_name"], profile["last_name"]) if p) or "-"
    lines = [f"Customer {doc['customer_id']} of {doc['shop']}", ""]
    lines += _section("Profile", {"name": name, **{k: profile[k] for k in _PROFILE_KEYS}})
    lines += _section("Consent", {"email marketing": consent["email_marketing_state"]})
    lines += _section("Tags", {"tags": ", ".join(doc["tags"]) or "-"})
    lines += _section("Metrics", {**metrics, "currency": doc["currency"]})
    lines += _section("Product types", {b["value"]: _bought(b) for b in doc["product_types"]})
    lines += _section("Vendors", {b["value"]: _bought(b) for b in doc["vendors"]})
    return "\n".join(lines).rstrip()


_PROFILE_KEYS = ("email", "phone", "locale", "country_code", "province_code", "city", "state")


def _bought(entry: dict[str, Any]) -> str:
    return f"{entry['orders']} orders, {entry['quantity']} units"


def _section(title: str, values: dict[str, Any]) -> list[str]:
    rows = [f"  {key:<26} {'-' if value is None else value}" for key, value in values.items()]
    return [title, *(rows or ["  -"]), ""]


COMMANDS: list[click.Command] = [customers]
