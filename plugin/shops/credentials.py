"""A shop's credentials in plain text, between a platform's grant and the encrypted row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Credentials:
    """A shop's credentials in plain text, between a platform grant and the encrypted row."""

    access_token: str
    scopes: tuple[str, ...] = ()
    access_expires_at: datetime | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    webhook_secret: str | None = None
