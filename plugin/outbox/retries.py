"""How long a failed outbox row waits before its next attempt, and which failures are final."""

from __future__ import annotations

import random
from datetime import timedelta

from plugin.errors import PlatformError

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
RATE_LIMIT_FLOOR_SECONDS = 1.0  # a 429 without Retry-After: Shopify's REST bucket leaks 2/s
ERROR_LIMIT = 2000


def is_transient(exc: Exception) -> bool:
    # Anything that is not a platform answer (a bug, a lost database) is retried, capped.
    return not isinstance(exc, PlatformError) or exc.transient


def is_rate_limited(exc: Exception) -> bool:
    """The shop said "slower" (THROTTLED, 429): flow control, not a failure of the work."""
    return (
        isinstance(exc, PlatformError)
        and exc.transient
        and (exc.status_code == 429 or getattr(exc, "wait_seconds", None) is not None)
    )


def rate_limit_delay(exc: Exception) -> timedelta:
    """What the shop asked for, stretched by up to a quarter so rows refused together
    do not all come back in the same second."""
    asked = max(
        float(getattr(exc, "retry_after", None) or 0),
        float(getattr(exc, "wait_seconds", None) or 0),
        RATE_LIMIT_FLOOR_SECONDS,
    )
    return timedelta(seconds=asked * random.uniform(1.0, 1.25))


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
