"""Flow D: how an issued invoice is routed, and how consent decisions move held invoices."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from portal.agreements import services as agreements
from portal.agreements.models import ConsentRequest
from portal.agreements.states import AgreementState
from portal.contacts.models import ContactKind
from portal.core import db
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.core.states import InvalidTransition
from portal.invoices import services as invoices
from portal.invoices.states import Channel, InvoiceState
from tests.factories import make_contact, make_invoice, make_issuer


def outbox(kind=None, status=OutboxStatus.PENDING):
    stmt = select(OutboxMessage).where(OutboxMessage.status == status)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt.order_by(OutboxMessage.id)))


def consumer(sub="sub-1", nnin="01019012345"):
    from portal.agreements.models import Consumer

    c = Consumer(sub=sub, name="Åse Øvrebø", birth_date=dt.date(1980, 1, 1))
    db.session.add(c)
    db.session.flush()
    return c


def approve(contact, who):
    agr = agreements.agreement_for(db.session, contact)
    return agreements.approve(db.session, agr, who, channel="sms", acr="urn:bankid:bid;LOA=4",
                              shown_text="tekst", language="nb")


def test_first_invoice_is_held_and_consumer_asked_once(db_session):
    """No agreement yet: the invoice is held, one SMS and one e-mail go out, a deadline is set."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.HELD and inv.channel is None
    assert [m.payload["to"] for m in outbox(OutboxKind.SMS)] == ["+4791234567"]
    emails = outbox(OutboxKind.EMAIL)
    assert [m.payload["to"] for m in emails] == ["ase@example.no"]
    assert issuer.name in emails[0].payload["subject"]
    assert "/samtykke/" in emails[0].payload["text"]
    deadline = outbox(OutboxKind.CONSENT_DEADLINE)
    assert len(deadline) == 1 and deadline[0].available_at == inv.held_until
    assert agreements.agreement_for(db_session, contact).state is AgreementState.REQUESTED


def test_second_invoice_while_asking_sends_no_second_sms(db_session):
    """A second invoice while the request is open is held too, without a new SMS or e-mail."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    second = make_invoice(issuer, contact)
    assert second.state is InvoiceState.HELD
    assert len(outbox(OutboxKind.SMS)) == 1
    assert len(outbox(OutboxKind.EMAIL)) == 1
    assert len(outbox(OutboxKind.CONSENT_DEADLINE)) == 2


def test_approval_releases_every_held_invoice_to_nettbank(db_session):
    """Approving moves all held invoices of that issuer to nettbank and later ones go straight there."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    a, b = make_invoice(issuer, contact), make_invoice(issuer, contact)
    approve(contact, consumer())
    assert (a.state, a.channel) == (InvoiceState.SENDING, Channel.NETTBANK)
    assert (b.state, b.channel) == (InvoiceState.SENDING, Channel.NETTBANK)
    assert outbox(OutboxKind.CONSENT_DEADLINE) == []  # deadlines cancelled
    later = make_invoice(issuer, contact)
    assert (later.state, later.channel) == (InvoiceState.SENDING, Channel.NETTBANK)
    assert len(outbox(OutboxKind.NETTBANK)) == 3
    assert len(outbox(OutboxKind.SMS, status=OutboxStatus.PENDING)) == 1  # still only the first request


def test_deadline_sends_by_email_or_post(db_session):
    """After the deadline a held invoice goes by e-mail; without e-mail it goes to post."""
    issuer = make_issuer()
    with_mail = make_contact(issuer)
    without_mail = make_contact(issuer, email=None)
    a, b = make_invoice(issuer, with_mail), make_invoice(issuer, without_mail)
    assert invoices.deadline_passed(db_session, a.id)
    assert invoices.deadline_passed(db_session, b.id)
    assert (a.state, a.channel) == (InvoiceState.SENDING, Channel.EMAIL)
    assert (b.state, b.channel) == (InvoiceState.SENDING, Channel.POST)
    assert not invoices.deadline_passed(db_session, a.id)  # second run does nothing


def test_approval_after_deadline_gets_next_invoice_in_nettbank(db_session):
    """Consent after the deadline does not move the e-mailed invoice, but the next goes to nettbank."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    first = make_invoice(issuer, contact)
    invoices.deadline_passed(db_session, first.id)
    approve(contact, consumer())
    assert first.channel is Channel.EMAIL
    nxt = make_invoice(issuer, contact)
    assert nxt.channel is Channel.NETTBANK


def test_decline_sends_held_by_email_and_no_more_requests(db_session):
    """Declining sends held invoices by e-mail now and later invoices ask nothing."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    held = make_invoice(issuer, contact)
    agr = agreements.agreement_for(db_session, contact)
    agreements.decline(db_session, agr, consumer(), channel="email", acr=None, shown_text="t", language="nb")
    assert (held.state, held.channel) == (InvoiceState.SENDING, Channel.EMAIL)
    later = make_invoice(issuer, contact)
    assert (later.state, later.channel) == (InvoiceState.SENDING, Channel.EMAIL)
    assert len(outbox(OutboxKind.SMS)) == 1


@pytest.mark.parametrize("change,reason", [
    ({"kind": ContactKind.COMPANY, "access_point": "EHF", "org_number": "923609016"}, "company"),
    ({"receive_edocuments": False}, "edocuments off"),
    ({"mobile": None}, "no mobile"),
    ({"access_point": None}, "no access point"),
])
def test_contact_that_cannot_receive_efaktura_gets_email(db_session, change, reason):
    """A contact that cannot receive eFaktura is never asked; the invoice goes by e-mail."""
    issuer = make_issuer()
    contact = make_contact(issuer, **change)
    inv = make_invoice(issuer, contact)
    assert (inv.state, inv.channel) == (InvoiceState.SENDING, Channel.EMAIL), reason
    assert outbox(OutboxKind.SMS) == []


def test_inactive_issuer_sends_by_email(db_session):
    """Until the issuer agreement is approved no eFaktura is sent and nobody is asked."""
    issuer = make_issuer(active=False)
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    assert inv.channel is Channel.EMAIL and outbox(OutboxKind.SMS) == []


def test_approval_and_deadline_race_ends_in_one_delivery(db_session):
    """Once the deadline released the invoice, approval leaves it on its channel: exactly one delivery."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    assert invoices.deadline_passed(db_session, inv.id)
    approve(contact, consumer())
    deliveries = [m for m in outbox() if m.kind in (OutboxKind.INVOICE_EMAIL, OutboxKind.NETTBANK, OutboxKind.POST)
                  and m.invoice_id == inv.id]
    assert [m.kind for m in deliveries] == [OutboxKind.INVOICE_EMAIL]
    with pytest.raises(InvalidTransition):
        invoices.release_held(db_session, inv, agreements.events.SYSTEM, reason="again")


def test_identity_conflict_refused(db_session):
    """A contact bound to one BankID identity cannot be approved by another person."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    approve(contact, consumer("first"))
    agr = agreements.agreement_for(db_session, contact)
    agreements.stop(db_session, agr, agr.consumer, acr=None, shown_text="t", language="nb")
    with pytest.raises(agreements.ConsentError) as err:
        approve(contact, consumer("second"))
    assert err.value.code == "identity_conflict"


def test_events_record_every_change(db_session):
    """Every state change of agreement and invoice leaves an event with from and to state."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    approve(contact, consumer())
    rows = list(db_session.scalars(select(Event).where(Event.invoice_id == inv.id).order_by(Event.id)))
    assert [(e.action, e.from_state, e.to_state) for e in rows] == [
        ("create", None, "draft"), ("hold", "draft", "held"), ("release", "held", "sending")]
    agr_events = list(db_session.scalars(select(Event).where(Event.subject_type == "agreement")))
    assert [(e.from_state, e.to_state) for e in agr_events] == [(None, "requested"), ("requested", "active")]
    assert db_session.scalar(select(ConsentRequest)).answered_at is not None
