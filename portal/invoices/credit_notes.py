"""Credit notes (kreditnota): how an issued invoice is corrected.

An issued invoice is never changed or deleted (bookkeeping rules). A mistake, a returned item or
a cancelled service is corrected by a credit note: a document of its own, with a number from the
issuer's one number series (the same as its invoices: unique per issuer, the next free number),
today's date, a reference to the credited invoice, and the credited lines with negative
quantities and amounts, VAT per rate. It is an ``Invoice`` row of kind ``credit_note``, so it
reuses the PDF, the stored PDF, the outbox delivery, Sent documents and the history.

What may be credited: an invoice that has reached the customer (delivered in the nettbank, by
e-mail or to the print queue; paid or not). A held, sending or failed invoice has not reached
anyone yet; crediting it would send a correction of something the customer never got.

Never more than what remains: the credited invoice's row is locked (``FOR UPDATE`` on
PostgreSQL) before what remains is read, its ``credited_ore`` is raised with its version checked
(a concurrent credit note that read the same version fails), and a check constraint keeps
``credited_ore`` within the invoice's total.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core import events
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.formatting import OSLO, format_money
from portal.core.text import MSG_CONTROL, has_control
from portal.invoices import signals
from portal.invoices.models import Invoice, InvoiceLine
from portal.invoices.services import (
    _enqueue_delivery,
    _move,
    _round_ore,
    next_invoice_number,
    number_taken,
)
from portal.invoices.states import DocumentKind, InvoiceAction, InvoiceState

MAX_REASON = 300

MSG_NOT_DELIVERED = _l("Fakturaen kan krediteres når den er levert til kunden. Den er ikke levert ennå, "
                       "så kunden har ikke fått noe som må rettes.")
MSG_FAILED = _l("Leveringen av fakturaen feilet, så kunden har ikke fått den. Send den på nytt først; "
                "når den er levert, kan den krediteres.")
MSG_DRAFT = _l("Et utkast er ikke sendt og kan endres eller slettes; det trenger ingen kreditnota.")
MSG_IS_CREDIT_NOTE = _l("En kreditnota kan ikke krediteres.")
MSG_FULLY_CREDITED = _l("Fakturaen er allerede kreditert i sin helhet.")
MSG_NOTHING_CHOSEN = _l("Velg minst én linje og et antall, eller et beløp per mva-sats, som skal krediteres.")
MSG_REST = _l("Resten av fakturaen")
MSG_QUANTITY_POSITIVE = _l("Antallet må være større enn null.")
MSG_QUANTITY_TOO_MANY = _l("Høyst %(max)s kan krediteres på denne linjen.")
MSG_REASON_REQUIRED = _l("Skriv hvorfor fakturaen krediteres (for eksempel «returnert vare»).")
MSG_REASON_TOO_LONG = _l("Årsaken kan være høyst 300 tegn.")
MSG_TOO_MUCH = _l("Kreditnotaen ville kreditert mer enn det som gjenstår av fakturaen.")
MSG_UNKNOWN_LINE = _l("Linjen finnes ikke på fakturaen.")
MSG_UNKNOWN_RATE = _l("Fakturaen har ingen linjer med denne mva-satsen.")
MSG_AMOUNT_POSITIVE = _l("Beløpet må være større enn null.")
MSG_RATE_TOO_MUCH = _l("Høyst %(max)s kan krediteres med %(rate)s %% mva.")


class NotCreditable(Exception):
    """The invoice cannot be credited (``code``: not_delivered, failed, draft, credit_note,
    fully_credited); ``message`` says why, for the person or system that asked."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


class CreditInputError(ValueError):
    """The partial credit as given cannot be made; ``errors`` maps a field (``reason``,
    ``lines.<i>.quantity`` with ``i`` the line's index on the invoice, or ``lines``) to a message."""

    def __init__(self, errors: dict[str, str], *, code: str = "invalid"):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.code = code  # invalid | too_much


@dataclass(frozen=True)
class CreditLine:
    """Credit ``quantity`` (positive) of the invoice line at ``index`` (0-based, as listed)."""

    index: int
    quantity: Decimal


@dataclass(frozen=True)
class Remaining:
    """What is left to credit of one invoice line."""

    line: InvoiceLine
    quantity: Decimal
    net_ore: int
    vat_ore: int


@dataclass(frozen=True)
class RateLeft:
    """What is left to credit at one VAT rate (øre, positive)."""

    rate: int
    net_ore: int
    vat_ore: int

    @property
    def total_ore(self) -> int:
        return self.net_ore + self.vat_ore


def remaining_by_rate(sess: Session, inv: Invoice) -> dict[int, RateLeft]:
    """Per VAT rate: the invoice's lines at that rate less every credit note line at that rate
    (by line or by amount), highest rate first."""
    totals: dict[int, list[int]] = {}
    for ln in inv.lines:
        t = totals.setdefault(ln.vat_rate_percent, [0, 0])
        t[0] += ln.line_net_ore
        t[1] += ln.line_vat_ore
    for rate, net, vat in sess.execute(
            select(InvoiceLine.vat_rate_percent, func.sum(InvoiceLine.line_net_ore), func.sum(InvoiceLine.line_vat_ore))
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(Invoice.credits_invoice_id == inv.id)
            .group_by(InvoiceLine.vat_rate_percent)):
        t = totals.setdefault(rate, [0, 0])
        t[0] += int(net or 0)
        t[1] += int(vat or 0)
    return {rate: RateLeft(rate, max(net, 0), max(vat, 0)) for rate, (net, vat) in sorted(totals.items(), reverse=True)}


def _has_amount_credits(sess: Session, inv: Invoice) -> bool:
    return sess.scalar(select(InvoiceLine.id).join(Invoice, Invoice.id == InvoiceLine.invoice_id).where(
        Invoice.credits_invoice_id == inv.id, InvoiceLine.credits_line_id.is_(None)).limit(1)) is not None


def _amount_lines(by_rate: dict[int, RateLeft], amounts: dict[int, int], description: str,
                  ) -> tuple[list[dict], dict[str, str], bool]:
    """Credit lines for an amount (øre incl. VAT) per VAT rate, or the errors per rate."""
    errors: dict[str, str] = {}
    out: list[dict] = []
    too_much = False
    for rate, amount in amounts.items():
        key = f"amounts.{rate}"
        left = by_rate.get(rate)
        if left is None:
            errors[key] = str(MSG_UNKNOWN_RATE)
            continue
        if amount < 0:
            errors[key] = str(MSG_AMOUNT_POSITIVE)
            continue
        if amount == 0:
            continue
        if amount > left.total_ore:
            errors[key] = str(MSG_RATE_TOO_MUCH) % {"max": format_money(left.total_ore, "en" if _english() else "nb"),
                                                      "rate": rate}
            too_much = True
            continue
        if amount == left.total_ore:  # the rest at this rate: exactly what is left of base and VAT
            net, vat = left.net_ore, left.vat_ore
        else:
            net = min(_round_ore(Decimal(amount) * 100 / (100 + rate)), left.net_ore)
            vat = amount - net
        out.append({"line": None, "description": description, "rate": rate, "quantity": Decimal(-1),
                    "unit_price": net, "net": -net, "vat": -vat})
    return out, errors, too_much


def refusal(inv: Invoice) -> NotCreditable | None:
    """Why this invoice cannot be credited now, or None when it can."""
    if inv.kind is DocumentKind.CREDIT_NOTE:
        return NotCreditable("credit_note", MSG_IS_CREDIT_NOTE)
    if inv.state is InvoiceState.DRAFT:
        return NotCreditable("draft", MSG_DRAFT)
    if inv.state is InvoiceState.FAILED:
        return NotCreditable("failed", MSG_FAILED)
    if inv.state is not InvoiceState.DELIVERED:
        return NotCreditable("not_delivered", MSG_NOT_DELIVERED)
    if inv.creditable_ore <= 0:
        return NotCreditable("fully_credited", MSG_FULLY_CREDITED)
    return None


def credit_notes_of(sess: Session, inv: Invoice) -> list[Invoice]:
    """The credit notes of an invoice, oldest first."""
    return list(sess.scalars(select(Invoice).where(Invoice.credits_invoice_id == inv.id)
                             .order_by(Invoice.created_at, Invoice.id)))


def remaining_lines(sess: Session, inv: Invoice) -> list[Remaining]:
    """Each line of the invoice with what credit notes have not yet taken back."""
    credited = {row.credits_line_id: row for row in sess.execute(
        select(InvoiceLine.credits_line_id, func.sum(InvoiceLine.quantity).label("quantity"),
               func.sum(InvoiceLine.line_net_ore).label("net"), func.sum(InvoiceLine.line_vat_ore).label("vat"))
        .where(InvoiceLine.credits_line_id.in_([ln.id for ln in inv.lines]))
        .group_by(InvoiceLine.credits_line_id))}
    out = []
    for ln in inv.lines:
        row = credited.get(ln.id)
        quantity = ln.quantity + (Decimal(row.quantity) if row else 0)  # credited quantities are negative
        net = ln.line_net_ore + (int(row.net) if row else 0)
        vat = ln.line_vat_ore + (int(row.vat) if row else 0)
        out.append(Remaining(ln, max(quantity, Decimal(0)), max(net, 0), max(vat, 0)))
    return out


def _locked(sess: Session, inv: Invoice) -> Invoice:
    """The invoice as it is now, its row locked until the transaction ends (PostgreSQL): a second
    credit note of the same invoice waits here and then sees what the first one took."""
    stmt = select(Invoice).where(Invoice.id == inv.id).execution_options(populate_existing=True)
    if sess.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Invoice)
    return sess.scalars(stmt).one()


def _check_reason(reason: str, *, required: bool) -> dict[str, str]:
    if not reason and required:
        return {"reason": str(MSG_REASON_REQUIRED)}
    if len(reason) > MAX_REASON:
        return {"reason": str(MSG_REASON_TOO_LONG)}
    if has_control(reason):
        return {"reason": str(MSG_CONTROL)}
    return {}


def _english() -> bool:
    """Whether the reader's language writes decimals with a point (English) rather than a comma."""
    return str(get_locale() or "nb") == "en"


def _format_quantity(q: Decimal) -> str:
    text = f"{q.normalize():f}"
    return text if _english() else text.replace(".", ",")


def _credit_lines(left: list[Remaining], chosen: list[CreditLine] | None,
                  ) -> tuple[list[dict], dict[str, str], bool]:
    """The credit note's lines (negative), or the errors per field, and whether more than what
    remains was asked for."""
    errors: dict[str, str] = {}
    too_much = False
    out: list[dict] = []
    wanted = [CreditLine(i, r.quantity) for i, r in enumerate(left) if r.quantity > 0 or r.net_ore or r.vat_ore] \
        if chosen is None else chosen
    for item in wanted:
        key = f"lines.{item.index}.quantity"
        if not 0 <= item.index < len(left):
            errors[key] = str(MSG_UNKNOWN_LINE)
            continue
        r = left[item.index]
        q = item.quantity
        if chosen is not None:
            if not q.is_finite() or q < 0:
                errors[key] = str(MSG_QUANTITY_POSITIVE)
                continue
            if q == 0:
                continue
            if q > r.quantity:
                errors[key] = str(MSG_QUANTITY_TOO_MANY) % {"max": _format_quantity(r.quantity)}
                too_much = True
                continue
        ln = r.line
        if q == r.quantity:  # the rest of the line: exactly what is left, so a full credit is exact
            net, vat = r.net_ore, r.vat_ore
        else:
            net = min(_round_ore(q * ln.unit_price_ore), r.net_ore)
            vat = min(_round_ore(Decimal(net) * ln.vat_rate_percent / 100), r.vat_ore)
        if net == 0 and vat == 0 and q == 0:
            continue
        out.append({"line": ln, "description": ln.description, "rate": ln.vat_rate_percent, "quantity": -q,
                    "unit_price": ln.unit_price_ore, "net": -net, "vat": -vat})
    return out, errors, too_much


def _today() -> dt.date:
    return dt.datetime.now(OSLO).date()


def create_credit_note(sess: Session, inv: Invoice, actor: Actor, *, lines: list[CreditLine] | None = None,
                       amounts: dict[int, int] | None = None, reason: str = "") -> Invoice:
    """Credit the invoice: everything that remains (neither ``lines`` nor ``amounts``), or the
    chosen quantities of its lines and/or an amount (øre incl. VAT) per VAT rate — a reason is
    then required. The credit note is issued at once and goes to the customer the way the invoice
    went, with no consent hold (the invoice already reached them).

    Raises NotCreditable, or CreditInputError (``code`` "too_much" when more than what remains
    was asked for); nothing is written then. Raises StaleDataError when another transaction
    changed the invoice at the same moment (SQLite; on PostgreSQL the row lock makes it wait)."""
    reason = " ".join((reason or "").split())
    inv = _locked(sess, inv)
    refused = refusal(inv)
    if refused is not None:
        raise refused
    partial = lines is not None or amounts is not None
    errors = _check_reason(reason, required=partial)
    by_rate = remaining_by_rate(sess, inv)
    if not partial and _has_amount_credits(sess, inv):
        # amounts were credited before: the rest is credited per VAT rate, exactly what is left
        credit, more, too_much = _amount_lines(by_rate, {r.rate: r.total_ore for r in by_rate.values()},
                                               reason or str(MSG_REST))
    else:
        chosen = (lines or []) if partial else None  # None: every line, in full
        credit, more, too_much = _credit_lines(remaining_lines(sess, inv), chosen)
    errors.update(more)
    if amounts:
        extra, more, over = _amount_lines(by_rate, amounts, reason)
        credit += extra
        errors.update(more)
        too_much = too_much or over
    if not errors and not credit:
        errors["lines" if lines is not None or amounts is None else "amounts"] = str(MSG_NOTHING_CHOSEN)
    if not errors:  # lines and amounts together never take more than is left at a rate
        for rate, left in by_rate.items():
            if -sum(c["net"] + c["vat"] for c in credit if c["rate"] == rate) > left.total_ore:
                errors["lines"] = str(MSG_TOO_MUCH)
                too_much = True
    if errors:
        raise CreditInputError(errors, code="too_much" if too_much else "invalid")
    net = sum(c["net"] for c in credit)
    vat = sum(c["vat"] for c in credit)
    if -(net + vat) > inv.creditable_ore:
        raise CreditInputError({"lines": str(MSG_TOO_MUCH)}, code="too_much")

    note = Invoice(issuer_id=inv.issuer_id, contact_id=inv.contact_id, kind=DocumentKind.CREDIT_NOTE,
                   credits_invoice_id=inv.id, issue_date=_today(), due_date=_today(), kid="",
                   account_number=inv.account_number, net_ore=net, vat_ore=vat, total_ore=net + vat,
                   state=InvoiceState.DRAFT, created_by=actor.label, credit_reason=reason or None)
    for pos, c in enumerate(credit, start=1):
        note.lines.append(InvoiceLine(position=pos, description=c["description"][:300], quantity=c["quantity"],
                                      unit_price_ore=c["unit_price"], vat_rate_percent=c["rate"],
                                      line_net_ore=c["net"], line_vat_ore=c["vat"],
                                      credits_line_id=c["line"].id if c["line"] is not None else None))
    for _attempt in range(5):  # another document may take the next number at the same moment
        note.number = next_invoice_number(sess, inv.issuer_id)
        try:
            with sess.begin_nested():
                sess.add(note)
                sess.flush()
            break
        except IntegrityError:
            if not number_taken(sess, inv.issuer_id, note.number):
                raise
    else:
        raise RuntimeError("no free number for the credit note")
    inv.credited_ore += -(net + vat)
    sess.flush()  # the invoice's version is checked here: a concurrent credit note loses
    full = inv.creditable_ore == 0
    events.record(sess, actor, "invoice", note.id, "create", to_state=note.state.value, issuer_id=note.issuer_id,
                  contact_id=note.contact_id, invoice_id=note.id,
                  data={"kind": "credit_note", "credits": inv.number, "value": inv.number})
    events.record(sess, actor, "invoice", inv.id, "credit", issuer_id=inv.issuer_id, contact_id=inv.contact_id,
                  invoice_id=inv.id, data={"credit_note_id": note.id, "value": note.number,
                                           "amount_ore": -(net + vat), "full": full, "credit_reason": reason})
    _issue_like(sess, note, inv, actor)
    signals.invoice_credited.send(note, sess=sess, credited=inv)
    return note


def _issue_like(sess: Session, note: Invoice, inv: Invoice, actor: Actor) -> None:
    """Send the credit note the way the invoice went: to the same nettbank (and consumer), by
    e-mail with the PDF, or by post. No consent is asked: the invoice already reached them."""
    note.issued_at = utcnow()
    note.route = inv.route
    channel = inv.channel
    consumer_id = inv.consumer_id
    if inv.nettbank_document is not None:
        consumer_id = inv.nettbank_document.consumer_id
    note.consumer_id = consumer_id
    _move(sess, note, InvoiceAction.ISSUE, actor, channel=channel, data={"route": "credit_note",
                                                                         "value": inv.number})
    sess.flush()
    _enqueue_delivery(sess, note, channel)
    sess.flush()
