"""The receiver's per-process cache of shops' webhook secrets is never trusted on its own:
a change made elsewhere (another process, the CLI, the worker) is honoured at once."""

from __future__ import annotations

from sqlalchemy import delete, update

from plugin.crypto import encrypt
from plugin.inbox.models import AWAITING_INSTALL, PENDING
from plugin.inbox.receipt import NO_SHOP_SECRET, SigningKeyCache, SigningKeys
from plugin.shops.models import INSTALLED, Shop
from plugin.shops.models import PENDING as SHOP_PENDING
from tests.support.live import LiveApp

SHOP = "cache-shop.myshopify.com"


def _set_shop(live_app: LiveApp, **values: object) -> None:
    """Change the shop's row behind the receiver's back, as another process would."""
    with live_app.runtime.sessions.begin() as session:
        session.execute(update(Shop).where(Shop.domain == SHOP).values(**values))


def _own_secret(live_app: LiveApp, secret: str) -> str:
    return encrypt(live_app.settings.secret_key, secret)


def test_rotated_secret_is_honoured_at_once(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP, webhook_secret="first")
    assert live_app.post_webhook("orders/create", SHOP, secret="first").status_code == 200
    assert live_app.post_webhook("orders/create", SHOP, secret="first").status_code == 200

    _set_shop(live_app, webhook_secret_enc=_own_secret(live_app, "second"))

    old = live_app.post_webhook("orders/create", SHOP, secret="first")
    new = live_app.post_webhook("orders/create", SHOP, secret="second")
    assert (old.status_code, set(old.json())) == (401, {"error", "detail"})
    assert new.json() == {"status": "stored"}
    assert len(live_app.inbox_rows()) == 3


def test_removed_custom_app_falls_back_to_the_apps_secret_at_once(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP, webhook_secret="merchant")
    assert live_app.post_webhook("orders/create", SHOP, secret="merchant").status_code == 200

    _set_shop(live_app, webhook_secret_enc=None)  # reinstalled through the public app

    assert live_app.post_webhook("orders/create", SHOP, secret="merchant").status_code == 401
    assert live_app.post_webhook("orders/create", SHOP).status_code == 200
    assert len(live_app.inbox_rows()) == 2


def test_new_custom_app_secret_replaces_the_apps_at_once(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP)
    assert live_app.post_webhook("orders/create", SHOP).status_code == 200

    _set_shop(live_app, webhook_secret_enc=_own_secret(live_app, "merchant"))

    assert live_app.post_webhook("orders/create", SHOP).status_code == 401
    assert live_app.post_webhook("orders/create", SHOP, secret="merchant").status_code == 200


def test_deleted_shop_no_longer_accepts_its_own_secret(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP, webhook_secret="merchant")
    assert live_app.post_webhook("orders/create", SHOP, secret="merchant").status_code == 200

    with live_app.runtime.sessions.begin() as session:  # shop/redact erased it
        session.execute(delete(Shop).where(Shop.domain == SHOP))

    assert live_app.post_webhook("orders/create", SHOP, secret="merchant").status_code == 401
    response = live_app.post_webhook("shop/redact", SHOP)  # the app's secret again
    assert response.status_code == 200
    latest = max(live_app.inbox_rows(), key=lambda row: row.id)
    assert (latest.shop_id, latest.status) == (None, AWAITING_INSTALL)


def test_install_state_and_shop_id_are_read_by_each_insert(live_app: LiveApp) -> None:
    shop = live_app.install_shop(SHOP, state=SHOP_PENDING)
    assert live_app.post_webhook("orders/create", SHOP).status_code == 200

    _set_shop(live_app, install_state=INSTALLED)

    assert live_app.post_webhook("orders/create", SHOP).status_code == 200
    rows = sorted(live_app.inbox_rows(), key=lambda row: row.id)
    assert [(r.shop_id, r.status) for r in rows] == [
        (shop.id, AWAITING_INSTALL),
        (shop.id, PENDING),
    ]


def test_duplicate_on_the_cached_path_is_stored_once(live_app: LiveApp) -> None:
    live_app.install_shop(SHOP, webhook_secret="merchant")
    live_app.post_webhook("orders/create", SHOP, secret="merchant", webhook_id="first")
    again = live_app.post_webhook("orders/create", SHOP, secret="merchant", webhook_id="dup")
    twice = live_app.post_webhook("orders/create", SHOP, secret="merchant", webhook_id="dup")
    assert (again.json(), twice.json()) == ({"status": "stored"}, {"status": "duplicate"})
    assert len(live_app.inbox_rows()) == 2


def test_cache_keeps_the_most_recently_used_shops() -> None:
    cache = SigningKeyCache(max_entries=2)
    keys = SigningKeys(None, NO_SHOP_SECRET)
    cache.put("shopify", "a", keys)
    cache.put("shopify", "b", keys)
    assert cache.get("shopify", "a") == keys  # now the most recent
    cache.put("shopify", "c", keys)
    assert cache.get("shopify", "b") is None
    assert cache.get("shopify", "a") == cache.get("shopify", "c") == keys
    cache.forget("shopify", "a")
    assert cache.get("shopify", "a") is None
