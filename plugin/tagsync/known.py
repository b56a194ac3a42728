"""What the app knows of customers' managed tags after its own pushes, and telling the
shop's echo of those pushes (`customer.tags_added/removed`) from the merchant's edits.

A push records the new state in `customer_tags` with a version `<time>|outbox:<row id>`.
Its echo says nothing new, and a late echo of an older push must not undo a newer one: an
echo is recognised when the tag's known state came from a push and already agrees, or
when a push to that customer, around the echo's time, made exactly that change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.events import make_version
from plugin.outbox.models import DONE, TAGS, OutboxItem
from plugin.profiles.customer_tags import tag_key, upsert_tag_rows
from plugin.profiles.models import CustomerTag

PUSH_SOURCE = "outbox:"
# How far an echo's time may lie outside its push's [created, done] window (clock skew,
# the retry of a call whose first try ran but timed out).
ECHO_SKEW = timedelta(minutes=5)

TagState = tuple[int, str, bool]  # (customer id, tag, present)


def push_version(item_id: int, now: datetime) -> str:
    return make_version(now, None, f"{PUSH_SOURCE}{item_id}")


def record_states(session: Session, shop_id: int, states: Sequence[TagState], version: str) -> None:
    """Store tag states the shop now has — the app pushed them, or the API said so — set-based,
    each over an older version of that tag only, like `profiles.customer_tags.set_tags`."""
    rows = {
        (customer_id, tag_key(tag)): {
            "shop_id": shop_id,
            "customer_id": customer_id,
            "tag": tag.strip(),
            "tag_cf": tag_key(tag),
            "present": present,
            "version": version,
        }
        for customer_id, tag, present in states
    }
    upsert_tag_rows(session, list(rows.values()))


def echoed_tags(
    session: Session,
    shop_id: int,
    customer_id: int,
    tags: Sequence[str],
    present: bool,
    occurred_at: datetime | None,
) -> set[str]:
    """The tags (casefolded) of a `tags_added` (present) or `tags_removed` webhook that are
    the echo of the app's own pushes."""
    wanted = {tag_key(t) for t in tags if t.strip()}
    if not wanted:
        return set()
    echoed = _agreeing_pushes(session, customer_id, wanted, present)
    if occurred_at is not None and wanted - echoed:
        echoed |= _pushes_around(
            session, shop_id, customer_id, wanted - echoed, present, occurred_at
        )
    return echoed


def _agreeing_pushes(
    session: Session, customer_id: int, wanted: set[str], present: bool
) -> set[str]:
    rows = session.execute(
        select(CustomerTag.tag_cf, CustomerTag.present, CustomerTag.version).where(
            CustomerTag.customer_id == customer_id, CustomerTag.tag_cf.in_(wanted)
        )
    )
    return {
        r.tag_cf
        for r in rows
        if r.present == present and (r.version or "").partition("|")[2].startswith(PUSH_SOURCE)
    }


def _pushes_around(
    session: Session,
    shop_id: int,
    customer_id: int,
    wanted: set[str],
    present: bool,
    occurred_at: datetime,
) -> set[str]:
    rows = session.scalars(
        select(OutboxItem.result).where(
            OutboxItem.shop_id == shop_id,
            OutboxItem.customer_id == customer_id,
            OutboxItem.kind == TAGS,
            OutboxItem.state == DONE,
            OutboxItem.created_at <= occurred_at + ECHO_SKEW,
            OutboxItem.done_at >= occurred_at - ECHO_SKEW,
        )
    )
    side = "added" if present else "removed"
    found: set[str] = set()
    for result in rows:
        found |= {tag_key(t) for t in (result or {}).get(side) or ()}
    return found & wanted
