"""Outbox deliverers by row kind, composed in one place: each feature package exposes its
`DELIVERERS` (built on `plugin.outbox.context`), and the delivery loop reads them here."""

from __future__ import annotations

from plugin.backfill.delivery import DELIVERERS as BACKFILL
from plugin.outbox.context import Deliverer
from plugin.tagsync.delivery import DELIVERERS as TAGS
from plugin.triggers.delivery import DELIVERERS as TRIGGERS


def all_deliverers() -> dict[str, Deliverer]:
    return {**TAGS, **TRIGGERS, **BACKFILL}
