"""Shopify's Admin GraphQL schema, vendored per API version, for validating documents."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_client_schema, build_schema

from plugin.settings import DEFAULT_API_VERSION

# Package data: installed with the distribution, so the simulator and the demo find it too.
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


def schema_path(version: str = DEFAULT_API_VERSION) -> Path:
    """Where the introspection of Admin API `version` is vendored (it may not exist)."""
    return SCHEMA_DIR / f"admin_{version}.json.gz"


def vendored_versions() -> list[str]:
    """The API versions whose schema is in the repository, oldest first."""
    return sorted(p.name.removeprefix("admin_").split(".")[0] for p in SCHEMA_DIR.glob("admin_*"))


@cache
def load_schema(path: Path) -> GraphQLSchema:
    """A schema from an introspection result (`.json`, `.json.gz`) or SDL (`.graphql`).

    assume_valid: Shopify's schema deprecates fields that implement undeprecated interface
    fields, which graphql-core's schema validation rejects although it is harmless here.
    """
    if path.suffix == ".graphql":
        return build_schema(path.read_text(encoding="utf-8"), assume_valid=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        introspection = json.load(fh)
    return build_client_schema(introspection.get("data", introspection), assume_valid=True)


def admin_schema(version: str = DEFAULT_API_VERSION) -> GraphQLSchema:
    """The vendored schema of `version` (FileNotFoundError when it is not vendored)."""
    return load_schema(schema_path(version))
