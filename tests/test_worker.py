"""The worker: due rows are worked once, failures retry or give up, deadlines release held invoices."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agreements import services as agreements
from portal.agreements.models import Consumer
from portal.agreements.states import AgreementState
from portal.core import db
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus, enqueue
from portal.delivery.models import MailboxMessage, NettbankDocument, PrintJob
from portal.delivery.worker import backoff_seconds, run_once
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.smtp import pdf_text


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def rows(kind=None):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt.execution_options(populate_existing=True)))


def make_consumer(sub="sub-1"):
    c = Consumer(sub=sub, name="Åse Øvrebø", birth_date=dt.date(1980, 1, 1))
    db.session.add(c)
    db.session.flush()
    return c


def approve(sess, contact, who):
    agr = agreements.agreement_for(sess, contact)
    return agreements.approve(sess, agr, who, channel="sms", acr="urn:bankid:bid;LOA=4",
                              shown_text="tekst", language="nb")


def test_consent_sms_and_email_reach_the_mailbox_once(db_session):
    """A new consumer's consent SMS and e-mail land in the development mailbox, once each."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    db_session.commit()
    result = run_once()
    assert result.done == 2 and result.dead == 0
    sms = db_session.scalars(select(MailboxMessage).where(MailboxMessage.channel == "sms")).all()
    assert [m.recipient for m in sms] == ["+4791234567"] and "/s/" in sms[0].body_text
    mail = db_session.scalars(select(MailboxMessage).where(MailboxMessage.channel == "email")).one()
    assert mail.recipient == "ase@example.no" and issuer.name in mail.subject
    assert run_once().processed == 0
    assert count(MailboxMessage) == 2


def test_sms_to_an_invalid_number_is_dead_with_a_reason(db_session):
    """An SMS to a number that is not +47 and eight digits ends dead with a clear reason, no crash."""
    enqueue(db_session, OutboxKind.SMS, "test:sms:bad", {"to": "+46701234567", "text": "hei"})
    db_session.commit()
    result = run_once()
    assert result.dead == 1
    row = rows(OutboxKind.SMS)[0]
    assert row.status is OutboxStatus.DEAD and "+47" in row.last_error
    assert count(MailboxMessage) == 0


def test_agreement_invoice_lands_in_nettbank_once(db_session):
    """With an active agreement the invoice is delivered to the consumer's nettbank exactly once."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    approve(db_session, contact, make_consumer())
    inv = make_invoice(issuer, contact)
    db_session.commit()
    run_once()
    db_session.refresh(inv)
    assert inv.state is InvoiceState.DELIVERED and inv.channel is Channel.NETTBANK
    assert count(NettbankDocument, NettbankDocument.invoice_id == inv.id) == 1
    assert count(NettbankDocument) == 2  # the held one and the new one
    assert run_once().processed == 0


def test_nettbank_without_consumer_fails_the_invoice(db_session):
    """A nettbank delivery whose agreement has no verified consumer is dead and the invoice shows failed."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    approve(db_session, contact, make_consumer())
    agreements.agreement_for(db_session, contact).consumer_id = None
    db_session.commit()
    run_once()
    db_session.refresh(inv)
    assert inv.state is InvoiceState.FAILED and "BankID" in inv.failure_reason
    assert rows(OutboxKind.NETTBANK)[0].status is OutboxStatus.DEAD
    assert count(NettbankDocument) == 0


def test_invoice_without_email_is_queued_for_post(db_session):
    """A contact that cannot get eFaktura and has no e-mail gets the invoice in today's print batch."""
    issuer = make_issuer()
    contact = make_contact(issuer, email=None, access_point=None)
    inv = make_invoice(issuer, contact)
    db_session.commit()
    late_evening = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(23, 30),
                                       tzinfo=dt.UTC)  # already the next day in Oslo
    with time_machine.travel(late_evening, tick=False):
        run_once()
    db_session.refresh(inv)
    assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.POST)
    job = db_session.scalars(select(PrintJob)).one()
    assert job.invoice_id == inv.id and job.batch_date == late_evening.date() + dt.timedelta(days=1)


def test_post_without_address_fails_with_reason(db_session):
    """Post to a contact without a postal address is dead, and the invoice shows failed with the reason."""
    issuer = make_issuer()
    contact = make_contact(issuer, email=None, access_point=None, address=False)
    inv = make_invoice(issuer, contact)
    db_session.commit()
    result = run_once()
    assert result.dead == 1
    db_session.refresh(inv)
    assert inv.state is InvoiceState.FAILED and "postadresse" in inv.failure_reason
    assert "postadresse" in rows(OutboxKind.POST)[0].last_error
    assert count(PrintJob) == 0


def test_three_day_rule_releases_held_invoice_to_email_once(db_session):
    """Unanswered: nothing happens a minute before the deadline; at the deadline the invoice is e-mailed once."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    db_session.commit()
    held_until = inv.held_until
    with time_machine.travel(held_until - dt.timedelta(minutes=1), tick=False):
        run_once()
        db_session.refresh(inv)
        assert inv.state is InvoiceState.HELD
    with time_machine.travel(held_until, tick=False):
        run_once()
        db_session.refresh(inv)
        assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.EMAIL)
        mails = db_session.scalars(select(MailboxMessage).where(MailboxMessage.attachment.is_not(None))).all()
        assert len(mails) == 1
        assert mails[0].attachment_name == f"faktura-{inv.number}.pdf"
        assert inv.number in pdf_text(mails[0].attachment)
        assert inv.kid in mails[0].body_text
        assert run_once().processed == 0
    assert count(MailboxMessage, MailboxMessage.attachment.is_not(None)) == 1


def test_three_day_rule_without_email_goes_to_post(db_session):
    """A held invoice for a contact without e-mail is queued for post at the deadline."""
    issuer = make_issuer()
    contact = make_contact(issuer, email=None)
    inv = make_invoice(issuer, contact)
    db_session.commit()
    with time_machine.travel(inv.held_until, tick=False):
        run_once()
    db_session.refresh(inv)
    assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.POST)
    assert count(PrintJob) == 1


def test_approval_racing_the_deadline_gives_one_delivery(db_session, monkeypatch):
    """Approval committed while the worker releases the deadline: the worker retries, one delivery only."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    consumer = make_consumer()
    db_session.commit()
    original = invoices.deadline_passed
    raced = []

    def racing_deadline(sess, invoice_id):
        sess.get(Invoice, invoice_id)  # the worker has read the invoice as held...
        if not raced:
            raced.append(True)
            with Session(db.get_engine(), expire_on_commit=False) as other:  # ...when the consumer approves
                approve(other, other.get(type(contact), contact.id), other.get(Consumer, consumer.id))
                other.commit()
        return original(sess, invoice_id)

    monkeypatch.setattr(invoices, "deadline_passed", racing_deadline)
    with time_machine.travel(inv.held_until, tick=False):
        run_once()
        run_once()
    db_session.refresh(inv)
    assert raced
    assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.NETTBANK)
    assert count(NettbankDocument) == 1
    assert count(MailboxMessage, MailboxMessage.attachment.is_not(None)) == 0
    assert count(PrintJob) == 0


def test_deadline_after_approval_does_nothing(db_session):
    """A deadline row that comes after the approval finds the invoice delivered and changes nothing."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    approve(db_session, contact, make_consumer())
    # The deadline row was cancelled by the approval; a stray one must still be harmless.
    enqueue(db_session, OutboxKind.CONSENT_DEADLINE, "stray-deadline", {"invoice_id": inv.id}, invoice_id=inv.id)
    db_session.commit()
    run_once()
    db_session.refresh(inv)
    assert inv.state is InvoiceState.DELIVERED and count(NettbankDocument) == 1
    assert count(MailboxMessage, MailboxMessage.attachment.is_not(None)) == 0


def test_unanswered_consent_request_expires(db_session):
    """When the consent link runs out unanswered, the agreement shows expired."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    db_session.commit()
    expiry = rows(OutboxKind.CONSENT_EXPIRY)[0]
    with time_machine.travel(expiry.available_at, tick=False):
        run_once()
    assert agreements.agreement_for(db_session, contact).state is AgreementState.EXPIRED


def test_failure_backs_off_exponentially_then_gives_up(make_app):
    """A failing e-mail is retried later and later, then dead after max attempts; the invoice shows failed."""
    from tests.helpers.smtp import free_port

    app = make_app(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=1.0,
                   WORKER_MAX_ATTEMPTS=3, WORKER_BACKOFF_BASE_SECONDS=10)
    with app.app_context():
        sess = db.session
        issuer = make_issuer()
        contact = make_contact(issuer, access_point=None)
        inv = make_invoice(issuer, contact)
        sess.commit()
        start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
        with time_machine.travel(start, tick=False):
            assert run_once().retried == 1
            row = rows(OutboxKind.INVOICE_EMAIL)[0]
            assert row.attempts == 1 and row.available_at == start + dt.timedelta(seconds=10)
            assert "SMTP" in row.last_error
            assert backoff_seconds(2) == 20
            assert run_once().processed == 0  # not due yet
        with time_machine.travel(start + dt.timedelta(seconds=10), tick=False):
            run_once()
            assert rows(OutboxKind.INVOICE_EMAIL)[0].available_at == start + dt.timedelta(seconds=30)
        with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
            assert run_once().dead == 1
        sess.refresh(inv)
        assert rows(OutboxKind.INVOICE_EMAIL)[0].status is OutboxStatus.DEAD
        assert inv.state is InvoiceState.FAILED and "SMTP" in inv.failure_reason


def test_worker_once_command_prints_a_summary(app, db_session):
    """`flask worker --once` works off what is due, prints one line and exits 0."""
    enqueue(db_session, OutboxKind.SMS, "test:sms:1", {"to": "+4791234567", "text": "hei"})
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 done" in result.output
    assert count(MailboxMessage) == 1


def test_limit_caps_how_many_rows_are_processed(db_session):
    """run_once(limit=N) processes at most N rows; the rest wait for the next pass."""
    for n in range(5):
        enqueue(db_session, OutboxKind.SMS, f"test:sms:{n}", {"to": "+4791234567", "text": f"hei {n}"})
    db_session.commit()
    assert run_once(limit=2).done == 2
    assert count(MailboxMessage) == 2
    assert run_once().done == 3
