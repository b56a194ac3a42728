"""Property: RFM membership depends on history. Over random histories (values near the
cut-offs and their margins, customers coming and losing their orders, sweeps within a day
and across days), the fields, the real-time path and the sweep agree with a brute-force
oracle that keeps its own stored scores — on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.segments.builtins import BUILTINS
from plugin.segments.context import CompileContext
from plugin.segments.evaluator import evaluate_shop
from plugin.segments.evaluator_realtime import evaluate_customers
from plugin.segments.evaluator_sweep import refresh_inputs
from plugin.segments.fields import field_expression
from plugin.segments.models import BUILTIN, INITIAL, Segment, SegmentMembership
from plugin.segments.services import add_segment
from plugin.shops.models import Shop
from tests.integration.test_rfm import DOCUMENTED_TABLE
from tests.support.profiles import NOW

DAY = timedelta(days=1)
# values on, just inside and just past the cut-offs' margins (M 5%, R 7 days, F 0.5)
SPEND = [0, 94, 95, 100, 105, 106, 200, 285, 300, 315, 316, 1000]
ORDERS = [0, 1, 1, 2, 3, 5]
DAYS_AGO = [0, 1, 2, 7, 8, 9, 15, 16, 30]
STEPS = [timedelta(hours=1), timedelta(hours=5), DAY, DAY + timedelta(hours=3), 3 * DAY]
RFM_KEYS = [b for b in BUILTINS if b.key.startswith("rfm_")]


@dataclass
class Person:
    f: int
    m: int
    last: datetime | None


@dataclass
class Oracle:
    """The stored state as the docs define it, computed from the raw values alone."""

    people: dict[str, Person] = field(default_factory=dict)
    scores: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    cuts: dict[str, list[Any]] | None = None
    day: date | None = None
    ranked_then: int = 0

    def ranked(self) -> dict[str, tuple[Any, Any, Any]]:
        return {k: (p.last, p.f, p.m) for k, p in self.people.items() if p.f > 0 and p.last}

    def sweep(self, now: datetime) -> None:
        ranked = self.ranked()
        if self.day != now.date() or len(ranked) > 2 * self.ranked_then:
            self.recompute(now, ranked)
        elif self.ranked_then:
            for key, values in ranked.items():
                self.scores.setdefault(key, self.plain(values))

    def recompute(self, now: datetime, ranked: dict[str, tuple[Any, Any, Any]]) -> None:
        n = len(ranked)
        self.day, self.ranked_then = now.date(), n
        self.cuts = {}
        for i, dim in enumerate("rfm"):
            ordered = sorted(v[i] for v in ranked.values())
            self.cuts[dim] = [ordered[-(-k * n // 5) - 1] for k in range(1, 5)] if n else []
        old, self.scores = self.scores, {}
        if not n:
            return
        for key, values in ranked.items():
            plain = self.plain(values)
            if key not in old:
                self.scores[key] = plain
                continue
            held = []
            for i, dim in enumerate("rfm"):
                up = self.score(dim, values[i], +1)
                down = self.score(dim, values[i], -1)
                held.append(min(max(old[key][i], up), down))
            self.scores[key] = (held[0], held[1], held[2])

    def score(self, dim: str, value: Any, side: int) -> int:
        assert self.cuts is not None
        margin: Any = {"r": 7 * DAY, "f": Fraction(1, 2)}.get(dim)
        above = 0
        for cut in self.cuts[dim]:
            delta = margin if dim != "m" else Fraction(abs(cut), 20)
            above += value > cut + side * delta if side else value > cut
        return 1 + above

    def plain(self, values: tuple[Any, Any, Any]) -> tuple[int, int, int]:
        r, f, m = (self.score(dim, values[i], 0) for i, dim in enumerate("rfm"))
        return r, f, m

    def fields(self, key: str) -> tuple[Any, ...]:
        if self.people[key].f == 0:
            return (None, None, None, "prospects")
        scores = self.scores.get(key)
        if scores is None:
            return (None, None, None, None)
        r, f, m = scores
        return (r, f, m, DOCUMENTED_TABLE[r][(f + m + 1) // 2 - 1])


def write(session: Session, shop_id: int, key: str, person: Person) -> None:
    values = dict(
        orders_count=person.f,
        total_spent_minor=person.m,
        last_order_at=person.last,
        first_order_at=person.last - 400 * DAY if person.last else None,
    )
    found = session.scalar(
        select(Customer.id).where(Customer.shop_id == shop_id, Customer.platform_id == key)
    )
    if found is None:
        session.add(Customer(shop_id=shop_id, platform_id=key, **values))
    else:
        session.execute(update(Customer).where(Customer.id == found).values(**values))
    session.flush()


def draw(rnd: random.Random, now: datetime) -> Person:
    f = rnd.choice(ORDERS)
    if f == 0:
        return Person(0, 0, None)
    return Person(f, rnd.choice(SPEND), now - rnd.choice(DAYS_AGO) * DAY)


def observed(session: Session, shop_id: int, now: datetime) -> dict[str, tuple[Any, ...]]:
    ctx = CompileContext(shop_id, now)
    names = ("rfm_r", "rfm_f", "rfm_m", "rfm_segment")
    stmt = select(Customer.platform_id, *(field_expression(n, ctx) for n in names)).where(
        Customer.shop_id == shop_id
    )
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt)}


def members(session: Session, shop_id: int) -> dict[str, str]:
    """Each customer's open RFM built-in segment (the groups are disjoint)."""
    stmt = (
        select(Customer.platform_id, Segment.builtin_key)
        .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
        .join(Segment, Segment.id == SegmentMembership.segment_id)
        .where(
            SegmentMembership.shop_id == shop_id,
            SegmentMembership.exited_at.is_(None),
            Segment.builtin_key.like("rfm_%"),
        )
    )
    found: dict[str, str] = {}
    for key, builtin in session.execute(stmt):
        assert key not in found, key
        found[key] = builtin.removeprefix("rfm_")
    return found


def check(session: Session, shop_id: int, oracle: Oracle, now: datetime, where: str) -> None:
    expected = {key: oracle.fields(key) for key in oracle.people}
    assert observed(session, shop_id, now) == expected, where
    groups = {key: v[3] for key, v in expected.items() if v[3] is not None}
    assert members(session, shop_id) == groups, where


def test_stored_rfm_scores_agree_with_the_history_oracle(session: Session) -> None:
    count = [0]

    @settings(
        max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.integers(0, 2**32 - 1))
    def run(seed: int) -> None:
        rnd = random.Random(seed)
        count[0] += 1
        shop = Shop(domain=f"h{count[0]}.myshopify.com", install_state="installed")
        session.add(shop)
        session.flush()
        for builtin in RFM_KEYS:
            add_segment(session, shop.id, builtin.name, builtin.query, now=NOW,
                        kind=BUILTIN, builtin_key=builtin.key, pending_reason=INITIAL)  # fmt: skip
        oracle, now = Oracle(), NOW
        for n in range(rnd.randint(0, 12)):
            oracle.people[f"c{n}"] = draw(rnd, now)
            write(session, shop.id, f"c{n}", oracle.people[f"c{n}"])
        moved = refresh_inputs(session, shop.id, now)
        evaluate_shop(session, shop.id, now, thresholds_moved=moved)
        oracle.sweep(now)
        check(session, shop.id, oracle, now, "first sweep")
        for step in range(rnd.randint(2, 5)):
            now += rnd.choice(STEPS)
            keys = list(oracle.people)
            touched = rnd.sample(keys, min(len(keys), rnd.randint(0, 4)))
            touched += [f"n{step}_{i}" for i in range(rnd.randint(0, 2))]
            for key in touched:
                oracle.people[key] = draw(rnd, now)
                write(session, shop.id, key, oracle.people[key])
            ids = session.scalars(
                select(Customer.id).where(
                    Customer.shop_id == shop.id, Customer.platform_id.in_(touched)
                )
            )
            evaluate_customers(session, shop.id, list(ids), now)  # real time: stored state
            check(session, shop.id, oracle, now, f"real time {step}")
            moved = refresh_inputs(session, shop.id, now)
            evaluate_shop(session, shop.id, now, thresholds_moved=moved)
            oracle.sweep(now)
            check(session, shop.id, oracle, now, f"sweep {step}")
        session.rollback()

    run()
