"""The segment query AST: frozen, comparable nodes the printer, checker and compiler share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Bool:
    value: bool


@dataclass(frozen=True)
class AbsDate:
    """A whole local day of the shop."""

    value: date


@dataclass(frozen=True)
class AbsDateTime:
    """A local wall-clock instant of the shop (naive: the shop's timezone applies)."""

    value: datetime


@dataclass(frozen=True)
class RelDate:
    """`±N h|d|w|m|y` from now; hours are exact instants, the other units whole days."""

    amount: int
    unit: str  # h d w m y


@dataclass(frozen=True)
class NamedDay:
    name: str  # today | yesterday


Value = Str | Num | Bool | AbsDate | AbsDateTime | RelDate | NamedDay
DateValue = AbsDate | AbsDateTime | RelDate | NamedDay
DATE_VALUES = (AbsDate, AbsDateTime, RelDate, NamedDay)

# --- conditions -----------------------------------------------------------------------------

COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # one of COMPARISON_OPS
    value: Value


@dataclass(frozen=True)
class Between:
    field: str
    low: Value
    high: Value


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Contains:
    field: str
    value: Value
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: str
    negated: bool = False  # IS NOT NULL


Param = Comparison | Between | InList


@dataclass(frozen=True)
class Matches:
    """`function MATCHES (param op value, …)`: every param applies to the same row."""

    function: str
    params: tuple[Param, ...] = ()
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Condition = Comparison | Between | InList | Contains | IsNull | Matches
Node = And | Or | Condition
