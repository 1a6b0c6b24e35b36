"""`flask --app wsgi create-issuer ...`: a new issuer with its first staff user."""
from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import with_appcontext

from portal.core import db
from portal.core.cli import fail
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_org_number
from portal.issuers import services


@click.command("create-issuer")
@click.option("--name", required=True, help="The company's name.")
@click.option("--org-number", required=True, help="Organisation number, nine digits.")
@click.option("--email", required=True, help="E-mail of the first staff user (the log-in).")
@click.option("--password", required=True, help="Password of that user, at least 10 characters.")
@click.option("--admin-name", default="", help="Name of that user (defaults to the e-mail).")
@click.option("--account-number", default="", help="Account number for payments (optional).")
@click.option("--avtalegiro/--no-avtalegiro", default=False, help="The company uses AvtaleGiro today.")
@with_appcontext
def create_issuer(name: str, org_number: str, email: str, password: str, admin_name: str,
                  account_number: str, avtalegiro: bool) -> None:
    """Create an issuer and its first staff user."""
    if not name.strip():
        fail("--name is empty; give the company's name.")
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
    if len(password) < services.MIN_PASSWORD_LENGTH:
        fail(f"--password must have at least {services.MIN_PASSWORD_LENGTH} characters.")
    try:
        user = services.create_issuer(db.session, name=name, org_number=org, admin_name=admin_name or address,
                                      email=address, password=password, account_number=account,
                                      uses_avtalegiro=avtalegiro)
    except services.SignupError as exc:
        fail(str(exc.message))
    db.session.commit()
    click.echo(f"Created issuer {user.issuer.name} (id {user.issuer_id}, org {org}) "
               f"with staff user {user.email}.")


commands = [create_issuer]
