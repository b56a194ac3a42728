"""The triggers the app knows: names, priority, default tags and their Flow handles."""

from __future__ import annotations

from functools import cache

from plugin.manifest import FlowTrigger, flow_triggers

ABANDONED_CHECKOUT = "abandoned_checkout"
REACTIVATION = "reactivation"
WELCOME = "welcome"
CATEGORY_FOLLOW_UP = "category_follow_up"
TRIGGERS = (ABANDONED_CHECKOUT, REACTIVATION, WELCOME, CATEGORY_FOLLOW_UP)
# Shop-wide settings (outbound webhook, quiet hours, frequency cap) live under this name.
GENERAL = "general"

# Every trigger is a marketing message: consent, frequency cap and quiet hours apply.
MARKETING = frozenset(TRIGGERS)
# Lower runs first when several firings of one customer compete for the frequency cap:
# an abandoned cart is worth the most and goes stale fastest.
PRIORITY = {ABANDONED_CHECKOUT: 0, WELCOME: 1, CATEGORY_FOLLOW_UP: 2, REACTIVATION: 3}

# Firing states.
SCHEDULED = "scheduled"
DEFERRED = "deferred"
FIRED = "fired"
CANCELLED = "cancelled"
SKIPPED = "skipped"
PENDING_STATES = (SCHEDULED, DEFERRED)


@cache
def _by_trigger() -> dict[str, FlowTrigger]:
    return {t.trigger: t for t in flow_triggers()}


def flow_trigger(name: str) -> FlowTrigger:
    """The Flow extension declared in manifest.json for this trigger."""
    return _by_trigger()[name]
