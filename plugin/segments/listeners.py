"""Who hears about membership changes, in the transaction that writes them (tags, triggers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class MembershipChange:
    segment_id: int
    customer_id: int
    kind: str  # entered | exited
    reason: str  # one of plugin.segments.models.REASONS


Listener = Callable[[Session, int, Sequence[MembershipChange], datetime], None]


def all_listeners() -> list[Listener]:
    """The listeners, imported late: the packages they live in import the segment engine."""
    from plugin.tagsync.listener import on_membership_changes as tag_sync
    from plugin.triggers.reactivation import on_membership_changes as triggers

    return [tag_sync, triggers]


def notify(
    session: Session, shop_id: int, changes: Sequence[MembershipChange], now: datetime
) -> None:
    """Tell every listener; a listener's failure rolls the membership change back with it."""
    if not changes:
        return
    for listener in all_listeners():
        listener(session, shop_id, changes, now)
