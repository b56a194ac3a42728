"""An independent reference evaluator: decides membership from the raw rows in Python.

It shares no date, catalogue or normalisation code with the app: whole days are compared
as local calendar dates (not as UTC ranges), money as exact decimals of the currency's
major unit (not as rounded minor units), names and enum spellings come from here.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from plugin.segments import ast
from tests.integration.test_segment_property_store import NOW, Raw

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
SCALARS = {
    "amount_spent": ("total_spent_minor", "money"),
    "number_of_orders": ("orders_count", "int"),
    "average_order_value": ("avg_order_value_minor", "money"),
    "discount_order_share": ("discount_order_share", "float"),
    "first_order_date": ("first_order_at", "date"),
    "last_order_date": ("last_order_at", "date"),
    "customer_added_date": ("platform_created_at", "date"),
    "abandoned_checkout_date": ("last_abandoned_at", "date"),
    "email_subscription_status": ("email_marketing_state", "enum"),
    "sms_subscription_status": ("sms_marketing_state", "enum"),
    "customer_language": ("locale", "str"),
    "churn_risk": ("pred_churn_risk", "float"),
    "p_alive": ("pred_p_alive", "float"),
    "predicted_orders_90d": ("pred_orders_90d", "float"),
    "expected_next_order_at": ("pred_next", "date"),
    "predicted_clv": ("pred_clv", "money"),
    "predicted_clv_percentile": ("pred_percentile", "int"),
    "prediction_kind": ("pred_kind", "enum"),
    # Shopify's own values, imported (stored as Shopify writes them)
    "rfm_group": ("platform_rfm_group", "enum"),
    "predicted_spend_tier": ("predicted_spend_tier", "enum"),
}


# Letters without a Unicode decomposition, spelled as a city code spells them.
LATIN = {"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "\u0131": "i", "æ": "ae", "œ": "oe", "þ": "th"}


def city_code(name: str | None) -> str:
    """Letters and digits of the name, lower case, accents dropped (Kraków → krakow)."""
    letters = [LATIN.get(ch, ch) for ch in (name or "").lower()]
    bare = unicodedata.normalize("NFD", "".join(letters))
    return "".join(ch for ch in bare if ch.isalnum() and not unicodedata.combining(ch)).lower()


def shift_months(day: date, months: int) -> date:
    """Step month by month, then clamp the day to that month's length."""
    year, month = day.year, day.month
    step = 1 if months > 0 else -1
    for _ in range(abs(months)):
        month += step
        if month == 13:
            year, month = year + 1, 1
        if month == 0:
            year, month = year - 1, 12
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


class Reference:
    def __init__(self, raw: Raw, shop_id: int) -> None:
        self.raw = raw
        self.shop_id = shop_id
        _, tz, self.exponent = raw.shops[shop_id]
        self.zone = ZoneInfo(tz)
        self.today = NOW.astimezone(self.zone).date()
        self.customers = [c for c in raw.customers if c["shop_id"] == shop_id]

    def members(self, node: ast.Node) -> set[int]:
        return {c["id"] for c in self.customers if self.holds(node, c)}

    def holds(self, node: ast.Node, c: dict[str, Any]) -> bool:
        if isinstance(node, ast.And):
            return all(self.holds(i, c) for i in node.items)
        if isinstance(node, ast.Or):
            return any(self.holds(i, c) for i in node.items)
        if isinstance(node, ast.Matches):
            return self.matches(node, c) != node.negated
        if node.field == "customer_tags":
            tags = {
                t["tag"].casefold()
                for t in self.raw.tags
                if t["customer_id"] == c["id"] and t["present"]
            }
            return self.list_atom(node, tags, str.casefold)
        if node.field in ("customer_countries", "customer_regions", "customer_cities"):
            return self.place_atom(node, c)
        if node.field == "companies":
            mine = {b["company_id"] for b in self.raw.companies if b["customer_id"] == c["id"]}
            if isinstance(node, ast.Contains):
                assert isinstance(node.value, ast.Num)
                return (str(node.value.value) in mine) != node.negated
            return self.list_atom(node, mine, str)
        if node.field.startswith("metafields."):
            return self.metafield_atom(node, c)
        if node.field.startswith("anniversary("):
            return self.anniversary_atom(node, c)
        column, kind = SCALARS[node.field]
        return self.scalar(node, c[column], kind)

    def place_atom(self, node: ast.Node, c: dict[str, Any]) -> bool:
        """Every address, and (countries, regions) the default one on the profile row:
        `CC`, `CC-PP`, `CC-PP-CityCode` (`CC-CityCode` without a province)."""
        if node.field == "customer_cities":
            return self.city_atom(node, c)
        own = [(c["country_code"], c["province_code"])]
        mine = [(a["country"], a["province"]) for a in self.raw.addresses
                if a["customer_id"] == c["id"]]  # fmt: skip
        values: set[str] = set()
        for country, province in own + mine:
            country, province = (country or "").upper(), (province or "").upper()
            if node.field == "customer_countries" and country:
                values.add(country)
            if node.field == "customer_regions" and country and province:
                values.add(f"{country}-{province}")
        return self.list_atom(node, values, str.upper)

    def city_atom(self, node: ast.Node, c: dict[str, Any]) -> bool:
        """A place is (country, province or '', city code); a value `A-B-C…` names either
        (A, '', code of B-C…) or (A, B, code of C…), compared without case."""
        places = {
            ((a["country"] or "").lower(), (a["province"] or "").lower(), city_code(a["city"]))
            for a in self.raw.addresses
            if a["customer_id"] == c["id"] and a["country"] and city_code(a["city"] or "")
        }
        if isinstance(node, ast.IsNull):
            return bool(places) == node.negated
        assert isinstance(node, ast.Contains) and isinstance(node.value, ast.Str)
        first, *rest = node.value.value.lower().split("-")
        named = {(first.strip(), "", city_code("".join(rest)))}
        if len(rest) > 1:
            named.add((first.strip(), rest[0].strip(), city_code("".join(rest[1:]))))
        return bool(named & places) != node.negated

    # --- metafields: a value of the literal's kind passing the check (a list: any item)
    def values_of(self, field: str, c: dict[str, Any]) -> list[tuple[str, str]]:
        _, namespace, key = field.split(".")
        return [
            (m["kind"], text)
            for m in self.raw.metafields
            if m["customer_id"] == c["id"] and (m["namespace"], m["key"]) == (namespace, key)
            for text in m["values"]
        ]

    def metafield_atom(self, node: ast.Node, c: dict[str, Any]) -> bool:
        values = self.values_of(node.field, c)
        if isinstance(node, ast.IsNull):
            return bool(values) == node.negated
        if isinstance(node, ast.Contains):
            return any(self.mf_cmp(v, "=", node.value) for v in values) != node.negated
        if isinstance(node, ast.Between):
            checks = ((">=", node.low), ("<=", node.high))
            return any(all(self.mf_cmp(v, op, x) for op, x in checks) for v in values)
        assert isinstance(node, ast.Comparison)
        op = "=" if node.op == "!=" else node.op
        return any(self.mf_cmp(v, op, node.value) for v in values) != (node.op == "!=")

    def mf_cmp(self, stored: tuple[str, str], op: str, value: ast.Value) -> bool:
        kind, text = stored
        if isinstance(value, ast.Str):
            return kind == "text" and text.casefold() == value.value.casefold()
        if isinstance(value, ast.Bool):
            return kind == "boolean" and (text == "true") == value.value
        if isinstance(value, ast.Num):
            return kind == "number" and OPS[op](float(text), float(value.value))
        if kind == "date_time":
            return self.date_cmp(datetime.fromisoformat(text), op, value)
        if kind != "date":
            return False
        day = self.day_of(value)
        if day is None:  # an instant: the day it falls on, locally
            day = self.instant_of(value).astimezone(self.zone).date()
        return OPS[op](date.fromisoformat(text), day)

    def anniversary_atom(self, node: ast.Node, c: dict[str, Any]) -> bool:
        """Month and day of the date as written; two absolute dates walk a leap year's
        calendar (over the new year if need be), else the real days, where a Feb 29
        anniversary falls on Feb 28 of a year without one."""
        inner = node.field[len("anniversary('") : -len("')")]
        dates = [t for k, t in self.values_of(inner, c) if k in ("date", "date_time")]
        birthdays = {(int(t[5:7]), int(t[8:10])) for t in dates}
        if isinstance(node, ast.IsNull):
            return bool(birthdays) == node.negated
        low, high = (node.low, node.high) if isinstance(node, ast.Between) else (node.value,) * 2
        if isinstance(low, ast.AbsDate) and isinstance(high, ast.AbsDate):
            leap_year = (date(2000, 1, 1) + timedelta(n) for n in range(366))
            track = [(d.month, d.day) for d in leap_year]
            i = track.index((low.value.month, low.value.day))
            j = track.index((high.value.month, high.value.day))
            days = set(track[i : j + 1] if i <= j else track[i:] + track[: j + 1])
        else:
            first, last = self.day_of(low), self.day_of(high)
            assert first is not None and last is not None
            days = set()
            while first <= last:
                days.add((first.month, first.day))
                leap = first.year % 4 == 0 and (first.year % 100 != 0 or first.year % 400 == 0)
                if (first.month, first.day) == (2, 28) and not leap:
                    days.add((2, 29))
                first += timedelta(days=1)
        hit = bool(birthdays & days)
        return hit != (isinstance(node, ast.Comparison) and node.op == "!=")

    def list_atom(self, node: ast.Node, values: set[str], norm: Callable[[str], str]) -> bool:
        if isinstance(node, ast.IsNull):
            return bool(values) == node.negated
        assert isinstance(node, ast.Contains) and isinstance(node.value, ast.Str)
        return (norm(node.value.value) in values) != node.negated

    # --- scalars
    def scalar(self, node: ast.Node, stored: Any, kind: str) -> bool:
        if isinstance(node, ast.IsNull):
            return (stored is None) != node.negated
        if isinstance(node, ast.InList):
            hit = stored is not None and any(self.cmp(stored, "=", v, kind) for v in node.values)
            return hit != node.negated
        if isinstance(node, ast.Between):
            return stored is not None and self.between(stored, node.low, node.high, kind)
        assert isinstance(node, ast.Comparison)
        if node.op == "!=":
            return not (stored is not None and self.cmp(stored, "=", node.value, kind))
        return stored is not None and self.cmp(stored, node.op, node.value, kind)

    def between(self, stored: Any, low: ast.Value, high: ast.Value, kind: str) -> bool:
        return self.cmp(stored, ">=", low, kind) and self.cmp(stored, "<=", high, kind)

    def cmp(self, stored: Any, op: str, value: ast.Value, kind: str) -> bool:
        if kind == "date":
            return self.date_cmp(stored, op, value)
        if kind == "money":
            assert isinstance(value, ast.Num)
            return OPS[op](Decimal(stored) / Decimal(10) ** self.exponent, value.value)
        if kind == "exact":
            assert isinstance(value, ast.Num)
            return OPS[op](stored, value.value)
        if kind in ("int", "float"):
            assert isinstance(value, ast.Num)
            literal = float(value.value) if kind == "float" else value.value
            return OPS[op](stored, literal)
        assert isinstance(value, ast.Str)
        if kind == "enum":
            return OPS[op](stored.upper(), value.value.upper())
        if kind == "caseless":
            return OPS[op](stored.casefold(), value.value.casefold())
        return OPS[op](stored, value.value)

    def date_cmp(self, stored: datetime, op: str, value: ast.Value) -> bool:
        day = self.day_of(value)
        if day is None:
            return OPS[op](stored, self.instant_of(value))
        return OPS[op](stored.astimezone(self.zone).date(), day)

    def day_of(self, value: ast.Value) -> date | None:
        if isinstance(value, ast.AbsDate):
            return value.value
        if isinstance(value, ast.NamedDay):
            return self.today - timedelta(days=0 if value.name == "today" else 1)
        if isinstance(value, ast.RelDate) and value.unit in "dw":
            return self.today + timedelta(days=value.amount * (7 if value.unit == "w" else 1))
        if isinstance(value, ast.RelDate) and value.unit in "my":
            return shift_months(self.today, value.amount * (12 if value.unit == "y" else 1))
        return None

    def instant_of(self, value: ast.Value) -> datetime:
        if isinstance(value, ast.RelDate):
            return NOW + timedelta(hours=value.amount)
        assert isinstance(value, ast.AbsDateTime)
        return value.value.replace(tzinfo=self.zone)

    # --- functions
    def matches(self, node: ast.Matches, c: dict[str, Any]) -> bool:
        rows = self.rows(node.function, c)
        aggregates = {"count", "sum_quantity", "sum_amount"}
        rows = [
            r
            for r in rows
            if all(
                self.row_holds(node.function, p, r)
                for p in node.params
                if p.field not in aggregates
            )
        ]
        if not rows:
            return False
        return all(
            self.aggregate_holds(node.function, p, rows)
            for p in node.params
            if p.field in aggregates
        )

    def rows(self, function: str, c: dict[str, Any]) -> list[dict[str, Any]]:
        if function == "store_credit_accounts":
            return [
                self.account(a) for a in self.raw.credit_accounts if a["customer_id"] == c["id"]
            ]
        if function == "products_purchased":
            return [p for p in self.raw.purchases if p["customer_id"] == c["id"]]
        if function == "orders_placed":
            return [
                o
                for o in self.raw.orders
                if o["customer_id"] == c["id"] and not o["test"] and o["cancelled_at"] is None
            ]
        ordered = {
            o["checkout_token"]
            for o in self.raw.orders
            if o["shop_id"] == self.shop_id and o["checkout_token"]
        }
        out = []
        for k in self.raw.checkouts:
            activity = k["updated"] or k["created"]
            if (
                k["customer_id"] == c["id"]
                and k["completed"] is None
                and k["token"] not in ordered
                and activity is not None
                and activity <= NOW - timedelta(hours=10)
            ):
                out.append({**k, "activity": activity})
        return out

    @staticmethod
    def account(a: dict[str, Any]) -> dict[str, Any]:
        """An account as its filter sees it: the balance in its currency's major unit, the
        soonest expiry still ahead among credits with something left, the last credit."""
        live = [
            k["expires_at"]
            for k in a["credits"]
            if k["remaining_minor"] > 0 and k["expires_at"] and k["expires_at"] > NOW
        ]
        return {
            "currency": a["currency"],
            "balance": Decimal(a["balance_minor"]) / Decimal(10) ** a["exponent"],
            "next_expiry_date": min(live, default=None),
            "last_credit_date": max((k["credited_at"] for k in a["credits"]), default=None),
        }

    def row_holds(self, function: str, param: ast.Param, row: dict[str, Any]) -> bool:
        stored, kind = self.row_value(function, param.field, row)
        if param.field == "tag":
            return self.tag_holds(param, stored)
        if param.field == "category":
            return self.category_holds(param, stored)
        return self.scalar(param, stored, kind)

    def row_value(self, function: str, name: str, row: dict[str, Any]) -> tuple[Any, str]:
        if function == "store_credit_accounts":
            kind = {"currency": "caseless", "balance": "exact"}.get(name, "date")
            return row[name], kind
        if function == "products_purchased":
            product = self.raw.products[(self.shop_id, row["product"])]
            if name == "id":
                return Decimal(row["product"]), "int"
            if name in ("product_type", "vendor"):
                text = product["type" if name == "product_type" else "vendor"]
                return text, "caseless"
            if name == "tag":
                return {t.casefold() for t in product["tags"]}, "tags"
            if name == "category":
                return product["category"], "category"
            return row["ordered_at"], "date"
        if function == "orders_placed":
            if name == "amount":
                return row["net_total_minor"], "money"
            if name in ("location_id", "app_id"):
                stored = row[name]
                return (None if stored is None else Decimal(stored)), "int"
            return row["ordered_at"], "date"
        return row["activity"], "date"

    def tag_holds(self, param: ast.Param, tags: set[str]) -> bool:
        values = param.values if isinstance(param, ast.InList) else (param.value,)
        hit = any(isinstance(v, ast.Str) and v.value.casefold() in tags for v in values)
        negated = param.negated if isinstance(param, ast.InList) else param.op == "!="
        return hit != negated

    def category_holds(self, param: ast.Param, category: str | None) -> bool:
        """The named category or any below it: Shopify's ids extend their parent's id."""
        values = param.values if isinstance(param, ast.InList) else (param.value,)
        wanted = [v.value.split("/")[-1].strip().lower() for v in values if isinstance(v, ast.Str)]
        hit = category is not None and any(
            category == w or category.startswith(f"{w}-") for w in wanted
        )
        negated = param.negated if isinstance(param, ast.InList) else param.op == "!="
        return hit != negated

    def aggregate_holds(self, function: str, param: ast.Param, rows: list[dict[str, Any]]) -> bool:
        if param.field == "count":
            key = "order_id" if function == "products_purchased" else None
            total = Decimal(len({r[key] for r in rows}) if key else len(rows))
            kind = "int"
        elif param.field == "sum_quantity":
            total, kind = Decimal(sum(r["quantity"] for r in rows)), "int"
        else:
            total, kind = sum(r["net_total_minor"] for r in rows), "money"
        return self.scalar(param, total, kind)
