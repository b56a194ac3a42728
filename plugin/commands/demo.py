"""`shopseg demo`: the whole product on this machine, offline, in one command."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.logs import configure_logging


@click.command()
@click.option(
    "--dir",
    "directory",
    default="shopseg-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database and shop (reused by the next run).",
)
@click.option("--port", default=8000, show_default=True, type=int, help="0 picks a free port.")
@click.option("--fresh", is_flag=True, help="Forget the previous run's data and start over.")
@click.option(
    "--pace",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between live webhooks.",
)
@click.option("--events", type=click.IntRange(min=0), help="Stop after this many live webhooks.")
@click.option(
    "--customers",
    type=click.IntRange(min=1, max=23_570),
    help="Build the shop from CDNOW's first N customers only (a quicker first run).",
)
def demo(
    directory: Path,
    port: int,
    fresh: bool,
    pace: float,
    events: int | None,
    customers: int | None,
) -> None:
    """Run the app on SQLite with a simulated Shopify shop built from the CDNOW history:
    OAuth install, history import, segments, tags and triggers, then live webhooks."""
    from plugin.demo.runner import Demo, DemoError, DemoOptions

    configure_logging("WARNING", ())
    options = DemoOptions(directory, port, fresh, pace, live_events=events, customers=customers)
    run = Demo(options, say=click.echo)
    try:
        run.run()
    except KeyboardInterrupt:
        click.echo("")
    except DemoError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Stopped. The demo's data is in {run.dir}; run `shopseg demo` to continue.")


COMMANDS: list[click.Command] = [demo]
