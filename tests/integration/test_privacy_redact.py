"""`customers/redact`: nothing personal of the person remains, and nothing else changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.events import CustomerRedactRequested, Delivery
from plugin.handlers import Context, dispatch
from plugin.inbox.models import DEAD, DONE, PENDING, REDACTED, InboxRow
from plugin.profiles.models import Customer, Order
from plugin.profiles.tombstones import find_tombstone, tombstone_key
from plugin.settings import Settings
from tests.integration.test_privacy_store import (
    OTTO,
    T0,
    ZELDA,
    Person,
    ShopData,
    add_delivery,
    belongs_to,
    build_store,
    compliance_payload,
    counted_revenue,
    find_values,
    mentions,
    redact_event,
    snapshot,
    tables,
)


def redact(
    session: Session, settings: Settings, data: ShopData, person: Person, order_ids=()
) -> Delivery:
    delivery = add_delivery(
        session, data, "customers/redact", compliance_payload(person, order_ids)
    )
    apply(session, settings, data, redact_event(person, order_ids), delivery)
    return delivery


def apply(
    session: Session, settings: Settings, data: ShopData, event: Any, delivery: Delivery
) -> None:
    dispatch(session, data.shop, event, delivery, Context(settings, T0))
    session.commit()


def customer_id(session: Session, data: ShopData, person: Person) -> int | None:
    return session.scalar(
        select(Customer.id).where(
            Customer.shop_id == data.shop.id, Customer.platform_id == person.platform_id
        )
    )


def test_no_table_holds_anything_of_the_redacted_person(session, settings) -> None:
    a, _ = build_store(session)
    old_order = a.orders["zelda_old_email"].platform_id

    redact(session, settings, a, ZELDA, (old_order,))

    assert find_values(session, a.shop, ZELDA.needles) == []


def test_redaction_changes_only_rows_about_the_person_in_that_shop(session, settings) -> None:
    a, b = build_store(session)
    zelda_key = customer_id(session, a, ZELDA)
    delivery = add_delivery(session, a, "customers/redact", compliance_payload(ZELDA))
    before = snapshot(session)
    revenue = (counted_revenue(session, a.shop), counted_revenue(session, b.shop))

    apply(session, settings, a, redact_event(ZELDA), delivery)

    after = snapshot(session)

    def named(table: Any, row: dict[str, Any]) -> bool:
        if not belongs_to(table, row, a.shop):
            return False
        return any(mentions(v, ZELDA.needles) for v in row.values()) or (
            row.get("customer_id") == zelda_key
        )

    # A guest checkout of hers makes the rows keyed by its token hers too.
    checkouts = next(t for t in tables() if t.name == "checkouts")
    her_tokens = {r["token"] for r in before["checkouts"].values() if named(checkouts, r)}

    def about_zelda(table: Any, row: dict[str, Any]) -> bool:
        return named(table, row) or (
            belongs_to(table, row, a.shop) and row.get("checkout_token") in her_tokens
        )

    for table in tables():
        changed = [
            key
            for key, row in before[table.name].items()
            if not about_zelda(table, row) and after[table.name].get(key) != row
        ]
        assert changed == [], f"{table.name} rows not about the person changed"
        added = set(after[table.name]) - set(before[table.name])
        assert table.name == "tombstones" or not added, table.name
    assert (counted_revenue(session, a.shop), counted_revenue(session, b.shop)) == revenue


def test_orders_stay_for_the_shop_kpis_without_a_link_to_the_person(session, settings) -> None:
    a, _ = build_store(session)
    zelda_orders = {k: (o.id, o.total_minor) for k, o in a.orders.items() if k.startswith("zelda")}
    old_order = a.orders["zelda_old_email"].platform_id

    redact(session, settings, a, ZELDA, (old_order,))

    session.expire_all()
    for key, (order_id, total) in zelda_orders.items():
        order = session.get(Order, order_id)
        assert order is not None, key
        assert (order.total_minor, order.anonymized) == (total, True), key
        assert (order.customer_id, order.customer_platform_id, order.email) == (None, None, None)
    gift = session.get(Order, a.orders["otto_gift_for_zelda"].id)
    assert gift is not None
    gift_state = (gift.customer_platform_id, gift.email, gift.anonymized)
    assert gift_state == (OTTO.platform_id, None, False)


def test_deliveries_lose_their_payload_and_unprocessed_ones_are_marked(session, settings) -> None:
    a, b = build_store(session)
    b_payload = b.inbox["zelda_update_pending"].payload

    delivery = redact(session, settings, a, ZELDA)

    session.expire_all()
    rows = {key: session.get(InboxRow, row.id) for key, row in a.inbox.items()}
    state = {k: (r.status, r.payload is None, r.subject_ids) for k, r in rows.items() if r}
    assert state["zelda_update_pending"] == (REDACTED, True, None)
    assert state["zelda_checkout_dead"] == (REDACTED, True, None)
    assert state["zelda_order_done"] == (DONE, True, None)
    assert state["merge_reduced"] == (DONE, True, None)
    # the delivery being processed is left for the worker to finish
    current = session.get(InboxRow, delivery.inbox_id)
    assert current is not None and (current.status, current.payload) == (PENDING, None)
    # Otto's deliveries, incl. one with a number that merely contains Zelda's id, stay
    assert state["otto_pending"][:2] == (PENDING, False)
    assert state["otto_done"][:2] == (DONE, False)
    assert session.get(InboxRow, b.inbox["zelda_update_pending"].id).payload == b_payload
    assert rows["zelda_checkout_dead"].last_error is None


def test_a_tombstone_recognises_the_person_without_naming_them(session, settings) -> None:
    a, b = build_store(session)
    checkout_tokens = ["A-ck-zelda", "A-ck-zelda-guest-phone"]

    redact(session, settings, a, ZELDA)

    stone = find_tombstone(session, a.shop.id, "customer", ZELDA.platform_id)
    assert stone is not None and stone.reason == "redacted"
    assert stone.platform_id == tombstone_key(a.shop.id, ZELDA.platform_id) != ZELDA.platform_id
    assert find_tombstone(session, b.shop.id, "customer", ZELDA.platform_id) is None
    for token in checkout_tokens:
        assert find_tombstone(session, a.shop.id, "checkout", token) is not None


def test_a_second_redaction_changes_nothing(session, settings) -> None:
    a, _ = build_store(session)
    event = redact_event(ZELDA)
    delivery = add_delivery(session, a, "customers/redact", compliance_payload(ZELDA))
    apply(session, settings, a, event, delivery)
    once = snapshot(session)

    apply(session, settings, a, event, delivery)

    assert snapshot(session) == once


def test_redacting_a_customer_never_stored_still_erases_their_deliveries(session, settings) -> None:
    a, _ = build_store(session)
    stranger = Person("7309990000001", "x.st@example.com", "+4790000000", "X", "Y", "Z", "-")
    row = InboxRow(
        shop_domain=a.domain,
        topic="checkouts/create",
        webhook_id="stranger-checkout",
        headers={},
        payload=f'{{"email": "{stranger.email}", "customer": {{"id": {stranger.platform_id}}}}}',
        status=PENDING,
    )
    session.add(row)
    session.commit()

    redact(session, settings, a, stranger)

    session.expire_all()
    stored = session.get(InboxRow, row.id)
    assert stored is not None and (stored.status, stored.payload) == (REDACTED, None)
    assert find_tombstone(session, a.shop.id, "customer", stranger.platform_id) is not None
    assert find_values(session, a.shop, (stranger.email, stranger.platform_id)) == []


def test_dead_and_pending_are_the_statuses_a_redaction_stops(session, settings) -> None:
    """Guards the status rule: only deliveries not yet applied are kept from processing."""
    a, _ = build_store(session)
    statuses = {k: r.status for k, r in a.inbox.items()}
    assert {statuses["zelda_update_pending"], statuses["zelda_checkout_dead"]} == {PENDING, DEAD}

    redact(session, settings, a, ZELDA)

    session.expire_all()
    after = {k: session.get(InboxRow, r.id).status for k, r in a.inbox.items()}
    changed = {k for k in statuses if statuses[k] != after[k] and "#" not in k}
    assert changed == {"zelda_update_pending", "zelda_checkout_dead"}


def test_the_event_type_is_wired_to_the_privacy_handler() -> None:
    from plugin.handlers import all_handlers

    assert all_handlers()[CustomerRedactRequested].__module__ == "plugin.privacy.handlers"
