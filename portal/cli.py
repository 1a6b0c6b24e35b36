"""Command-line tools: `flask --app wsgi <command>`."""
from __future__ import annotations

import importlib

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from portal import demo
from portal.agreements import digest
from portal.core import db
from portal.core.db import utcnow
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


@click.command("send-digests")
@with_appcontext
def send_digests() -> None:
    """Queue the daily e-mail to issuers who asked for it (declines and stops of the last day).
    Run once a day (cron); running it twice on one day sends nothing more."""
    queued = digest.send_digests(db.session, utcnow(), current_app.config["PORTAL"]["BASE_URL"])
    db.session.commit()
    click.echo(f"{queued} digest e-mail(s) queued.")


# Feature packages contribute commands as a list `commands` in their cli module.
FEATURE_CLI = ["portal.issuers.cli", "portal.delivery.cli", "portal.support.cli", "portal.invoices.cli"]


def init_app(app: Flask) -> None:
    app.cli.add_command(db_cli)

    app.cli.add_command(demo.seed_demo)
    app.cli.add_command(send_digests)
    for module_name in FEATURE_CLI:
        for command in importlib.import_module(module_name).commands:
            app.cli.add_command(command)
