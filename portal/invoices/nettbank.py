"""The simulated nettbank's read side and the consumer's payment of an eFaktura."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agreements.models import Consumer
from portal.core import events, pagination
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.delivery.models import NettbankDocument
from portal.invoices import signals
from portal.invoices.models import Invoice
from portal.issuers.models import Issuer

PAGE_SIZE = 20


def nettbank_page(sess: Session, consumer: Consumer, cursor: str | None = None,
                  ) -> tuple[list[tuple[NettbankDocument, Invoice]], str | None]:
    """The consumer's delivered eFaktura, newest first, one page; returns the rows and the next cursor."""
    stmt = (select(NettbankDocument, Invoice).join(Invoice, Invoice.id == NettbankDocument.invoice_id)
            .where(NettbankDocument.consumer_id == consumer.id))
    page = pagination.newest_first(sess, stmt, NettbankDocument, cursor=cursor, size=PAGE_SIZE,
                                   time_column="delivered_at", scalars=False)
    return page.rows, page.next_cursor


def credit_notes_for(sess: Session, consumer: Consumer, invoice_ids: list[int],
                     ) -> dict[int, list[tuple[Invoice, NettbankDocument | None]]]:
    """The credit notes of these invoices, each with its document in this consumer's nettbank
    (None while it is on its way), oldest first: shown with the invoice they correct."""
    if not invoice_ids:
        return {}
    out: dict[int, list[tuple[Invoice, NettbankDocument | None]]] = {}
    rows = sess.execute(
        select(Invoice, NettbankDocument)
        .outerjoin(NettbankDocument, (NettbankDocument.invoice_id == Invoice.id)
                   & (NettbankDocument.consumer_id == consumer.id))
        .where(Invoice.credits_invoice_id.in_(invoice_ids)).order_by(Invoice.created_at, Invoice.id)).all()
    for note, doc in rows:
        out.setdefault(note.credits_invoice_id, []).append((note, doc))
    return out


def document_of(sess: Session, consumer: Consumer, document_id: int) -> NettbankDocument | None:
    doc = sess.get(NettbankDocument, document_id)
    if doc is None or doc.consumer_id != consumer.id:
        return None
    return doc


def mark_paid(sess: Session, consumer: Consumer, document_id: int) -> NettbankDocument | None:
    """The consumer pays an eFaktura in the simulated nettbank. Paying twice changes nothing, and
    there is nothing to pay for a credit note or an invoice credited in full."""
    doc = document_of(sess, consumer, document_id)
    if doc is None or doc.paid_at is not None:
        return doc
    inv = sess.get(Invoice, doc.invoice_id)
    if inv.amount_due_ore <= 0:
        return doc
    doc.paid_at = utcnow()
    events.record(sess, Actor("consumer", consumer.id, consumer.name or ""), "invoice", inv.id,
                  "paid_in_nettbank", issuer_id=inv.issuer_id, contact_id=inv.contact_id, invoice_id=inv.id,
                  data={"nettbank_document_id": doc.id, "amount_ore": inv.amount_due_ore})
    signals.invoice_paid.send(inv, sess=sess, paid_at=doc.paid_at)
    sess.flush()
    return doc


def issuers_sent_to(sess: Session, consumer: Consumer) -> list[tuple[Issuer, int, object]]:
    """Issuers that have delivered eFaktura to this consumer: (issuer, how many, the latest), by name."""
    rows = sess.execute(
        select(Issuer, func.count(NettbankDocument.id), func.max(NettbankDocument.delivered_at))
        .join(Invoice, Invoice.issuer_id == Issuer.id)
        .join(NettbankDocument, NettbankDocument.invoice_id == Invoice.id)
        .where(NettbankDocument.consumer_id == consumer.id)
        .group_by(Issuer.id).order_by(Issuer.name, Issuer.id)).all()
    return [(issuer, n, latest) for issuer, n, latest in rows]
