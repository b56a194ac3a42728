"""CLI command groups, one module each; `plugin.cli` assembles them."""
