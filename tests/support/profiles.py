"""Test fixtures: profiles (see the module's owner)."""
