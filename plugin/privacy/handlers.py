"""Event handlers of the privacy package: the three compliance requests."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.events import (
    CustomerDataRequested,
    CustomerRedactRequested,
    Delivery,
    Event,
    ShopRedactRequested,
)
from plugin.handling import Context, Handler
from plugin.privacy.services import Erasure, export_customer_data, redact_customer
from plugin.privacy.shop_redaction import redact_shop
from plugin.privacy.subjects import resolve_subject
from plugin.shops.models import Shop


def on_customer_redact(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    assert isinstance(event, CustomerRedactRequested)
    subject = resolve_subject(
        session, shop, event.customer_id, event.email, event.phone, event.order_ids
    )
    redact_customer(session, subject, Erasure(event.version, delivery.inbox_id))


def on_customer_data_request(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    assert isinstance(event, CustomerDataRequested)
    subject = resolve_subject(
        session, shop, event.customer_id, event.email, event.phone, event.order_ids
    )
    export_customer_data(session, shop, subject, event.request_id, ctx.now)


def on_shop_redact(
    session: Session, shop: Shop, event: Event, delivery: Delivery, ctx: Context
) -> None:
    redact_shop(session, shop, delivery.inbox_id)


HANDLERS: dict[type[Event], Handler] = {
    CustomerRedactRequested: on_customer_redact,
    CustomerDataRequested: on_customer_data_request,
    ShopRedactRequested: on_shop_redact,
}
