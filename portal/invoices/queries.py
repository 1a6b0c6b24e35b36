"""Read-side queries for the issuer's pages: dashboard counts, Sent documents."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.agreements.models import ConsentReceipt, ConsentRequest, EFakturaAgreement
from portal.agreements.reachability import Route
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact, ContactKind
from portal.contacts.rules import efaktura_blockers
from portal.core import pagination
from portal.core.formatting import OSLO
from portal.invoices.models import Invoice
from portal.invoices.services import plan_route
from portal.invoices.states import Channel, DocumentKind, InvoiceState

ATTENTION_STATES = (InvoiceState.DRAFT, InvoiceState.HELD, InvoiceState.SENDING, InvoiceState.FAILED)


def invoice_counts(sess: Session, issuer_id: int) -> dict[str, int]:
    """Invoices in the states that may need the issuer (draft, held, on their way, failed), and
    the credit notes with the amount they credited. Each is a range of an index in the issuer's
    order, so the count costs what is counted, not the issuer's whole history; how many were
    delivered lately is the dashboard's (:func:`dashboard`)."""
    rows = sess.execute(select(Invoice.state, func.count()).where(
        Invoice.issuer_id == issuer_id, Invoice.state.in_(ATTENTION_STATES), Invoice.kind == DocumentKind.INVOICE)
        .group_by(Invoice.state)).all()
    counts = {state.value: n for state, n in rows}
    notes = sess.execute(select(func.count(), func.coalesce(func.sum(Invoice.total_ore), 0)).where(
        Invoice.issuer_id == issuer_id, Invoice.kind == DocumentKind.CREDIT_NOTE)).one()
    counts["credit_notes"], counts["credited_ore"] = notes[0], -int(notes[1])
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
    kind: DocumentKind | None = None  # invoices or credit notes
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    contact_id: int | None = None
    number: str | None = None  # exactly this invoice number
    search: str | None = None  # an invoice number, a customer number, or part of the customer's name


def _sent_stmt(issuer_id: int, filters: SentFilter):
    stmt = select(Invoice).where(Invoice.issuer_id == issuer_id)
    if filters.state is not None:
        stmt = stmt.where(Invoice.state == filters.state)
    if filters.channel is not None:
        stmt = stmt.where(Invoice.channel == filters.channel)
    if filters.kind is not None:
        stmt = stmt.where(Invoice.kind == filters.kind)
    if filters.issued_from is not None:
        stmt = stmt.where(Invoice.issue_date >= filters.issued_from)
    if filters.issued_to is not None:
        stmt = stmt.where(Invoice.issue_date <= filters.issued_to)
    if filters.contact_id is not None:
        stmt = stmt.where(Invoice.contact_id == filters.contact_id)
    if filters.number:
        stmt = stmt.where(Invoice.number == filters.number)
    if filters.search:
        text = filters.search
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(
            Invoice.number == text,
            Invoice.contact_id.in_(select(Contact.id).where(
                Contact.issuer_id == issuer_id,
                or_(Contact.customer_number == text, Contact.name.ilike(pattern, escape="\\"))))))
    return stmt


def sent_documents(sess: Session, issuer_id: int, filters: SentFilter, *, cursor: str | None,
                   size: int) -> pagination.Page:
    """The issuer's invoices, newest first, narrowed by ``filters``; one page.

    Every filter is answered from an index in the page's order: newest first by (time, id) from
    the issuer's index for its state, channel or contact; filtered by issue date, newest issue
    date first, then time and id (``ix_invoices_issuer_issued_created``), so a month long ago is
    not found by reading every later invoice."""
    # Each row's customer, nettbank receipt and (for a credit note) the invoice it credits, with the page.
    stmt = _sent_stmt(issuer_id, filters).options(joinedload(Invoice.contact), joinedload(Invoice.nettbank_document),
                                                  joinedload(Invoice.credited_invoice))
    if by_issue_date(filters):
        return pagination.newest_first_by(sess, stmt, Invoice, Invoice.issue_date, cursor=cursor, size=size)
    return pagination.newest_first(sess, stmt, Invoice, cursor=cursor, size=size)


def by_issue_date(filters: SentFilter) -> bool:
    """A date range with no narrower filter is listed in issue-date order."""
    dated = filters.issued_from is not None or filters.issued_to is not None
    return (dated and filters.state is None and filters.channel is None and filters.contact_id is None
            and filters.kind is None)


CSV_LIMIT = 100_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_HEADER = {
    "nb": ("Fakturanummer", "Kundenummer", "Kunde", "Beløp (kr)", "Fakturadato", "Forfallsdato", "Kanal", "Status",
           "Dokumenttype", "Krediterer faktura"),
    "en": ("Invoice number", "Customer number", "Customer", "Amount (NOK)", "Invoice date", "Due date",
           "Channel", "Status", "Document type", "Credits invoice"),
}
# The document type as a spreadsheet shows it; amounts of credit notes are negative.
_CSV_KIND = {"nb": {DocumentKind.INVOICE: "Faktura", DocumentKind.CREDIT_NOTE: "Kreditnota"},
             "en": {DocumentKind.INVOICE: "Invoice", DocumentKind.CREDIT_NOTE: "Credit note"}}


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def sent_documents_csv(sess: Session, issuer_id: int, filters: SentFilter, *, language: str) -> str:
    """Every invoice the filter matches (newest first, at most CSV_LIMIT) as semicolon-separated
    text with a byte-order mark, so that a Norwegian spreadsheet opens it as it is."""
    language = "en" if language == "en" else "nb"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(_CSV_HEADER[language])
    stmt = (_sent_stmt(issuer_id, filters).options(joinedload(Invoice.contact), selectinload(Invoice.credited_invoice))
            .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(CSV_LIMIT))
    for inv in sess.scalars(stmt).unique():
        amount = f"{inv.total_ore // 100},{inv.total_ore % 100:02d}" if language == "nb" else \
            f"{inv.total_ore // 100}.{inv.total_ore % 100:02d}"
        if inv.total_ore < 0:
            amount = "-" + amount.replace("-", "")
        # the amount is written by us (a signed number, negative for a credit note): a number, not a formula
        row = [spreadsheet_safe(str(x)) for x in (inv.number, inv.contact.customer_number, inv.contact.name)]
        row.append(amount)
        row += [spreadsheet_safe(str(x)) for x in (
            inv.issue_date.isoformat(), inv.due_date.isoformat(),
            inv.channel.value if inv.channel else "", inv.state.value, _CSV_KIND[language][inv.kind],
            inv.credited_invoice.number if inv.credited_invoice else "")]
        writer.writerow(row)
    return "\ufeff" + out.getvalue()


# --- the issuer's dashboard ------------------------------------------------------------------

DASHBOARD_DAYS = 30


@dataclass
class Dashboard:
    """What the issuer sees first: the consent funnel and deliveries of the last days, and what
    needs attention."""

    days: int
    funnel: list[tuple[str, int]]  # (step, count): asked, approved, declined, no answer yet, expired
    channels: list[tuple[str, int]]  # (channel value, delivered count)
    failed: int
    unreachable: int  # private persons with neither e-mail nor a full postal address
    answers: list  # recent declines and stops: (ConsentReceipt, Contact)
    since: dt.date  # the first day counted (Oslo time): Sent documents from this issue date on

    @property
    def delivered(self) -> int:
        """Invoices delivered (or put in the print queue) in the last ``days`` days."""
        return sum(n for _channel, n in self.channels)


def dashboard(sess: Session, issuer_id: int, now: dt.datetime) -> Dashboard:
    since = now - dt.timedelta(days=DASHBOARD_DAYS)
    requests = select(ConsentRequest.id).where(ConsentRequest.issuer_id == issuer_id,
                                               ConsentRequest.created_at >= since)
    asked = sess.scalar(select(func.count()).select_from(requests.subquery())) or 0
    decided = dict(sess.execute(
        select(ConsentReceipt.decision, func.count())
        .where(ConsentReceipt.consent_request_id.in_(requests))
        .group_by(ConsentReceipt.decision)).all())
    open_now = sess.scalar(select(func.count()).select_from(ConsentRequest).where(
        ConsentRequest.issuer_id == issuer_id, ConsentRequest.created_at >= since,
        ConsentRequest.closed_at.is_(None))) or 0
    expired = sess.scalar(select(func.count()).select_from(ConsentRequest).where(
        ConsentRequest.issuer_id == issuer_id, ConsentRequest.created_at >= since,
        ConsentRequest.closed_at.is_not(None), ConsentRequest.answered_at.is_(None))) or 0
    funnel = [("asked", asked), ("approved", decided.get("approve", 0)), ("declined", decided.get("decline", 0)),
              ("open", open_now), ("expired", expired)]
    delivered = dict(sess.execute(
        select(Invoice.channel, func.count()).where(
            Invoice.issuer_id == issuer_id, Invoice.delivered_at >= since, Invoice.channel.is_not(None),
            Invoice.kind == DocumentKind.INVOICE)
        .group_by(Invoice.channel)).all())
    channels = [(c.value, delivered.get(c, 0)) for c in Channel]
    failed = sess.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.issuer_id == issuer_id, Invoice.state == InvoiceState.FAILED)) or 0
    no_address = or_(Contact.address_line == "", Contact.postal_code == "", Contact.city == "")
    unreachable = sess.scalar(select(func.count()).select_from(Contact).where(
        Contact.issuer_id == issuer_id, Contact.kind == ContactKind.PERSON,
        or_(Contact.email.is_(None), Contact.email == ""), no_address)) or 0
    answers = list(sess.execute(
        select(ConsentReceipt, Contact)
        .join(EFakturaAgreement, EFakturaAgreement.id == ConsentReceipt.agreement_id)
        .join(Contact, Contact.id == EFakturaAgreement.contact_id)
        .where(EFakturaAgreement.issuer_id == issuer_id, ConsentReceipt.decided_at >= since,
               ConsentReceipt.decision.in_(("decline", "stop")))
        .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc()).limit(10)))
    return Dashboard(DASHBOARD_DAYS, funnel, channels, failed, unreachable, answers,
                     since.astimezone(OSLO).date())


# --- reachability, as the API reports it ---------------------------------------------------

@dataclass
class Reachability:
    """Where an invoice issued now would go, and why (the rules of ``issue_invoice``)."""

    agreement_state: AgreementState | None
    route: str  # nettbank, held_for_consent, email, post
    channel: Channel | None
    reason: str  # agreement, general_consent, consent_request, consent_pending, declined, not_receiving, not_eligible
    blockers: list


def reachability(sess: Session, contact: Contact) -> Reachability:
    plan = plan_route(sess, contact)
    blockers = efaktura_blockers(contact, contact.issuer)
    if plan.route == "nettbank":
        reason = "agreement" if plan.found.route is Route.AGREEMENT else "general_consent"
        return Reachability(plan.agreement_state, "nettbank", Channel.NETTBANK, reason, blockers)
    if plan.route == "consent_request":
        reason = "consent_pending" if plan.agreement_state is AgreementState.REQUESTED else "consent_request"
        return Reachability(plan.agreement_state, "held_for_consent", None, reason, blockers)
    return Reachability(plan.agreement_state, plan.channel.value, plan.channel, plan.route, blockers)
