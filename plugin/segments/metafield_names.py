"""How the segment language names a customer metafield: `metafields.<namespace>.<key>` as a
field, and as `anniversary('metafields.<namespace>.<key>')`."""

from __future__ import annotations

import re

PREFIX = "metafields."
# Shopify's namespaces and keys: letters, digits, `_` and `-` (a field name in the query
# cannot hold `-`: such a key is only reachable inside anniversary's quoted argument).
_PATH = re.compile(r"metafields\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)", re.IGNORECASE)
_ANNIVERSARY = re.compile(r"anniversary\('(metafields\.[A-Za-z0-9_.-]+)'\)")


def is_metafield(name: str) -> bool:
    return name.lower().startswith(PREFIX)


def metafield_path(name: str) -> tuple[str, str] | None:
    """`metafields.facts.birth_date` → (`facts`, `birth_date`); None for any other shape."""
    found = _PATH.fullmatch(name.strip())
    return (found.group(1), found.group(2)) if found else None


def canonical(name: str) -> str:
    """The name with its `metafields.` prefix lower case (namespace and key as written)."""
    namespace, key = metafield_path(name) or ("", "")
    return f"{PREFIX}{namespace}.{key}"


def anniversary_field(name: str) -> str:
    """The AST field of `anniversary('metafields.ns.key')`: printed as it is written."""
    return f"anniversary('{canonical(name)}')"


def anniversary_path(field: str) -> tuple[str, str] | None:
    """(namespace, key) of an anniversary field; None for any other field."""
    found = _ANNIVERSARY.fullmatch(field)
    return metafield_path(found.group(1)) if found else None
