"""Which Flow triggers a shop's enabled workflows use, as Flow's lifecycle callback reports it.

A trigger goes to Flow only while a workflow uses it; until the first callback for a trigger
the app assumes one does (a shop that installed before the callback existed keeps working).
Stored in the shop setting `flow.usage`: {definition id: {"enabled": bool, "at": iso}}.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from plugin.manifest import FlowTrigger
from plugin.profiles.shop_settings import set_setting
from plugin.shops.models import ShopSetting

USAGE = "flow.usage"


def usage(session: Session, shop_id: int, *, lock: bool = False) -> dict[str, dict[str, Any]]:
    row = session.get(ShopSetting, (shop_id, USAGE), with_for_update=lock)
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return dict(value) if isinstance(value, dict) else {}


def record_usage(
    session: Session, shop_id: int, definition_id: str, enabled: bool, at: datetime
) -> bool:
    """Keep the callback unless a newer one is stored (Flow: newer timestamps take
    precedence); True when it was kept."""
    known = usage(session, shop_id, lock=True)  # two callbacks at once: one at a time
    stored = known.get(definition_id)
    if stored is not None and datetime.fromisoformat(stored["at"]) >= at:
        return False
    known[definition_id] = {"enabled": enabled, "at": at.isoformat()}
    set_setting(session, shop_id, USAGE, known)
    return True


def in_use(known: dict[str, dict[str, Any]], trigger: FlowTrigger) -> bool:
    return reported(known, trigger) is not False


def reported(known: dict[str, dict[str, Any]], trigger: FlowTrigger) -> bool | None:
    """Whether an enabled workflow uses the trigger, None before Flow's first callback for it.
    Flow names the trigger by its definition id; the docs show the trigger's title, the
    CLI's extensions have a handle: either one matches."""
    for key in (trigger.handle, trigger.name):
        if key in known:
            return bool(known[key]["enabled"])
    return None
