"""The simulator's switches: how tests make the simulated Shopify slow, strict or failing."""

from __future__ import annotations

from dataclasses import dataclass, field

ACCESS_TOKEN_TTL = 3600


@dataclass
class Switches:
    """Failure injection, set by tests: each switch changes how the simulator answers."""

    fail_refresh: bool = False  # refresh_token grants answer 400 invalid_grant
    refresh_delay: float = 0.0  # seconds a refresh takes (to overlap concurrent refreshes)
    oauth_status: int | None = None  # answer every access_token request with this HTTP status
    graphql_status: int | None = None  # answer every GraphQL request with this HTTP status
    throttle_graphql: int = 0  # answer this many GraphQL requests with THROTTLED
    granted_scopes: list[str] | None = None  # grant these instead of the requested scopes
    access_token_ttl: int = ACCESS_TOKEN_TTL
    # Cost-based throttling: each shop's leaky bucket (Shopify's Standard plan by default).
    bucket_size: float = 2000.0
    restore_rate: float = 100.0  # points per second
    max_query_cost: int = 1000  # a single document's requested cost may not exceed this
    # Faults by share of GraphQL requests, drawn from a generator seeded with `seed` (one
    # draw per request, so the same seed and the same requests give the same faults).
    seed: int = 0
    error_rate: float = 0.0  # answered `error_status`
    error_status: int = 503
    rate_limit_rate: float = 0.0  # answered 429
    timeout_rate: float = 0.0  # answered only after `timeout_delay` seconds
    timeout_delay: float = 2.0
    timeout_after_execute: bool = False  # the late answer comes after the document ran
    retry_after: float | None = None  # sent as Retry-After on 429 and 5xx answers
    # Operations (by name) whose next request runs and then answers late, once each.
    late_once: set[str] = field(default_factory=set)
    # Bulk operations.
    bulk_delay: float = 0.05  # seconds before a bulk operation runs
    bulk_fail_lines: set[int] = field(default_factory=set)  # these lines answer a userError
    bulk_mutation_limit: int = 1  # bulk mutations running at once per shop
    bulk_query_limit: int = 5  # bulk queries running at once per shop (API 2026-01 on)
    bulk_access_denied: bool = False  # bulkOperationRunQuery answers ACCESS_DENIED
    bulk_shuffle: bool = False  # query results in random line order (groupObjects: false)
    flow_handles: set[str] | None = None  # when set, other Flow trigger handles are refused
    tag_webhooks: bool = True  # deliver customer.tags_added/removed to subscribed addresses
    # Customer fields answered ACCESS_DENIED whatever the scopes (companyContactProfiles:
    # a shop without Shopify Plus, where B2B is not open to apps).
    denied_fields: set[str] = field(default_factory=set)
