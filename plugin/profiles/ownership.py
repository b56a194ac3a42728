"""The field-ownership map: which event may write which customer column, under which version.

Each group of columns has one owner and one version column; an event writes its group only
over an older version. The partial customer inside an order or checkout owns nothing: it
creates a stub and fills columns of `STUB_FILLABLE` that are still null. docs/profiles.md
renders this map for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugin.events import CustomerData


@dataclass(frozen=True)
class FieldGroup:
    columns: tuple[str, ...]
    version_column: str | None  # None: one version per row (customer_tags.version)
    written_by: tuple[str, ...]


PROFILE_COLUMNS = (
    "email",
    "email_cf",
    "phone",
    "first_name",
    "last_name",
    "state",
    "verified_email",
    "country_code",
    "province_code",
    "city",
    "platform_created_at",
    "platform_updated_at",
)
CONSENT_COLUMNS = (
    "email_marketing_state",
    "email_marketing_opt_in_level",
    "email_consent_updated_at",
)
SUMMARY_COLUMNS = ("reported_orders_count", "reported_amount_spent_minor")

OWNERSHIP: dict[str, FieldGroup] = {
    "profile": FieldGroup(
        PROFILE_COLUMNS,
        "profile_version",
        ("customers/create", "customers/update", "customers/enable", "customers/disable"),
    ),
    # the full address list, replaced with the profile group (plugin.profiles.addresses)
    "addresses": FieldGroup(
        ("customer_addresses.*",),
        "profile_version",
        ("customers/create", "customers/update", "customers/enable", "customers/disable"),
    ),
    "consent": FieldGroup(
        CONSENT_COLUMNS,
        "consent_version",
        ("customers_email_marketing_consent/update", "customers/* before API 2025-01"),
    ),
    "sms_consent": FieldGroup(
        ("sms_marketing_state",), "sms_consent_version", ("customers_marketing_consent/update",)
    ),
    "summary": FieldGroup(SUMMARY_COLUMNS, "summary_version", ("customers/purchasing_summary",)),
    "tags": FieldGroup(
        ("customer_tags.present",),
        None,
        ("customer.tags_added", "customer.tags_removed", "customers/* before API 2025-01"),
    ),
}

# Customer payloads carry no locale; orders and checkouts do (`customer_locale`).
STUB_FILLABLE = (*PROFILE_COLUMNS, "locale")


def profile_values(data: CustomerData) -> dict[str, Any]:
    """The profile columns as a customers/* payload states them (None is a stated null)."""
    address = data.address
    return {
        "email": data.email,
        "email_cf": data.email.casefold() if data.email else None,
        "phone": data.phone,
        "first_name": data.first_name,
        "last_name": data.last_name,
        "state": data.state,
        "verified_email": data.verified_email,
        "country_code": address.country_code if address else None,
        "province_code": address.province_code if address else None,
        "city": address.city if address else None,
        "platform_created_at": data.created_at,
        "platform_updated_at": data.updated_at,
    }


def stub_values(data: CustomerData) -> dict[str, Any]:
    """What a partial customer may offer to fill a stub's null columns."""
    return {**profile_values(data), "locale": data.locale}


def consent_values(data: CustomerData) -> dict[str, Any] | None:
    """Consent columns from a pre-2025-01 customer payload, or None when it has none."""
    if data.email_marketing_state is None:
        return None
    return {
        "email_marketing_state": data.email_marketing_state,
        "email_marketing_opt_in_level": data.email_marketing_opt_in_level,
        "email_consent_updated_at": data.email_consent_updated_at,
    }
