"""The first-run checklist on the home page: what a new shop still has to do.

"History imported" reads the history import's status when that feature provides one
(`plugin.backfill.import_status(session, shop_id)`, returning an object with `state`
and optionally `done`/`total`); without it the item is not shown.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from plugin.segments.models import CUSTOM
from plugin.segments.services import SegmentSummary


@dataclass(frozen=True)
class Item:
    key: str  # history | evaluated | custom
    done: bool
    progress: tuple[int, int] | None = None  # (done, total) while running


def history_import_status(db: Session, shop_id: int) -> Any | None:
    """The history import's status, or None when the feature or its status is missing."""
    try:
        module = importlib.import_module("plugin.backfill")
    except ImportError:
        return None
    reader = getattr(module, "import_status", None)
    return reader(db, shop_id) if callable(reader) else None


def _history_item(status: Any) -> Item:
    state = str(getattr(status, "state", ""))
    done, total = getattr(status, "done", None), getattr(status, "total", None)
    progress = (int(done), int(total)) if isinstance(done, int) and isinstance(total, int) else None
    return Item("history", state in ("done", "finished", "completed"), progress)


def checklist(db: Session, shop_id: int, summaries: list[SegmentSummary]) -> list[Item]:
    items = []
    status = history_import_status(db, shop_id)
    if status is not None:
        items.append(_history_item(status))
    items.append(Item("evaluated", any(s.last_evaluated_at for s in summaries)))
    items.append(Item("custom", any(s.kind == CUSTOM for s in summaries)))
    return items
