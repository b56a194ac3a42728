"""Predictions through the database on SQLite and PostgreSQL: the published CDNOW fit from
stored orders, heuristic scores for a small shop, no score for one order, sentences that
say the stored numbers, the refit schedule, the built-ins and the status lines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.jobs import sweep_segments
from plugin.predictions.explain import explain
from plugin.predictions.models import HEURISTIC, MODEL, NONE, Prediction, PredictionFit
from plugin.predictions.report import quality_lines
from plugin.predictions.services import refit_due, refit_shop
from plugin.profiles.models import Customer
from plugin.runtime import build_runtime
from plugin.segments.builtins import BUILTINS
from plugin.segments.compiler import compile_predicate
from plugin.segments.context import CompileContext
from plugin.segments.parser import parse_query
from plugin.settings import Settings
from plugin.shops.models import Shop
from tests.integration.predictions_support import add_histories, at, load_cdnow, make_shop

CALIBRATION_END = date(1997, 9, 30)
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def small_shop(session: Session) -> Shop:
    """30 customers: 20 with two to six orders at their own interval, 10 with one order."""
    shop = make_shop(session, "small.myshopify.com", tz="Europe/Warsaw", currency="PLN")
    histories = {}
    for n in range(20):
        every, count, since = 10 + 3 * n, 2 + n % 5, 5 + 7 * n
        last = NOW - timedelta(days=since)
        histories[f"r{n}"] = [
            (last - timedelta(days=every * k), 5000 + 100 * n) for k in range(count)
        ]
    for n in range(10):
        histories[f"o{n}"] = [(NOW - timedelta(days=3 + 11 * n), 4000)]
    add_histories(session, shop, histories)
    session.commit()
    return shop


def predictions_of(session: Session, shop: Shop) -> dict[str, Prediction]:
    rows = session.execute(
        select(Customer.platform_id, Prediction)
        .join(Prediction, Prediction.customer_id == Customer.id)
        .where(Prediction.shop_id == shop.id)
    ).all()
    return {key: row for key, row in rows}


def test_cdnow_sample_through_the_database_gives_the_published_fit(session: Session) -> None:
    shop = make_shop(session, "cdnow.myshopify.com")
    load_cdnow(session, shop, "CDNOW_sample.txt")
    session.commit()
    fit = refit_shop(session, shop.id, at(CALIBRATION_END, 0) + timedelta(hours=6))
    session.commit()
    assert fit.kind == MODEL and fit.reason is None
    assert (fit.customers, fit.scored, fit.repeat_customers) == (2357, 2357, 946)
    published = {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
        "p": 6.25,
        "q": 3.74,
        "v": 15.44,
    }
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    rows = predictions_of(session, shop)
    assert len(rows) == 2357
    assert {r.prediction_kind for r in rows.values()} == {MODEL}
    risks = [r.churn_risk for r in rows.values()]
    assert all(0 <= r <= 1 for r in risks) and 0.8 < sum(risks) / len(risks) < 0.9
    # a holdout over the last 90 days of the calibration period
    assert fit.holdout_days == 90 and fit.holdout_actual and fit.holdout_predicted
    assert abs(fit.holdout_predicted - fit.holdout_actual) / fit.holdout_actual < 0.25


def test_a_shop_of_30_customers_gets_heuristic_scores_labelled_so(session: Session) -> None:
    shop = small_shop(session)
    fit = refit_shop(session, shop.id, NOW)
    session.commit()
    assert fit.kind == HEURISTIC and "repeat customers" in (fit.reason or "")
    rows = predictions_of(session, shop)
    assert len(rows) == 30
    repeat = {k: r for k, r in rows.items() if k.startswith("r")}
    assert {r.prediction_kind for r in repeat.values()} == {HEURISTIC}
    assert all(r.churn_risk is not None and r.expected_next_order_at for r in repeat.values())
    single = [r for k, r in rows.items() if k.startswith("o")]
    assert {(r.prediction_kind, r.no_score_reason, r.churn_risk) for r in single} == {
        (None, "single_order", None)
    }
    # on rhythm (the last order 5 days ago, every 10 days): no doubt it is still active
    assert repeat["r0"].p_alive == 1.0
    assert repeat["r0"].avg_interval_days == pytest.approx(10.0)
    # silent for 5.4 of its intervals: much more likely gone
    assert repeat["r19"].churn_risk > repeat["r0"].churn_risk
    assert repeat["r19"].p_alive == pytest.approx(2.718281828 ** -(138 / 67 - 1))


def test_a_shop_with_one_order_gets_no_score_and_a_reason(session: Session) -> None:
    shop = make_shop(session, "one.myshopify.com")
    add_histories(session, shop, {"only": [(NOW - timedelta(days=2), 1234)]})
    session.commit()
    fit = refit_shop(session, shop.id, NOW)
    session.commit()
    assert fit.kind == NONE and fit.scored == 0 and "days of order history" in (fit.reason or "")
    row = predictions_of(session, shop)["only"]
    assert (row.prediction_kind, row.no_score_reason, row.churn_risk) == (
        None,
        "single_order",
        None,
    )
    assert explain(row).startswith("No score: 1 order, 2 days ago")
    assert explain(row, "pl").startswith("Brak oceny: 1 zamówienie, 2 dni temu")
    assert quality_lines(session, shop.id)[0].startswith("predictions: none, fitted")


def test_an_empty_shop_fits_to_nothing_without_failing(session: Session) -> None:
    shop = make_shop(session, "empty.myshopify.com")
    session.commit()
    fit = refit_shop(session, shop.id, NOW)
    assert (fit.kind, fit.customers, fit.scored, fit.holdout_predicted) == (NONE, 0, 0, None)


EN = re.compile(
    r"^(?P<orders>\d+) orders?(?: on (?P<days>\d+) days?)?"
    r"(?:, usually every (?P<interval>\d+) days?)?, (?:the last one|placed) "
    r"(?:today|(?P<since>\d+) days? ago) → (?P<risk>\d+)% likely not to buy in the next 90 days "
    r"\((?P<expected>\d+\.\d) orders expected\)"
)
PL = re.compile(
    r"^(?P<orders>\d+) zamówie(?:nie|nia|ń)(?: w (?P<days>\d+) (?:dzień|dni))?"
    r"(?:, zwykle co (?P<interval>\d+) (?:dzień|dni))?, (?:ostatnie|złożone) "
    r"(?:dzisiaj|(?P<since>\d+) (?:dzień|dni) temu) → (?P<risk>\d+)% szans, że nie kupi w ciągu "
    r"najbliższych 90 dni \(oczekiwane zamówienia: (?P<expected>\d+,\d)\)"
)


def assert_sentence_matches(row: Prediction) -> None:
    for language, pattern in (("en", EN), ("pl", PL)):
        text = explain(row, language)
        found = pattern.match(text)
        assert found, text
        assert int(found["orders"]) == row.orders
        assert int(found["days"] or row.orders) == row.purchase_days
        interval = row.avg_interval_days
        assert found["interval"] == (None if interval is None else str(round(interval)))
        assert int(found["since"] or 0) == row.days_since_last
        assert int(found["risk"]) == round(100 * (row.churn_risk or 0))
        expected = float(found["expected"].replace(",", "."))
        assert expected == round(row.predicted_orders_90d or 0, 1)
        marker = "own rhythm" if language == "en" else "z rytmu tego klienta"
        assert (marker in text) == (row.prediction_kind == HEURISTIC)


def test_every_explanation_says_the_stored_numbers(session: Session) -> None:
    small = small_shop(session)
    refit_shop(session, small.id, NOW)
    cd = make_shop(session, "cdnow.myshopify.com")
    load_cdnow(session, cd, "CDNOW_sample.txt")
    refit_shop(session, cd.id, at(CALIBRATION_END))
    session.commit()
    rows = [*predictions_of(session, small).values(), *predictions_of(session, cd).values()]
    scored = [r for r in rows if r.prediction_kind is not None]
    assert len(scored) == 20 + 2357
    for row in scored:
        assert_sentence_matches(row)
    sample = next(r for r in scored if r.orders == 3 and r.prediction_kind == MODEL)
    assert re.match(
        r"3 orders, usually every \d+ days, the last one \d+ days ago → ", explain(sample)
    )


def test_a_refit_is_due_daily_and_when_orders_grow_by_10_percent(session: Session) -> None:
    shop = small_shop(session)  # 20 repeat customers, 80 orders in all
    assert refit_due(session, shop.id, NOW)
    refit_shop(session, shop.id, NOW)
    session.commit()
    assert not refit_due(session, shop.id, NOW + timedelta(hours=23))
    assert refit_due(session, shop.id, NOW + timedelta(hours=24))
    total = session.get(PredictionFit, shop.id).orders_at_fit
    new = {f"n{k}": [(NOW, 100)] for k in range(int(total * 0.1))}
    add_histories(session, shop, dict(list(new.items())[:-1]))
    session.commit()
    assert not refit_due(session, shop.id, NOW + timedelta(hours=1))
    add_histories(session, shop, dict(list(new.items())[-1:]))
    session.commit()
    assert refit_due(session, shop.id, NOW + timedelta(hours=1))


def test_the_sweep_job_refits_installed_shops_first(session: Session, settings: Settings) -> None:
    shop = small_shop(session)
    session.close()
    runtime = build_runtime(settings)
    try:
        sweep_segments(runtime, NOW)
        with runtime.sessions() as check:
            fit = check.get(PredictionFit, shop.id)
            assert fit is not None and fit.kind == HEURISTIC and fit.fitted_at == NOW
    finally:
        runtime.close()


def members(session: Session, shop: Shop, key: str, now: datetime) -> set[str]:
    query = next(b.query for b in BUILTINS if b.key == key)
    ctx = CompileContext(shop.id, now, shop.timezone, currency=shop.currency)
    predicate = compile_predicate(parse_query(query).ast, ctx)
    stmt = select(Customer.platform_id).where(Customer.shop_id == shop.id, predicate)
    return set(session.scalars(stmt))


def test_the_predictive_builtins_select_from_the_stored_scores(session: Session) -> None:
    shop = make_shop(session, "cdnow.myshopify.com")
    load_cdnow(session, shop, "CDNOW_sample.txt")
    now = at(CALIBRATION_END)
    refit_shop(session, shop.id, now)
    session.execute(  # the loader leaves metrics empty: number_of_orders reads orders_count
        Customer.__table__.update()
        .where(Customer.shop_id == shop.id, Customer.id == Prediction.customer_id)
        .values(orders_count=Prediction.orders)
    )
    session.commit()
    rows = predictions_of(session, shop)
    at_risk = {k for k, r in rows.items() if r.churn_risk >= 0.66 and r.orders >= 2}
    assert members(session, shop, "at_risk_of_churn", now) == at_risk and at_risk
    top = {k for k, r in rows.items() if r.predicted_clv_percentile > 90}
    assert members(session, shop, "high_predicted_value", now) == top
    assert 0 < len(top) <= 236
    cut = sorted(r.predicted_clv_minor for r in rows.values())[int(0.9 * len(rows))]
    assert min(rows[k].predicted_clv_minor for k in top) >= cut
    today, week = now.date(), now.date() + timedelta(days=7)
    due = {k for k, r in rows.items() if today <= r.expected_next_order_at.date() <= week}
    assert members(session, shop, "next_purchase_due", now) == due and due


def test_status_lines_show_the_fit_and_the_holdout(session: Session) -> None:
    shop = make_shop(session, "cdnow.myshopify.com")
    load_cdnow(session, shop, "CDNOW_sample.txt")
    refit_shop(session, shop.id, at(CALIBRATION_END))
    session.commit()
    lines = quality_lines(session, shop.id)
    assert lines[0].startswith("predictions: model, fitted 1997-09-30 12:00 UTC, 2,357 of 2,357")
    assert "BG/NBD r 0.2426, alpha 4.414 weeks, a 0.7929, b 2.426" in lines[1]
    assert re.match(
        r"  holdout, last 90 days: [\d,]+ customers scored before them, predicted [\d,.]+ "
        r"purchase days, actual [\d,]+ \([+-]\d+%\)",
        lines[2],
    )
