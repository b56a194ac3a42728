"""The catalogue's functions (MATCHES) and the Shopify filters this app has no data for."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    description: str
    aggregate: bool = False  # compiles to HAVING over the matching rows
    extension: bool = False  # ours, not a parameter of Shopify's function
    once: bool = False  # Shopify takes it at most once in one MATCHES


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str
    example: str
    dimension: str
    params: tuple[ParamSpec, ...]
    shopify_alias: str | None = None
    platforms: tuple[str, ...] = ("shopify",)
    computed_by: str = "event"
    # Shopify's parameter names we read as one of ours (said in a notice and the docs)
    aliases: tuple[tuple[str, str], ...] = ()
    param_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "param_names", tuple(p.name for p in self.params))

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


_DATE = ParamSpec("date", "date", "When the order was placed.")
FUNCTIONS: dict[str, FunctionSpec] = {
    f.name: f
    for f in (
        FunctionSpec(
            "products_purchased",
            "Customers with a counted order line matching every parameter.",
            "products_purchased MATCHES (category = 'gid://shopify/TaxonomyCategory/aa-1', "
            "date >= -90d)",
            "psychographic",
            (
                ParamSpec("id", "id", "The product's platform id."),
                ParamSpec("tag", "string", "A tag of the product (case-insensitive)."),
                ParamSpec(
                    "category",
                    "category",
                    "The product's taxonomy category or one below it (a GID or its last part).",
                ),
                _DATE,
                ParamSpec("count", "integer", "Orders with such a line.", aggregate=True),
                ParamSpec("sum_quantity", "integer", "Units in such lines.", aggregate=True),
                ParamSpec(
                    "product_type", "string", "Product type (case-insensitive).", extension=True
                ),
                ParamSpec("vendor", "string", "Vendor (case-insensitive).", extension=True),
            ),
            shopify_alias="products_purchased",
            aliases=(("quantity", "sum_quantity"),),
        ),
        FunctionSpec(
            "orders_placed",
            "Customers with counted orders matching every parameter.",
            "orders_placed MATCHES (date >= -30d, count >= 2)",
            "behavioural",
            (
                _DATE,
                ParamSpec("amount", "money", "The order's net total."),
                ParamSpec("count", "integer", "Orders matching.", aggregate=True),
                ParamSpec("sum_amount", "money", "Net total of orders matching.", aggregate=True),
                ParamSpec(
                    "location_id", "id", "The point-of-sale location of the order.", once=True
                ),
                ParamSpec("app_id", "id", "The app (sales channel) that created it.", once=True),
            ),
            shopify_alias="orders_placed",
        ),
        FunctionSpec(
            "store_credit_accounts",
            "Customers with a store credit account matching every parameter (imported).",
            "store_credit_accounts MATCHES (currency = 'USD', balance > 100)",
            "behavioural",
            (
                ParamSpec("currency", "currency", "The account's currency (ISO 4217 code)."),
                ParamSpec("balance", "balance", "The account's balance, in its own currency."),
                ParamSpec(
                    "next_expiry_date",
                    "date",
                    "When the soonest-expiring credit with something left expires.",
                ),
                ParamSpec("last_credit_date", "date", "When the account was last credited."),
            ),
            shopify_alias="store_credit_accounts",
            computed_by="import",
        ),
        FunctionSpec(
            "abandoned_checkouts",
            "Customers with abandoned checkouts matching every parameter.",
            "abandoned_checkouts MATCHES (date >= -7d)",
            "behavioural",
            (
                ParamSpec("date", "date", "The checkout's last activity."),
                ParamSpec("count", "integer", "Abandoned checkouts matching.", aggregate=True),
            ),
        ),
    )
}

# Shopify filters and functions we have no data for: named in the error, never guessed at.
NOT_AVAILABLE: tuple[str, ...] = (
    "created_by_app_id",
    "customer_within_distance",
    "product_subscription_status",
)
# Any name under these prefixes (`shopify_email.opened`, `storefront_event.x`, …).
NOT_AVAILABLE_PREFIXES: tuple[str, ...] = ("shopify_email.", "storefront_event.")


def not_available(name: str) -> bool:
    return name in NOT_AVAILABLE or name.startswith(NOT_AVAILABLE_PREFIXES)
