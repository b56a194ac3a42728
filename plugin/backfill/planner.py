"""PostgreSQL's planner statistics brought up to date after the import's bulk writes.

Right after a bulk load PostgreSQL still plans on the statistics of the tables as they
were (empty, for a new shop's first import) until autovacuum analyzes them, a minute or
more later: nested loops over "one row" that really holds a million (a segment KPI query
took 8 s at 10k customers instead of 0.1 s). SQLite is left alone: its plans come from
the indexes' shapes, and its ANALYZE reads every index whole.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.backfill.models import BackfillPhase
from plugin.db import analyze as analyze_tables
from plugin.db import is_postgresql

BULK = 10_000  # lines imported below which autovacuum's own ANALYZE comes soon enough


def analyze(session: Session, run_id: int, tables: tuple[str, ...]) -> None:
    """ANALYZE `tables` on PostgreSQL when run `run_id` imported a bulk of lines."""
    if not is_postgresql(session):
        return
    lines = session.scalar(
        select(func.coalesce(func.sum(BackfillPhase.lines_done), 0)).where(
            BackfillPhase.run_id == run_id
        )
    )
    if (lines or 0) >= BULK:
        analyze_tables(session, tables)
