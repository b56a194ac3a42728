"""`shopseg`: the command line (serve, worker, migrate, shops, backfill, status, inbox …)."""

from __future__ import annotations

import click

from plugin.commands import admin, backfill, core, demo, inbox, replay
from plugin.commands import customers as customer_commands
from plugin.commands import outbox as outbox_commands
from plugin.commands import predictions as prediction_commands
from plugin.commands import privacy as privacy_commands
from plugin.commands import segments as segment_commands
from plugin.commands import shops as shop_commands
from plugin.commands import tags as tag_commands
from plugin.commands import triggers as trigger_commands


@click.group()
@click.version_option(package_name="shop-segments")
def main() -> None:
    """Shop Segments: customer segments for online shops."""


for command in (
    demo.COMMANDS + core.COMMANDS + shop_commands.COMMANDS + admin.COMMANDS + backfill.COMMANDS
):
    main.add_command(command)
main.add_command(inbox.inbox)
main.add_command(replay.replay)
main.add_command(privacy_commands.privacy)
main.add_command(customer_commands.customers)
main.add_command(segment_commands.segments)
main.add_command(outbox_commands.activity)
main.add_command(outbox_commands.outbox)
main.add_command(trigger_commands.triggers)
main.add_command(tag_commands.tags)
main.add_command(prediction_commands.predictions)


if __name__ == "__main__":  # `python -m plugin.cli`: how the demo starts its app
    main()
