"""Command-line tools: `flask --app wsgi <command>`."""
from __future__ import annotations

import importlib

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal import demo
from portal.core.migrate import downgrade, upgrade

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the migrations to the configured database."""
    upgrade(current_app.config["PORTAL"]["DATABASE_URL"], revision=revision)
    click.echo(f"Database is at migration {revision}.")


@db_cli.command("downgrade")
@click.option("--revision", required=True)
def db_downgrade(revision: str) -> None:
    """Roll the schema back to a migration."""
    downgrade(current_app.config["PORTAL"]["DATABASE_URL"], revision=revision)
    click.echo(f"Database is at migration {revision}.")


# Feature packages contribute commands as a list `commands` in their cli module.
FEATURE_CLI = ["portal.issuers.cli", "portal.delivery.cli", "portal.support.cli", "portal.invoices.cli"]


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)

    app.cli.add_command(demo.seed_demo)
    for module_name in FEATURE_CLI:
        for command in importlib.import_module(module_name).commands:
            app.cli.add_command(command)
