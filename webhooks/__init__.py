"""HTTP receivers for shop webhooks: verify the signature, store in the inbox, answer fast."""

from webhooks.shopify import blueprint

__all__ = ["blueprint"]
