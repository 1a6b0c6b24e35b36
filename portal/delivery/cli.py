"""`flask --app wsgi worker`: the delivery worker."""
from __future__ import annotations

import signal

import click
from flask.cli import with_appcontext

from portal.delivery import worker as worker_mod


@click.command("worker")
@click.option("--once", is_flag=True, help="Work off what is due now, print a summary and exit.")
@click.option("--poll", type=float, default=None, help="Seconds between polls when idle.")
@with_appcontext
def worker_command(once: bool, poll: float | None) -> None:
    """Send e-mail and SMS, deliver to nettbank and post, run deadlines (until stopped)."""
    if once:
        result = worker_mod.run_once()
        click.echo(result.summary())
        return
    w = worker_mod.Worker(poll_seconds=poll)
    signal.signal(signal.SIGTERM, w.stop)
    signal.signal(signal.SIGINT, w.stop)
    click.echo(f"worker {w.worker_id} running; stop with Ctrl+C")
    total = w.run()
    click.echo(total.summary())


commands = [worker_command]
