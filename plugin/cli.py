"""`shopseg`: the command line (serve, worker, migrate, shops, inbox, customers, replay …)."""

from __future__ import annotations

import click

from plugin.commands import core


@click.group()
@click.version_option(package_name="shop-segments")
def main() -> None:
    """Shop Segments: customer segments for online shops."""


for command in core.COMMANDS:
    main.add_command(command)
