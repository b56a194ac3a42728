"""`shopseg predictions refit|explain`: fit a shop's predictions now, and read one
customer's scores with the sentence that explains them."""

from __future__ import annotations

import click
from sqlalchemy import select

from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import NotFoundError, ShopSegError
from plugin.predictions.explain import LANGUAGES, explain
from plugin.predictions.models import Prediction
from plugin.predictions.report import quality_lines
from plugin.predictions.services import refit_shop
from plugin.profiles.models import Customer


@click.group()
def predictions() -> None:
    """Churn risk, next order and predicted value per customer (BG/NBD + Gamma-Gamma)."""


@predictions.command()
@click.argument("domain")
def refit(domain: str) -> None:
    """Fit shop DOMAIN's predictions now (the sweep does it daily) and show the fit."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            shop = find_shop(session, domain)
            refit_shop(session, shop.id, utcnow())
            lines = quality_lines(session, shop.id)
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    click.echo("\n".join(lines))


@predictions.command(name="explain")
@click.argument("domain")
@click.argument("customer_id")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
def explain_command(domain: str, customer_id: str, lang: str) -> None:
    """Customer CUSTOMER_ID's (the platform's id) scores in shop DOMAIN, in plain words."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            shop = find_shop(session, domain)
            row = session.scalar(
                select(Prediction)
                .join(Customer, Customer.id == Prediction.customer_id)
                .where(
                    Prediction.shop_id == shop.id,
                    Customer.shop_id == shop.id,
                    Customer.platform_id == customer_id.strip(),
                )
            )
            if row is None:
                raise NotFoundError(
                    f"no prediction for customer {customer_id} in {shop.domain} "
                    "(no counted orders, or not fitted yet: `shopseg predictions refit`)"
                )
            click.echo(explain(row, lang))
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
