"""A rich two-shop store for the privacy tests, and table-enumerating probes over it.

Both shops know the same person under the same platform id (people shop in several
stores), so every privacy test also proves that one shop's request leaves the other alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from plugin.backfill.models import (
    BackfillPhase,
    BackfillRun,
    StagedAddress,
    StagedCompany,
    StagedCustomer,
    StagedMetafield,
    StagedOrder,
    StagedOrderLine,
    StagedProduct,
    StagedStoreCredit,
    StagedTag,
)
from plugin.db import Base
from plugin.events import (
    Address,
    CustomerDataRequested,
    CustomerRedactRequested,
    Delivery,
    Metafield,
)
from plugin.inbox.models import DEAD, DONE, PENDING, InboxRow
from plugin.outbox.models import OutboxItem
from plugin.predictions.models import Prediction, PredictionFit
from plugin.privacy.models import PrivacyExport
from plugin.privacy.services import NO_CUSTOMER_DATA, PERSONAL_DATA
from plugin.profiles.addresses import address_row
from plugin.profiles.facts_models import (
    CustomerCompany,
    CustomerMetafield,
    StoreCredit,
    StoreCreditAccount,
)
from plugin.profiles.metafields import metafield_rows
from plugin.profiles.models import (
    Checkout,
    Customer,
    CustomerAddress,
    CustomerTag,
    Order,
    OrderLine,
    Product,
    ProductTag,
    Purchase,
    Refund,
    Tombstone,
)
from plugin.segments.models import (
    Segment,
    SegmentDaily,
    SegmentDirty,
    SegmentEvent,
    SegmentFlagDismissal,
    SegmentMembership,
    SegmentState,
)
from plugin.segments.rfm_models import RfmCutoffs
from plugin.shops.models import UNINSTALLED, OAuthState, Shop, ShopSetting
from plugin.tagsync.models import ManagedTag
from plugin.triggers.models import CheckoutJourney, TriggerFiring, TriggerSetting

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    platform_id: str
    email: str
    phone: str
    first_name: str
    last_name: str
    city: str
    old_email: str  # on an earlier order only: the profile no longer has it

    @property
    def needles(self) -> tuple[str, ...]:
        """Every value that identifies the person; none may survive their redaction."""
        return (
            self.platform_id,
            self.email,
            self.phone,
            self.first_name,
            self.last_name,
            self.city,
            self.old_email,
        )


ZELDA = Person(
    "7301911670001",
    "Zelda.Quill@Example.org",
    "+15550001234",
    "Zeldarine",
    "Quillfeather",
    "Ulaanbaatarville",
    "zq-1999@oldmail.example",
)
OTTO = Person(
    "7301911670002",
    "otto.other@example.net",
    "+15550009876",
    "Ottokar",
    "Othermann",
    "Reykjavikton",
    "otto-old@oldmail.example",
)


@dataclass
class ShopData:
    shop: Shop
    orders: dict[str, Order] = field(default_factory=dict)
    inbox: dict[str, InboxRow] = field(default_factory=dict)
    exports: dict[str, PrivacyExport] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return self.shop.domain


# --- building the store ------------------------------------------------------------------


def build_store(session: Session) -> tuple[ShopData, ShopData]:
    """Shops A and B, each with ZELDA and OTTO and rows in every table; committed."""
    a = _build_shop(session, "alpha-store.myshopify.com", "A", 100)
    b = _build_shop(session, "beta-store.myshopify.com", "B", 200)
    session.commit()
    return a, b


def _build_shop(session: Session, domain: str, prefix: str, base: int) -> ShopData:
    shop = Shop(
        domain=domain,
        install_state=UNINSTALLED,
        installed_at=T0 - timedelta(days=60),
        uninstalled_at=T0 - timedelta(days=2),
        currency="EUR",
    )
    session.add(shop)
    session.flush()
    data = ShopData(shop)
    session.add(ShopSetting(shop_id=shop.id, key="link_guests_by_email", value={"on": True}))
    session.add(OAuthState(nonce=f"nonce-{prefix}", shop_domain=domain))
    _add_products(session, shop, prefix)
    zelda = _add_customer(session, shop, ZELDA, ("vip", "newsletter"))
    otto = _add_customer(session, shop, OTTO, ("wholesale",))
    _add_orders(session, data, prefix, base, zelda, otto)
    _add_checkouts(session, shop, prefix, zelda, otto)
    _add_inbox(session, data, prefix)
    _add_exports(session, data)
    segment_id = _add_segments(session, shop, zelda)
    _add_actions(session, shop, prefix, zelda, segment_id)
    session.add(RfmCutoffs(shop_id=shop.id, computed_at=T0, customers=2, f1=1, vip_population=2))
    _add_predictions(session, shop, zelda)
    _add_import(session, shop, prefix, base)
    session.add(
        Tombstone(shop_id=shop.id, kind="order", platform_id=f"{prefix}-gone", reason="deleted")
    )
    session.flush()
    return data


def _add_predictions(session: Session, shop: Shop, zelda: Customer) -> None:
    session.add(
        Prediction(
            shop_id=shop.id,
            customer_id=zelda.id,
            prediction_kind="heuristic",
            churn_risk=0.4,
            orders=2,
            purchase_days=2,
            fitted_at=T0,
        )
    )
    session.add(PredictionFit(shop_id=shop.id, fitted_at=T0, kind="heuristic", customers=2))


def _add_products(session: Session, shop: Shop, prefix: str) -> None:
    product = Product(
        shop_id=shop.id,
        platform_id=f"{prefix}-p1",
        title="Wool socks",
        product_type="Socks",
        product_type_cf="socks",
        vendor="Knitco",
        vendor_cf="knitco",
    )
    session.add(product)
    session.flush()
    session.add(ProductTag(shop_id=shop.id, product_id=product.id, tag="Eco", tag_cf="eco"))


def _add_customer(session: Session, shop: Shop, p: Person, tags: tuple[str, ...]) -> Customer:
    customer = Customer(
        shop_id=shop.id,
        platform_id=p.platform_id,
        email=p.email,
        email_cf=p.email.casefold(),
        phone=p.phone,
        first_name=p.first_name,
        last_name=p.last_name,
        city=p.city,
        country_code="IS",
        email_marketing_state="subscribed",
        email_consent_updated_at=T0 - timedelta(days=30),
        orders_count=1,
        total_spent_minor=1000,
    )
    session.add(customer)
    session.flush()
    for tag in tags:
        session.add(CustomerTag(shop_id=shop.id, customer_id=customer.id, tag=tag, tag_cf=tag))
    for place in (Address("IS", "1", p.city), Address("US", "NY", "New York")):
        session.add(CustomerAddress(**address_row(shop.id, customer.id, place)))
    fields = [Metafield("facts", "birth_date", "date", ("1990-05-03",))]
    fields.append(Metafield("custom", "home_town", "text", (p.city,)))
    for row in metafield_rows(shop.id, customer.id, fields):
        session.add(CustomerMetafield(**row))
    session.add(CustomerCompany(shop_id=shop.id, customer_id=customer.id, company_id=p.platform_id))
    account = {"shop_id": shop.id, "customer_id": customer.id, "account_id": p.phone}
    session.add(StoreCreditAccount(**account, currency="USD", exponent=2, balance_minor=1250))
    session.add(StoreCredit(**account, credited_at=T0, expires_at=None, remaining_minor=1250))
    return customer


def _order(
    shop: Shop,
    platform_id: str,
    total: int,
    customer: Customer | None,
    email: str | None,
    **kw: Any,
) -> Order:
    return Order(
        shop_id=shop.id,
        platform_id=platform_id,
        customer_id=customer.id if customer else None,
        customer_platform_id=customer.platform_id if customer else None,
        email=email,
        email_cf=email.casefold() if email else None,
        currency="EUR",
        total_minor=total,
        original_total_minor=total,
        checkout_token=f"ct-{platform_id}",
        ordered_at=T0 - timedelta(days=total % 17),
        **kw,
    )


def _add_orders(
    session: Session, data: ShopData, prefix: str, base: int, zelda: Customer, otto: Customer
) -> None:
    shop = data.shop
    orders = {
        "zelda": _order(shop, f"{base}01", 12000 + base, zelda, ZELDA.email),
        "zelda_cancelled": _order(shop, f"{base}02", 3000, zelda, ZELDA.email, cancelled_at=T0),
        "zelda_guest": _order(shop, f"{base}03", 5000 + base, None, ZELDA.email.upper()),
        "zelda_old_email": _order(shop, f"{base}04", 2500, None, ZELDA.old_email),
        "otto": _order(shop, f"{base}05", 8000 + base, otto, OTTO.email),
        "otto_gift_for_zelda": _order(shop, f"{base}06", 4000, otto, ZELDA.email),
        "otto_test": _order(shop, f"{base}07", 999, otto, OTTO.email, test=True),
    }
    session.add_all(orders.values())
    session.flush()
    data.orders = orders
    for key, order in orders.items():
        owner = zelda if key.startswith("zelda") and order.customer_id else None
        owner = otto if key.startswith("otto") else owner
        _add_lines(session, shop, prefix, order, owner)
    refund = Refund(
        shop_id=shop.id,
        platform_id=f"{prefix}-r1",
        order_platform_id=orders["zelda"].platform_id,
        amount_minor=500,
        refunded_at=T0,
    )
    session.add(refund)


def _add_lines(
    session: Session, shop: Shop, prefix: str, order: Order, owner: Customer | None
) -> None:
    line = OrderLine(
        shop_id=shop.id,
        order_id=order.id,
        product_platform_id=f"{prefix}-p1",
        title="Wool socks",
        vendor="Knitco",
        quantity=2,
        price_minor=order.total_minor // 2,
    )
    session.add(line)
    if owner is not None and order.ordered_at is not None:
        session.add(
            Purchase(
                shop_id=shop.id,
                customer_id=owner.id,
                order_id=order.id,
                ordered_at=order.ordered_at,
                product_platform_id=f"{prefix}-p1",
                product_type_cf="socks",
                quantity=2,
                amount_minor=order.total_minor,
            )
        )


def _add_checkouts(
    session: Session, shop: Shop, prefix: str, zelda: Customer, otto: Customer
) -> None:
    def checkout(token: str, customer: Customer | None, email: str | None, phone: str | None):
        return Checkout(
            shop_id=shop.id,
            token=f"{prefix}-{token}",
            cart_token=f"{prefix}-cart-{token}",
            customer_id=customer.id if customer else None,
            customer_platform_id=customer.platform_id if customer else None,
            email=email,
            email_cf=email.casefold() if email else None,
            phone=phone,
            total_minor=4200,
            recovery_url=f"https://{shop.domain}/checkouts/{token}/recover?key=k-{token}",
            line_items={"items": [{"title": "Wool socks", "quantity": 1}]},
            platform_created_at=T0,
        )

    session.add_all(
        [
            checkout("ck-zelda", zelda, ZELDA.email, ZELDA.phone),
            checkout("ck-zelda-guest-phone", None, None, ZELDA.phone),
            checkout("ck-otto", otto, OTTO.email, OTTO.phone),
        ]
    )


def _payload(**values: Any) -> str:
    return json.dumps(values)


def _add_inbox(session: Session, data: ShopData, prefix: str) -> None:
    z, o = ZELDA, OTTO
    zelda_customer = {"id": int(z.platform_id), "email": z.email, "first_name": z.first_name}
    rows = {
        "zelda_order_done": (
            "orders/create",
            DONE,
            _payload(id=1, email=z.email, customer=zelda_customer, note=f"to {z.city}"),
            z.platform_id,
            None,
        ),
        "zelda_update_pending": (
            "customers/update",
            PENDING,
            _payload(
                admin_graphql_api_id=f"gid://shopify/Customer/{z.platform_id}",
                email=z.email.lower(),
                phone=z.phone,
                last_name=z.last_name,
                default_address={"city": z.city},
            ),
            None,
            None,
        ),
        "zelda_checkout_dead": (
            "checkouts/create",
            DEAD,
            _payload(token="x", phone=z.phone, shipping_address={"last_name": z.last_name}),
            None,
            f"ValidationError: bad phone {z.phone}",
        ),
        "merge_reduced": ("customers/merge", DONE, None, f"{o.platform_id},{z.platform_id}", None),
        # mentions a longer number that merely contains Zelda's id: not about her
        "otto_pending": (
            "customers/update",
            PENDING,
            _payload(id=int(o.platform_id), email=o.email, note=f"ref {z.platform_id}5"),
            None,
            None,
        ),
        "otto_done": ("orders/create", DONE, _payload(id=2, email=o.email), o.platform_id, None),
    }
    for key, (topic, status, payload, subjects, error) in rows.items():
        row = InboxRow(
            shop_domain=data.domain,
            shop_id=data.shop.id,
            topic=topic,
            webhook_id=f"{prefix}-{key}",
            headers={"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": data.domain},
            payload=payload,
            subject_ids=subjects,
            status=status,
            last_error=error,
            received_at=T0,
        )
        session.add(row)
        data.inbox[key] = row


def _add_segments(session: Session, shop: Shop, member: Customer) -> int:
    """A segment the customer is in: its state, an open stay and the entered event."""
    segment = Segment(
        shop_id=shop.id, name="Regular", slug="regular", query="number_of_orders >= 3", bit=0
    )
    session.add(segment)
    session.flush()
    who = {"shop_id": shop.id, "customer_id": member.id}
    session.add(SegmentState(**who, mask=1, evaluated_at=T0))
    session.add(SegmentDirty(**who))
    session.add(
        SegmentMembership(**who, segment_id=segment.id, entered_at=T0, entered_reason="initial")
    )
    session.add(
        SegmentEvent(**who, segment_id=segment.id, kind="entered", reason="initial", occurred_at=T0)
    )
    session.add(
        SegmentDaily(shop_id=shop.id, segment_id=segment.id, day=T0.date(), size=1, computed_at=T0)
    )
    session.add(SegmentFlagDismissal(shop_id=shop.id, flag="small:regular", dismissed_at=T0))
    return segment.id


def _add_actions(
    session: Session, shop: Shop, prefix: str, zelda: Customer, segment_id: int
) -> None:
    """Her managed tag push, a Flow trigger for her cart and the guest cart's journey."""
    session.add(
        ManagedTag(shop_id=shop.id, tag="seg:regular", tag_cf="seg:regular", segment_id=segment_id)
    )
    session.add(TriggerSetting(shop_id=shop.id, name="welcome", settings={"delay_hours": 0}))
    session.add(
        OutboxItem(
            shop_id=shop.id,
            kind="tags",
            customer_id=zelda.id,
            why="regular",
            result={"added": ["seg:regular"]},
        )
    )
    session.add(
        OutboxItem(
            shop_id=shop.id,
            kind="flow_trigger",
            customer_id=zelda.id,
            why="abandoned_checkout",
            payload={"email": ZELDA.email},
        )
    )
    session.add(
        TriggerFiring(
            shop_id=shop.id,
            name="abandoned_checkout",
            trigger_id=f"{prefix}-t1",
            dedupe_key=f"{prefix}-ck-zelda:1",
            customer_id=zelda.id,
            checkout_token=f"{prefix}-ck-zelda",
            state="fired",
            due_at=T0,
            payload={"email": ZELDA.email},
        )
    )
    guest = f"{prefix}-ck-zelda-guest-phone"
    session.add(
        CheckoutJourney(
            shop_id=shop.id, checkout_token=guest, state="abandoned", last_activity_at=T0
        )
    )
    session.add(
        TriggerFiring(
            shop_id=shop.id,
            name="abandoned_checkout",
            trigger_id=f"{prefix}-t2",
            dedupe_key=f"{guest}:1",
            checkout_token=guest,
            state="fired",
            due_at=T0,
            payload={"phone": ZELDA.phone},
        )
    )


def _add_exports(session: Session, data: ShopData) -> None:
    for key, person in (("zelda", ZELDA), ("otto", OTTO)):
        export = PrivacyExport(
            shop_id=data.shop.id,
            customer_platform_id=person.platform_id,
            request_id=f"req-{key}",
            created_at=T0 - timedelta(days=1),
            data={"customer": {"email": person.email, "city": person.city}},
        )
        session.add(export)
        data.exports[key] = export


def _add_import(session: Session, shop: Shop, prefix: str, base: int) -> None:
    """A history import caught mid-way: ZELDA staged with her order, a line, a tag."""
    run = BackfillRun(shop_id=shop.id, state="running", why="install", counts={})
    session.add(run)
    session.flush()
    session.add(BackfillPhase(run_id=run.id, resource="orders", shop_id=shop.id))
    staged = {"shop_id": shop.id, "run_id": run.id, "seq": 0}
    version = f"{T0.isoformat()}|import:{run.id}"
    session.add(
        StagedCustomer(
            **staged,
            platform_id=ZELDA.platform_id,
            tomb_key="k",
            email=ZELDA.email,
            email_cf=ZELDA.email.casefold(),
            phone=ZELDA.phone,
            first_name=ZELDA.first_name,
            last_name=ZELDA.last_name,
            city=ZELDA.city,
            profile_version=version,
            statistics_version=version,
        )
    )
    session.add(
        StagedAddress(
            **staged,
            customer_platform_id=ZELDA.platform_id,
            country_code="IS",
            city=ZELDA.city,
            city_key=f"is-{ZELDA.city}".casefold(),
        )
    )
    session.add(
        StagedMetafield(
            **staged,
            position=0,
            customer_platform_id=ZELDA.platform_id,
            namespace="custom",
            key="home_town",
            type="text",
            value=ZELDA.city,
            text_cf=ZELDA.city.casefold(),
        )
    )
    session.add(
        StagedCompany(**staged, position=0, customer_platform_id=ZELDA.platform_id, company_id="77")
    )
    for seq, kind in ((0, "owner"), (1, "account")):
        session.add(
            StagedStoreCredit(
                **{**staged, "seq": seq},
                kind=kind,
                customer_platform_id=ZELDA.platform_id,
                account_id=ZELDA.phone if kind == "account" else None,
            )
        )
    session.add(StagedStoreCredit(**{**staged, "seq": 2}, kind="credit", account_id=ZELDA.phone))
    tag = {"shop_id": shop.id, "run_id": run.id, "kind": "customer", "owner_seq": 0}
    session.add(StagedTag(**tag, tag="vip", tag_cf="vip"))
    order_id = f"{prefix}-staged"
    session.add(
        StagedOrder(
            **staged,
            platform_id=order_id,
            tomb_key="o",
            customer_platform_id=ZELDA.platform_id,
            email=ZELDA.old_email,
            email_cf=ZELDA.old_email.casefold(),
            total_minor=100,
            has_discount=False,
            test=False,
            discount_codes={"codes": []},
            refund_ids={"ids": []},
            version=version,
        )
    )
    line = {"order_platform_id": order_id, "quantity": 1, "price_minor": 100, "discount_minor": 0}
    session.add(StagedOrderLine(**{**staged, "seq": 1}, **line, title="staged item"))
    session.add(StagedProduct(**staged, platform_id=f"{base}", title="staged", version=version))


def add_delivery(session: Session, data: ShopData, topic: str, payload: dict[str, Any]) -> Delivery:
    """The inbox row of a compliance delivery being processed now, as the worker holds it."""
    row = InboxRow(
        shop_domain=data.domain,
        shop_id=data.shop.id,
        topic=topic,
        webhook_id=f"{data.domain}-{topic}-{len(data.inbox)}",
        headers={"X-Shopify-Topic": topic},
        payload=json.dumps(payload),
        status=PENDING,
    )
    session.add(row)
    session.commit()
    data.inbox[f"{topic}#{row.id}"] = row
    return Delivery(row.id, topic, row.webhook_id, None, T0)


def redact_event(person: Person, order_ids: tuple[str, ...] = ()) -> CustomerRedactRequested:
    return CustomerRedactRequested(
        version=f"{T0.isoformat()}|redact",
        customer_id=person.platform_id,
        email=person.email,
        phone=person.phone,
        order_ids=order_ids,
    )


def data_request_event(person: Person, order_ids: tuple[str, ...] = ()) -> CustomerDataRequested:
    return CustomerDataRequested(
        version=f"{T0.isoformat()}|request",
        customer_id=person.platform_id,
        email=person.email,
        phone=person.phone,
        order_ids=order_ids,
        request_id="9999",
    )


def compliance_payload(person: Person, order_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    customer = {"id": int(person.platform_id), "email": person.email, "phone": person.phone}
    return {"customer": customer, "orders_to_redact": [int(i) for i in order_ids]}


# --- probes over every table -------------------------------------------------------------


def tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def belongs_to(table: Table, row: dict[str, Any], shop: Shop) -> bool:
    if table.name == "shops":
        return bool(row["id"] == shop.id)
    return row.get("shop_id") == shop.id or row.get("shop_domain") == shop.domain


def shop_rows(session: Session, table: Table, shop: Shop) -> list[dict[str, Any]]:
    """The table's rows that belong to the shop; all rows where the table has no shop key."""
    rows = [dict(r) for r in session.execute(select(table)).mappings()]
    if table.name != "shops" and not {"shop_id", "shop_domain"} & set(table.c.keys()):
        return rows
    return [row for row in rows if belongs_to(table, row, shop)]


def mentions(value: Any, needles: tuple[str, ...]) -> bool:
    """Case-insensitive substring match; a numeric id only as a whole number."""
    if value is None:
        return False
    text = (json.dumps(value) if isinstance(value, dict | list) else str(value)).lower()
    for needle in (n.lower() for n in needles):
        pattern = rf"(?<!\d){re.escape(needle)}(?!\d)" if needle.isdigit() else re.escape(needle)
        if re.search(pattern, text):
            return True
    return False


def find_values(session: Session, shop: Shop, needles: tuple[str, ...]) -> list[str]:
    """`table.column: value` of every value in the shop's rows that mentions a needle."""
    return [
        f"{table.name}.{column}: {str(value)[:120]}"
        for table in tables()
        for row in shop_rows(session, table, shop)
        for column, value in row.items()
        if mentions(value, needles)
    ]


def snapshot(session: Session) -> dict[str, dict[tuple[Any, ...], dict[str, Any]]]:
    """Every row of every table, keyed by table and primary key."""
    session.expire_all()
    result = {}
    for table in tables():
        pk = [c.name for c in table.primary_key.columns]
        rows = session.execute(select(table)).mappings()
        result[table.name] = {tuple(r[k] for k in pk): dict(r) for r in rows}
    return result


def counted_revenue(session: Session, shop: Shop) -> int:
    """What a shop KPI sums: orders that are neither test nor cancelled."""
    stmt = select(func.coalesce(func.sum(Order.total_minor), 0)).where(
        Order.shop_id == shop.id, Order.test.is_(False), Order.cancelled_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


# --- tests of the store itself: the probes are only as good as the data ------------------


def test_store_puts_rows_of_both_shops_in_every_table(session: Session) -> None:
    a, b = build_store(session)
    empty = [
        f"{t.name} ({data.domain})"
        for t in tables()
        for data in (a, b)
        if not shop_rows(session, t, data.shop)
    ]
    assert empty == [], "add rows for these tables to build_store() in this module"


def test_the_person_is_findable_in_each_place_before_redaction(session: Session) -> None:
    a, _ = build_store(session)
    found = find_values(session, a.shop, ZELDA.needles)
    tables_found = {hit.split(".")[0] for hit in found}
    assert tables_found >= {"customers", "orders", "checkouts", "webhook_inbox", "privacy_exports"}
    assert tables_found >= {"customer_addresses", "backfill_addresses"}
    assert tables_found >= {"customer_metafields", "backfill_metafields"}
    for needle in ZELDA.needles:
        assert find_values(session, a.shop, (needle,)), needle


def test_every_table_is_a_place_of_personal_data_or_declared_free_of_it() -> None:
    places = {t for place in PERSONAL_DATA for t in place.tables}
    assert not places & set(NO_CUSTOMER_DATA)
    unaccounted = {t.name for t in tables()} - places - set(NO_CUSTOMER_DATA)
    assert unaccounted == set(), (
        "add these tables to PERSONAL_DATA or NO_CUSTOMER_DATA in plugin/privacy/services.py"
    )
