"""The admin in Polish and English: locale choice, and numbers, money and dates via Babel.

The language is the merchant's choice (shop setting `admin_language`, set by the switch),
else the admin locale Shopify opens the app with (`?locale=`, kept as `shop_locale`), else
the browser's, else English.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from flask import g, request
from flask.sansio.app import App
from flask_babel import Babel, format_currency, format_datetime, format_decimal, format_percent
from sqlalchemy import select

from admin_ui.embedded import runtime
from plugin.profiles.money import currency_exponent
from plugin.profiles.shop_settings import set_setting, setting_value
from plugin.shops.models import ShopSetting

LANGUAGES = ("en", "pl")
LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
LANGUAGE_SETTING = "admin_language"
SHOP_LOCALE_SETTING = "shop_locale"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def _shop_id() -> int | None:
    viewer = g.get("viewer")
    return viewer.shop_id if viewer is not None else g.get("shell_shop_id")


def language_of(value: object) -> str | None:
    """`pl-PL`, `pl` → `pl`; None for a language the admin is not translated into."""
    language = str(value or "").split("-")[0].lower()
    return language if language in LANGUAGES else None


def stored_languages(shop_id: int) -> tuple[str | None, str | None]:
    """(the merchant's choice, the admin locale Shopify last opened the app with)."""
    keys = (LANGUAGE_SETTING, SHOP_LOCALE_SETTING)
    with runtime().sessions() as db:
        rows = dict(
            db.execute(
                select(ShopSetting.key, ShopSetting.value).where(
                    ShopSetting.shop_id == shop_id, ShopSetting.key.in_(keys)
                )
            )
            .tuples()
            .all()
        )
    choice, shop_locale = (
        language_of(setting_value(key, rows[key])) if key in rows else None for key in keys
    )
    return choice, shop_locale


def remember_admin_locale(shop_id: int) -> None:
    """Shopify opens an embedded app with the merchant's admin `locale` in the query: keep it,
    so later requests (which do not carry it) and the shop's next visit use it too."""
    language = language_of(request.args.get("locale"))
    if language is None:
        return
    if stored_languages(shop_id)[1] == language:
        return
    with runtime().sessions.begin() as db:
        set_setting(db, shop_id, SHOP_LOCALE_SETTING, language)


def select_locale() -> str:
    if "admin_locale" not in g:
        shop_id = _shop_id()
        choice, shop_locale = stored_languages(shop_id) if shop_id is not None else (None, None)
        g.admin_locale = (
            choice
            or language_of(request.args.get("locale"))
            or shop_locale
            or request.accept_languages.best_match(LANGUAGES)
            or "en"
        )
    locale: str = g.admin_locale
    return locale


def select_timezone() -> str | None:
    viewer = g.get("viewer")
    return viewer.timezone if viewer is not None else None


def money(minor: int | None, currency: str) -> str:
    """Minor units of `currency` for the page's locale: 123456 USD → $1,234.56 / 1234,56 USD."""
    if minor is None:
        return "—"
    return format_currency(Decimal(minor).scaleb(-currency_exponent(currency)), currency)


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern)


def percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0%")


def when(value: datetime | None) -> str:
    return "—" if value is None else format_datetime(value, "medium")


def init_i18n(app: App) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(money=money, number=number, percent=percent, when=when)
