"""Trigger decisions that sent nothing (skipped, deferred, cancelled) as JSON: what
`shopseg activity --skipped --json` prints and the admin's Activity API answers."""

from __future__ import annotations

from typing import Any

from plugin.triggers.models import TriggerFiring


def decision_json(firing: TriggerFiring, customer: str | None) -> dict[str, Any]:
    """One decision; `customer` is the shop's id of the firing's customer."""
    return {
        "trigger": firing.name,
        "trigger_id": firing.trigger_id,
        "customer": customer,
        "checkout_token": firing.checkout_token,
        "state": firing.state,
        "why": firing.why,
        "reason": firing.detail,
        "decided_at": firing.updated_at.isoformat(),
        "due_at": firing.due_at.isoformat(),
    }
