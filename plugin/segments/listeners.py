"""What a membership listener hears: the changes the evaluator writes, in its transaction.
The listeners themselves (tags, triggers) are composed in `plugin.membership_listeners`."""

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
