"""`shopseg activity DOMAIN --skipped`: trigger decisions that sent nothing, and why."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.profiles.queries import platform_ids
from plugin.triggers.catalogue import SKIPPED
from plugin.triggers.decisions import decision_json
from plugin.triggers.firings import not_fired
from plugin.triggers.models import TriggerFiring


def listing(session: Session, shop_id: int, limit: int, as_json: bool) -> list[str]:
    """Skipped, deferred and cancelled firings, latest first, with the shop's customer ids."""
    firings = not_fired(session, shop_id, limit)
    ids = platform_ids(session, shop_id, (f.customer_id for f in firings))
    if as_json:
        return [json.dumps(decision_json(f, ids.get(f.customer_id or 0))) for f in firings]
    lines = [decision_line(f, ids.get(f.customer_id or 0)) for f in firings]
    return lines or ["No trigger was skipped, deferred or cancelled."]


def hint(session: Session, shop_id: int, domain: str) -> list[str]:
    """One line pointing at skipped decisions, when there are any (one count)."""
    count = session.scalar(
        select(func.count()).where(TriggerFiring.shop_id == shop_id, TriggerFiring.state == SKIPPED)
    )
    if not count:
        return []
    return [f"Skipped trigger decisions: {count} (`shopseg activity {domain} --skipped` says why)"]


def _who(firing: TriggerFiring, customer: str | None) -> str:
    if customer:
        return f"customer {customer}"
    if firing.customer_id is not None:
        return "a customer since removed"
    return f"guest checkout {firing.checkout_token}" if firing.checkout_token else "no customer"


def decision_line(firing: TriggerFiring, customer: str | None) -> str:
    when = firing.updated_at.strftime("%Y-%m-%d %H:%M:%S")
    return (
        f"{when}  {firing.state:<9} {firing.name} {_who(firing, customer)}\n"
        f"    why: {firing.why or '-'}\n    {firing.state}: {firing.detail or '-'}"
    )
