"""Settings from the environment (and an optional `.env`), with defaults for the embedded mode."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dotenv import find_dotenv, load_dotenv
from sqlalchemy.engine import make_url

from plugin.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///shopseg.db"
DEFAULT_API_VERSION = "2026-10"
SECRET_KEY_FILE = ".shopseg-secret"
# Bytes of randomness in a generated key: as long as the longest HMAC digest (SHA-512), so
# no signer (PyJWT warns about HMAC keys shorter than their hash) finds it short.
SECRET_KEY_BYTES = 64


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build it with `Settings.from_env()`; tests use `replace()`."""

    database_url: str = DEFAULT_DATABASE_URL
    shopify_api_key: str = ""
    shopify_api_secret: str = field(default="", repr=False)
    shopify_api_secret_previous: str = field(default="", repr=False)
    app_url: str = "http://127.0.0.1:8000"
    secret_key: str = field(default="", repr=False)
    shopify_base_url: str = "https://{shop}"
    shopify_api_version: str = DEFAULT_API_VERSION
    inbox_payload_retention_days: int = 14
    pending_install_retention_days: int = 7
    inbox_max_attempts: int = 5
    worker_poll_seconds: float = 1.0
    # Inbox rows a worker claims at once: bigger batches apply more set-based work per
    # statement; on SQLite the batch also holds the single write lock while it runs.
    worker_batch: int = 200
    log_level: str = "INFO"
    trusted_proxies: int = 0  # proxies in front whose X-Forwarded-For/-Proto to believe
    history_import_on_install: bool = True  # a shop's first install imports its history
    reconcile_hours: int = 24  # between a shop's reconciles (0: never)
    statistics_hours: int = 168  # between refreshes of the customers' statistics (0: never)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if env is None:
            if dotenv:
                # The working directory's .env, not one near the installed package.
                load_dotenv(find_dotenv(usecwd=True), override=False)
            env = dict(os.environ)
        get = env.get

        def number(name: str, default: str, kind: type[int] | type[float] = int) -> Any:
            raw = get(name, default)
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if value < 0:
                what = "a whole number" if kind is int else "a number"
                raise ConfigurationError(f"{name} must be {what} of 0 or more, not {raw!r}")
            return value

        return cls(
            database_url=get("SHOPSEG_DATABASE_URL", DEFAULT_DATABASE_URL),
            shopify_api_key=get("SHOPIFY_API_KEY", ""),
            shopify_api_secret=get("SHOPIFY_API_SECRET", ""),
            shopify_api_secret_previous=get("SHOPIFY_API_SECRET_PREVIOUS", ""),
            app_url=get("SHOPSEG_APP_URL", cls.app_url).rstrip("/"),
            secret_key=get("SHOPSEG_SECRET_KEY", ""),
            shopify_base_url=get("SHOPSEG_SHOPIFY_BASE_URL", cls.shopify_base_url).rstrip("/"),
            shopify_api_version=get("SHOPSEG_SHOPIFY_API_VERSION", DEFAULT_API_VERSION),
            inbox_payload_retention_days=number("SHOPSEG_INBOX_RETENTION_DAYS", "14"),
            pending_install_retention_days=number("SHOPSEG_PENDING_INSTALL_DAYS", "7"),
            inbox_max_attempts=number("SHOPSEG_INBOX_MAX_ATTEMPTS", "5"),
            worker_poll_seconds=number("SHOPSEG_WORKER_POLL_SECONDS", "1.0", float),
            worker_batch=max(1, number("SHOPSEG_WORKER_BATCH", "200")),
            log_level=get("SHOPSEG_LOG_LEVEL", "INFO"),
            trusted_proxies=number("SHOPSEG_TRUSTED_PROXIES", "0"),
            history_import_on_install=get("SHOPSEG_HISTORY_IMPORT_ON_INSTALL", "1") != "0",
            reconcile_hours=number("SHOPSEG_RECONCILE_HOURS", "24"),
            statistics_hours=number("SHOPSEG_STATISTICS_HOURS", "168"),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def api_secrets(self) -> list[str]:
        """The app's webhook/OAuth secrets to try, current first (rotation keeps the old one)."""
        return [s for s in (self.shopify_api_secret, self.shopify_api_secret_previous) if s]

    @property
    def secret_values(self) -> tuple[str, ...]:
        """Values no log line may show: the app's secrets and the database password."""
        password = make_url(self.database_url).password if "://" in self.database_url else None
        found = (self.shopify_api_secret, self.shopify_api_secret_previous, self.secret_key)
        return tuple(v for v in (*found, password) if v)

    def shop_base_url(self, shop_domain: str) -> str:
        """Where this app reaches a shop's OAuth and Admin API (a simulator in tests)."""
        return self.shopify_base_url.replace("{shop}", shop_domain)

    def with_local_secret_key(self, directory: Path | None = None) -> tuple[Settings, bool]:
        """Embedded default: read or create the secret key file. Returns (settings, created)."""
        if self.secret_key:
            return self, False
        path = (directory or Path.cwd()) / SECRET_KEY_FILE
        created = not path.exists()
        if created:
            path.write_text(secrets.token_urlsafe(SECRET_KEY_BYTES))
            path.chmod(0o600)
        return replace(self, secret_key=path.read_text().strip()), created
