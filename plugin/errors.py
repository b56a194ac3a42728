"""The application's error hierarchy; web code maps it to `{error, detail}` responses."""

from __future__ import annotations


class ShopSegError(Exception):
    """Base class. `code` is the machine-readable `error` field, `status` the HTTP status."""

    code = "error"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigurationError(ShopSegError):
    code = "configuration_error"
    status = 500


class ValidationError(ShopSegError):
    """Input that can never be processed as it is (bad payload, bad parameter)."""

    code = "invalid_input"
    status = 400


class AuthenticationError(ShopSegError):
    """A signature, HMAC, session token or OAuth state did not verify."""

    code = "unauthorized"
    status = 401


class NotFoundError(ShopSegError):
    code = "not_found"
    status = 404


class PlatformError(ShopSegError):
    """A shop's API answered with an error or not at all. `transient` ones are retried.

    `retry_after` is the wait in seconds the shop asked for (a Retry-After header), if any.
    """

    code = "platform_error"
    status = 502

    def __init__(
        self,
        detail: str,
        *,
        transient: bool = True,
        status_code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(detail)
        self.transient = transient
        self.status_code = status_code
        self.retry_after = retry_after


class ReauthRequired(PlatformError):
    """The shop's token is gone or cannot be refreshed; outbound calls pause until reinstall."""

    code = "needs_reauth"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, transient=False)


class UnmigratedDatabase(ConfigurationError):
    code = "unmigrated_database"


class Forbidden(ShopSegError):
    """Well-formed but refused: e.g. an OAuth state that was issued to another browser."""

    code = "forbidden"
    status = 403


class RateLimited(ShopSegError):
    """Too many requests of one kind (e.g. pending OAuth states); try again later."""

    code = "too_many_requests"
    status = 429
