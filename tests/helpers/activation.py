"""B2C activation in tests: an issuer the register knows, the approver's e-mail and link, and the
approver's BankID answer."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.agreements import services as agreements
from portal.core import db
from portal.core.events import Actor
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.issuers.models import Issuer
from simulators.bankid.persons import KARI
from tests.conftest import csrf_from
from tests.factories import make_contact
from tests.helpers.bankid import login_consumer
from tests.helpers.issuer import query
from tests.helpers.issuer import staff as issuer_staff

SIGNABLE_ORG = "923609016"  # Fjordlys Energi AS in the simulated register


def staff(app, **kwargs):
    return issuer_staff(app, org_number=SIGNABLE_ORG, **kwargs)


def approver_client(app, path, national_id=KARI.national_id):
    """A fresh browser that opened the link and logged in with BankID."""
    c = app.test_client()
    assert c.get(path).status_code == 200
    resp = login_consumer(c, national_id, next=path)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    return c


def answer(c, path, decision="approve"):
    page = c.get(path)
    if page.status_code != 200:
        return page
    html = page.get_data(as_text=True)
    digest = html.split('name="digest" type="hidden" value="')[1].split('"')[0] if 'name="digest" type="hidden"' in html \
        else html.split('name="digest" value="')[1].split('"')[0]
    return c.post(path, data={"csrf_token": csrf_from(html), "digest": digest, "decision": decision})


LINK = re.compile(r"http://localhost(/utstederavtale/[A-Za-z0-9_.\-]+)")


def seed_third_party(app, issuer_id: int, n: int) -> None:
    with app.app_context():
        issuer = db.session.get(Issuer, issuer_id)
        for i in range(n):
            contact = make_contact(issuer, name=f"Kunde {i}")
            agreements.import_third_party(db.session, contact, Actor("system", None, "import"))
        db.session.commit()


def approver_mails(app):
    return query(app, lambda s: list(s.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.EMAIL).order_by(OutboxMessage.id))))


def activate(client, post_form, name="Kari Godkjenner", email="kari@firma.no", **extra):
    data = {"approver_name": name, "approver_email": email, "confirm": "y", **extra}
    return post_form("/utsteder/b2c/bekreft", data, page="/utsteder/b2c")


def link_of(msg) -> str:
    return LINK.search(msg.payload["text"]).group(1)
