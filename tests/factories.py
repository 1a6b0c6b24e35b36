"""Plain builders for test data. Each flushes; the caller commits when a request must see it."""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from portal.contacts.models import Contact, ContactKind
from portal.core import db
from portal.core.auth import hash_password
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.identifiers import kid_mod10
from portal.invoices import services as invoices
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.issuers.states import IssuerAgreementState
from portal.support.models import SupportUser

_seq = itertools.count(1)

# Valid Norwegian numbers (checksums correct).
ORG_NUMBERS = ["923609016", "974760673", "971526920", "983887457", "889640782", "995568217"]
ACCOUNT = "12345678903"
PASSWORD = "riktig-hest-batteri-42"


def make_issuer(*, name: str | None = None, active: bool = True, org_number: str | None = None,
                uses_avtalegiro: bool = False) -> Issuer:
    n = next(_seq)
    issuer = Issuer(name=name or f"Testfirma {n} AS", org_number=org_number or ORG_NUMBERS[n % len(ORG_NUMBERS)],
                    address_line="Storgata 1", postal_code="0155", city="Oslo", account_number=ACCOUNT,
                    uses_avtalegiro=uses_avtalegiro)
    db.session.add(issuer)
    db.session.flush()
    if active:
        issuer.b2c_active_since = utcnow()
        db.session.add(IssuerAgreement(issuer_id=issuer.id, approver_name="Kari Godkjenner",
                                       approver_email=f"godkjenner{n}@example.no",
                                       state=IssuerAgreementState.APPROVED, approved_at=utcnow()))
    db.session.flush()
    return issuer


def make_issuer_user(issuer: Issuer, *, email: str | None = None, password: str = PASSWORD) -> IssuerUser:
    user = IssuerUser(issuer_id=issuer.id, email=email or f"ansatt{next(_seq)}@example.no",
                      name="Ola Ansatt", password_hash=hash_password(password), email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    return user


def make_contact(issuer: Issuer, *, name: str = "Åse Øvrebø", mobile: str | None = "+4791234567",
                 email: str | None = "ase@example.no", kind: ContactKind = ContactKind.PERSON,
                 access_point: str | None = "B2CNO", receive_edocuments: bool = True,
                 address: bool = True, language: str = "nb", org_number: str | None = None,
                 birth_date: dt.date | None = None) -> Contact:
    n = next(_seq)
    contact = Contact(issuer_id=issuer.id, customer_number=f"K{n:05d}", kind=kind, name=name,
                      birth_date=birth_date, org_number=org_number, mobile=mobile, email=email,
                      address_line="Bakkeveien 2" if address else "", postal_code="5003" if address else "",
                      city="Bergen" if address else "", access_point=access_point,
                      receive_edocuments=receive_edocuments, language=language)
    db.session.add(contact)
    db.session.flush()
    return contact


STAFF = Actor("issuer_user", None, "test")


def make_invoice(issuer: Issuer, contact: Contact, *, number: str | None = None, amount_ore: int = 125000,
                 issue: bool = True, due_in_days: int = 14):
    n = next(_seq)
    number = number or f"{10000 + n}"
    today = dt.date.today()
    inv = invoices.create_invoice(
        db.session, issuer, contact, number=number, issue_date=today,
        due_date=today + dt.timedelta(days=due_in_days), kid=kid_mod10(f"{contact.id:06d}{n:06d}"),
        account_number=ACCOUNT,
        lines=[invoices.LineInput("Abonnement november", Decimal(1), amount_ore, 25)], actor=STAFF)
    if issue:
        invoices.issue_invoice(db.session, inv, STAFF)
    return inv


def make_support_user(email="stotte@example.no", name="Siri Støtte") -> SupportUser:
    user = SupportUser(email=email, name=name, password_hash=hash_password(PASSWORD))
    db.session.add(user)
    db.session.flush()
    return user
