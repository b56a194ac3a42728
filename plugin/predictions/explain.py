"""One plain sentence per customer score, in English or Polish, made only of the numbers
stored on the prediction row (so what the merchant reads is what segments compare)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from plugin.predictions.models import HEURISTIC

LANGUAGES = ("en", "pl")


class Explained(Protocol):
    """The prediction row's columns a sentence reads (a `Prediction` has them all)."""

    prediction_kind: str | None
    no_score_reason: str | None
    churn_risk: float | None
    orders: int
    purchase_days: int
    avg_interval_days: float | None
    days_since_last: int | None
    predicted_orders_90d: float | None


@dataclass(frozen=True)
class Numbers:
    """The figures as the sentence shows them (rounded once, here)."""

    orders: int
    purchase_days: int
    interval: int | None  # whole days
    since: int | None
    risk: int | None  # percent
    expected: float | None  # orders in 90 days, one decimal


def numbers(row: Explained) -> Numbers:
    interval = row.avg_interval_days
    return Numbers(
        orders=row.orders,
        purchase_days=row.purchase_days,
        interval=None if interval is None else round(interval),
        since=row.days_since_last,
        risk=None if row.churn_risk is None else round(100 * row.churn_risk),
        expected=None if row.predicted_orders_90d is None else round(row.predicted_orders_90d, 1),
    )


def explain(row: Explained, language: str = "en") -> str:
    """E.g. "3 orders, usually every 41 days, the last one 130 days ago → 78% likely not to
    buy in the next 90 days (0.3 orders expected)." ValueError for another language."""
    if language not in LANGUAGES:
        raise ValueError(f"no explanations in {language!r}; use one of {', '.join(LANGUAGES)}")
    n = numbers(row)
    words = _EN if language == "en" else _PL
    if row.prediction_kind is None or n.risk is None:
        return words.no_score(n)
    sentence = f"{words.history(n)} → {words.risk(n)}"
    if row.prediction_kind == HEURISTIC:
        sentence += f" {words.heuristic}"
    return sentence + "."


class _English:
    heuristic = "(from this customer's own rhythm: the shop has too little history for the model)"

    def orders(self, n: Numbers) -> str:
        text = f"{n.orders} order{'' if n.orders == 1 else 's'}"
        if n.purchase_days != n.orders:
            text += f" on {n.purchase_days} day{'' if n.purchase_days == 1 else 's'}"
        return text

    def history(self, n: Numbers) -> str:
        parts = [self.orders(n)]
        if n.interval is not None:
            parts.append(f"usually every {n.interval} day{'' if n.interval == 1 else 's'}")
        label = "the last one" if n.purchase_days > 1 else "placed"
        parts.append(f"{label} {self.ago(n.since)}")
        return ", ".join(parts)

    @staticmethod
    def ago(days: int | None) -> str:
        if not days:
            return "today"
        return f"{days} day{'' if days == 1 else 's'} ago"

    @staticmethod
    def risk(n: Numbers) -> str:
        return f"{n.risk}% likely not to buy in the next 90 days ({n.expected} orders expected)"

    def no_score(self, n: Numbers) -> str:
        return (
            f"No score: {self.orders(n)}, {self.ago(n.since)}; one purchase day shows no "
            "rhythm yet, and the shop has too little history for the model."
        )


class _Polish:
    heuristic = "(z rytmu tego klienta: sklep ma za mało historii dla modelu)"

    @staticmethod
    def plural(count: int, one: str, few: str, many: str) -> str:
        """Polish plural forms: 1 → one; 2-4 (not 12-14) → few; else many."""
        if count == 1:
            return one
        if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
            return few
        return many

    def orders(self, n: Numbers) -> str:
        text = f"{n.orders} {self.plural(n.orders, 'zamówienie', 'zamówienia', 'zamówień')}"
        if n.purchase_days != n.orders:
            text += f" w {n.purchase_days} {self.days(n.purchase_days)}"
        return text

    @staticmethod
    def days(count: int) -> str:
        return "dzień" if count == 1 else "dni"

    def history(self, n: Numbers) -> str:
        parts = [self.orders(n)]
        if n.interval is not None:
            parts.append(f"zwykle co {n.interval} {self.days(n.interval)}")
        label = "ostatnie" if n.purchase_days > 1 else "złożone"
        parts.append(f"{label} {self.ago(n.since)}")
        return ", ".join(parts)

    def ago(self, days: int | None) -> str:
        if not days:
            return "dzisiaj"
        return f"{days} {self.days(days)} temu"

    def risk(self, n: Numbers) -> str:
        expected = str(n.expected).replace(".", ",")
        return (
            f"{n.risk}% szans, że nie kupi w ciągu najbliższych 90 dni "
            f"(oczekiwane zamówienia: {expected})"
        )

    def no_score(self, n: Numbers) -> str:
        return (
            f"Brak oceny: {self.orders(n)}, {self.ago(n.since)}; jeden dzień zakupów nie "
            "pokazuje jeszcze rytmu, a sklep ma za mało historii dla modelu."
        )


_EN = _English()
_PL = _Polish()
