"""Read-side queries for the issuer's pages: dashboard counts, Sent documents."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from portal.agreements.models import EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.core import pagination
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState


def invoice_counts(sess: Session, issuer_id: int) -> dict[str, int]:
    rows = sess.execute(select(Invoice.state, func.count()).where(Invoice.issuer_id == issuer_id)
                        .group_by(Invoice.state)).all()
    counts = {state.value: n for state, n in rows}
    counts["contacts"] = sess.scalar(select(func.count()).select_from(Contact)
                                     .where(Contact.issuer_id == issuer_id)) or 0
    counts["agreements_active"] = sess.scalar(
        select(func.count()).select_from(EFakturaAgreement).where(
            EFakturaAgreement.issuer_id == issuer_id,
            EFakturaAgreement.state == AgreementState.ACTIVE)) or 0
    return counts


@dataclass
class SentFilter:
    """What the issuer narrowed Sent documents to; None means "any"."""

    state: InvoiceState | None = None
    channel: Channel | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    contact_id: int | None = None
    number: str | None = None


def sent_documents(sess: Session, issuer_id: int, filters: SentFilter, *, cursor: str | None,
                   size: int) -> pagination.Page:
    """The issuer's invoices, newest first, narrowed by ``filters``; one page."""
    stmt = select(Invoice).where(Invoice.issuer_id == issuer_id)
    if filters.state is not None:
        stmt = stmt.where(Invoice.state == filters.state)
    if filters.channel is not None:
        stmt = stmt.where(Invoice.channel == filters.channel)
    if filters.issued_from is not None:
        stmt = stmt.where(Invoice.issue_date >= filters.issued_from)
    if filters.issued_to is not None:
        stmt = stmt.where(Invoice.issue_date <= filters.issued_to)
    if filters.contact_id is not None:
        stmt = stmt.where(Invoice.contact_id == filters.contact_id)
    if filters.number:
        stmt = stmt.where(Invoice.number == filters.number)
    return pagination.newest_first(sess, stmt.options(joinedload(Invoice.contact)), Invoice,
                                   cursor=cursor, size=size)
