"""Where a customer's personal data lives, and the services that export and erase it.

`PERSONAL_DATA` is the one list of places holding a customer's personal data. A table that
stores personal data (an outbox, an audit log …) gets an entry here — how to export the
subject's rows and how to erase them — or is named in `NO_CUSTOMER_DATA` with the reason;
a test fails while any table is in neither.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, and_, delete, select, update
from sqlalchemy.orm import Session

from plugin.backfill.privacy import STAGED_PERSONAL_TABLES, erase_staged
from plugin.db import Unindexed
from plugin.inbox.models import AWAITING_INSTALL, DEAD, PENDING, REDACTED, InboxRow
from plugin.outbox.models import OutboxItem
from plugin.predictions.models import Prediction
from plugin.privacy.exports import FORMAT, group_by, row_document, rows_document, store_export
from plugin.privacy.models import PrivacyExport
from plugin.privacy.subjects import (
    DataSubject,
    checkouts_of,
    email_matches,
    inbox_rows_mentioning,
    orders_of,
    phone_matches,
)
from plugin.profiles.facts_models import (
    CustomerCompany,
    CustomerMetafield,
    StoreCredit,
    StoreCreditAccount,
)
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerAddress,
    CustomerTag,
    Order,
    OrderLine,
    Purchase,
)
from plugin.profiles.models import Refund as RefundRow
from plugin.profiles.tombstones import add_tombstone
from plugin.segments.services import erase_memberships, export_memberships
from plugin.shops.models import Shop
from plugin.triggers.models import CheckoutJourney, TriggerFiring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erasure:
    """One redaction: its source version (kept on tombstones) and the delivery carrying it."""

    version: str | None
    inbox_id: int | None


@dataclass(frozen=True)
class PersonalData:
    """One place holding customers' personal data: how to export and erase a subject's."""

    name: str  # the key of this place in an export document
    tables: tuple[str, ...]
    export: Callable[[Session, DataSubject], Any] | None
    erase: Callable[[Session, DataSubject, Erasure], int]  # returns rows affected


def _count(session: Session, stmt: Executable) -> int:
    return cast(CursorResult[Any], session.execute(stmt)).rowcount


# --- orders: kept anonymised so the shop's revenue and counts stay true --------------------


def _export_orders(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    mine = select(Order.id).where(orders_of(s))
    orders = rows_document(
        session, select(Order.__table__).where(orders_of(s)).order_by(Order.ordered_at, Order.id)
    )
    line_rows = select(OrderLine.__table__).where(
        OrderLine.shop_id == s.shop_id, OrderLine.order_id.in_(mine)
    )
    refund_rows = select(RefundRow.__table__).where(
        RefundRow.shop_id == s.shop_id,
        RefundRow.order_platform_id.in_(select(Order.platform_id).where(orders_of(s))),
    )
    lines = group_by(rows_document(session, line_rows.order_by(OrderLine.id)), "order_id")
    refunds = group_by(rows_document(session, refund_rows), "order_platform_id")
    return [
        {**o, "lines": lines.get(o["id"], []), "refunds": refunds.get(o["platform_id"], [])}
        for o in orders
    ]


def _erase_orders(session: Session, s: DataSubject, _: Erasure) -> int:
    # Money, dates, lines and refunds stay; nothing links the order to a person any more
    # (checkout and cart tokens would lead back to their checkout).
    anonymised = _count(
        session,
        update(Order)
        .where(orders_of(s))
        .values(
            customer_id=None,
            customer_platform_id=None,
            email=None,
            email_cf=None,
            checkout_token=None,
            cart_token=None,
            anonymized=True,
        ),
    )
    # Their email on an order of someone else: erase the email, keep the other's order.
    others = update(Order).where(Order.shop_id == s.shop_id, email_matches(s, Order.email_cf))
    return anonymised + _count(session, others.values(email=None, email_cf=None))


# --- checkouts: deleted (an unfinished checkout is only the person's intent) ----------------


def _export_checkouts(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    stmt = select(Checkout.__table__).where(checkouts_of(s)).order_by(Checkout.id)
    return rows_document(session, stmt)


def _erase_checkouts(session: Session, s: DataSubject, e: Erasure) -> int:
    for token in session.scalars(select(Checkout.token).where(checkouts_of(s))):
        add_tombstone(session, s.shop_id, "checkout", token, "redacted", e.version)
    deleted = _count(session, delete(Checkout).where(checkouts_of(s)))
    in_shop = Checkout.shop_id == s.shop_id
    emails = update(Checkout).where(in_shop, email_matches(s, Checkout.email_cf))
    phones = update(Checkout).where(in_shop, phone_matches(s, Checkout.phone))
    return (
        deleted
        + _count(session, emails.values(email=None, email_cf=None))
        + _count(session, phones.values(phone=None))
    )


# --- the profile and what hangs off it ------------------------------------------------------


def _export_tags(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    stmt = select(CustomerTag.__table__).where(
        CustomerTag.shop_id == s.shop_id, CustomerTag.customer_id == s.customer_id
    )
    return rows_document(session, stmt.order_by(CustomerTag.id))


def _erase_tags(session: Session, s: DataSubject, _: Erasure) -> int:
    return _count(
        session,
        delete(CustomerTag).where(
            Unindexed(CustomerTag.shop_id) == s.shop_id, CustomerTag.customer_id == s.customer_id
        ),
    )


def _owned(name: str, *models: Any) -> PersonalData:
    """A place whose rows are the person's alone (an address, a birth date, the companies
    they buy for, their store credit as last read): exported as stored, deleted outright
    with them. With several tables the parents come first; erasure goes children first.
    Each table has an index that leads with `customer_id`."""

    def rows(session: Session, model: Any, s: DataSubject) -> list[dict[str, Any]]:
        stmt = select(model.__table__).where(
            Unindexed(model.shop_id) == s.shop_id, model.customer_id == s.customer_id
        )
        return rows_document(session, stmt.order_by(model.id))

    def export(session: Session, s: DataSubject) -> list[dict[str, Any]]:
        if len(models) == 1:
            return rows(session, models[0], s)
        return [{"table": m.__tablename__, **row} for m in models for row in rows(session, m, s)]

    def erase(session: Session, s: DataSubject, _: Erasure) -> int:
        return sum(
            _count(
                session,
                delete(m).where(Unindexed(m.shop_id) == s.shop_id, m.customer_id == s.customer_id),
            )
            for m in reversed(models)
        )

    return PersonalData(name, tuple(m.__tablename__ for m in models), export, erase)


def _export_purchases(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    stmt = select(Purchase.__table__).where(
        Purchase.shop_id == s.shop_id, Purchase.customer_id == s.customer_id
    )
    return rows_document(session, stmt.order_by(Purchase.ordered_at, Purchase.id))


def _erase_purchases(session: Session, s: DataSubject, _: Erasure) -> int:
    return _count(
        session,
        delete(Purchase).where(
            Purchase.shop_id == s.shop_id, Purchase.customer_id == s.customer_id
        ),
    )


def _export_predictions(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    stmt = select(Prediction.__table__).where(
        Prediction.shop_id == s.shop_id, Prediction.customer_id == s.customer_id
    )
    return rows_document(session, stmt)


def _erase_predictions(session: Session, s: DataSubject, _: Erasure) -> int:
    """Scores about the person are profiling: deleted, not anonymised (the next refit
    scores no one whose orders were anonymised away from them)."""
    return _count(
        session,
        delete(Prediction).where(
            Prediction.shop_id == s.shop_id, Prediction.customer_id == s.customer_id
        ),
    )


SEGMENT_TABLES = ("segment_state", "segment_memberships", "segment_events", "segment_dirty")


def _export_segments(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    if s.customer_id is None:
        return []
    return export_memberships(session, s.shop_id, s.customer_id)


def _erase_segments(session: Session, s: DataSubject, _: Erasure) -> int:
    if s.customer_id is None:
        return 0
    return erase_memberships(session, s.shop_id, s.customer_id)


def _customer_row(s: DataSubject) -> Any:
    return Customer.shop_id == s.shop_id, Customer.platform_id == s.platform_id


def _export_profile(session: Session, s: DataSubject) -> dict[str, Any] | None:
    row = session.execute(select(Customer.__table__).where(*_customer_row(s))).mappings().first()
    return row_document(row) if row else None


def _erase_profile(session: Session, s: DataSubject, _: Erasure) -> int:
    return _count(session, delete(Customer).where(*_customer_row(s)))


# --- deliveries and earlier exports ---------------------------------------------------------


def _export_deliveries(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    stmt = select(
        InboxRow.id,
        InboxRow.topic,
        InboxRow.webhook_id,
        InboxRow.event_id,
        InboxRow.api_version,
        InboxRow.triggered_at,
        InboxRow.received_at,
        InboxRow.processed_at,
        InboxRow.status,
    ).where(InboxRow.id.in_(inbox_rows_mentioning(session, s)))
    return rows_document(session, stmt.order_by(InboxRow.id))


def _erase_deliveries(session: Session, s: DataSubject, e: Erasure) -> int:
    """Drop payloads (headers hold no personal data); unprocessed rows become `redacted`.

    The delivery being processed keeps its status: the worker finishes it.
    """
    ids = inbox_rows_mentioning(session, s)
    scrub = {"payload": None, "subject_ids": None, "last_error": None}
    unprocessed = InboxRow.status.in_((PENDING, AWAITING_INSTALL, DEAD))
    erased = _count(session, update(InboxRow).where(InboxRow.id.in_(ids)).values(**scrub))
    pending = update(InboxRow).where(InboxRow.id.in_(ids), InboxRow.id != e.inbox_id, unprocessed)
    session.execute(pending.values(status=REDACTED))
    return erased


def _erase_exports(session: Session, s: DataSubject, _: Erasure) -> int:
    return _count(
        session,
        delete(PrivacyExport).where(
            PrivacyExport.shop_id == s.shop_id,
            PrivacyExport.customer_platform_id == s.platform_id,
        ),
    )


# --- what the app owes or did for the customer in the shop ------------------------------------

ACTION_TABLES = ("outbox", "trigger_firings", "checkout_journeys")


def _actions_of(s: DataSubject) -> list[tuple[Any, Any]]:
    """(model, where) for the subject's rows: by profile key, guest journeys by checkout."""
    tokens = select(Checkout.token).where(checkouts_of(s))
    places: list[tuple[Any, Any]] = [
        (
            TriggerFiring,
            and_(TriggerFiring.shop_id == s.shop_id, TriggerFiring.checkout_token.in_(tokens)),
        ),
        (
            CheckoutJourney,
            and_(CheckoutJourney.shop_id == s.shop_id, CheckoutJourney.checkout_token.in_(tokens)),
        ),
    ]
    if s.customer_id is not None:
        for model in (OutboxItem, TriggerFiring, CheckoutJourney):
            places.append(
                (model, and_(model.shop_id == s.shop_id, model.customer_id == s.customer_id))
            )
    return places


def _export_actions(session: Session, s: DataSubject) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for model, where in _actions_of(s):
        table = model.__table__
        for row in rows_document(session, select(table).where(where).order_by(table.c.id)):
            rows.append({"table": table.name, **row})
    return rows


def _erase_actions(session: Session, s: DataSubject, _: Erasure) -> int:
    return sum(_count(session, delete(model).where(where)) for model, where in _actions_of(s))


def _erase_staged(session: Session, s: DataSubject, _: Erasure) -> int:
    return erase_staged(session, s.shop_id, s.platform_id, s.emails)


# Erasure runs in this order: orders and checkouts are found through the profile's key, so
# they go before the profile row.
PERSONAL_DATA: tuple[PersonalData, ...] = (
    # Actions first: guest journeys are found through the checkouts erased next.
    PersonalData("actions", ACTION_TABLES, _export_actions, _erase_actions),
    PersonalData("orders", ("orders", "order_lines", "refunds"), _export_orders, _erase_orders),
    PersonalData("checkouts", ("checkouts",), _export_checkouts, _erase_checkouts),
    PersonalData("tags", ("customer_tags",), _export_tags, _erase_tags),
    _owned("addresses", CustomerAddress),
    _owned("metafields", CustomerMetafield),
    _owned("companies", CustomerCompany),
    _owned("store_credit", StoreCreditAccount, StoreCredit),
    PersonalData("purchases", ("purchases",), _export_purchases, _erase_purchases),
    PersonalData("segments", SEGMENT_TABLES, _export_segments, _erase_segments),
    PersonalData("predictions", ("predictions",), _export_predictions, _erase_predictions),
    PersonalData("profile", ("customers",), _export_profile, _erase_profile),
    PersonalData("deliveries", ("webhook_inbox",), _export_deliveries, _erase_deliveries),
    PersonalData("exports", ("privacy_exports",), None, _erase_exports),
    # Copies staged by a running history import (exported once merged into the profile).
    PersonalData("history_import", STAGED_PERSONAL_TABLES, None, _erase_staged),
)

# Tables that hold no personal data of a customer, and why.
NO_CUSTOMER_DATA: dict[str, str] = {
    "shops": "the merchant's shop; erased by shop/redact",
    "shop_settings": "the merchant's settings",
    "oauth_states": "install nonces",
    "products": "the shop's catalogue",
    "product_tags": "the shop's catalogue",
    "tombstones": "platform ids are stored only as salted hashes",
    "segments": "the merchant's segment definitions",
    "managed_tags": "the tags the app owns in the shop",
    "trigger_settings": "the merchant's trigger settings",
    "rfm_cutoffs": "the shop's RFM quintile cut-offs and VIP threshold: no customer ids",
    "prediction_fits": "the shop's model parameters and totals: no customer ids",
    "segment_daily": "per-segment totals of a day, about no one customer",
    "segment_flag_dismissals": "the merchant's dismissed health flags",
    "backfill_runs": "the shop's history imports and their counts",
    "backfill_phases": "the progress of a history import",
    "backfill_products": "the shop's catalogue, staged",
    "backfill_tags": "tag names of staged rows; their owner's row is erased",
    "backfill_order_lines": "staged lines of orders (anonymised with their order)",
}


def redact_customer(session: Session, subject: DataSubject, erasure: Erasure) -> int:
    """Erase the subject's personal data from every place and tombstone them.

    Idempotent; works for a customer we never stored (their deliveries are still erased).
    Returns the number of rows changed.
    """
    changed = sum(place.erase(session, subject, erasure) for place in PERSONAL_DATA)
    add_tombstone(
        session, subject.shop_id, "customer", subject.platform_id, "redacted", erasure.version
    )
    # the log names neither the person nor their id
    log.info("privacy.customer_redacted shop_id=%s rows=%s", subject.shop_id, changed)
    return changed


def export_customer_data(
    session: Session, shop: Shop, subject: DataSubject, request_id: str | None, now: datetime
) -> PrivacyExport:
    """Build the JSON export of everything held on the subject and keep it for the merchant."""
    document = {
        "format": FORMAT,
        "shop": shop.domain,
        "customer_id": subject.platform_id,
        "request_id": request_id,
        "generated_at": now.isoformat(),
        "requested_for": {
            "emails": list(subject.emails),
            "phones": list(subject.phones),
            "order_ids": list(subject.order_ids),
        },
        "data": {p.name: p.export(session, subject) for p in PERSONAL_DATA if p.export},
    }
    export = store_export(session, shop.id, subject.platform_id, request_id, document, now)
    log.info("privacy.export_created shop_id=%s export_id=%s", shop.id, export.id)
    return export
