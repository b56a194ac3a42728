"""A redaction reads stored bodies the worker could not: too deep, NUL-escaped, or gone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.inbox.models import DEAD, REDACTED, InboxRow
from plugin.profiles.tombstones import find_tombstone
from plugin.settings import Settings
from tests.integration.test_privacy_redact import redact
from tests.integration.test_privacy_store import Person, build_store

STRANGER = Person("7309990000001", "x.st@example.com", "+4790000000", "X", "Y", "Z", "-")


def _row(domain: str, webhook_id: str, payload: str | None, status: str) -> InboxRow:
    return InboxRow(
        shop_domain=domain,
        topic="customers/create",
        webhook_id=webhook_id,
        headers={},
        payload=payload,
        status=status,
    )


def test_redaction_erases_bodies_no_parser_reads_and_nul_escaped_ones(
    session: Session, settings: Settings
) -> None:
    a, _ = build_store(session)
    deep = "[" * 5000 + f'"{STRANGER.email}"' + "]" * 5000
    escaped = f'{{"email": "x.st\\u0000@example.com", "id": {STRANGER.platform_id}}}'
    rows = [
        _row(a.domain, "deep", deep, DEAD),
        _row(a.domain, "nul", escaped, DEAD),
        _row(a.domain, "gone", None, DEAD),
    ]
    session.add_all(rows)
    session.commit()

    redact(session, settings, a, STRANGER)

    session.expire_all()
    ids = ["deep", "nul", "gone"]
    found = session.scalars(select(InboxRow).where(InboxRow.webhook_id.in_(ids)))
    stored = {r.webhook_id: (r.status, r.payload) for r in found}
    assert stored == {"deep": (REDACTED, None), "nul": (REDACTED, None), "gone": (DEAD, None)}
    assert find_tombstone(session, a.shop.id, "customer", STRANGER.platform_id) is not None
