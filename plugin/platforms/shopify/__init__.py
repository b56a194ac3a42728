"""Shopify: OAuth and session tokens, the Admin GraphQL client, payload mapping, app config."""
