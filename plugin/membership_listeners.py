"""Who hears about membership changes, composed in one place: tag sync and the triggers,
each in the transaction that writes the changes (the evaluator calls `notify`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from plugin.segments.listeners import Listener, MembershipChange
from plugin.tagsync.listener import on_membership_changes as tag_sync
from plugin.triggers.reactivation import on_membership_changes as triggers

LISTENERS: tuple[Listener, ...] = (tag_sync, triggers)


def notify(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Tell every listener; a listener's failure rolls the membership change back with it."""
    if not changes:
        return
    for listener in LISTENERS:
        listener(session, shop_id, changes, now)
