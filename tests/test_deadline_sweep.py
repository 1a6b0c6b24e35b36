"""The three-day rule in bulk: due held invoices leave the hold in one batch, each with its own
event and delivery row, and their deadline rows are cancelled (the worker never claims them)."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from portal.core import db
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.delivery.worker import run_once
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from tests.factories import make_contact, make_invoice, make_issuer


def test_sweep_releases_due_invoices_in_bulk(db_session):
    issuer = make_issuer()
    with_email = make_contact(issuer)
    without = make_contact(issuer, email=None)
    due = [make_invoice(issuer, with_email) for _ in range(3)] + [make_invoice(issuer, without)]
    db_session.commit()
    deadline = max(inv.held_until for inv in due)
    with time_machine.travel(deadline - dt.timedelta(minutes=1), tick=False):
        assert invoices.release_due(db_session) == 0
    with time_machine.travel(deadline + dt.timedelta(seconds=1), tick=False):
        assert invoices.release_due(db_session, limit=2) == 2  # a batch at a time
        db_session.commit()
        assert invoices.release_due(db_session) == 2
        db_session.commit()
        assert invoices.release_due(db_session) == 0
    states = {i.id: (i.state, i.channel, i.route) for i in db_session.scalars(
        select(Invoice).execution_options(populate_existing=True))}
    for inv in due[:3]:
        assert states[inv.id] == (InvoiceState.SENDING, Channel.EMAIL, "no_consent")
    assert states[due[3].id] == (InvoiceState.SENDING, Channel.POST, "no_consent")
    deadlines = db_session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CONSENT_DEADLINE)).all()
    assert {r.status for r in deadlines} == {OutboxStatus.CANCELLED}
    sends = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind.in_([OutboxKind.INVOICE_EMAIL, OutboxKind.POST]))).all()
    assert sorted(r.invoice_id for r in sends) == sorted(i.id for i in due)
    releases = db_session.scalar(select(func.count()).select_from(Event).where(Event.action == "release"))
    assert releases == 4
    with time_machine.travel(deadline + dt.timedelta(seconds=2), tick=False):
        run_once()
    delivered = db_session.scalars(select(Invoice.state).execution_options(populate_existing=True)).all()
    assert set(delivered) == {InvoiceState.DELIVERED}


def test_sweep_leaves_invoices_that_are_not_due_or_not_held(db_session):
    issuer = make_issuer()
    contact = make_contact(issuer)
    inv = make_invoice(issuer, contact)
    db_session.commit()
    with time_machine.travel(inv.held_until + dt.timedelta(seconds=1), tick=False):
        assert invoices.deadline_passed(db_session, inv.id)
        db_session.commit()
        assert invoices.release_due(db_session) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.INVOICE_EMAIL)) == 1
