"""The issuer's post: print batches per day, each an address sheet and the invoice PDF per letter."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.delivery.models import PrintJob
from portal.delivery.printing import PartyInfo, render_print_batch
from portal.invoices import services as invoices
from portal.invoices.models import Invoice

PAGE_SIZE = 25


def batches(sess: Session, issuer_id: int, before: dt.date | None = None) -> tuple[list, dt.date | None]:
    """The issuer's print days with their letter counts, newest first; and the day to continue from."""
    stmt = (select(PrintJob.batch_date, func.count(PrintJob.id))
            .where(PrintJob.issuer_id == issuer_id)
            .group_by(PrintJob.batch_date))
    if before is not None:
        stmt = stmt.where(PrintJob.batch_date < before)
    rows = list(sess.execute(stmt.order_by(PrintJob.batch_date.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1][0] if more else None)


def batch_pdf(sess: Session, issuer_id: int, day: dt.date) -> bytes | None:
    """One day's letters as one PDF, or None when the issuer posted nothing that day."""
    jobs = list(sess.execute(
        select(PrintJob, Invoice).join(Invoice, Invoice.id == PrintJob.invoice_id)
        .where(PrintJob.issuer_id == issuer_id, PrintJob.batch_date == day)
        .order_by(PrintJob.id)))
    if not jobs:
        return None
    items = []
    for _job, inv in jobs:
        contact = inv.contact
        recipient = PartyInfo(contact.name, contact.address_lines[1:])
        items.append((recipient, invoices.sender_party(inv.issuer), inv.number, invoices.invoice_pdf(inv),
                      invoices.print_language(contact), inv.kind.value))
    return render_print_batch(items)
