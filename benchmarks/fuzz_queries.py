"""Fuzzing the segment language end to end: random, mutated and adversarial queries run
through the preview (parse → compile → count and sample on the real database).

Properties checked for every query: it either answers or raises the language's own
`QueryError`; nothing else escapes; and no SQL statement it caused carries one of the
query's string literals in its text (literals must reach the database as bound values).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from plugin.segments.catalogue import FIELDS, FUNCTIONS, OPERATORS
from plugin.segments.errors import QueryError
from plugin.segments.preview import preview_query

KEYWORDS = ["AND", "OR", "NOT", "(", ")", ",", "MATCHES", "IS", "NULL", "IN", "BETWEEN"]
# Strings an attacker would try in a literal or identifier position.
INJECTIONS = [
    "'; DROP TABLE customers; --",
    "' OR '1'='1",
    "') OR 1=1 --",
    "\\' OR 1=1 --",
    "1; SELECT pg_sleep(10)",
    '" OR ""="',
    "$$; DELETE FROM segments; $$",
    "%_%",
    "\x00",
    "\u202e\u200b",
    "🙂" * 50,
    "x" * 5000,
    "customers.shop_id != 0",
]
NUMBERS = ["0", "-1", "3", "1.5", "99999999999999999999999", "1e309", "-0", "00012", "1.2.3"]
DATES = ["2024-01-01", "-30d", "+2w", "-3m", "today", "yesterday", "2024-13-45", "-99999y"]


@dataclass
class QueryFuzzResult:
    queries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # property violations, with the query


class QueryGenerator:
    """Seeded generator of query texts in four modes: structured, token soup, mutated, noise."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fields = sorted(FIELDS)
        self.functions = sorted(FUNCTIONS)

    def marker(self) -> str:
        """A string literal that must never appear in SQL text (it is bound, not inlined)."""
        return f"zq{self.rng.getrandbits(40):010x}" + self.rng.choice(INJECTIONS)

    def query(self) -> tuple[str, list[str]]:
        """A query text and the markers planted in its string literals."""
        markers: list[str] = []
        mode = self.rng.random()
        if mode < 0.55:
            text = self.structured(markers, depth=0)
        elif mode < 0.75:
            text = self.soup(markers)
        elif mode < 0.9:
            text = self.mutated(self.structured(markers, depth=0))
        else:
            text = "".join(
                chr(self.rng.randrange(1, 0x3000)) for _ in range(self.rng.randrange(40))
            )
        return text, markers

    def structured(self, markers: list[str], depth: int) -> str:
        if depth < 3 and self.rng.random() < 0.35:
            joiner = self.rng.choice([" AND ", " OR "])
            parts = [self.structured(markers, depth + 1) for _ in range(self.rng.randint(2, 3))]
            text = joiner.join(parts)
            return f"({text})" if self.rng.random() < 0.5 else text
        if self.rng.random() < 0.15:
            return self.function_condition(markers)
        name = self.rng.choice(self.fields)
        kind = FIELDS[name].type
        op = self.rng.choice([*OPERATORS.get(kind, ("=",)), "=", "CONTAINS"])
        if op == "IS NULL":
            return f"{name} IS {self.rng.choice(['', 'NOT '])}NULL"
        if op == "BETWEEN":
            return f"{name} BETWEEN {self.value(kind, markers)} AND {self.value(kind, markers)}"
        if op == "IN":
            values = ", ".join(self.value(kind, markers) for _ in range(self.rng.randint(1, 4)))
            return f"{name} {self.rng.choice(['', 'NOT '])}IN ({values})"
        return f"{name} {op} {self.value(kind, markers)}"

    def function_condition(self, markers: list[str]) -> str:
        name = self.rng.choice(self.functions)
        params = FUNCTIONS[name].params
        chosen = self.rng.sample(params, k=min(len(params), self.rng.randint(1, 3)))
        args = ", ".join(
            f"{p.name} {self.rng.choice(['=', '>=', '<', '!='])} {self.value(p.type, markers)}"
            for p in chosen
        )
        return f"{name} {self.rng.choice(['', 'NOT '])}MATCHES ({args})"

    def value(self, kind: str, markers: list[str]) -> str:
        roll = self.rng.random()
        textual = kind in ("string", "enum", "string_list")
        if roll < (0.6 if textual else 0.1):
            marker = self.marker()
            markers.append(marker)
            return "'" + marker.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if kind in ("integer", "number", "money") or roll < 0.55:
            return self.rng.choice(NUMBERS)
        if kind == "date" or roll < 0.7:
            return self.rng.choice(DATES)
        return self.rng.choice(["true", "false", "NULL", self.rng.choice(self.fields)])

    def soup(self, markers: list[str]) -> str:
        pool = [*self.fields[:40], *KEYWORDS, "=", "<", ">=", "!=", *NUMBERS, *DATES]
        tokens = [self.rng.choice(pool) for _ in range(self.rng.randint(1, 12))]
        if self.rng.random() < 0.5:
            tokens.append(self.value("string", markers))
        return " ".join(tokens)

    def mutated(self, text: str) -> str:
        chars = list(text)
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randrange(len(chars) + 1)
            roll = self.rng.random()
            if roll < 0.4 and chars:
                del chars[min(at, len(chars) - 1)]
            elif roll < 0.8:
                chars.insert(at, self.rng.choice("()'\\,=<>!- \n\t\x00AOR"))
            else:
                chars[at:at] = list(self.rng.choice(INJECTIONS))
        return "".join(chars)


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL text sent on `engine` while inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def fuzz_queries(
    sessions: sessionmaker[Session], engine: Engine, shop_id: int, count: int, seed: int
) -> QueryFuzzResult:
    """Run `count` generated queries through the preview of `shop_id`; collects violations."""
    generator, result = QueryGenerator(random.Random(seed)), QueryFuzzResult()
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    for _ in range(count):
        text, markers = generator.query()
        result.queries += 1
        with captured_statements(engine) as statements, sessions() as session:
            outcome = _run_one(session, shop_id, text, now)
            session.rollback()
        result.outcomes[outcome] += 1
        if outcome.startswith("unhandled"):
            result.failures.append(f"{outcome} for {text[:200]!r}")
        leaked = [m for m in markers if len(m) > 12 and any(m[:12] in s for s in statements)]
        if leaked:
            result.failures.append(f"literal inlined into SQL for {text[:200]!r}")
    return result


def _run_one(session: Session, shop_id: int, text: str, now: datetime) -> str:
    try:
        preview_query(session, shop_id, text, now, sample_size=5)
    except QueryError:
        return "refused (QueryError)"
    except OperationalError as exc:
        # A draft the statement timeout stopped is the preview's designed answer.
        if "statement timeout" in str(exc.orig):
            return "stopped by statement timeout"
        return f"unhandled {type(exc).__name__}: {(str(exc.orig).splitlines() or [''])[0][:120]}"
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        return f"unhandled {type(exc).__name__}: {first_line[:120]}"
    return "answered"
