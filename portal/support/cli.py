"""Command-line tools for the support area."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from portal.core import db
from portal.core.auth import MIN_PASSWORD_LENGTH
from portal.core.cli import fail
from portal.support import services


@click.command("create-support-user")
@click.option("--email", required=True, help="E-mail address the support user logs in with.")
@click.option("--name", required=True, help="Full name, shown in the audit log.")
@click.option("--password", required=True, help=f"At least {MIN_PASSWORD_LENGTH} characters.")
def create_support_user(email: str, name: str, password: str) -> None:
    """Create a support staff account (separate from issuer staff)."""
    try:
        user = services.create_support_user(db.session, email=email, name=name, password=password)
    except services.SupportError as exc:
        fail(str(exc.message))
        return
    db.session.commit()
    click.echo(f"Support user {user.email} created (id {user.id}).")


@click.command("set-support-password")
@click.option("--email", required=True, help="E-mail address of the support user.")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              help=f"At least {MIN_PASSWORD_LENGTH} characters (asked for when not given).")
@with_appcontext
def set_support_password(email: str, password: str) -> None:
    """Give a support user a new password (a forgotten one): every session of that user ends, and
    the user is told by e-mail."""
    try:
        user = services.set_password_by_admin(db.session, email, password)
    except services.SupportError as exc:
        fail(str(exc.message))
        return
    db.session.commit()
    click.echo(f"New password set for support user {user.email}; their sessions have ended.")


commands = [create_support_user, set_support_password]
