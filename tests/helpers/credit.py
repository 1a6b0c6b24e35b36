"""Credit notes in tests: an invoice that has reached the customer, ready to be credited."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal.core import db
from portal.delivery.worker import run_once
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from tests.factories import ACCOUNT, STAFF, make_contact, make_issuer

TWO_LINES = [invoices.LineInput("Sykkel", Decimal(2), 400000, 25),  # 2 × 4 000 kr + 25 % = 10 000 kr
             invoices.LineInput("Bok", Decimal(3), 20000, 0)]  # 3 × 200 kr, no VAT = 600 kr


def delivered_invoice(issuer=None, *, number="5001", lines=None, via="email", **contact) -> Invoice:
    """An invoice delivered by e-mail (``via="email"``) or post (``"post"``), committed; the
    worker has run."""
    issuer = issuer or make_issuer(name="Sykkelbutikken AS")
    if via == "post":
        contact.setdefault("email", None)
    person = make_contact(issuer, access_point=None, **contact)
    inv = invoices.create_invoice(db.session, issuer, person, number=number, issue_date=_today(),
                                  due_date=_today(), kid="", account_number=ACCOUNT,
                                  lines=lines or TWO_LINES, actor=STAFF)
    invoices.issue_invoice(db.session, inv, STAFF)
    db.session.commit()
    run_once()
    db.session.expire_all()
    return db.session.get(Invoice, inv.id)


def _today() -> dt.date:
    return dt.date.today()
