"""`flask --app wsgi create-issuer ...`: a new issuer with its first staff user.

The company's name and address come from the business register (``PORTAL_REGISTER_URL``),
with the same refusals as the sign-up page: an unknown, deleted, bankrupt or liquidating unit,
or a register that does not answer, creates nothing and says why. The operator's user counts
as having a confirmed e-mail address."""
from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import with_appcontext

from portal.core import db
from portal.core.auth import MIN_PASSWORD_LENGTH
from portal.core.cli import fail
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_org_number
from portal.issuers import services


@click.command("create-issuer")
@click.option("--org-number", required=True, help="Organisation number, nine digits.")
@click.option("--email", required=True, help="E-mail of the first staff user (the log-in).")
@click.option("--password", required=True, help=f"Password of that user, at least {MIN_PASSWORD_LENGTH} characters.")
@click.option("--admin-name", default="", help="Name of that user (defaults to the e-mail).")
@click.option("--account-number", default="", help="Account number for payments (optional).")
@click.option("--avtalegiro/--no-avtalegiro", default=False, help="The company uses AvtaleGiro today.")
@with_appcontext
def create_issuer(org_number: str, email: str, password: str, admin_name: str,
                  account_number: str, avtalegiro: bool) -> None:
    """Create an issuer (name and address from the business register) and its first staff user."""
    try:
        org = validate_org_number(org_number)
    except InvalidIdentifier as exc:
        fail(f"--org-number {org_number!r}: {exc}")
    account = None
    if account_number.strip():
        try:
            account = validate_account_number(account_number)
        except InvalidIdentifier as exc:
            fail(f"--account-number {account_number!r}: {exc}")
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        fail(f"--email {email!r} is not a valid e-mail address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"--password must have at least {MIN_PASSWORD_LENGTH} characters.")
    try:
        outcome = services.create_issuer(db.session, org_number=org, admin_name=admin_name or address,
                                         email=address, password=password, account_number=account,
                                         uses_avtalegiro=avtalegiro, verified=True, notify_duplicates=False)
    except services.SignupError as exc:
        fail(f"--org-number {org}: {exc.message}" if exc.field == "org_number" else str(exc.message))
    if outcome.duplicate == "email":
        fail(f"--email {address}: a staff user with this e-mail already exists.")
    if outcome.duplicate == "org_number":
        fail(f"--org-number {org}: this company already has an account.")
    user = outcome.user
    db.session.commit()
    click.echo(f"Created issuer {user.issuer.name} (id {user.issuer_id}, org {org}) "
               f"with staff user {user.email}.")


commands = [create_issuer]
