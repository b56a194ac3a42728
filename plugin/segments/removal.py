"""Deleting a merchant's segment: switched off first (members leave with reason `disabled`,
so the tag sync removes its tag), then its rows go. Built-ins cannot be deleted — a
reinstall would bring them back — only disabled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from plugin.errors import ValidationError
from plugin.segments.models import (
    BUILTIN,
    SegmentDaily,
    SegmentEvent,
    SegmentMembership,
)
from plugin.segments.services import disable_segment, find_segment


def delete_segment(session: Session, shop_id: int, name: str, *, now: datetime) -> str:
    """Delete segment `name` of the shop; returns its name. Its bit is free afterwards:
    no membership or state bit of it is left."""
    segment = find_segment(session, shop_id, name)
    if segment.kind == BUILTIN:
        raise ValidationError(f"{segment.name!r} is built in: disable it instead")
    disable_segment(session, shop_id, name, now=now)
    for model in (SegmentEvent, SegmentMembership, SegmentDaily):
        session.execute(
            delete(model)
            .where(model.shop_id == shop_id, model.segment_id == segment.id)
            .execution_options(synchronize_session=False)
        )
    deleted = segment.name
    session.delete(segment)
    session.flush()
    return deleted
