"""Test fixtures: live (see the module's owner)."""
