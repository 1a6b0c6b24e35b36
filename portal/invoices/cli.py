"""`flask --app wsgi sweep-deadlines`: the three-day rule in bulk, beside the worker."""
from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from portal.core import db
from portal.invoices import services


@click.command("sweep-deadlines")
@click.option("--once", is_flag=True, help="Release what is due now and exit.")
@click.option("--batch", type=int, default=services.SWEEP_BATCH, show_default=True)
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between rounds when idle.")
@with_appcontext
def sweep_deadlines(once: bool, batch: int, poll: float) -> None:
    """Release held invoices whose consent deadline has passed, a batch per transaction. Outside
    the worker's claim order, so a backlog of deadlines never delays a consent SMS."""
    total = 0
    while True:
        try:
            n = services.release_due(db.session, limit=batch)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        finally:
            db.session.close()
        total += n
        if once and n < batch:
            break
        if n == 0:
            time.sleep(poll)
    click.echo(f"sweep: {total} invoices released")


commands = [sweep_deadlines]
