"""Invoices: creating, issuing (routing), and every later change of their delivery state."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, object_session

from portal.agreements import reachability
from portal.agreements import services as agreements
from portal.agreements.models import EFakturaAgreement
from portal.agreements.reachability import Reachability, Route
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.contacts.rules import can_receive_efaktura
from portal.core import events
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.identifiers import kid_mod10
from portal.core.outbox import (
    OutboxAction,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    cancel_pending,
    enqueue,
    move,
)
from portal.core.outbox.states import next_state as next_outbox_state
from portal.core.text import MSG_CONTROL, has_control
from portal.invoices import signals
from portal.invoices.models import Invoice, InvoiceLine, InvoicePdf
from portal.invoices.pdf import InvoiceLinePrint, InvoicePrint, PartyInfo, render_invoice_pdf
from portal.invoices.states import Channel, InvoiceAction, InvoiceState, next_state
from portal.issuers.models import Issuer


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price_ore: int  # excluding VAT
    vat_rate_percent: int


# Sane bounds (the database keeps øre in 64-bit integers; a real invoice is far below these).
MAX_UNIT_PRICE_ORE = 100_000_000_00  # 100 million kroner per unit
MAX_QUANTITY = Decimal(1_000_000)
MAX_TOTAL_ORE = 1_000_000_000_00  # one billion kroner per invoice
MSG_AMOUNT_TOO_LARGE = _l("Beløpet er for stort. Høyst 100 000 000 kr per enhet og 1 000 000 000 kr for hele fakturaen.")
MSG_QUANTITY_TOO_LARGE = _l("Antallet er for stort (høyst 1 000 000).")


class InvoiceInputError(ValueError):
    """The invoice cannot be created as given; ``errors`` maps a field (dotted, as in the API:
    ``lines.0.description``) to a message for the person or system that sent it."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NumberTaken(Exception):
    """Another invoice of the issuer has this number (found at the flush: two at once)."""

    def __init__(self, number: str):
        super().__init__(number)
        self.number = number


def check_invoice_input(number: str, kid: str, account_number: str, lines: list[LineInput]) -> None:
    """The rules every way in shares (form, API, EHF): clean single-line text, sane amounts."""
    errors: dict[str, str] = {}
    for name, value in (("number", number), ("kid", kid), ("account_number", account_number)):
        if has_control(value):
            errors[name] = str(MSG_CONTROL)
    total = Decimal(0)
    for i, line in enumerate(lines):
        if has_control(line.description):
            errors[f"lines.{i}.description"] = str(MSG_CONTROL)
        if abs(line.unit_price_ore) > MAX_UNIT_PRICE_ORE:
            errors[f"lines.{i}.unit_price_ore"] = str(MSG_AMOUNT_TOO_LARGE)
        if not line.quantity.is_finite() or abs(line.quantity) > MAX_QUANTITY:
            errors[f"lines.{i}.quantity"] = str(MSG_QUANTITY_TOO_LARGE)
            continue
        total += line.quantity * line.unit_price_ore * Decimal("1.25")
    if not errors and abs(total) > MAX_TOTAL_ORE:
        errors["total"] = str(MSG_AMOUNT_TOO_LARGE)
    if errors:
        raise InvoiceInputError(errors)


def _round_ore(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def create_invoice(sess: Session, issuer: Issuer, contact: Contact, *, number: str, issue_date: dt.date,
                   due_date: dt.date, kid: str, account_number: str, lines: list[LineInput],
                   actor: Actor) -> Invoice:
    """A draft invoice with its lines; totals are computed here, in øre.

    Raises InvoiceInputError for text or amounts no invoice may have, and NumberTaken when
    another invoice got the number first (also when both were created at the same moment)."""
    if contact.issuer_id != issuer.id:
        raise ValueError("contact belongs to another issuer")
    check_invoice_input(number, kid, account_number, lines)
    inv = Invoice(issuer_id=issuer.id, contact_id=contact.id, number=number, issue_date=issue_date,
                  due_date=due_date, kid=kid, account_number=account_number, net_ore=0, vat_ore=0,
                  total_ore=0, state=InvoiceState.DRAFT, created_by=actor.label)
    _set_lines(inv, lines)
    try:
        with sess.begin_nested():  # a clash undoes only this invoice, not the request's other work
            sess.add(inv)
            sess.flush()
    except IntegrityError:
        if number_taken(sess, issuer.id, number):
            raise NumberTaken(number) from None
        raise
    events.record(sess, actor, "invoice", inv.id, "create", to_state=inv.state.value,
                  issuer_id=issuer.id, contact_id=contact.id, invoice_id=inv.id)
    return inv


def _set_lines(inv: Invoice, lines: list[LineInput]) -> None:
    """Replace the lines and compute the totals, in øre."""
    inv.lines.clear()
    net = vat = 0
    for pos, line in enumerate(lines, start=1):
        line_net = _round_ore(line.quantity * line.unit_price_ore)
        line_vat = _round_ore(Decimal(line_net) * line.vat_rate_percent / 100)
        inv.lines.append(InvoiceLine(position=pos, description=line.description, quantity=line.quantity,
                                     unit_price_ore=line.unit_price_ore,
                                     vat_rate_percent=line.vat_rate_percent,
                                     line_net_ore=line_net, line_vat_ore=line_vat))
        net += line_net
        vat += line_vat
    inv.net_ore, inv.vat_ore, inv.total_ore = net, vat, net + vat


class NotADraft(Exception):
    """Only a draft can be changed or deleted: anything sent is history."""


def update_draft(sess: Session, inv: Invoice, *, number: str, issue_date: dt.date, due_date: dt.date,
                 kid: str, account_number: str, lines: list[LineInput], actor: Actor) -> Invoice:
    """Change a draft (number, dates, KID, account, lines), with an event."""
    if inv.state is not InvoiceState.DRAFT:
        raise NotADraft(inv.id)
    check_invoice_input(number, kid, account_number, lines)
    inv.number, inv.issue_date, inv.due_date, inv.kid, inv.account_number = (
        number, issue_date, due_date, kid, account_number)
    sess.flush()  # the old lines go before the new ones take their positions
    _set_lines(inv, lines)
    sess.flush()
    events.record(sess, actor, "invoice", inv.id, "update", issuer_id=inv.issuer_id, contact_id=inv.contact_id,
                  invoice_id=inv.id, data={"number": number})
    return inv


def delete_draft(sess: Session, inv: Invoice, actor: Actor) -> None:
    """Delete a draft. Its history stays (under the contact), with an event saying it was deleted."""
    if inv.state is not InvoiceState.DRAFT:
        raise NotADraft(inv.id)
    signals.draft_deleting.send(inv, sess=sess)
    sess.execute(update(events.Event).where(events.Event.invoice_id == inv.id).values(invoice_id=None))
    events.record(sess, actor, "invoice", inv.id, "delete", issuer_id=inv.issuer_id, contact_id=inv.contact_id,
                  data={"number": inv.number})
    sess.delete(inv)
    sess.flush()


def _move(sess: Session, inv: Invoice, action: InvoiceAction, actor: Actor, *, channel: Channel | None = None,
          data: dict | None = None) -> None:
    before = inv.state
    inv.state = next_state(before, action)
    if channel is not None:
        inv.channel = channel
    payload = dict(data or {})
    if inv.channel is not None:
        payload.setdefault("channel", inv.channel.value)
    events.record(sess, actor, "invoice", inv.id, action.value, from_state=before.value,
                  to_state=inv.state.value, issuer_id=inv.issuer_id, contact_id=inv.contact_id,
                  invoice_id=inv.id, data=payload)


def fallback_channel(contact: Contact) -> Channel:
    """Without eFaktura: e-mail with the PDF when the contact has an address, else post."""
    return Channel.EMAIL if contact.email else Channel.POST


def _enqueue_delivery(sess: Session, inv: Invoice, channel: Channel) -> None:
    attempt = inv.version  # a retried delivery gets a new key; a repeated one does not
    common = {"issuer_id": inv.issuer_id, "contact_id": inv.contact_id, "invoice_id": inv.id}
    if channel is Channel.NETTBANK:
        enqueue(sess, OutboxKind.NETTBANK, f"invoice:{inv.id}:nettbank:{attempt}",
                {"invoice_id": inv.id}, **common)
    elif channel is Channel.EMAIL:
        enqueue(sess, OutboxKind.INVOICE_EMAIL, f"invoice:{inv.id}:email:{attempt}",
                {"invoice_id": inv.id}, **common)
    else:
        enqueue(sess, OutboxKind.POST, f"invoice:{inv.id}:post:{attempt}", {"invoice_id": inv.id}, **common)


@dataclass(frozen=True)
class RoutePlan:
    """Where an invoice to this contact goes if it is issued now, and why.

    ``route`` is "nettbank" (agreement or general consent; ``found`` says which), "consent_request"
    (held while the consumer is asked, or already being asked), or a fallback by e-mail or post:
    "not_receiving" (the person blocked the issuer), "declined" or "not_eligible"."""

    route: str
    channel: Channel | None
    found: Reachability
    agreement_state: AgreementState | None
    agreement: EFakturaAgreement | None = None


def plan_route(sess: Session, contact: Contact) -> RoutePlan:
    """The routing rules of :func:`issue_invoice`, without doing anything."""
    agreement = agreements.agreement_for(sess, contact)
    state = agreement.state if agreement else None
    eligible = can_receive_efaktura(contact, contact.issuer)
    found = reachability.lookup(sess, contact, agreement=agreement)
    if (found.route is Route.AGREEMENT and eligible) or found.route is Route.GENERAL_CONSENT:
        return RoutePlan("nettbank", Channel.NETTBANK, found, state, agreement)
    if found.reason == "blocked":
        return RoutePlan("not_receiving", fallback_channel(contact), found, state, agreement)
    if eligible and (state is AgreementState.REQUESTED or agreements.can_request(agreement)):
        return RoutePlan("consent_request", None, found, state, agreement)
    reason = "declined" if state in (AgreementState.DECLINED, AgreementState.STOPPED) else "not_eligible"
    return RoutePlan(reason, fallback_channel(contact), found, state, agreement)


def issue_invoice(sess: Session, inv: Invoice, actor: Actor) -> Invoice:
    """Route a draft invoice (SPEC flows D and J). The recipient look-up comes first:

    1. active eFaktura agreement -> nettbank now;
    2. general consent in the bank (found by verified identity, or by name with mobile or
       e-mail) -> nettbank now, to that consumer, with no SMS or e-mail request;
    3. the person has blocked the issuer -> e-mail with PDF, or post, at once; no request;
    4. no answer yet (also when two people match: we never guess) -> held, the consumer is
       asked once (SMS + e-mail), deadline set;
    5. declined / stopped / cannot receive eFaktura -> e-mail with PDF, or post.
    """
    contact = inv.contact
    issued_at = utcnow()
    plan = plan_route(sess, contact)
    found = plan.found
    reachability.record_lookup(sess, contact, found, actor, trigger="invoice", contact_event=False)
    inv.issued_at = issued_at  # after the look-up's reads: one UPDATE of the invoice, not two

    if plan.route == "nettbank":
        _to_nettbank(sess, inv, found)
        _move(sess, inv, InvoiceAction.ISSUE, actor, channel=Channel.NETTBANK, data=_route_data(found))
        _enqueue_delivery(sess, inv, Channel.NETTBANK)
    elif plan.route == "consent_request":
        if plan.agreement_state is not AgreementState.REQUESTED:
            agreements.request_consent(sess, contact, actor, trigger="invoice", agreement=plan.agreement)
        inv.route = "consent_request"
        _hold(sess, inv, actor, lookup=found.reason)
    else:
        inv.route = plan.route
        _move(sess, inv, InvoiceAction.ISSUE, actor, channel=plan.channel, data={"route": plan.route})
        _enqueue_delivery(sess, inv, plan.channel)
    sess.flush()
    return inv


def _to_nettbank(sess: Session, inv: Invoice, found: Reachability) -> None:
    """Bind the eFaktura to the person the look-up found: it reaches only them."""
    inv.route = found.route.value
    inv.consumer_id = found.consumer_id


def _route_data(found: Reachability) -> dict:
    data = {"route": found.route.value}
    if found.route is Route.GENERAL_CONSENT:
        data["match"] = found.reason
    return data


def _hold(sess: Session, inv: Invoice, actor: Actor, *, lookup: str) -> None:
    seconds = int(current_app.config["PORTAL"]["CONSENT_DEADLINE_SECONDS"])
    inv.held_until = utcnow() + dt.timedelta(seconds=seconds)
    _move(sess, inv, InvoiceAction.HOLD, actor, data={"held_until": inv.held_until.isoformat(),
                                                      "route": "consent_request", "lookup": lookup})
    enqueue(sess, OutboxKind.CONSENT_DEADLINE, f"invoice:{inv.id}:deadline", {"invoice_id": inv.id},
            issuer_id=inv.issuer_id, contact_id=inv.contact_id, invoice_id=inv.id,
            available_at=inv.held_until)


def held_for_contact(sess: Session, contact_id: int) -> list[Invoice]:
    return list(sess.scalars(select(Invoice).where(Invoice.contact_id == contact_id,
                                                   Invoice.state == InvoiceState.HELD)
                             .order_by(Invoice.id)))


@dataclass(frozen=True)
class Release:
    """Where a held invoice goes when it leaves the hold, and what its event says."""

    channel: Channel
    route: str
    consumer_id: int | None  # set for the nettbank; None leaves the invoice's consumer as it was
    data: dict


_UNREAD = object()


def release_route(sess: Session, contact: Contact, reason: str, *, agreement=_UNREAD,
                  found: reachability.Reachability | None = None) -> Release:
    """The rules of :func:`release_held` for one contact (the same for all its held invoices).
    ``agreement``: the contact's agreement (or None) when the caller has read it already;
    ``found``: its look-up, when the caller has made it for many contacts at once."""
    if agreement is _UNREAD:
        agreement = agreements.agreement_for(sess, contact)
    if found is None:
        found = reachability.lookup(sess, contact, agreement=agreement)
    consumer_id = None
    if found.reason == "blocked":
        channel, route = fallback_channel(contact), "not_receiving"
    elif agreement is not None and agreement.state is AgreementState.ACTIVE and agreement.consumer_id:
        channel, route, consumer_id = Channel.NETTBANK, Route.AGREEMENT.value, agreement.consumer_id
    elif found.route is Route.GENERAL_CONSENT:
        channel, route, consumer_id = Channel.NETTBANK, found.route.value, found.consumer_id
    else:
        channel = fallback_channel(contact)
        route = "declined" if found.reason == "declined" else "not_eligible" if found.reason == "not_eligible" \
            else "no_consent"
    data = {"reason": reason, "route": route}
    if channel is Channel.NETTBANK and found.route is Route.GENERAL_CONSENT and route == found.route.value:
        data["match"] = found.reason
    return Release(channel, route, consumer_id, data)


def release_held(sess: Session, inv: Invoice, actor: Actor, *, reason: str) -> Channel:
    """Leave the hold: to nettbank when the agreement is active or the person is reachable by
    general consent, else e-mail or post.

    Raises InvalidTransition when the invoice is no longer held (the other side of a race won)."""
    release = release_route(sess, inv.contact, reason)
    inv.route = release.route
    if release.consumer_id is not None:
        inv.consumer_id = release.consumer_id
    _move(sess, inv, InvoiceAction.RELEASE, actor, channel=release.channel, data=dict(release.data))
    cancel_pending(sess, OutboxKind.CONSENT_DEADLINE, invoice_id=inv.id)
    _enqueue_delivery(sess, inv, release.channel)
    sess.flush()
    return release.channel


SWEEP_BATCH = 500
_DELIVERY_KIND = {Channel.NETTBANK: (OutboxKind.NETTBANK, "nettbank"),
                  Channel.EMAIL: (OutboxKind.INVOICE_EMAIL, "email"), Channel.POST: (OutboxKind.POST, "post")}


def release_due(sess: Session, *, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> int:
    """The three-day rule in bulk: every held invoice whose deadline has come (up to ``limit``,
    oldest deadline first) leaves the hold as :func:`release_held` would send it, in one
    transaction of a handful of statements: the rules are asked once per contact, the invoices
    are updated, their events and their delivery rows written with one statement each, and their
    deadline rows cancelled, so the worker never claims them. Each delivery is still its own
    outbox row. Returns how many invoices were released; the caller commits.

    Rows another sweep holds are skipped (``SKIP LOCKED``); a row changed meanwhile (its version
    moved) is left for the next round."""
    now = now or utcnow()
    stmt = (select(Invoice).where(Invoice.state == InvoiceState.HELD, Invoice.held_until <= now)
            .order_by(Invoice.held_until, Invoice.id).limit(limit)
            .options(joinedload(Invoice.contact).joinedload(Contact.issuer)))
    if sess.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Invoice)
    held = list(sess.scalars(stmt).unique())
    if not held:
        return 0
    contacts = {i.contact_id: i.contact for i in held}
    # the agreements of the whole batch in one read (agreement_for: same issuer, same contact)
    found = {(a.issuer_id, a.contact_id): a for a in sess.scalars(select(EFakturaAgreement).where(
        EFakturaAgreement.contact_id.in_(list(contacts))))}
    by_issuer: dict[int, list[Contact]] = {}
    for c in contacts.values():
        by_issuer.setdefault(c.issuer_id, []).append(c)
    looked = {}  # the recipient look-ups of each issuer's contacts, a handful of queries per issuer
    for issuer_id, cs in by_issuer.items():
        pairs = [(c, found.get((c.issuer_id, c.id))) for c in cs]
        looked.update(zip([c.id for c in cs], reachability.lookup_many(sess, issuer_id, pairs), strict=True))
    routes = {c.id: release_route(sess, c, "consent_deadline", agreement=found.get((c.issuer_id, c.id)),
                                  found=looked[c.id]) for c in contacts.values()}
    target = next_state(InvoiceState.HELD, InvoiceAction.RELEASE)
    table = Invoice.__table__
    changes = []
    for inv in held:
        r = routes[inv.contact_id]
        changes.append({"b_id": inv.id, "b_version": inv.version, "state": target, "channel": r.channel,
                        "route": r.route, "consumer_id": r.consumer_id if r.consumer_id is not None else inv.consumer_id,
                        "version": inv.version + 1})
    sess.execute(update(table).where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
                 .values(state=bindparam("state"), channel=bindparam("channel"), route=bindparam("route"),
                         consumer_id=bindparam("consumer_id"), version=bindparam("version")), changes)
    ids = [inv.id for inv in held]
    moved = set(sess.scalars(select(Invoice.id).where(Invoice.id.in_(ids), Invoice.state == target)
                             .execution_options(populate_existing=True)))
    actor = events.SYSTEM
    max_attempts = int(current_app.config["PORTAL"]["WORKER_MAX_ATTEMPTS"])
    event_rows, outbox_rows = [], []
    for inv, change in zip(held, changes, strict=True):
        if inv.id not in moved:
            continue
        r = routes[inv.contact_id]
        kind, word = _DELIVERY_KIND[r.channel]
        event_rows.append({"actor_type": actor.type, "actor_id": actor.id, "actor_label": actor.label,
                           "subject_type": "invoice", "subject_id": inv.id, "action": InvoiceAction.RELEASE.value,
                           "from_state": InvoiceState.HELD.value, "to_state": target.value,
                           "issuer_id": inv.issuer_id, "contact_id": inv.contact_id, "invoice_id": inv.id,
                           "data": {**r.data, "channel": r.channel.value}, "created_at": now})
        outbox_rows.append({"kind": kind, "idempotency_key": f"invoice:{inv.id}:{word}:{change['version']}",
                            "payload": {"invoice_id": inv.id}, "issuer_id": inv.issuer_id,
                            "contact_id": inv.contact_id, "invoice_id": inv.id, "available_at": now,
                            "max_attempts": max_attempts, "status": OutboxStatus.PENDING, "created_at": now})
    if event_rows:
        sess.execute(insert(events.Event), event_rows)
        sess.execute(insert(OutboxMessage), outbox_rows)
        cancelled = next_outbox_state(OutboxStatus.PENDING, OutboxAction.CANCEL)
        sess.execute(update(OutboxMessage).where(
            OutboxMessage.kind == OutboxKind.CONSENT_DEADLINE, OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.invoice_id.in_(list(moved))).values(status=cancelled, done_at=now, locked_until=None)
            .execution_options(synchronize_session=False))
    for inv in held:
        sess.expire(inv)
    return len(event_rows)


def in_flight_by_general_consent(sess: Session, consumer_id: int) -> list[Invoice]:
    """eFaktura on their way to this consumer's nettbank on the strength of a general consent."""
    return list(sess.scalars(select(Invoice).where(
        Invoice.consumer_id == consumer_id, Invoice.route == Route.GENERAL_CONSENT.value,
        Invoice.state == InvoiceState.SENDING, Invoice.channel == Channel.NETTBANK).order_by(Invoice.id)))


def reroute(sess: Session, inv: Invoice, actor: Actor, *, reason: str) -> Channel:
    """An eFaktura on its way can no longer go to the nettbank (the general consent was withdrawn
    or the issuer blocked): it goes by e-mail or post instead, never to the nettbank as well."""
    channel = fallback_channel(inv.contact)
    cancel_pending(sess, OutboxKind.NETTBANK, invoice_id=inv.id)
    inv.route = "not_receiving" if reason == "issuer_blocked" else "no_consent"
    inv.consumer_id = None
    _move(sess, inv, InvoiceAction.REROUTE, actor, channel=channel, data={"reason": reason, "route": inv.route})
    sess.flush()  # bumps the version, so the new outbox row gets its own key
    _enqueue_delivery(sess, inv, channel)
    sess.flush()
    return channel


def deadline_passed(sess: Session, invoice_id: int) -> bool:
    """The consent deadline of a held invoice has come. Returns whether it was released."""
    inv = sess.get(Invoice, invoice_id)
    if inv is None or inv.state is not InvoiceState.HELD:
        return False
    release_held(sess, inv, events.SYSTEM, reason="consent_deadline")
    return True


def mark_delivered(sess: Session, inv: Invoice, *, detail: dict | None = None) -> None:
    _move(sess, inv, InvoiceAction.DELIVER, events.SYSTEM, data=detail)
    inv.delivered_at = utcnow()
    inv.failure_reason = None
    sess.flush()
    signals.invoice_delivered.send(inv, sess=sess)


def mark_failed(sess: Session, inv: Invoice, reason: str) -> None:
    _move(sess, inv, InvoiceAction.FAIL, events.SYSTEM, data={"reason": reason})
    inv.failure_reason = reason[:500]
    sess.flush()
    signals.invoice_failed.send(inv, sess=sess, reason=reason)


def retry(sess: Session, inv: Invoice, actor: Actor, *, channel: Channel | None = None) -> None:
    """Try a failed delivery again, on the channel it failed on (support, after fixing the cause),
    or on ``channel`` when given."""
    _move(sess, inv, InvoiceAction.RETRY, actor, channel=channel)
    sess.flush()  # bumps the version, so the new outbox row gets its own key
    _enqueue_delivery(sess, inv, inv.channel)
    sess.flush()


def can_reach_without_efaktura(contact: Contact) -> bool:
    """Can an invoice reach this contact by e-mail or post, should eFaktura not happen?"""
    return bool(contact.email) or contact.has_postal_address


def send_again(sess: Session, inv: Invoice, actor: Actor) -> Channel:
    """The issuer sends a failed invoice again after fixing the contact. An e-mail or post that
    failed goes by e-mail when the contact now has an address, else by post; a failed nettbank
    delivery is tried in the nettbank again. The given-up outbox rows are kept as history.

    Raises InvalidTransition when the invoice has not failed."""
    channel = inv.channel if inv.channel is Channel.NETTBANK else fallback_channel(inv.contact)
    dead = sess.scalars(select(OutboxMessage).where(
        OutboxMessage.invoice_id == inv.id, OutboxMessage.status == OutboxStatus.DEAD,
        OutboxMessage.kind.in_((OutboxKind.NETTBANK, OutboxKind.POST, OutboxKind.INVOICE_EMAIL))))
    retry(sess, inv, actor, channel=channel)
    for row in dead:
        move(row, OutboxAction.SUPERSEDE)
    sess.flush()
    return channel


def sender_party(issuer: Issuer) -> PartyInfo:
    """The issuer as sender on invoices and address sheets."""
    lines = tuple(x for x in (issuer.address_line, f"{issuer.postal_code} {issuer.city}".strip()) if x)
    return PartyInfo(issuer.name, lines, issuer.org_number)


def print_data(inv: Invoice):
    """The invoice as the PDF module wants it."""

    contact = inv.contact
    return InvoicePrint(
        issuer=sender_party(inv.issuer),
        customer=PartyInfo(contact.name, contact.address_lines[1:], contact.org_number),
        invoice_number=inv.number, customer_number=contact.customer_number,
        issue_date=inv.issue_date, due_date=inv.due_date, kid=inv.kid, account_number=inv.account_number,
        lines=tuple(InvoiceLinePrint(ln.description, ln.quantity, ln.unit_price_ore, ln.vat_rate_percent,
                                     ln.line_net_ore + ln.line_vat_ore, ln.line_vat_ore) for ln in inv.lines),
        net_ore=inv.net_ore, vat_ore=inv.vat_ore, total_ore=inv.total_ore,
        language=print_language(contact),
        issuer_vat_registered=bool(inv.issuer.vat_registered),
        credits_invoice=(credited.number, credited.issue_date) if (credited := inv.credited_invoice) else None,
        credit_reason=inv.credit_reason,
    )


def print_language(contact) -> str:
    """The language of what the contact reads on paper and in e-mail: nb, nn or en."""
    return contact.language if contact.language in ("nb", "nn", "en") else "nb"


def invoice_pdf(inv: Invoice) -> bytes:
    """The invoice's PDF. Once issued, an invoice does not change: its PDF is rendered the first
    time it is needed and kept (``invoice_pdfs``), and every later e-mail, print and download
    reuses it. A draft is rendered every time."""
    sess = object_session(inv)
    if sess is None or inv.state is InvoiceState.DRAFT:
        return render_invoice_pdf(print_data(inv))
    stored = sess.get(InvoicePdf, inv.id)
    if stored is not None:
        return stored.body
    body = render_invoice_pdf(print_data(inv))
    try:
        with sess.begin_nested():
            sess.add(InvoicePdf(invoice_id=inv.id, body=body, invoice_version=inv.version))
    except IntegrityError:  # rendered by another request at the same moment: same bytes
        pass
    return body


# --- numbering and KID -------------------------------------------------------------------

def next_invoice_number(sess: Session, issuer_id: int) -> str:
    """One more than the newest numeric invoice number, skipping numbers in use."""
    latest = sess.scalar(select(Invoice.number).where(Invoice.issuer_id == issuer_id)
                               .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))
    candidate = int(latest) + 1 if latest and latest.isdigit() and len(latest) < 18 else 1
    while number_taken(sess, issuer_id, str(candidate)):
        candidate += 1
    return str(candidate)


def number_taken(sess: Session, issuer_id: int, number: str) -> bool:
    return sess.scalar(select(Invoice.id).where(Invoice.issuer_id == issuer_id,
                                                      Invoice.number == number)) is not None


def number_taken_message(sess: Session, issuer_id: int, number: str) -> str:
    """What the issuer is told when ``number`` is in use: the number and the next free one."""
    return str(_l("Fakturanummeret %(number)s er allerede brukt. Neste ledige er %(free)s.",
                  number=number, free=next_invoice_number(sess, issuer_id)))


def generated_kid(contact: Contact, number: str) -> str:
    """MOD10 KID from the customer number and the invoice number (digits only)."""
    customer = re.sub(r"[^0-9]", "", contact.customer_number) or str(contact.id)
    invoice = re.sub(r"[^0-9]", "", number) or "0"
    base = (customer.zfill(6) + invoice.zfill(6))[-24:]
    return kid_mod10(base)
