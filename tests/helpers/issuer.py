"""Issuer staff in tests: an issuer with a user, log-in, sign-up and the e-mail confirmation link."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from portal.core import db
from portal.core.outbox import OutboxMessage
from portal.issuers.models import Issuer
from tests.conftest import AuthActions
from tests.factories import PASSWORD, make_contact, make_issuer, make_issuer_user

# A valid private-person contact as the form posts it.
CONTACT_FORM = {"customer_number": "5001", "kind": "person", "name": "Per Persen", "org_number": "",
                "mobile": "+4791234567", "email": "per@example.no", "address_line": "Vei 1", "postal_code": "0155",
                "city": "Oslo", "language": "nb", "access_point": "B2CNO", "receive_edocuments": "y"}


def login(client, post_form, user_email: str, password: str = PASSWORD, next_url: str | None = None):
    """The ``issuer_auth`` fixture's log-in, for helpers that have only the client and post_form."""
    return AuthActions(post_form, client, "/utsteder/logg-inn", "/utsteder/logg-ut").login(
        user_email, password, next_url)


def staff(app, **issuer_kwargs):
    """An issuer and a staff user, committed in an app context of their own (requests then get
    fresh contexts, as in a browser)."""
    with app.app_context():
        issuer = make_issuer(**issuer_kwargs)
        user = make_issuer_user(issuer)
        db.session.commit()
    return issuer, user


def query(app, fn):
    """Run fn(session) in a fresh app context and return its result."""
    with app.app_context():
        return fn(db.session)


def verification_path(app, to: str) -> str:
    """The path of the newest e-mail confirmation link sent to ``to``."""
    def newest(s):
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        return next(r.payload["text"] for r in rows if r.payload.get("to") == to
                    and r.payload.get("purpose") == "email_verification")

    text = query(app, newest)
    return re.search(r"http://localhost(/utsteder/bekreft-epost/\S+)", text).group(1)


def signup(post_form, org="923 609 016", email="Siri@Fjord.no", **extra):
    data = {"org_number": org, "admin_name": "Siri Sjef", "email": email,
            "password": "langt-passord-1", "confirm": "langt-passord-1", **extra}
    return post_form("/utsteder/registrer", data)


def setup(app, active=True, **contact_kwargs):
    """An issuer with a staff user and one contact."""
    issuer, user = staff(app, active=active)
    with app.app_context():
        contact = make_contact(db.session.get(Issuer, issuer.id), **contact_kwargs)
        db.session.commit()
    return issuer, user, contact


def form_data(**over):
    today = dt.date.today()
    data = {"number": "", "issue_date": today.isoformat(), "due_date": (today + dt.timedelta(days=14)).isoformat(),
            "kid": "", "account_number": "1234.56.78903", "total": "", "total_description": "",
            "lines-0-description": "Rørleggerarbeid", "lines-0-quantity": "2", "lines-0-unit_price": "1 234,50",
            "lines-0-vat": "25", "action": "issue"}
    data.update(over)
    return data
