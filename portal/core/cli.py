"""What every command-line tool shares."""
from __future__ import annotations

import sys

import click

from portal.core import db


def fail(message: str) -> None:
    """End a command with one clear line and exit status 2; nothing was saved."""
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)
