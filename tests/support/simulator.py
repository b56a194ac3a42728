"""Test fixtures: simulator (see the module's owner)."""
