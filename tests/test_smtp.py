"""E-mail over real SMTP (aiosmtpd on loopback): content, attachment, retries and permanent errors."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from portal.core import db
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.delivery.channels import message_id
from portal.delivery.models import MailboxMessage
from portal.delivery.worker import run_once
from portal.invoices.states import Channel, InvoiceState
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.smtp import SmtpSink, free_port, html_of, pdf_attachments, pdf_text, text_of


def email_row() -> OutboxMessage:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_((OutboxKind.EMAIL, OutboxKind.INVOICE_EMAIL)))
                              .execution_options(populate_existing=True)).one()


def later(minutes: int):
    return time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes), tick=False)


@pytest.fixture
def smtp_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    app = make_app(**smtp_server.settings())
    with app.app_context():
        yield app


def invoice_by_email(language="nb"):
    """An issued invoice that goes straight to e-mail (the contact cannot get eFaktura)."""
    issuer = make_issuer(name="Fjordkraft Test AS")
    contact = make_contact(issuer, access_point=None, language=language)
    inv = make_invoice(issuer, contact, amount_ore=49900)
    db.session.commit()
    return inv


def test_invoice_email_arrives_with_pdf(smtp_app, smtp_server):
    """The invoice e-mail arrives with subject, stable Message-ID, payment details and the PDF attached."""
    inv = invoice_by_email()
    assert run_once().done == 1
    [msg] = smtp_server.messages
    assert msg["To"] == "ase@example.no"
    assert inv.number in msg["Subject"] and "Fjordkraft Test AS" in msg["Subject"]
    row = email_row()
    assert msg["Message-ID"] == message_id(row.idempotency_key)
    # The configured PORTAL_BASE_URL's host, and the installation's id in the key.
    assert msg["Message-ID"].startswith("<outbox-") and msg["Message-ID"].endswith("@localhost>")
    assert row.idempotency_key.split(":")[0] in msg["Message-ID"]
    text = text_of(msg)
    assert inv.kid in text and "623,75" in text and "PDF" in text
    assert inv.due_date.strftime("%d.%m.%Y") in text
    assert "eFaktura" in text  # the issuer offers eFaktura
    assert html_of(msg) and inv.kid in html_of(msg)
    [(name, data)] = pdf_attachments(msg)
    assert name == f"faktura-{inv.number}.pdf"
    assert inv.number in pdf_text(data)
    db.session.refresh(inv)
    assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.EMAIL)
    assert db.session.scalar(select(MailboxMessage.id)) is None  # real SMTP, not the mailbox


def test_invoice_email_in_english(smtp_app, smtp_server):
    """A contact who reads English gets the invoice e-mail in English when the catalogue has it."""
    inv = invoice_by_email(language="en")
    run_once()
    [msg] = smtp_server.messages
    assert inv.number in msg["Subject"]
    assert inv.kid in text_of(msg)


def test_consent_email_has_text_and_html(smtp_app, smtp_server):
    """A consent e-mail is sent as written, with a plain text and an HTML part holding the link."""
    issuer = make_issuer()
    make_invoice(issuer, make_contact(issuer))
    db.session.commit()
    run_once()
    [msg] = smtp_server.messages
    assert "/samtykke/" in text_of(msg) and "/samtykke/" in html_of(msg)


def test_temporary_refusal_is_retried_and_delivered_once(smtp_app, smtp_server):
    """A 451 answer leaves the row for a later attempt; the retry delivers it exactly once."""
    inv = invoice_by_email()
    smtp_server.reply = "451 4.3.0 Mailbox busy, try later"
    assert run_once().retried == 1
    row = email_row()
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "451" in row.last_error
    smtp_server.reply = None
    with later(5):
        assert run_once().done == 1
        assert run_once().processed == 0
    assert len(smtp_server.messages) == 1
    db.session.refresh(inv)
    assert inv.state is InvoiceState.DELIVERED


def test_permanent_refusal_is_dead_and_invoice_failed(smtp_app, smtp_server):
    """A 550 answer ends the row dead with the server's reason, and the invoice shows failed."""
    inv = invoice_by_email()
    smtp_server.reply = "550 5.1.1 No such user here"
    assert run_once().dead == 1
    row = email_row()
    assert row.status is OutboxStatus.DEAD and "550" in row.last_error and "No such user" in row.last_error
    db.session.refresh(inv)
    assert inv.state is InvoiceState.FAILED and "No such user" in inv.failure_reason


def test_server_down_then_up_delivers(make_app):
    """While the SMTP server is down the row waits; once it is up the e-mail is delivered."""
    sink = SmtpSink()
    sink.port = free_port()
    app = make_app(**sink.settings())
    with app.app_context():
        inv = invoice_by_email()
        assert run_once().retried == 1
        assert "ConnectionRefused" in email_row().last_error
        sink.start()
        try:
            with later(60):
                assert run_once().done == 1
        finally:
            sink.stop()
        assert len(sink.messages) == 1
        db.session.refresh(inv)
        assert inv.state is InvoiceState.DELIVERED


def test_invoice_no_longer_sending_is_skipped(smtp_app, smtp_server):
    """An invoice e-mail row for an invoice that is no longer being sent by e-mail sends nothing."""
    inv = invoice_by_email()
    inv.channel = Channel.POST
    db.session.commit()
    assert run_once().done == 1
    assert smtp_server.messages == []
