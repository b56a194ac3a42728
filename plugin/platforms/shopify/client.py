"""The Admin GraphQL client: one POST per document, errors sorted into transient or permanent."""

from __future__ import annotations

from typing import Any

import requests

from plugin.errors import PlatformError
from plugin.platforms.shopify.documents import Document
from plugin.settings import Settings

TIMEOUT = (5, 30)  # (connect, read) seconds


class UserErrors(PlatformError):
    """A mutation ran but refused its input (`userErrors`): retrying cannot help."""

    code = "platform_user_errors"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, transient=False)
        self.errors = errors

    @property
    def messages(self) -> list[str]:
        return [str(e.get("message", "")) for e in self.errors]


class AdminClient:
    """Admin GraphQL of one shop with one access token (get it from `plugin.shops.tokens`)."""

    def __init__(
        self, http: requests.Session, settings: Settings, shop: str, access_token: str
    ) -> None:
        self.http = http
        self.shop = shop
        self.url = (
            f"{settings.shop_base_url(shop)}/admin/api/{settings.shopify_api_version}/graphql.json"
        )
        self._token = access_token

    def execute(
        self, document: Document, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The `data` of the answer; raises PlatformError (see `transient`) otherwise."""
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        body: dict[str, Any] = {"query": document.text, "variables": variables or {}}
        try:
            response = self.http.post(self.url, json=body, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise PlatformError(
                f"{self.shop}: {document.name} failed: {type(exc).__name__}"
            ) from exc
        return _data(self.shop, document, response)


def _data(shop: str, document: Document, response: requests.Response) -> dict[str, Any]:
    status = response.status_code
    where = f"{shop}: {document.name}"
    if status == 429 or status >= 500:
        raise PlatformError(f"{where} answered {status}", status_code=status)
    if status != 200:
        raise PlatformError(f"{where} answered {status}", transient=False, status_code=status)
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformError(f"{where} answered with something other than JSON") from exc
    _raise_errors(where, body.get("errors"))
    data: dict[str, Any] = body.get("data") or {}
    _raise_user_errors(where, data)
    return data


def _raise_errors(where: str, errors: Any) -> None:
    if not errors:
        return
    errors = errors if isinstance(errors, list) else [{"message": str(errors)}]
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors}
    messages = "; ".join(str(e.get("message", "")) for e in errors)
    if "THROTTLED" in codes:
        raise PlatformError(f"{where} was throttled")
    raise PlatformError(f"{where} failed: {messages}", transient=False, status_code=200)


def _raise_user_errors(where: str, data: dict[str, Any]) -> None:
    errors = [
        e
        for payload in data.values()
        if isinstance(payload, dict)
        for e in payload.get("userErrors") or []
    ]
    if errors:
        text = "; ".join(str(e.get("message", "")) for e in errors)
        raise UserErrors(f"{where} refused: {text}", errors)
