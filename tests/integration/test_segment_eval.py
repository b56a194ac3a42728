"""Evaluation: diffs only, batches, real time through the worker, rule edits, disabling,
redaction and merges, and one shop never touching another's memberships."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.profiles.models import Customer
from plugin.profiles.shop_settings import set_setting
from plugin.runtime import Runtime, build_runtime
from plugin.segments.evaluator import compile_context, enabled_rules, evaluate_shop
from plugin.segments.evaluator_language import parsed_ast, predicate
from plugin.segments.evaluator_realtime import evaluate_customers, realtime_statement
from plugin.segments.evaluator_sweep import sweep_shop
from plugin.segments.models import Segment, SegmentMembership, SegmentState
from plugin.segments.services import (
    create_segment,
    disable_segment,
    edit_segment,
    enable_segment,
    find_segment,
)
from plugin.settings import Settings
from plugin.shops.models import Shop
from plugin.worker import process_batch
from tests.conftest import PG_AVAILABLE, empty_all_tables
from tests.integration.test_segment_eval_support import (
    customer_id,
    events,
    installed,
    order_through_worker,
    segment_id,
    stays,
)
from tests.support.inbox import deliver
from tests.support.profiles import apply_payload, order_payload

A = "alpha.myshopify.com"
B = "beta.myshopify.com"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def history(runtime: Runtime, settings: Settings, shop_id: int, orders: dict[str, int]) -> None:
    """Orders per customer (platform id → count) stored without the real-time hook."""
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        for customer, count in orders.items():
            for n in range(count):
                order_id = f"{shop_id}{customer}{n}"
                when = T0 - timedelta(days=10 - n)
                payload = order_payload(order_id, customer=customer, total="20.00", updated_at=when)
                apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)


def open_members(session: Session, shop_id: int, key_or_id: str | int) -> set[str]:
    seg = key_or_id if isinstance(key_or_id, int) else segment_id(session, shop_id, key_or_id)
    rows = session.scalars(
        select(Customer.platform_id)
        .join(SegmentMembership, SegmentMembership.customer_id == Customer.id)
        .where(SegmentMembership.segment_id == seg, SegmentMembership.exited_at.is_(None))
    )
    return set(rows)


def state_rows(session: Session, shop_id: int) -> list[tuple[int, int, int, datetime]]:
    rows = session.execute(
        select(
            SegmentState.customer_id,
            SegmentState.mask,
            SegmentState.version,
            SegmentState.evaluated_at,
        )
        .where(SegmentState.shop_id == shop_id)
        .order_by(SegmentState.customer_id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def count_events(session: Session) -> int:
    from plugin.segments.models import SegmentEvent

    return session.scalar(select(func.count()).select_from(SegmentEvent)) or 0


def test_a_sweep_that_changes_nothing_writes_nothing(runtime: Runtime, settings: Settings) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 1, "2": 3, "3": 4})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions() as session:
        first = state_rows(session, shop_id)
        written = count_events(session)
        assert open_members(session, shop_id, "regular") == {"2", "3"}
        assert len(first) == 3 and written > 0

    sweep_shop(runtime, shop_id, at(1))
    with runtime.sessions() as session:
        assert state_rows(session, shop_id) == first  # same masks, versions and times
        assert count_events(session) == written


def test_batches_give_what_one_pass_gives(runtime: Runtime, settings: Settings) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 1, "2": 3, "3": 4, "4": 0, "5": 3})
    result = evaluate_shop(runtime, shop_id, at(0), batch_size=2)
    assert result.batches == 3
    with runtime.sessions() as session:
        assert open_members(session, shop_id, "regular") == {"2", "3", "5"}
        assert len(state_rows(session, shop_id)) == 4  # "4" never ordered: no profile


def test_worker_updates_memberships_in_real_time(runtime: Runtime, settings: Settings) -> None:
    shop_id = installed(runtime, settings, A, at(-1))
    sweep_shop(runtime, shop_id, at(0))
    for n in range(3):
        order_through_worker(runtime, A, f"90{n}", "7", at(1 + n))
    with runtime.sessions() as session:
        regular = segment_id(session, shop_id, "regular")
        seven = customer_id(session, shop_id, "7")
        assert stays(session, regular, seven) == [(at(3), None, "realtime", None)]
        mask = session.scalar(select(SegmentState.mask).where(SegmentState.customer_id == seven))
        assert mask is not None and mask >> find_segment(session, shop_id, "Regular").bit & 1


def test_a_new_rule_waits_for_the_sweep_and_enters_with_rule_edit(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-1))
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions.begin() as session:
        big = create_segment(session, shop_id, "Big spenders", "amount_spent > 100", now=at(0)).id
    order_through_worker(runtime, A, "501", "7", at(1), total="150.00")
    with runtime.sessions() as session:
        assert open_members(session, shop_id, big) == set()  # a rule change, not behaviour

    sweep_shop(runtime, shop_id, at(2))
    order_through_worker(runtime, A, "502", "8", at(3), total="300.00")
    with runtime.sessions() as session:
        seven, eight = customer_id(session, shop_id, "7"), customer_id(session, shop_id, "8")
        assert stays(session, big, seven) == [(at(2), None, "rule_edit", None)]
        assert stays(session, big, eight) == [(at(3), None, "realtime", None)]


def test_an_edited_rule_moves_members_with_reason_rule_edit(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 2, "2": 3})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions.begin() as session:
        edit_segment(session, shop_id, "regular", "number_of_orders = 2", now=at(1))
    sweep_shop(runtime, shop_id, at(2))
    with runtime.sessions() as session:
        regular = segment_id(session, shop_id, "regular")
        one, two = customer_id(session, shop_id, "1"), customer_id(session, shop_id, "2")
        assert stays(session, regular, one) == [(at(2), None, "rule_edit", None)]
        assert stays(session, regular, two) == [(at(0), at(2), "initial", "rule_edit")]


def test_disabling_closes_memberships_and_enabling_restores_them_as_a_rule_edit(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 3})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions.begin() as session:
        assert disable_segment(session, shop_id, "Regular", now=at(1)) == 1
    sweep_shop(runtime, shop_id, at(2))  # a disabled segment is not evaluated
    with runtime.sessions() as session:
        regular = segment_id(session, shop_id, "regular")
        one = customer_id(session, shop_id, "1")
        assert stays(session, regular, one) == [(at(0), at(1), "initial", "disabled")]
        bit = find_segment(session, shop_id, "regular").bit
        assert not state_rows(session, shop_id)[0][1] >> bit & 1

    with runtime.sessions.begin() as session:
        enable_segment(session, shop_id, "Regular", now=at(3))
    sweep_shop(runtime, shop_id, at(4))
    with runtime.sessions() as session:
        assert stays(session, regular, one)[1:] == [(at(4), None, "rule_edit", None)]


def test_redacted_deleted_and_merged_customers_leave_as_defined(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 3, "2": 3, "3": 1, "4": 3})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions() as session:
        one, two, four = (customer_id(session, shop_id, c) for c in ("1", "2", "4"))
        regular = segment_id(session, shop_id, "regular")
    redact = {"shop_domain": A, "customer": {"id": 1}, "orders_to_redact": []}
    deliver(runtime, A, redact, topic="customers/redact", triggered_at=at(1))
    merge: dict[str, Any] = {
        "admin_graphql_api_customer_kept_id": "gid://shopify/Customer/3",
        "admin_graphql_api_customer_deleted_id": "gid://shopify/Customer/2",
        "admin_graphql_api_job_id": None,
        "status": "completed",
        "errors": [],
    }
    deliver(runtime, A, merge, topic="customers/merge", triggered_at=at(1))
    deliver(runtime, A, {"id": 4}, topic="customers/delete", triggered_at=at(1))
    assert process_batch(runtime, now=at(1)) == 3

    with runtime.sessions() as session:
        # A redaction erases the person's segment history with the rest of their data.
        assert stays(session, regular, one) == []
        assert [e for e in events(session, shop_id) if e[1] == one] == []
        assert stays(session, regular, two) == [(at(0), at(1), "initial", "merged")]
        assert stays(session, regular, four) == [(at(0), at(1), "initial", "redacted")]
        # The kept customer now holds 4 orders: they enter Regular as they act.
        three = customer_id(session, shop_id, "3")
        assert stays(session, regular, three) == [(at(1), None, "realtime", None)]
        assert {row[0] for row in state_rows(session, shop_id)} == {three}


def test_a_sweep_closes_memberships_of_customers_removed_outside_the_worker(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 3})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions.begin() as session:
        one = customer_id(session, shop_id, "1")
        session.execute(delete(Customer).where(Customer.id == one))
    sweep_shop(runtime, shop_id, at(1))
    with runtime.sessions() as session:
        regular = segment_id(session, shop_id, "regular")
        assert stays(session, regular, one) == [(at(0), at(1), "initial", "redacted")]


def test_one_shop_never_touches_another_shops_memberships(
    runtime: Runtime, settings: Settings
) -> None:
    a, b = installed(runtime, settings, A, at(-400)), installed(runtime, settings, B, at(-400))
    history(runtime, settings, a, {"7": 3})
    history(runtime, settings, b, {"7": 3})  # the same platform id in another shop
    sweep_shop(runtime, a, at(0))
    with runtime.sessions() as session:
        assert open_members(session, a, "regular") == {"7"}
        assert state_rows(session, b) == [] and events(session, b) == []

    sweep_shop(runtime, b, at(1))
    with runtime.sessions.begin() as session:
        disable_segment(session, a, "regular", now=at(2))
    with runtime.sessions() as session:
        assert open_members(session, a, "regular") == set()
        assert open_members(session, b, "regular") == {"7"}
        assert {e[3] for e in events(session, b)} == {"initial"}


def test_real_time_statements_are_built_once_per_rule_set_and_minute(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 3, "2": 1})
    sweep_shop(runtime, shop_id, at(0))

    def statement(now: datetime, count: int = 1) -> object:
        with runtime.sessions() as session:
            return realtime_statement(session, shop_id, enabled_rules(session, shop_id), now, count)

    first = statement(at(1))
    assert statement(at(1) + timedelta(seconds=59)) is first
    assert statement(at(1) + timedelta(seconds=60)) is not first
    assert statement(at(1), count=2) is not first
    with runtime.sessions.begin() as session:
        edit_segment(session, shop_id, "regular", "number_of_orders >= 1", now=at(1))
    assert statement(at(1)) is not first

    # One statement serves any customers: two never evaluated, in one call.
    sweep_shop(runtime, shop_id, at(2))
    history(runtime, settings, shop_id, {"3": 3, "4": 1})
    with runtime.sessions.begin() as session:
        three, four = customer_id(session, shop_id, "3"), customer_id(session, shop_id, "4")
        regular = find_segment(session, shop_id, "regular").bit
        changes = {
            c.customer_id: c for c in evaluate_customers(session, shop_id, [four, three], at(3))
        }
    assert set(changes) == {three, four} and all(c.new for c in changes.values())
    # Their orders are 10 days old: a first evaluation of history is `initial`, as in a sweep.
    assert changes[three].flips[regular] == changes[four].flips[regular] == "initial"


def test_real_time_reads_one_customers_purchases_through_the_customer_index(
    runtime: Runtime, settings: Settings
) -> None:
    """Without statistics SQLite would pick the product-type index and read every purchase
    of the type to find one customer's rows (the cost grows with the shop)."""
    if runtime.engine.dialect.name != "sqlite":
        return  # PostgreSQL plans from its statistics
    shop_id = installed(runtime, settings, A, at(-400))
    with runtime.sessions.begin() as session:
        create_segment(
            session,
            shop_id,
            "Coffee fans",
            "products_purchased MATCHES (product_type = 'Coffee', date >= -90d)",
            now=at(0),
        )
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions() as session:
        stmt = realtime_statement(session, shop_id, enabled_rules(session, shop_id), at(1), 1)
        # Literal values only to ask for the plan: the app binds them.
        sql = stmt.params(realtime_customer_0=1).compile(
            session.get_bind(), compile_kwargs={"literal_binds": True}
        )
        # SQLite's "OFFSET 0" comes with a bound "LIMIT -1"
        sql = str(sql).replace("LIMIT ?", "LIMIT -1")
        rows = session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
        plan = " ".join(str(row[-1]) for row in rows)
    assert "ix_purchases_shop_customer_ordered" in plan
    assert "ix_purchases_shop_type_ordered_customer" not in plan


def test_every_rule_in_the_one_pass_mask_selects_what_it_selects_alone(
    runtime: Runtime, settings: Settings
) -> None:
    """The mask computes virtual fields (RFM, VIP, lifecycle, gap ratio) once per row; each
    rule must still select exactly the customers its own compiled predicate selects."""
    shop_id = installed(runtime, settings, A, at(-900))
    with runtime.sessions() as session:
        shop = session.get(Shop, shop_id)
        assert shop is not None
        for n in range(24):  # spread over recency, frequency and spend
            for k in range(n % 5 + (n % 3 == 0)):
                when = T0 - timedelta(days=3 + 17 * n + 41 * k)
                payload = order_payload(
                    f"9{n:02d}{k}",
                    customer=str(100 + n),
                    total=f"{10 + 7 * n * (k + 1)}.00",
                    updated_at=when,
                )
                apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)
    sweep_shop(runtime, shop_id, T0)
    with runtime.sessions() as session:
        ctx = compile_context(session, shop_id, T0)
        nontrivial = 0
        for segment in session.scalars(select(Segment).where(Segment.shop_id == shop_id)):
            alone = predicate(parsed_ast(segment.query), ctx)
            expected = set(
                session.scalars(
                    select(Customer.platform_id).where(Customer.shop_id == shop_id, alone)
                )
            )
            assert open_members(session, shop_id, segment.id) == expected, segment.name
            nontrivial += 0 < len(expected) < 24
    assert nontrivial >= 8


def test_moved_rfm_thresholds_give_reason_threshold_and_time_gives_sweep(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))

    def spend(customer: str, total: int, days_ago: int) -> None:
        with runtime.sessions() as session:
            shop = session.get(Shop, shop_id)
            assert shop is not None
            when = T0 - timedelta(days=days_ago)
            payload = order_payload(
                f"8{customer}", customer=customer, total=f"{total}.00", updated_at=when
            )
            apply_payload(session, shop, "orders/create", payload, settings=settings, now=when)

    for n in range(1, 6):
        spend(str(n), 10 * n, 10)
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions() as session:
        seen = len(events(session, shop_id))
        rfm = set(session.scalars(select(Segment.id).where(Segment.builtin_key.startswith("rfm_"))))
        new = segment_id(session, shop_id, "new_customers")

    for n in range(6, 11):  # big spenders arrive without the hook: the M cut-offs move up
        spend(str(n), 100 * n, 9)
    sweep_shop(runtime, shop_id, at(24))  # at the daily recompute (not within the hour)
    with runtime.sessions() as session:
        moved = events(session, shop_id)[seen:]
        seen += len(moved)
    assert {reason for seg, *_r, reason, _at in moved if seg in rfm} == {"threshold"}
    assert {reason for seg, *_r, reason, _at in moved if seg == new} == {"initial"}

    sweep_shop(runtime, shop_id, T0 + timedelta(days=25))  # time alone: New customers empties
    with runtime.sessions() as session:
        later = events(session, shop_id)[seen:]
    assert {(kind, reason) for seg, _c, kind, reason, _at in later if seg == new} == {
        ("exited", "sweep")
    }


def test_a_stored_rule_that_no_longer_parses_is_skipped_not_fatal(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    history(runtime, settings, shop_id, {"1": 3})
    sweep_shop(runtime, shop_id, at(0))
    with runtime.sessions.begin() as session:
        regular = find_segment(session, shop_id, "regular")
        # As if a later catalogue dropped a field the stored text uses.
        regular.query = "number_of_orders >= 3 AND retired_field = 1"
    sweep_shop(runtime, shop_id, at(1))
    order_through_worker(runtime, A, "601", "2", at(2))  # the worker still processes
    order_through_worker(runtime, A, "602", "1", at(3))
    with runtime.sessions() as session:
        one, two = customer_id(session, shop_id, "1"), customer_id(session, shop_id, "2")
        # The broken rule's members stay as they were; the other rules still move.
        assert stays(session, regular.id, one) == [(at(0), None, "initial", None)]
        new = segment_id(session, shop_id, "new_customers")
        assert stays(session, new, two) == [(at(2), None, "realtime", None)]


def test_the_compile_context_reads_the_shops_timezone_currency_and_abandonment_setting(
    runtime: Runtime, settings: Settings
) -> None:
    shop_id = installed(runtime, settings, A, at(-400))
    with runtime.sessions.begin() as session:
        assert compile_context(session, shop_id, at(0)).abandoned_after_hours == 10.0
        shop = session.get(Shop, shop_id)
        assert shop is not None
        shop.timezone, shop.currency = "Asia/Kathmandu", "JPY"
        set_setting(session, shop_id, "abandoned_after_hours", 2.5)
    with runtime.sessions() as session:
        ctx = compile_context(session, shop_id, at(0))
    assert (ctx.timezone, ctx.currency, ctx.abandoned_after_hours) == ("Asia/Kathmandu", "JPY", 2.5)


def test_a_padded_real_time_statement_evaluates_exactly_the_customers_given(
    runtime: Runtime, settings: Settings
) -> None:
    """Three customers run through the statement built for four (the last id repeated):
    each is evaluated once, correctly, and a customer not named is not touched."""
    shop_id = installed(runtime, settings, A, at(-400))
    sweep_shop(runtime, shop_id, at(0))
    history(runtime, settings, shop_id, {"3": 3, "4": 1, "5": 4, "6": 2})
    with runtime.sessions.begin() as session:
        named = [customer_id(session, shop_id, c) for c in ("3", "4", "5")]
        regular = find_segment(session, shop_id, "regular").bit
        changes = evaluate_customers(session, shop_id, named, at(3))
    assert sorted(c.customer_id for c in changes) == sorted(named)
    entered = {c.customer_id for c in changes if c.after >> regular & 1}
    assert entered == {named[0], named[2]}  # 3 and 4 orders; "4" has one
    with runtime.sessions() as session:
        assert len(state_rows(session, shop_id)) == 3  # "6" was not named
        assert open_members(session, shop_id, "regular") == {"3", "5"}


def test_real_time_statements_of_a_sqlite_and_a_postgresql_database_are_never_mixed(
    _engines: Any, tmp_path: Any
) -> None:
    """One process, two databases with the same shop id, rules and minute (the test suite
    runs so): each gets a statement in its own dialect. A cache keyed without the dialect
    handed SQLite PostgreSQL's LATERAL join ("near SELECT: syntax error")."""
    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    found = {}
    for backend in ("postgresql", "sqlite"):
        engine = _engines(backend)
        empty_all_tables(engine)
        settings = replace(
            Settings(),
            database_url=engine.url.render_as_string(hide_password=False),
            secret_key="test-secret-key-" + "x" * 32,
            history_import_on_install=False,
        )
        runtime = build_runtime(settings)
        try:
            shop_id = installed(runtime, settings, A, at(-400))
            sweep_shop(runtime, shop_id, at(0))
            history(runtime, settings, shop_id, {"3": 3})
            with runtime.sessions.begin() as session:
                three = customer_id(session, shop_id, "3")
                changes = evaluate_customers(session, shop_id, [three], at(3))
                regular = find_segment(session, shop_id, "regular").bit
            found[backend] = (shop_id, [c.after >> regular & 1 for c in changes])
        finally:
            runtime.close()
    assert found["postgresql"] == found["sqlite"] == (1, [1])
