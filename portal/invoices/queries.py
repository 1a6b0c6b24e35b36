"""Read-side queries for the issuer's pages: dashboard counts, Sent documents."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from portal.agreements import services as agreements
from portal.agreements.models import EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.contacts.rules import efaktura_blockers
from portal.core import pagination
from portal.invoices.models import Invoice
from portal.invoices.services import fallback_channel
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


@dataclass
class Reachability:
    """Where an invoice issued now would go, and why (the rules of ``issue_invoice``)."""

    agreement_state: AgreementState | None
    route: str  # nettbank, held_for_consent, email, post
    channel: Channel | None
    reason: str  # agreement, consent_request, consent_pending, declined, not_eligible
    blockers: list


def reachability(sess: Session, contact: Contact) -> Reachability:
    agreement = agreements.agreement_for(sess, contact)
    state = agreement.state if agreement else None
    blockers = efaktura_blockers(contact, contact.issuer)
    if not blockers and state is AgreementState.ACTIVE and agreement.consumer_id is not None:
        return Reachability(state, "nettbank", Channel.NETTBANK, "agreement", blockers)
    if not blockers and state is AgreementState.REQUESTED:
        return Reachability(state, "held_for_consent", None, "consent_pending", blockers)
    if not blockers and agreements.can_request(agreement):
        return Reachability(state, "held_for_consent", None, "consent_request", blockers)
    channel = fallback_channel(contact)
    reason = "declined" if state in (AgreementState.DECLINED, AgreementState.STOPPED) else "not_eligible"
    return Reachability(state, channel.value, channel, reason, blockers)
