"""Shops: install state, encrypted access tokens and per-shop settings."""
