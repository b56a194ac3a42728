"""The history import against the simulated Shopify (real HTTP, both databases)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.backfill.importer import WAITING_FOR_PLATFORM, advance
from plugin.backfill.models import BackfillPhase, BackfillRun
from plugin.backfill.runs import create_run
from plugin.backfill.sources import source_for
from plugin.db import utcnow
from plugin.outbox.models import HISTORY_IMPORT, OutboxItem
from plugin.platforms.shopify import install
from plugin.platforms.shopify.simulator import SimulatorHandle
from plugin.platforms.shopify.simulator.history import (
    POS_APP,
    POS_LOCATION,
    customer_webhooks,
    iso,
    product_webhook,
    sms_consent_webhook,
)
from plugin.platforms.shopify.simulator.seeding import seed_history
from plugin.profiles.facts_models import CustomerMetafield
from plugin.profiles.models import Customer, Order, OrderLine, Product
from plugin.runtime import Runtime
from plugin.shops.models import Shop
from tests.support.backfill import import_history, store_of
from tests.support.profiles import apply_payload

NOW = datetime.now(UTC).replace(microsecond=0)
ONLY_IMPORT = {"predicted_spend_tier", "platform_rfm_group", "statistics_version"}
ONLY_IMPORT |= {"summary_version", "locale"}
ONLY_IMPORT |= {"rfm_r", "rfm_f", "rfm_m"}  # the import ends with a sweep that scores RFM


def seeded(simulator: SimulatorHandle, domain: str, **kw: object) -> str:
    seed_history(simulator.state, domain, customers=30, now=NOW, **kw)  # type: ignore[arg-type]
    return domain


def add_shop(runtime: Runtime, simulator: SimulatorHandle, domain: str, scopes=None) -> int:
    token = simulator.state.issue_custom_token(domain, scopes)
    install.add_custom_shop(runtime, domain, token, "whsec-test")
    with runtime.sessions() as session:
        return session.scalar(select(Shop.id).where(Shop.domain == domain))


def through_webhooks(
    session: Session, shop_id: int, simulator: SimulatorHandle, domain: str, settings
) -> None:
    """The same history as the shop's webhooks would bring it (API 2026-04 payloads)."""
    shop = session.get(Shop, shop_id)
    state = simulator.state

    def send(topic: str, payload: dict, at: str | None = None) -> None:
        when = datetime.fromisoformat(at) if at else NOW
        apply_payload(session, shop, topic, payload, settings=settings, now=NOW, triggered_at=when)

    for node in state.shop_products(domain):
        send("products/create", product_webhook(node))
    for customer in state.customers.all(domain):
        for topic, payload, at in customer_webhooks(customer):
            send(topic, payload, at)
    for order in state.shop_orders(domain):
        send("orders/create", order.webhook(state.customer(domain, order.customer_id or "")))


def test_import_gives_the_store_the_webhooks_give(
    sim_runtime, simulator, session, settings
) -> None:
    simulator.state.switches.bulk_shuffle = True  # children before parents, too
    hooked = add_shop(sim_runtime, simulator, seeded(simulator, "hooked.myshopify.com"))
    imported = add_shop(sim_runtime, simulator, seeded(simulator, "imported.myshopify.com"))

    through_webhooks(session, hooked, simulator, "hooked.myshopify.com", settings)
    import_history(sim_runtime, imported)

    expected = store_of(session, hooked, drop=ONLY_IMPORT)
    got = store_of(session, imported, drop=ONLY_IMPORT)
    # B2B companies and store credit come only from the import (no webhook carries them)
    companies = got.pop("customer_companies")
    credit = {k: got.pop(k) for k in ("store_credit_accounts", "store_credits")}
    assert all(expected.pop(k) == {} for k in ("customer_companies", *credit))
    accounts = {a: v for a, v in credit["store_credit_accounts"].items()}
    assert {k: len(v) for k, v in accounts.items()} == {
        c.customer_id: len(c.store_credit)
        for c in simulator.state.customers.all("imported.myshopify.com")
        if c.store_credit
    }
    assert sum(len(v) for v in credit["store_credits"].values()) == sum(
        len(a.credits)
        for c in simulator.state.customers.all("imported.myshopify.com")
        for a in c.store_credit
    )
    assert companies == {
        c.customer_id: [{"company_id": k} for k in sorted(c.company_ids)]
        for c in simulator.state.customers.all("imported.myshopify.com")
        if c.company_ids
    }
    assert got["orders"] and got["order_lines"] and got["customer_tags"] and got["purchases"]
    # every address, the second ones too (the default address is listed once)
    assert any(len(places) == 2 for places in got["customer_addresses"].values())
    for table in expected:
        assert got[table] == expected[table], table
    # what only the import brings: Shopify's own predictions and the customer's language
    stats = session.execute(
        select(Customer.platform_rfm_group, Customer.locale).where(Customer.shop_id == imported)
    ).all()
    assert {"CHAMPIONS", "DORMANT"} <= {r.platform_rfm_group for r in stats}
    assert {"pl", "en"} == {r.locale for r in stats}
    # SMS consent, from defaultPhoneNumber.smsMarketingConsent as from the consent webhook
    # (compared above): every state the seed gives, NULL without a phone number
    sms = session.scalars(select(Customer.sms_marketing_state).where(Customer.shop_id == imported))
    assert set(sms) == {"subscribed", "not_subscribed", "unsubscribed", "pending", None}
    # metafields of every kind a filter reads (the json one is not kept), a list item by item
    kept = session.execute(
        select(CustomerMetafield.type, CustomerMetafield.key, CustomerMetafield.position).where(
            CustomerMetafield.shop_id == imported
        )
    ).all()
    assert {r.type for r in kept} == {"date", "date_time", "number", "boolean", "text"}
    assert {r.position for r in kept if r.key == "interests"} == {0, 1, 2}
    assert "profile" not in {r.key for r in kept}
    # what products_purchased category and orders_placed location_id / app_id read, stored
    # alike by both paths (compared above): Product.category { id } and the REST category,
    # Order.retailLocation / app and the REST location_id / app_id
    categories = session.scalars(select(Product.category_id).where(Product.shop_id == imported))
    assert set(categories) == {"fb-2-1", "fb-2-1-9", "hg-11-6", "me-1-3", None}
    where = session.execute(
        select(Order.location_id, Order.app_id).where(Order.shop_id == imported)
    ).all()
    assert {(POS_LOCATION, POS_APP)} <= set(where) and (None, None) in set(where)


def test_line_items_before_their_order_are_joined(sim_runtime, simulator, session) -> None:
    simulator.state.switches.bulk_shuffle = True
    shop_id = add_shop(sim_runtime, simulator, seeded(simulator, "shuffled.myshopify.com"))
    import_history(sim_runtime, shop_id)

    ops = [op for op in simulator.state.bulk_operations.values() if "lineItems" in op.query]
    lines = [orjson.loads(x) for x in ops[-1].result.splitlines()]  # type: ignore[union-attr]
    position = {line["id"]: i for i, line in enumerate(lines)}
    early = [
        x for x in lines if "__parentId" in x and position[x["__parentId"]] > position[x["id"]]
    ]
    assert early, "the shuffled result must put some line item before its order"
    expected = sum(len(o.lines) for o in simulator.state.shop_orders("shuffled.myshopify.com"))
    assert (
        session.scalar(
            select(func.count()).select_from(OrderLine).where(OrderLine.shop_id == shop_id)
        )
        == expected
    )


def lengthen(simulator: SimulatorHandle, domain: str) -> str:
    """One customer with 8 addresses and 12+ metafields, one order with 27 lines: longer
    than one paged read asks for (5, 10 and 20), so the rest must be read too."""
    state = simulator.state
    customer = state.customers.all(domain)[2]
    customer.other_addresses = [("PL", f"P{k}", f"City {k}") for k in range(7)]
    customer.metafields += [("custom", f"n{k}", "number_integer", str(k)) for k in range(12)]
    order = state.shop_orders(domain)[0]
    template = order.lines[0]
    order.lines = [
        *order.lines,
        *(replace(template, line_id=f"{template.line_id}{k:03d}") for k in range(27)),
    ]
    return domain


def test_refused_bulk_access_falls_back_to_paged_reads(sim_runtime, simulator, session) -> None:
    bulk = add_shop(
        sim_runtime, simulator, lengthen(simulator, seeded(simulator, "bulk.myshopify.com"))
    )
    import_history(sim_runtime, bulk)
    simulator.state.switches.bulk_access_denied = True
    simulator.state.switches.restore_rate = 1000.0  # paged reads wait for points (less here)
    paged = add_shop(
        sim_runtime, simulator, lengthen(simulator, seeded(simulator, "paged.myshopify.com"))
    )

    run_id = import_history(sim_runtime, paged)

    modes = session.scalars(select(BackfillPhase.mode).where(BackfillPhase.run_id == run_id))
    assert set(modes) == {"paged"}
    got = store_of(session, paged, drop=set())
    assert max(len(places) for places in got["customer_addresses"].values()) == 8
    assert max(len(fields) for fields in got["customer_metafields"].values()) > 12
    assert max(Counter(line[0] for line in got["order_lines"]).values()) > 27
    assert store_of(session, paged, drop={"statistics_version", "summary_version"}) == store_of(
        session, bulk, drop={"statistics_version", "summary_version"}
    )


def test_a_shop_without_b2b_for_apps_is_imported_without_companies(
    sim_runtime, simulator, session
) -> None:
    """Outside Shopify Plus Shopify refuses companyContactProfiles: the companies phase
    reads nothing (bulk refused, then the paged read refused) and the import goes on."""
    simulator.state.switches.denied_fields = {"companyContactProfiles"}
    shop_id = add_shop(sim_runtime, simulator, seeded(simulator, "noplus.myshopify.com"))

    run_id = import_history(sim_runtime, shop_id)

    run = session.get(BackfillRun, run_id)
    assert run.state == "done"
    phase = session.get(BackfillPhase, (run_id, "companies"))
    assert (phase.state, phase.mode, phase.lines_done) == ("merged", "paged", 0)
    store = store_of(session, shop_id)
    assert store["customer_companies"] == {} and len(store["customers"]) == 30


def test_an_install_without_the_store_credit_scopes_is_imported_without_store_credit(
    sim_runtime, simulator, session
) -> None:
    """A shop installed before the app asked for read_store_credit_accounts and
    read_store_credit_account_transactions: Shopify refuses storeCreditAccounts, the
    store_credit phase reads nothing, everything else is imported."""
    domain = seeded(simulator, "oldgrant.myshopify.com")
    credit_scopes = {"read_store_credit_accounts", "read_store_credit_account_transactions"}
    scopes = [s for s in simulator.state.app_scopes if s not in credit_scopes]
    shop_id = add_shop(sim_runtime, simulator, domain, scopes)

    run_id = import_history(sim_runtime, shop_id)

    assert session.get(BackfillRun, run_id).state == "done"
    phase = session.get(BackfillPhase, (run_id, "store_credit"))
    assert (phase.state, phase.mode, phase.lines_done) == ("merged", "paged", 0)
    store = store_of(session, shop_id)
    assert store["store_credit_accounts"] == {} and store["store_credits"] == {}
    assert store["customer_companies"] and len(store["customers"]) == 30


def test_without_read_all_orders_the_history_is_labelled_partial(
    sim_runtime, simulator, session
) -> None:
    domain = seeded(simulator, "recent.myshopify.com")
    scopes = [s for s in simulator.state.app_scopes if s != "read_all_orders"]
    shop_id = add_shop(sim_runtime, simulator, domain, scopes)

    run_id = import_history(sim_runtime, shop_id)

    run = session.get(BackfillRun, run_id)
    assert run.partial_history
    recent = [
        o for o in simulator.state.shop_orders(domain) if o.processed_at >= NOW - timedelta(days=60)
    ]
    stored = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
    assert stored == len(recent) < len(simulator.state.shop_orders(domain))
    # Shopify's own totals are kept: they count what the partial history lacks
    short = session.scalar(
        select(func.count()).where(
            Customer.shop_id == shop_id, Customer.reported_orders_count > Customer.orders_count
        )
    )
    assert short


def test_webhooks_during_the_import_apply_once_and_the_newer_wins(
    sim_runtime, simulator, session, settings
) -> None:
    domain = seeded(simulator, "busy.myshopify.com")
    simulator.state.switches.bulk_delay = 0.3
    shop_id = add_shop(sim_runtime, simulator, domain)
    shop = session.get(Shop, shop_id)
    session.commit()  # SQLite: a reading test session must not hold the write lock
    with sim_runtime.sessions.begin() as s:
        run_id = create_run(s, shop_id, "test", utcnow()).id
    assert advance(sim_runtime, run_id, source_for(sim_runtime, shop)) == WAITING_FOR_PLATFORM

    orders = [o for o in simulator.state.shop_orders(domain) if o.customer_id][:2]
    newer, older = orders
    owner_of = simulator.state.customer
    changed = newer.webhook(owner_of(domain, newer.customer_id)) | {
        "updated_at": (newer.updated_at + timedelta(hours=1)).isoformat()
    }
    changed["current_total_price_set"] = {"shop_money": {"amount": "1.23", "currency_code": "USD"}}
    changed["line_items"] = changed["line_items"][:1]
    stale = older.webhook(owner_of(domain, older.customer_id)) | {
        "updated_at": (older.updated_at - timedelta(hours=1)).isoformat()
    }
    stale["current_total_price_set"] = {"shop_money": {"amount": "9999.00", "currency_code": "USD"}}
    for payload in (changed, stale):  # arrive while Shopify runs the export
        apply_payload(session, shop, "orders/updated", payload, settings=settings, now=utcnow())

    import_history(sim_runtime, shop_id)
    apply_payload(
        session, shop, "orders/updated", changed, settings=settings, now=utcnow()
    )  # again

    def order(platform_id: str) -> Order:
        return session.scalar(
            select(Order).where(Order.shop_id == shop_id, Order.platform_id == platform_id)
        )

    session.expire_all()
    assert order(newer.order_id).total_minor == 123  # the webhook's newer state stays
    assert order(older.order_id).total_minor == int(
        float(older.totals()[0]) * 100 + 0.5
    )  # import wins
    lines = session.scalar(
        select(func.count()).where(OrderLine.order_id == order(newer.order_id).id)
    )
    assert lines == 1
    count = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
    assert count == len(simulator.state.shop_orders(domain))
    owner = session.get(Customer, order(newer.order_id).customer_id)
    mine = session.scalars(select(Order).where(Order.customer_id == owner.id)).all()
    counted = [o for o in mine if not o.test and o.cancelled_at is None]
    assert owner.orders_count == len(counted)
    assert owner.total_spent_minor == sum(o.net_total_minor for o in counted)


def test_sms_consent_of_the_import_and_of_webhooks_is_decided_by_version(
    sim_runtime, simulator, session, settings
) -> None:
    domain = seeded(simulator, "sms.myshopify.com")
    shop_id = add_shop(sim_runtime, simulator, domain)
    shop = session.get(Shop, shop_id)
    phones = [c for c in simulator.state.customers.all(domain) if c.phone]
    early, late = phones[0], phones[1]
    for customer in (early, late):
        customer.sms_marketing_state, customer.sms_consent_updated_at = "SUBSCRIBED", iso(NOW)
    late_hook = sms_consent_webhook(late)[1]
    late_hook["sms_marketing_consent"] |= {
        "state": "unsubscribed",
        "consent_updated_at": iso(NOW + timedelta(hours=1)),
    }
    session.commit()
    # a newer webhook before the import: the import's older consent must not undo it
    apply_payload(session, shop, "customers_marketing_consent/update", late_hook, settings=settings)
    import_history(sim_runtime, shop_id)
    stale = sms_consent_webhook(early)[1]
    stale["sms_marketing_consent"] |= {
        "state": "unsubscribed",
        "consent_updated_at": iso(NOW - timedelta(days=1)),
    }
    apply_payload(session, shop, "customers_marketing_consent/update", stale, settings=settings)

    def state(customer_id: str) -> str | None:
        session.expire_all()
        return session.scalar(
            select(Customer.sms_marketing_state).where(
                Customer.shop_id == shop_id, Customer.platform_id == customer_id
            )
        )

    assert state(late.customer_id) == "unsubscribed"  # the newer webhook stays
    assert state(early.customer_id) == "subscribed"  # the import's newer consent stays
    newer = sms_consent_webhook(early)[1]
    newer["sms_marketing_consent"] |= {"consent_updated_at": iso(NOW + timedelta(hours=2))}
    newer["sms_marketing_consent"]["state"] = "pending"
    apply_payload(session, shop, "customers_marketing_consent/update", newer, settings=settings)
    assert state(early.customer_id) == "pending"


@pytest.fixture
def importing(sim_settings):
    """A runtime whose installs queue the history import (as in production)."""
    from dataclasses import replace

    from plugin.runtime import build_runtime

    runtime = build_runtime(replace(sim_settings, history_import_on_install=True))
    try:
        yield runtime
    finally:
        runtime.close()


def test_a_reauthorisation_keeps_the_install_and_imports_once(
    importing, simulator, session
) -> None:
    sim_runtime = importing
    domain = seeded(simulator, "again.myshopify.com")
    shop_id = add_shop(sim_runtime, simulator, domain)
    session.expire_all()
    first = session.get(Shop, shop_id).installed_at
    session.commit()
    import_history(sim_runtime, shop_id)
    customers = session.scalar(select(func.count()).where(Customer.shop_id == shop_id))
    session.commit()

    add_shop(sim_runtime, simulator, domain)  # scopes changed, token refreshed: a new grant
    with sim_runtime.sessions.begin() as s:  # uninstalled, then installed again before redact
        from plugin.shops.services import mark_uninstalled

        mark_uninstalled(s, s.get(Shop, shop_id), utcnow())
    add_shop(sim_runtime, simulator, domain)

    session.expire_all()
    shop = session.get(Shop, shop_id)
    assert shop.installed_at == first and shop.authorized_at > first
    assert session.scalar(select(func.count()).where(BackfillRun.shop_id == shop_id)) == 1
    queued = select(func.count()).where(
        OutboxItem.shop_id == shop_id, OutboxItem.kind == HISTORY_IMPORT
    )
    assert session.scalar(queued) == 1
    assert session.scalar(select(func.count()).where(Customer.shop_id == shop_id)) == customers


def test_the_install_queues_the_import_and_the_outbox_runs_it(
    importing, simulator, session
) -> None:
    sim_runtime = importing
    from plugin.outbox.delivery import drain

    shop_id = add_shop(sim_runtime, simulator, seeded(simulator, "fresh.myshopify.com"))
    for _ in range(200):
        drain(sim_runtime)
        with sim_runtime.sessions() as s:
            run = s.scalar(select(BackfillRun).where(BackfillRun.shop_id == shop_id))
            if run.state == "done":
                break
        import time

        time.sleep(0.05)
    assert run.state == "done" and run.counts["orders"] > 0
    assert (
        session.scalar(select(func.count()).where(Order.shop_id == shop_id)) == run.counts["orders"]
    )


def test_status_names_a_partial_history(sim_runtime, simulator, sim_settings, monkeypatch) -> None:
    from click.testing import CliRunner

    from plugin.cli import main
    from plugin.commands import backfill as backfill_commands
    from plugin.runtime import build_runtime

    monkeypatch.setattr(backfill_commands, "load_runtime", lambda **_: build_runtime(sim_settings))

    domain = seeded(simulator, "label.myshopify.com")
    scopes = [s for s in simulator.state.app_scopes if s != "read_all_orders"]
    shop_id = add_shop(sim_runtime, simulator, domain, scopes)
    import_history(sim_runtime, shop_id)

    result = CliRunner().invoke(main, ["status", domain])

    assert result.exit_code == 0, result.output
    assert "history import #" in result.output and ": done" in result.output
    assert "partial history" in result.output
