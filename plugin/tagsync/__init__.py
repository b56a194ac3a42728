"""Managed customer tags: the tags of a customer's segments, pushed to the shop and kept there."""
