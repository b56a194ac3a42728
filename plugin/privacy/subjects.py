"""The person a privacy request is about, and how to recognise their rows in one shop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from plugin.db import Unindexed
from plugin.errors import ValidationError
from plugin.inbox.models import InboxRow
from plugin.inbox.payloads import parse_payload
from plugin.profiles.models import Checkout, Customer, Order
from plugin.shops.models import Shop


@dataclass(frozen=True)
class DataSubject:
    """A customer of one shop, with every identifier we may find their data under.

    `emails` and `phones` join what the request names with what the profile holds (they
    differ when the customer changed them); emails are lower-cased.
    """

    shop_id: int
    platform: str
    shop_domain: str
    platform_id: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    order_ids: tuple[str, ...]
    customer_id: int | None  # the profile's surrogate key, when there is a profile


def resolve_subject(
    session: Session,
    shop: Shop,
    platform_id: str,
    email: str | None,
    phone: str | None,
    order_ids: tuple[str, ...] = (),
) -> DataSubject:
    """The subject of a request, completed from the stored profile if there is one."""
    profile = session.execute(
        select(Customer.id, Customer.email, Customer.phone).where(
            Customer.shop_id == shop.id, Customer.platform_id == platform_id
        )
    ).first()
    emails = {e.strip().lower() for e in (email, profile and profile.email) if e and e.strip()}
    phones = {p.strip() for p in (phone, profile and profile.phone) if p and p.strip()}
    return DataSubject(
        shop_id=shop.id,
        platform=shop.platform,
        shop_domain=shop.domain,
        platform_id=platform_id,
        emails=tuple(sorted(emails)),
        phones=tuple(sorted(phones)),
        order_ids=tuple(order_ids),
        customer_id=profile.id if profile else None,
    )


# --- SQL predicates, each scoped to the subject's shop -------------------------------------


def email_matches(s: DataSubject, email_cf: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    if not s.emails:
        return false()
    # email_cf is the casefolded email wherever email is written, and casefold() of a
    # lowercased address equals its own casefold: this one test finds every match
    return email_cf.in_(sorted({e.casefold() for e in s.emails}))


def phone_matches(s: DataSubject, phone: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    return phone.in_(s.phones) if s.phones else false()


def orders_of(s: DataSubject) -> ColumnElement[bool]:
    """The subject's orders: linked to them, named by the request, or guest orders by email."""
    mine = [Order.customer_platform_id == s.platform_id]
    if s.order_ids:
        mine.append(Order.platform_id.in_(s.order_ids))
    if s.customer_id is not None:
        mine.append(Order.customer_id == s.customer_id)
    if s.emails:
        guest = _guest(Order.customer_id, Order.customer_platform_id)
        mine.append(and_(*guest, email_matches(s, Order.email_cf)))
    return _any_of(Order.shop_id, s.shop_id, mine)


def checkouts_of(s: DataSubject) -> ColumnElement[bool]:
    """The subject's checkouts: linked to them, or guest checkouts by email or phone."""
    mine = [Checkout.customer_platform_id == s.platform_id]
    if s.customer_id is not None:
        mine.append(Checkout.customer_id == s.customer_id)
    if s.emails:
        guest = _guest(Checkout.customer_id, Checkout.customer_platform_id)
        mine.append(and_(*guest, email_matches(s, Checkout.email_cf)))
    if s.phones:  # no index has the phone: read through the shop's unlinked checkouts
        unlinked = (Checkout.customer_id.is_(None), Checkout.customer_platform_id.is_(None))
        mine.append(and_(*unlinked, phone_matches(s, Checkout.phone)))
    return _any_of(Checkout.shop_id, s.shop_id, mine)


def _guest(customer_id: Any, customer_platform_id: Any) -> tuple[ColumnElement[bool], ...]:
    # Unindexed: the e-mail's index finds the few rows, not the shop's every unlinked one.
    return (Unindexed(customer_id).is_(None), Unindexed(customer_platform_id).is_(None))


def _any_of(shop_id: Any, shop: int, ways: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """Rows of the shop matching any of `ways`, each way looked up through its own index:
    with the shop in every branch and not outside (SQLite would rather read the whole
    shop through one index on `shop_id` than take the union of the branches' indexes)."""
    return and_(Unindexed(shop_id) == shop, or_(*(and_(shop_id == shop, w) for w in ways)))


# --- inbox deliveries ----------------------------------------------------------------------


def inbox_rows_mentioning(session: Session, s: DataSubject) -> list[int]:
    """Ids of the shop's inbox rows that mention the subject, processed or not.

    SQL narrows by text; each candidate is then checked value by value, so a delivery about
    another customer whose id merely contains this id is not erased by mistake.
    """
    candidates = session.execute(
        select(InboxRow.id, InboxRow.payload, InboxRow.subject_ids, InboxRow.last_error).where(
            InboxRow.platform == s.platform,
            InboxRow.shop_domain == s.shop_domain,
            or_(*_text_filters(s)),
        )
    ).all()
    return [row.id for row in candidates if _row_mentions(row, s)]


def _text_filters(s: DataSubject) -> list[ColumnElement[bool]]:
    filters = [InboxRow.subject_ids.contains(s.platform_id, autoescape=True)]
    for column in (InboxRow.payload, InboxRow.last_error):
        filters.append(column.contains(s.platform_id, autoescape=True))
        filters += [func.lower(column).contains(e, autoescape=True) for e in s.emails]
        filters += [column.contains(p, autoescape=True) for p in s.phones]
    return filters


def _row_mentions(row: Any, s: DataSubject) -> bool:
    subjects = (row.subject_ids or "").split(",")
    return (
        s.platform_id in subjects
        or (row.payload is not None and _payload_mentions(row.payload, s))
        or (row.last_error is not None and _text_mentions(row.last_error, s))
    )


def _payload_mentions(payload: str, s: DataSubject) -> bool:
    try:
        document = parse_payload(payload)
    except ValidationError:
        return True  # unreadable: the textual match is reason enough to erase it
    return any(_value_mentions(value, s) for value in _scalars(document))


def _scalars(document: Any) -> Iterator[Any]:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, bool):
            yield item


def _value_mentions(value: Any, s: DataSubject) -> bool:
    text = str(value)
    # an id is a whole value, or the last segment of a global id (".../Customer/<id>")
    if text == s.platform_id or text.endswith("/" + s.platform_id):
        return True
    lowered = text.lower()
    return any(e in lowered for e in s.emails) or any(p in text for p in s.phones)


def _text_mentions(text: str, s: DataSubject) -> bool:
    if re.search(rf"(?<!\d){re.escape(s.platform_id)}(?!\d)", text):
        return True
    lowered = text.lower()
    return any(e in lowered for e in s.emails) or any(p in text for p in s.phones)
