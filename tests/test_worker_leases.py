"""Ownership of a row at every step, attempts counted at claim, keys unique across installations."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.core import db, outbox
from portal.core.db import utcnow
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus, enqueue, installation_id
from portal.delivery import handlers
from portal.delivery.channels import message_id
from portal.delivery.models import MailboxMessage
from portal.delivery.worker import POISON_REASON, claim, run_once
from portal.invoices.states import InvoiceState
from tests.factories import make_contact, make_invoice, make_issuer, make_support_user
from tests.helpers.support import login


def sms(key="lease:sms:1") -> OutboxMessage:
    row = enqueue(db.session, OutboxKind.SMS, key, {"to": "+4791234567", "text": "hei"})
    db.session.commit()
    return row


def fresh(row_id: int) -> OutboxMessage:
    db.session.rollback()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.id == row_id)
                              .execution_options(populate_existing=True)).one()


def test_attempt_is_counted_when_claimed(db_session):
    """Claiming counts the attempt and records who holds the lease, until when and since when."""
    row = sms()
    with Session(db.get_engine()) as sess:
        [claimed] = claim(sess, "worker-a", utcnow())
    assert claimed.id == row.id and claimed.attempts == 1
    got = fresh(row.id)
    assert got.attempts == 1 and got.locked_by == "worker-a"
    assert got.locked_until > utcnow() and got.locked_at is not None


def test_row_leased_by_another_worker_is_not_sent(db_session):
    """A row whose lease another worker holds is left alone until the lease runs out."""
    row = sms()
    db_session.execute(update(OutboxMessage).values(locked_by="other", locked_until=utcnow() + dt.timedelta(minutes=1)))
    db_session.commit()
    assert run_once().claimed == 0
    assert db_session.scalar(select(MailboxMessage.id)) is None
    assert fresh(row.id).status is OutboxStatus.PENDING


def test_row_whose_lease_was_taken_over_is_not_marked_done(db_session):
    """A worker that lost the row while sending reports it and leaves the row to its new holder."""
    row = sms()

    def send_while_lease_is_taken(job):
        with Session(db.get_engine()) as other:  # the lease ran out and another worker took the row
            other.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(locked_by="other"))
            other.commit()
        handlers.send_sms(job)

    outbox.register(OutboxKind.SMS, prepare=handlers.prepare_sms, send=send_while_lease_is_taken, channel="sms")
    try:
        result = run_once()
    finally:
        handlers.register_handlers()
    assert (result.done, result.lost) == (0, 1)
    assert "lost to another worker" in result.summary()
    got = fresh(row.id)
    assert got.status is OutboxStatus.PENDING and got.locked_by == "other"


def test_row_that_killed_its_worker_goes_dead_with_the_reason(db_session):
    """A row claimed max_attempts times without a result (its worker died each time) is given
    up at the next claim, and an invoice delivery shows failed."""
    issuer = make_issuer()
    inv = make_invoice(issuer, make_contact(issuer, access_point=None))
    db_session.commit()
    db_session.execute(update(OutboxMessage).where(OutboxMessage.kind == OutboxKind.INVOICE_EMAIL)
                       .values(attempts=OutboxMessage.max_attempts, locked_by="dead-worker",
                               locked_until=utcnow() - dt.timedelta(seconds=1)))
    db_session.commit()
    result = run_once()
    assert result.dead == 1 and result.done == 0
    row = db_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.INVOICE_EMAIL)
                             .execution_options(populate_existing=True)).one()
    assert row.status is OutboxStatus.DEAD and row.last_error == POISON_REASON
    db_session.refresh(inv)
    assert inv.state is InvoiceState.FAILED
    assert db_session.scalar(select(MailboxMessage.id)) is None


def test_keys_carry_the_installation_id(db_session):
    """New keys start with this installation's id, made once per database and kept."""
    row = sms("cause:1")
    inst = installation_id(db_session)
    assert len(inst) == 32 and row.idempotency_key == f"{inst}:cause:1"
    assert sms("cause:2").idempotency_key.startswith(inst + ":")


def test_message_id_is_in_the_portal_domain(make_app):
    """Message-IDs use the host of PORTAL_BASE_URL."""
    app = make_app(BASE_URL="https://faktura.example.no/portal")
    with app.app_context():
        assert message_id("abc:invoice:1:email:2") == "<outbox-abc.invoice.1.email.2@faktura.example.no>"


def test_support_sees_attempts_error_and_lease_holder(client, db_session, post_form):
    """The invoice page's outbox table shows attempts, the last error and who holds the lease."""
    issuer = make_issuer()
    inv = make_invoice(issuer, make_contact(issuer, access_point=None))
    make_support_user()
    db_session.commit()
    db_session.execute(update(OutboxMessage).where(OutboxMessage.invoice_id == inv.id)
                       .values(attempts=2, last_error="SMTP 451: try later", locked_by="host:4242:abcd",
                               locked_until=utcnow() + dt.timedelta(minutes=1)))
    db_session.commit()
    assert login(client, post_form).status_code == 302
    html = client.get(f"/kundestotte/fakturaer/{inv.id}").get_data(as_text=True)
    assert "Holdes av" in html and "host:4242:abcd" in html
    assert "SMTP 451: try later" in html and "2 / 6" in html
