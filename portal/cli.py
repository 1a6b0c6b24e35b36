"""Command-line tools: `flask --app wsgi <command>`."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal import db

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations to the configured database."""
    from portal.migrate import upgrade

    upgrade(current_app.config["PORTAL"]["DATABASE_URL"], revision=revision)
    click.echo(f"Database is at migration {revision}.")


@db_cli.command("downgrade")
@click.option("--revision", required=True)
def db_downgrade(revision: str) -> None:
    """Roll the schema back to a migration."""
    from portal.migrate import downgrade

    downgrade(current_app.config["PORTAL"]["DATABASE_URL"], revision=revision)
    click.echo(f"Database is at migration {revision}.")


def fail(message: str) -> None:
    """End a command with one clear line and exit status 2; nothing was saved."""
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


# Feature packages contribute commands as a list `commands` in their cli module.
FEATURE_CLI = ["portal.issuers.cli", "portal.delivery.cli", "portal.support.cli"]


def init_app(app: Flask) -> None:
    import importlib
    import importlib.util

    app.cli.add_command(db_cli)
    from portal import demo

    app.cli.add_command(demo.seed_demo)
    for module_name in FEATURE_CLI:
        if importlib.util.find_spec(module_name) is None:
            continue
        for command in importlib.import_module(module_name).commands:
            app.cli.add_command(command)
