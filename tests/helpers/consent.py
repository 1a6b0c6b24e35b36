"""Consumer-side tests: the consent link taken from the SMS, BankID log-in, delivery by the worker.
The fixtures ``portal`` and ``ctx`` (a portal on the simulated BankID provider) are in conftest."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select

from portal.agreements import services as agreements
from portal.agreements.models import Consumer
from portal.core import db
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery.models import NettbankDocument
from portal.delivery.worker import run_once
from simulators.bankid.persons import KARI
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.bankid import login_consumer

_URL = re.compile(r"https?://\S+/(?:samtykke|s)/[A-Za-z0-9_.\-]+")


class BrowserClient(FlaskClient):
    """Each request in an app context of its own, as in a real server (the test's own context,
    with its session and ``g``, stays apart from the requests')."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)




def link_path(channel: OutboxKind = OutboxKind.SMS, contact_id: int | None = None) -> str:
    """The path of the consent link in the newest SMS (or e-mail) outbox row."""
    stmt = select(OutboxMessage).where(OutboxMessage.kind == channel,
                                       OutboxMessage.consent_request_id.is_not(None))
    if contact_id is not None:
        stmt = stmt.where(OutboxMessage.contact_id == contact_id)
    row = db.session.scalars(stmt.order_by(OutboxMessage.id.desc())).first()
    assert row is not None, "no consent message in the outbox"
    match = _URL.search(row.payload["text"])
    assert match, row.payload["text"]
    path = urlsplit(match.group(0)).path
    if path.startswith("/s/"):  # the SMS has a short link: the signed link it stands for
        from portal.core.tokens import ShortLink  # noqa: PLC0415 - only for SMS links

        path = "/samtykke/" + db.session.get(ShortLink, path[3:]).token
    return path


def login(client, national_id: str, next: str = "/nettbank"):
    """Log in with BankID on the real provider; returns the redirect back to ``next``."""
    response = login_consumer(client, national_id, next=next)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def consumer_by_name(name: str) -> Consumer:
    db.session.expire_all()
    return db.session.scalars(select(Consumer).where(Consumer.name == name)).one()


def run_worker():
    """Let the delivery worker do what is due (the nettbank rows are written by it)."""
    db.session.expire_all()
    result = run_once()
    db.session.expire_all()
    return result


def approved_issuer(consumer: Consumer, name: str, invoices: int = 1, **contact):
    """An issuer whose contact the consumer has approved, with ``invoices`` delivered to nettbank."""
    issuer = make_issuer(name=name)
    contact.setdefault("name", consumer.name)  # the contact is this person, as BankID names them
    person = make_contact(issuer, **contact)
    made = [make_invoice(issuer, person)]
    agreement = agreements.agreement_for(db.session, person)
    agreements.approve(db.session, agreement, consumer, channel="sms", acr="urn:bankid:bid;LOA=4",
                       shown_text="Jeg godtar eFaktura.", language="nb")
    made += [make_invoice(issuer, person) for _ in range(invoices - 1)]
    db.session.commit()
    run_worker()
    return issuer, person, agreement, made


def logged_in(ctx, person, next: str = "/nettbank"):  # noqa: A002 (mirrors login's parameter)
    """A fresh browser-like client logged in as a BankID test person, and their Consumer row."""
    client = ctx.test_client()
    login(client, person.national_id, next=next)
    return client, consumer_by_name(person.name)


def doc_for(inv) -> NettbankDocument:
    db.session.expire_all()
    return db.session.scalars(select(NettbankDocument).where(NettbankDocument.invoice_id == inv.id)).one()


def held_invoice(name="Strømselskapet AS", person=None, **contact):
    """An issuer, and a held invoice to a contact registered with the BankID test person's name."""
    person = person or KARI
    issuer = make_issuer(name=name)
    contact.setdefault("name", person.name)
    person = make_contact(issuer, **contact)
    inv = make_invoice(issuer, person)
    db.session.commit()
    return issuer, person, inv
