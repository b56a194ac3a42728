"""Preview an unsaved query: how many customers match now and a sample of them.

Read-only, one shop, the same compiled SQL as evaluation; on PostgreSQL the statements
run under a statement timeout so a heavy draft cannot hold the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from plugin.db import Unindexed, is_postgresql
from plugin.profiles.models import Customer
from plugin.segments import evaluator_language as language
from plugin.segments.evaluator import compile_context

SAMPLE_SIZE = 20
TIMEOUT_MS = 5000


@dataclass(frozen=True)
class Preview:
    canonical: str
    count: int
    sample: list[str]  # platform customer ids, oldest profiles first
    notices: list[str]


def preview_query(
    session: Session,
    shop_id: int,
    query: str,
    now: datetime,
    *,
    sample_size: int = SAMPLE_SIZE,
    timeout_ms: int = TIMEOUT_MS,
) -> Preview:
    """Count and sample the customers `query` selects (raises `QueryError` when bad)."""
    parsed = language.parse(query)
    condition = language.predicate(parsed.ast, compile_context(session, shop_id, now))
    if is_postgresql(session):
        # SET LOCAL takes no bind parameter; the value is an int we own.
        session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    where = (Customer.shop_id == shop_id, condition)
    count = session.scalar(select(func.count()).select_from(Customer).where(*where)) or 0
    # The first customers by id: SQLite walks the table in id order and stops at the
    # sample's size, where through an index on the shop it computed the condition for
    # every customer and sorted them (half of a 5.8 s preview at 1M).
    shop = Unindexed(Customer.shop_id) == shop_id
    sample = (
        session.scalars(
            select(Customer.platform_id)
            .where(shop, condition)
            .order_by(Customer.id)
            .limit(sample_size)
        ).all()
        if count
        else []
    )
    notices = [str(n) for n in getattr(parsed, "notices", ()) or ()]
    return Preview(str(parsed.canonical), int(count), list(sample), notices)
