"""The durable outbox: every call to a shop's API, written with the change that causes it."""
