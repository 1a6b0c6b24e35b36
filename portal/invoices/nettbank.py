"""The simulated nettbank's read side and the consumer's payment of an eFaktura."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal.agreements.models import Consumer
from portal.core import events
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.delivery.models import NettbankDocument
from portal.invoices.models import Invoice

PAGE_SIZE = 20


def parse_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    """A keyset cursor ``<microseconds since epoch>.<id>``; anything else is ignored."""
    if not raw:
        return None
    stamp, _, ident = raw.partition(".")
    if not (stamp.isdigit() and ident.isdigit()) or len(stamp) > 20 or len(ident) > 18:
        return None
    try:
        when = dt.datetime.fromtimestamp(int(stamp) / 1_000_000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when, int(ident)


def make_cursor(doc: NettbankDocument) -> str:
    micros = int(doc.delivered_at.timestamp() * 1_000_000)
    return f"{micros}.{doc.id}"


def nettbank_page(sess: Session, consumer: Consumer, cursor: str | None = None,
                  ) -> tuple[list[tuple[NettbankDocument, Invoice]], str | None]:
    """The consumer's delivered eFaktura, newest first, one page; returns the rows and the next cursor."""
    stmt = (select(NettbankDocument, Invoice).join(Invoice, Invoice.id == NettbankDocument.invoice_id)
            .where(NettbankDocument.consumer_id == consumer.id))
    after = parse_cursor(cursor)
    if after is not None:
        when, ident = after
        stmt = stmt.where(or_(NettbankDocument.delivered_at < when,
                              (NettbankDocument.delivered_at == when) & (NettbankDocument.id < ident)))
    stmt = stmt.order_by(NettbankDocument.delivered_at.desc(), NettbankDocument.id.desc()).limit(PAGE_SIZE + 1)
    rows = [tuple(r) for r in sess.execute(stmt)]
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (make_cursor(rows[-1][0]) if more else None)


def document_of(sess: Session, consumer: Consumer, document_id: int) -> NettbankDocument | None:
    doc = sess.get(NettbankDocument, document_id)
    if doc is None or doc.consumer_id != consumer.id:
        return None
    return doc


def mark_paid(sess: Session, consumer: Consumer, document_id: int) -> NettbankDocument | None:
    """The consumer pays an eFaktura in the simulated nettbank. Paying twice changes nothing."""
    doc = document_of(sess, consumer, document_id)
    if doc is None or doc.paid_at is not None:
        return doc
    doc.paid_at = utcnow()
    inv = sess.get(Invoice, doc.invoice_id)
    events.record(sess, Actor("consumer", consumer.id, consumer.name or ""), "invoice", inv.id,
                  "paid_in_nettbank", issuer_id=inv.issuer_id, contact_id=inv.contact_id, invoice_id=inv.id,
                  data={"nettbank_document_id": doc.id})
    sess.flush()
    return doc
