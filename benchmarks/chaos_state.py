"""What a chaos run must end with: the app's store and what the simulated shop received,
read into plain values, and the code that compares two such states and names each difference."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from plugin.db import utcnow
from plugin.inbox.models import DEAD, PENDING, InboxRow
from plugin.outbox.models import PENDING as OUTBOX_PENDING
from plugin.outbox.models import SENDING, OutboxItem
from plugin.platforms.shopify.simulator.state import SimulatorState
from plugin.profiles.models import Customer, Order
from plugin.segments.models import Segment, SegmentMembership
from plugin.triggers.models import TriggerFiring

PROFILE_COLUMNS = (
    Customer.orders_count,
    Customer.total_spent_minor,
    Customer.avg_order_value_minor,
    Customer.first_order_at,
    Customer.last_order_at,
    Customer.avg_days_between_orders,
)
SHOWN_PER_KIND = 5


@dataclass(frozen=True)
class EndState:
    profiles: dict[str, tuple[Any, ...]]  # platform customer id -> metrics
    orders: int
    memberships: frozenset[tuple[str, str]]  # (segment name, platform customer id)
    dead_deliveries: int
    tags: dict[str, tuple[str, ...]]  # platform customer id -> tags at the shop, sorted
    triggers: Counter[tuple[str, str]]  # (trigger handle, platform customer id) -> times sent
    # (segment name, why the open membership began) -> members: not compared (the reasons
    # depend on when sweeps ran), printed to explain a difference
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (trigger, firing state, why / detail) -> firings: not compared either, printed likewise
    firings: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    @property
    def summary(self) -> str:
        return (
            f"{len(self.profiles)} customers, {self.orders} orders, "
            f"{len(self.memberships)} memberships, {sum(map(len, self.tags.values()))} tags, "
            f"{sum(self.triggers.values())} triggers"
        )


def backlog(engine: Engine) -> tuple[int, int]:
    """(inbox rows still to process, outbox rows still owed or trigger firings due)."""
    due = utcnow()
    with engine.connect() as conn:
        inbox = conn.scalar(select(func.count()).where(InboxRow.status == PENDING))
        outbox = conn.scalar(
            select(func.count()).where(OutboxItem.state.in_((OUTBOX_PENDING, SENDING)))
        )
        # A firing due but not yet decided by the trigger scan (it runs every minute) would
        # make the end state depend on when it was read.
        firings = conn.scalar(
            select(func.count()).where(
                TriggerFiring.state.in_(("scheduled", "deferred")), TriggerFiring.due_at <= due
            )
        )
    return int(inbox or 0), int(outbox or 0) + int(firings or 0)


def read_end_state(engine: Engine, sim: SimulatorState, shop: str) -> EndState:
    with engine.connect() as conn:
        profiles = {
            row[0]: tuple(row[1:])
            for row in conn.execute(select(Customer.platform_id, *PROFILE_COLUMNS))
        }
        orders = int(conn.scalar(select(func.count()).select_from(Order)) or 0)
        members = conn.execute(
            select(Segment.name, Customer.platform_id)
            .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
            .join(Customer, Customer.id == SegmentMembership.customer_id)
            .where(SegmentMembership.exited_at.is_(None))
        )
        memberships = frozenset((name, pid) for name, pid in members)
        reasons = Counter(
            (name, reason)
            for name, reason in conn.execute(
                select(Segment.name, SegmentMembership.entered_reason)
                .join(SegmentMembership, SegmentMembership.segment_id == Segment.id)
                .where(SegmentMembership.exited_at.is_(None))
            )
        )
        firings = Counter(
            (name, state, f"{why[:40]} / {(detail or '')[:40]}")
            for name, state, why, detail in conn.execute(
                select(
                    TriggerFiring.name, TriggerFiring.state, TriggerFiring.why, TriggerFiring.detail
                )
            )
        )
        dead = int(conn.scalar(select(func.count()).where(InboxRow.status == DEAD)) or 0)
    tags = {c.customer_id: tuple(sorted(c.tags)) for c in sim.customers.all(shop) if c.tags}
    triggers = Counter(
        (t["handle"], str(t["payload"].get("customer_id")))
        for t in sim.flow_triggers
        if t["shop"] == shop
    )
    return EndState(profiles, orders, memberships, dead, tags, triggers, reasons, firings)


def differences(clean: EndState, chaos: EndState) -> list[str]:
    """Every way `chaos` differs from `clean`, a few examples per kind; empty when equal."""
    found = _dict_diff("profile", clean.profiles, chaos.profiles)
    if clean.orders != chaos.orders:
        found.append(f"orders: clean {clean.orders}, chaos {chaos.orders}")
    found += _set_diff("membership", clean.memberships, chaos.memberships)
    if chaos.dead_deliveries or clean.dead_deliveries:
        found.append(
            f"dead deliveries: clean {clean.dead_deliveries}, chaos {chaos.dead_deliveries}"
        )
    found += _dict_diff("tags", clean.tags, chaos.tags)
    found += _set_diff("trigger", set(clean.triggers), set(chaos.triggers))
    return found


def entry_reasons(clean: EndState, chaos: EndState) -> list[str]:
    """Why the members of segments that differ entered them, in each run."""
    differing = {name for name, _ in clean.memberships ^ chaos.memberships}
    if clean.tags != chaos.tags or clean.triggers != chaos.triggers:
        differing |= {name for name, _ in clean.reasons}  # triggers follow any segment
    lines = [
        f"firings ({label}): {dict(s.firings)}" for label, s in (("clean", clean), ("chaos", chaos))
    ]
    for name in sorted(differing):
        for label, state in (("clean", clean), ("chaos", chaos)):
            counts = {r: n for (s, r), n in sorted(state.reasons.items()) if s == name}
            lines.append(f"entered {name!r} ({label}): {counts}")
    return lines


def duplicate_triggers(state: EndState) -> int:
    """Triggers the shop received more than once (allowed: delivery is at least once)."""
    return sum(n - 1 for n in state.triggers.values() if n > 1)


def _dict_diff(kind: str, clean: dict[str, Any], chaos: dict[str, Any]) -> list[str]:
    keys = sorted(set(clean) | set(chaos))
    wrong = [k for k in keys if clean.get(k) != chaos.get(k)]
    shown = [f"{kind} {k}: clean {clean.get(k)!r}, chaos {chaos.get(k)!r}" for k in wrong]
    return _capped(kind, shown)


def _set_diff(kind: str, clean: Any, chaos: Any) -> list[str]:
    shown = [f"{kind} {item!r} only in the clean run" for item in sorted(clean - chaos)]
    shown += [f"{kind} {item!r} only in the chaos run" for item in sorted(chaos - clean)]
    return _capped(kind, shown)


def _capped(kind: str, lines: list[str]) -> list[str]:
    if len(lines) <= SHOWN_PER_KIND:
        return lines
    return [*lines[:SHOWN_PER_KIND], f"… and {len(lines) - SHOWN_PER_KIND} more {kind} differences"]
