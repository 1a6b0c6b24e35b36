"""Demo data for `make run`: loaded idempotently."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load demo issuers, users, contacts and invoices (safe to run again)."""
    click.echo("Demo data: nothing to load yet.")
