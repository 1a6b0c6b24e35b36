"""The development webhook receiver: signed events from the demo issuer arrive in the mailbox."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from portal.core import db
from portal.delivery.models import MailboxMessage
from portal.delivery.worker import run_once
from portal.integrations import webhooks
from portal.invoices import nettbank
from tests.helpers.consent import approved_issuer, consumer_by_name, login


def test_paid_invoice_event_arrives_signed_in_the_mailbox(ctx, monkeypatch):
    """Paying in the nettbank sends invoice.paid; the receiver checks the signature and keeps it in the mailbox."""
    client = ctx.test_client()
    from simulators.bankid.persons import KARI

    login(client, KARI.national_id)
    kari = consumer_by_name(KARI.name)
    issuer, _person, _agr, (inv,) = approved_issuer(kari, "Vannverket AS", birth_date=dt.date(1985, 5, 15))
    receiver = ctx.config["PORTAL"]["BASE_URL"] + "/dev/webhook-mottak"
    webhooks.add_endpoint(db.session, issuer.id, receiver, ["invoice.paid"], webhooks.events.SYSTEM)
    doc = nettbank.document_of(db.session, kari, nettbank.nettbank_page(db.session, kari)[0][0][0].id)
    nettbank.mark_paid(db.session, kari, doc.id)
    db.session.commit()

    def post_to_portal(url, data, headers, timeout, allow_redirects):  # the worker's POST, served in-process
        assert url == receiver
        response = ctx.test_client().post("/dev/webhook-mottak", data=data, headers=headers)

        class Answer:
            status_code = response.status_code

        return Answer()

    monkeypatch.setattr(webhooks.requests, "post", post_to_portal)
    run_once()
    db.session.expire_all()
    kept = db.session.scalars(select(MailboxMessage).where(MailboxMessage.channel == "webhook")).all()
    assert [m.subject for m in kept] == ["invoice.paid"]
    assert "Signature verified" in kept[0].body_text
    assert json.loads(kept[0].body_text.split("\n\n", 1)[1])["data"]["number"] == inv.number
    assert "Webhook" in client.get("/dev/postkasse").get_data(as_text=True)


def test_unsigned_post_is_refused(ctx):
    """A POST without a valid signature is refused and nothing is kept."""
    response = ctx.test_client().post("/dev/webhook-mottak", data=b'{"type":"invoice.paid"}',
                                      headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert db.session.scalar(select(MailboxMessage.id).where(MailboxMessage.channel == "webhook")) is None
