"""HTTP receivers for shop webhooks: verify the signature, store in the inbox, answer fast."""

from webhooks.flow import blueprint as flow_blueprint
from webhooks.shopify import blueprint

__all__ = ["blueprint", "flow_blueprint"]
