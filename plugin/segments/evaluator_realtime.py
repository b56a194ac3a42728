"""Real-time membership: re-evaluate the customers an event touched, inside its transaction.

The worker calls `subjects_before` before a delivery's handlers run (so customers the
handlers delete can still be named) and `reevaluate_subjects` after them. Rules with a
pending reason (just installed, created or edited) are left to the next sweep, so a
rule edit never looks like behaviour. A customer evaluated here for the first time whose
newest activity is older than `LIVE_WINDOW` is history, as in a sweep: their entries get
reason `initial` (an old order replayed cannot make anyone *become* inactive while the app
watched), so the reason never depends on whether a sweep ran first. Customers that
vanished (redacted, deleted, merged away) have their open memberships closed with reason
`redacted` or `merged`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, Select, bindparam, select
from sqlalchemy.orm import Session

from plugin.db import is_postgresql
from plugin.events import CustomersMerged, Event, subject_customer_ids
from plugin.profiles.models import Customer
from plugin.segments.dirty import mark_dirty_where
from plugin.segments.evaluator import (
    Rule,
    apply_statement,
    changes_statement,
    compile_context,
    enabled_rules,
    shop_lock,
    usable_rules,
)
from plugin.segments.evaluator_membership import Change, close_vanished
from plugin.segments.evaluator_shared import mask_words, masks_select
from plugin.segments.models import MAX_SEGMENTS, MERGED, REALTIME, REDACTED

ALL_BITS = (1 << MAX_SEGMENTS) - 1
ID_PARAM = "realtime_customer_"
# Shopify retries a webhook for up to 48 hours: activity older than that is history.
LIVE_WINDOW = timedelta(hours=48)
CACHE_SIZE = 256  # statements: shops x rule sets x scope sizes seen in the last minute

_STATEMENTS: OrderedDict[tuple[Any, ...], Select[Any]] = OrderedDict()
_LOCK = threading.Lock()


def _surrogate_ids(session: Session, shop_id: int, platform_ids: Collection[str]) -> dict[int, str]:
    if not platform_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.platform_id).where(
            Customer.shop_id == shop_id, Customer.platform_id.in_(sorted(platform_ids))
        )
    )
    return {row.id: row.platform_id for row in rows}


def subjects_before(session: Session, shop_id: int, events: Sequence[Event]) -> dict[int, str]:
    """The stored customers these events are about, each with the reason their memberships
    close if the handlers remove them (`merged` for a merge's deleted side)."""
    merged_away = {e.deleted_id for e in events if isinstance(e, CustomersMerged)}
    platform_ids = {pid for event in events for pid in subject_customer_ids(event)}
    found = _surrogate_ids(session, shop_id, platform_ids)
    return {cid: MERGED if pid in merged_away else REDACTED for cid, pid in found.items()}


def reevaluate_subjects(
    session: Session,
    shop_id: int,
    events: Sequence[Event],
    before: Mapping[int, str],
    now: datetime,
) -> None:
    """After the handlers: the touched customers' memberships, reason `realtime`."""
    platform_ids = {pid for event in events for pid in subject_customer_ids(event)}
    ids = set(before) | set(_surrogate_ids(session, shop_id, platform_ids))
    if ids:
        evaluate_customers(session, shop_id, sorted(ids), now, gone=before)


def evaluate_customers(
    session: Session,
    shop_id: int,
    customer_ids: Sequence[int],
    now: datetime,
    reason: str = REALTIME,
    *,
    gone: Mapping[int, str] | None = None,
) -> list[Change]:
    """Re-evaluate these customers against every settled rule of the shop."""
    rules, _broken = usable_rules(enabled_rules(session, shop_id))
    if not rules:
        return []
    session.flush()
    shop_lock(session, shop_id)
    ids = sorted(set(customer_ids))
    if not ids:
        return []
    close_vanished(session, shop_id, now, customer_ids=ids, reasons=gone or {})
    settled = [rule for rule in rules if rule.pending_reason is None]
    keep = ALL_BITS & ~sum(rule.flag for rule in settled)
    # The statement is built for a few sizes only (1, 2, 4, 8, …): the slots past the
    # customers repeat the last id, which changes nothing in an IN list.
    slots = 1 << (len(ids) - 1).bit_length()
    stmt = realtime_statement(session, shop_id, settled, now, slots)
    params = {f"{ID_PARAM}{n}": ids[min(n, len(ids) - 1)] for n in range(slots)}

    def history_of(first_seen: list[int]) -> set[int]:
        return history_customers(session, shop_id, first_seen, now)

    changes = apply_statement(
        session,
        shop_id,
        settled,
        stmt,
        reason,
        now,
        keep=keep,
        params=params,
        history_of=history_of,
    )
    # Their state now holds at `now`, not at the last sweep's clock: the next incremental
    # sweep looks at them again.
    mark_dirty_where(session, shop_id, Customer.id.in_(ids), by_id=True)
    return changes


def history_customers(
    session: Session, shop_id: int, customer_ids: Sequence[int], now: datetime
) -> set[int]:
    """Of these customers, those whose newest known activity (last order, abandoned
    checkout, account creation) is older than the live window; one query. A customer with
    no dated activity is taken as live."""
    stmt = select(
        Customer.id,
        Customer.last_order_at,
        Customer.last_abandoned_at,
        Customer.platform_created_at,
    ).where(Customer.shop_id == shop_id, Customer.id.in_(sorted(customer_ids)))
    history = set()
    for cid, *moments in session.execute(stmt):
        dated = [m for m in moments if m is not None]
        if dated and now - max(dated) > LIVE_WINDOW:
            history.add(cid)
    return history


def realtime_statement(
    session: Session, shop_id: int, rules: Sequence[Rule], now: datetime, count: int
) -> Select[Any]:
    """The changes statement for `count` customers, built once per shop, rule set, minute
    and count, then reused with new ids: building the SQL of a shop's rules costs far
    more than running it for one customer. Relative dates resolve against the minute."""
    minute = now.replace(second=0, microsecond=0)
    slots = [bindparam(f"{ID_PARAM}{n}", type_=BigInteger) for n in range(count)]
    ctx = compile_context(session, shop_id, minute, customer_ids=cast(Sequence[int], slots))
    signature = tuple((r.segment_id, r.bit, r.rule_version, r.query) for r in rules)
    lateral = is_postgresql(session)
    # The dialect is part of the key: a process can hold a SQLite and a PostgreSQL engine
    # (the test suite does), and a shop id alone would hand one the other's statement.
    dialect = session.get_bind().dialect.name
    key = (dialect, shop_id, signature, minute, ctx.timezone, ctx.currency)
    key += (ctx.abandoned_after_hours, count)
    with _LOCK:
        stmt = _STATEMENTS.get(key)
        if stmt is not None:
            _STATEMENTS.move_to_end(key)
            return stmt
    scope = Customer.id.in_(slots)
    masks = masks_select(rules, ctx, scope, lateral=lateral)
    stmt = changes_statement(shop_id, masks, mask_words(rules))
    with _LOCK:
        _STATEMENTS[key] = stmt
        while len(_STATEMENTS) > CACHE_SIZE:
            _STATEMENTS.popitem(last=False)
    return stmt
