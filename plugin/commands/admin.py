"""`shopseg admin-link DOMAIN`: a one-time URL that opens the standalone admin for a shop."""

from __future__ import annotations

import click

from plugin.commands.core import load_runtime
from plugin.commands.customers import find_shop
from plugin.db import utcnow
from plugin.errors import ShopSegError
from plugin.shops.admin_links import LINK_TTL, issue_admin_link

LOGIN_PATH = "/admin/login"


def admin_link_url(app_url: str, token: str) -> str:
    return f"{app_url.rstrip('/')}{LOGIN_PATH}?token={token}"


@click.command("admin-link")
@click.argument("domain")
def admin_link(domain: str) -> None:
    """Print a one-time link (valid a few minutes) that opens the admin of shop DOMAIN."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions.begin() as session:
            shop = find_shop(session, domain)
            key = runtime.settings.secret_key
            token = issue_admin_link(session, shop.id, key, utcnow())
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        runtime.close()
    click.echo(admin_link_url(runtime.settings.app_url, token))
    minutes = int(LINK_TTL.total_seconds() // 60)
    click.echo(f"Open it within {minutes} minutes; it works once.", err=True)


COMMANDS: list[click.Command] = [admin_link]
