"""`shopseg shops list|add` and `shopseg shopify-config`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click

from plugin.commands.core import load_runtime
from plugin.errors import PlatformError, ShopSegError, ValidationError
from plugin.manifest import access_scopes
from plugin.platforms.shopify import config, install
from plugin.platforms.shopify.oauth import missing_scopes
from plugin.settings import Settings
from plugin.shops import services
from plugin.shops.models import Shop


@click.group()
def shops() -> None:
    """Shops the app is installed in."""


@shops.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per shop.")
def list_shops(as_json: bool) -> None:
    """Every shop with its install state, auth method, time zone and currency."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        with runtime.sessions() as session:
            rows = services.list_shops(session)
    finally:
        runtime.close()
    for shop in rows:
        click.echo(json.dumps(_shop_json(shop)) if as_json else _shop_line(shop))
    if not rows and not as_json:
        click.echo("No shops yet.")


def _shop_json(shop: Shop) -> dict[str, str | None]:
    expires = shop.access_token_expires_at
    return {
        "id": str(shop.id),
        "platform": shop.platform,
        "domain": shop.domain,
        "install_state": shop.install_state,
        "auth_method": shop.auth_method,
        "timezone": shop.timezone,
        "currency": shop.currency,
        "token_expires_at": expires.isoformat() if expires else None,
        "reauth_reason": shop.reauth_reason,
    }


def _shop_line(shop: Shop) -> str:
    reason = f"  ({shop.reauth_reason})" if shop.reauth_reason else ""
    return (
        f"{shop.domain:<40} {shop.install_state:<13} {shop.auth_method or '-':<8} "
        f"{shop.timezone:<24} {shop.currency}{reason}"
    )


@shops.command("add")
@click.argument("domain")
@click.option("--token", required=True, help="The custom app's Admin API access token.")
@click.option("--webhook-secret", required=True, help="The secret the custom app signs with.")
def add_shop(domain: str, token: str, webhook_secret: str) -> None:
    """Add a shop through a merchant's custom app and subscribe its webhooks."""
    runtime = load_runtime(migrate_sqlite=True)
    try:
        added = install.add_custom_shop(runtime, domain, token, webhook_secret)
    except ValidationError as exc:
        raise click.BadParameter(exc.detail, param_hint="DOMAIN") from exc
    except PlatformError as exc:
        raise click.ClickException(_platform_problem(exc)) from exc
    finally:
        runtime.close()
    info = added.info
    click.echo(
        f"Added {domain.lower()} ({info.timezone}, {info.currency}); token stored encrypted."
    )
    click.echo(
        f"Subscribed {len(added.subscribed)} new webhook topics to {runtime.settings.app_url}."
    )
    missing = missing_scopes(info.scopes, access_scopes())
    if missing:
        click.echo(f"Warning: the token lacks the scopes {', '.join(missing)}.", err=True)


def _platform_problem(exc: PlatformError) -> str:
    if exc.status_code in (401, 403):
        return f"the shop refused the token ({exc.status_code}): check the Admin API token"
    if exc.transient:
        return f"the shop could not be reached ({exc.detail}); try again"
    return f"the shop refused the request: {exc.detail}"


@click.command("shopify-config")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write shopify.app.toml here instead of printing it.",
)
def shopify_config(output: Path | None) -> None:
    """Render shopify.app.toml from manifest.json (deploy it with `shopify app deploy`).

    With --output, each Flow trigger's extension is written next to it too
    (`extensions/<handle>/shopify.extension.toml`, the Shopify CLI app layout), and each
    Flow template whose workflow has been exported from Flow (docs/triggers.md).
    """
    settings = Settings.from_env()
    try:
        text = config.render_app_toml(settings)
    except ShopSegError as exc:
        raise click.ClickException(exc.detail) from exc
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}.")
    for relative, extension in config.render_flow_trigger_tomls(settings.app_url).items():
        target = output.parent / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(extension, encoding="utf-8")
        click.echo(f"Wrote {target}.")
    for template in config.flow_template_extensions():
        _write_flow_template(output.parent, template)


def _write_flow_template(root: Path, extension: config.FlowTemplateExtension) -> None:
    if extension.export is None:
        click.echo(
            f"Skipped Flow template {extension.template.handle}: no workflow exported from Flow "
            f"at {config.FLOW_EXPORTS / (extension.template.handle + '.flow')} (docs/triggers.md)."
        )
        return
    directory = root / extension.directory
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "shopify.extension.toml").write_text(extension.toml(), encoding="utf-8")
    shutil.copyfile(extension.export, directory / "template.flow")
    click.echo(f"Wrote {directory}.")


COMMANDS: list[click.Command] = [shops, shopify_config]
