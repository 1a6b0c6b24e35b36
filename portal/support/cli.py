"""Command-line tools for the support area."""
from __future__ import annotations

import click

from portal.core import db
from portal.core.cli import fail
from portal.support import services


@click.command("create-support-user")
@click.option("--email", required=True, help="E-mail address the support user logs in with.")
@click.option("--name", required=True, help="Full name, shown in the audit log.")
@click.option("--password", required=True, help="At least 12 characters.")
def create_support_user(email: str, name: str, password: str) -> None:
    """Create a support staff account (separate from issuer staff)."""
    try:
        user = services.create_support_user(db.session, email=email, name=name, password=password)
    except services.SupportError as exc:
        fail(str(exc.message))
        return
    db.session.commit()
    click.echo(f"Support user {user.email} created (id {user.id}).")


commands = [create_support_user]
