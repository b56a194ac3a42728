"""`shop/redact`: every row of the shop goes, from every table, unless it installed again."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from plugin.events import Delivery, ShopRedactRequested
from plugin.handlers import Context, dispatch
from plugin.inbox.models import InboxRow
from plugin.settings import Settings
from plugin.shops.models import INSTALLED, NEEDS_REAUTH
from tests.integration.test_privacy_store import (
    T0,
    ShopData,
    add_delivery,
    belongs_to,
    build_store,
    mentions,
    shop_rows,
    snapshot,
    tables,
)

EVENT = ShopRedactRequested(version=f"{T0.isoformat()}|shop-redact")


def shop_redact(session: Session, settings: Settings, data: ShopData) -> Delivery:
    payload = {"shop_id": 954889, "shop_domain": data.domain}
    delivery = add_delivery(session, data, "shop/redact", payload)
    dispatch(session, data.shop, EVENT, delivery, Context(settings, T0))
    session.commit()
    return delivery


def test_every_row_of_the_shop_is_gone_from_every_table(session, settings) -> None:
    a, _ = build_store(session)

    delivery = shop_redact(session, settings, a)

    left = {t.name: len(shop_rows(session, t, a.shop)) for t in tables()}
    assert left == {t.name: int(t.name == "webhook_inbox") for t in tables()}
    # only the delivery being processed stays (the worker records its outcome), emptied
    (current,) = shop_rows(session, InboxRow.__table__, a.shop)
    assert (current["id"], current["payload"]) == (delivery.inbox_id, None)


def test_nothing_names_the_shop_afterwards_but_the_delivery_being_processed(
    session, settings
) -> None:
    a, _ = build_store(session)

    delivery = shop_redact(session, settings, a)

    session.expire_all()
    hits = [
        (table.name, row.get("id"))
        for table in tables()
        for row in snapshot(session)[table.name].values()
        if any(mentions(v, (a.domain, "alpha-store")) for v in row.values())
    ]
    assert hits == [("webhook_inbox", delivery.inbox_id)]


def test_the_other_shop_is_untouched(session, settings) -> None:
    a, b = build_store(session)
    before = snapshot(session)

    shop_redact(session, settings, a)

    after = snapshot(session)
    for table in tables():
        rows_b = {k: r for k, r in before[table.name].items() if belongs_to(table, r, b.shop)}
        assert rows_b, table.name
        assert {k: after[table.name].get(k) for k in rows_b} == rows_b, table.name


@pytest.mark.parametrize("state", [INSTALLED, NEEDS_REAUTH])
def test_a_shop_installed_again_keeps_everything(session, settings, caplog, state) -> None:
    a, _ = build_store(session)
    a.shop.install_state = state
    a.shop.installed_at = a.shop.uninstalled_at + timedelta(hours=3)
    session.commit()
    delivery = add_delivery(session, a, "shop/redact", {"shop_domain": a.domain})
    before = snapshot(session)

    with caplog.at_level(logging.INFO, logger="plugin.privacy"):
        dispatch(session, a.shop, EVENT, delivery, Context(settings, T0))
        session.commit()

    assert snapshot(session) == before
    assert "installed_again" in caplog.text


def test_an_install_state_without_an_install_since_the_uninstall_is_redacted(
    session, settings
) -> None:
    a, _ = build_store(session)
    a.shop.install_state = INSTALLED  # stale: the uninstall came after the last install
    assert a.shop.installed_at < a.shop.uninstalled_at
    session.commit()

    shop_redact(session, settings, a)

    assert [t.name for t in tables() if shop_rows(session, t, a.shop)] == ["webhook_inbox"]
