"""How long a failed outbox row waits before its next attempt, and which failures are final."""

from __future__ import annotations

import random
from datetime import timedelta

from plugin.errors import PlatformError

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
ERROR_LIMIT = 2000


def is_transient(exc: Exception) -> bool:
    # Anything that is not a platform answer (a bug, a lost database) is retried, capped.
    return not isinstance(exc, PlatformError) or exc.transient


def retry_delay(exc: Exception, attempts: int) -> timedelta:
    """Full jitter (uniform over [0, capped exponential]), raised to what the shop asked."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempts)
    seconds = random.uniform(0, ceiling)
    floor = max(
        float(getattr(exc, "retry_after", None) or 0),
        float(getattr(exc, "wait_seconds", None) or 0),
    )
    return timedelta(seconds=max(seconds, floor))


def describe(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or str(exc)
    return f"{type(exc).__name__}: {detail}"[:ERROR_LIMIT]
