"""Tables of installed shops, their per-shop settings and OAuth state nonces."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigIntPK, utcnow

# install_state values
PENDING = "pending"  # known from a webhook, no token yet (managed install before first open)
INSTALLED = "installed"
NEEDS_REAUTH = "needs_reauth"  # token refresh failed; outbound calls paused
UNINSTALLED = "uninstalled"


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (UniqueConstraint("platform", "domain"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), default="shopify")
    domain: Mapped[str] = mapped_column(String(255))
    platform_shop_id: Mapped[str | None] = mapped_column(String(64))
    install_state: Mapped[str] = mapped_column(String(32), default=PENDING)
    # managed (token exchange) | oauth (authorization code) | custom (merchant's custom app)
    auth_method: Mapped[str | None] = mapped_column(String(32))
    scopes: Mapped[str | None] = mapped_column(Text)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None]
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[datetime | None]
    webhook_secret_enc: Mapped[str | None] = mapped_column(Text)
    # A worker that wins the conditional UPDATE on this column is the only one refreshing.
    refresh_lock_until: Mapped[datetime | None]
    reauth_reason: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    installed_at: Mapped[datetime | None]
    uninstalled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShopSetting(Base):
    __tablename__ = "shop_settings"

    shop_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]


class OAuthState(Base):
    """A single-use `state` nonce of the authorization-code grant."""

    __tablename__ = "oauth_states"
    # The caps count pending states per shop and per client; the purge goes by age.
    __table_args__ = (
        Index("ix_oauth_states_shop_domain_created_at", "shop_domain", "created_at"),
        Index("ix_oauth_states_client_key_created_at", "client_key", "created_at"),
        Index("ix_oauth_states_created_at", "created_at"),
    )

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    client_key: Mapped[str | None] = mapped_column(String(64))  # HMAC of the client address
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
