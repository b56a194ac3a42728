"""Event handlers of the profiles package: apply the event, then recompute whom it touched."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from plugin import events as ev
from plugin.handling import BatchService, Context, Handler
from plugin.profiles import checkouts, customers, lifecycle, orders, products
from plugin.profiles.metrics import recompute_metrics
from plugin.shops.models import Shop

Service = Callable[[Session, int, Any], Iterable[int | None]]


def applying(service: Service) -> Handler:
    """A handler that runs `service` and recomputes the metrics of the customers it touched
    (or hands them to the worker's generation, see `Context.touched`).

    Handlers never commit: the worker owns the unit of work.
    """

    def handle(
        session: Session, shop: Shop, event: ev.Event, delivery: ev.Delivery, ctx: Context
    ) -> None:
        touched = service(session, shop.id, event)
        if ctx.touched is not None:  # the worker recomputes the whole generation at once
            ctx.touched.update(i for i in touched if i is not None)
        else:
            recompute_metrics(session, shop.id, touched, ctx.now)

    handle.__name__ = f"handle_{service.__name__}"
    return handle


HANDLERS: dict[type[ev.Event], Handler] = {
    ev.CustomerUpserted: applying(customers.apply_customer_upserted),
    ev.CustomerConsentChanged: applying(customers.apply_consent_changed),
    ev.CustomerSmsConsentChanged: applying(customers.apply_sms_consent_changed),
    ev.CustomerTagsChanged: applying(customers.apply_tags_changed),
    ev.CustomerPurchasingSummary: applying(customers.apply_purchasing_summary),
    ev.CustomerDeleted: applying(lifecycle.apply_customer_deleted),
    ev.CustomersMerged: applying(lifecycle.apply_customers_merged),
    ev.OrderUpserted: applying(orders.apply_order_upserted),
    ev.OrderDeleted: applying(orders.apply_order_deleted),
    ev.RefundCreated: applying(orders.apply_refund_created),
    ev.CheckoutUpserted: applying(checkouts.apply_checkout_upserted),
    ev.CheckoutDeleted: applying(checkouts.apply_checkout_deleted),
    ev.ProductUpserted: applying(products.apply_product_upserted),
}

# The same services for many events at once (the worker's generations).
BATCH_SERVICES: dict[type[ev.Event], BatchService] = {
    ev.OrderUpserted: orders.apply_orders_upserted,
}
