"""Issuer area: creating and issuing invoices, Sent documents, invoice history and PDF."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from portal.areas.issuer.account_forms import ActionForm
from portal.areas.issuer.invoice_forms import InvoiceForm
from portal.contacts.models import Contact
from portal.contacts.rules import efaktura_blockers
from portal.core import db
from portal.core.auth import issuer_login_required
from portal.core.events import Event
from portal.core.formatting import OSLO
from portal.core.identifiers import InvalidIdentifier, kid_mod10
from portal.core.states import InvalidTransition
from portal.invoices import services
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from portal.issuers.services import scoped_get, staff_actor

bp = Blueprint("invoices", __name__)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def _invoice_or_404(invoice_id: int) -> Invoice:
    inv = scoped_get(db.session, Invoice, invoice_id, current_user.issuer_id)
    if inv is None:
        abort(404)
    return inv


def _today() -> dt.date:
    return dt.datetime.now(OSLO).date()


def next_invoice_number(issuer_id: int) -> str:
    """One more than the newest numeric invoice number, skipping numbers in use."""
    latest = db.session.scalar(select(Invoice.number).where(Invoice.issuer_id == issuer_id)
                               .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(1))
    candidate = int(latest) + 1 if latest and latest.isdigit() and len(latest) < 18 else 1
    while _number_taken(issuer_id, str(candidate)):
        candidate += 1
    return str(candidate)


def _number_taken(issuer_id: int, number: str) -> bool:
    return db.session.scalar(select(Invoice.id).where(Invoice.issuer_id == issuer_id,
                                                      Invoice.number == number)) is not None


def generated_kid(contact: Contact, number: str) -> str:
    """MOD10 KID from the customer number and the invoice number (digits only)."""
    customer = re.sub(r"[^0-9]", "", contact.customer_number) or str(contact.id)
    invoice = re.sub(r"[^0-9]", "", number) or "0"
    base = (customer.zfill(6) + invoice.zfill(6))[-24:]
    return kid_mod10(base)


@bp.route("/utsteder/fakturaer/ny", methods=["GET", "POST"])
@issuer_login_required
def new():
    raw = request.args.get("contact", "")
    if not raw.isdigit():
        flash(_("Velg kontakten fakturaen skal til, og trykk «Ny faktura» der."), "info")
        return redirect(url_for("contacts.index"))
    contact = scoped_get(db.session, Contact, int(raw), current_user.issuer_id)
    if contact is None:
        abort(404)
    issuer = current_user.issuer
    form = InvoiceForm()
    if request.method == "GET":
        form.number.data = next_invoice_number(issuer.id)
        form.issue_date.data = _today()
        form.due_date.data = _today() + dt.timedelta(days=14)
        form.account_number.data = issuer.account_number or ""
    if form.validate_on_submit():
        number = form.number.data.strip()
        if _number_taken(issuer.id, number):
            form.number.errors = list(form.number.errors) + [
                _("Fakturanummeret %(number)s er allerede brukt. Neste ledige er %(free)s.",
                  number=number, free=next_invoice_number(issuer.id))]
        else:
            try:
                kid = form.kid.data or generated_kid(contact, number)
            except InvalidIdentifier as exc:
                form.kid.errors = list(form.kid.errors) + [str(exc.message)]
            else:
                actor = staff_actor(current_user)
                inv = services.create_invoice(
                    db.session, issuer, contact, number=number, issue_date=form.issue_date.data,
                    due_date=form.due_date.data, kid=kid, account_number=form.account_number.data,
                    lines=[services.LineInput(d, q, p, v) for d, q, p, v in form.parsed_lines], actor=actor)
                issue = request.form.get("action") == "issue"
                if issue:
                    services.issue_invoice(db.session, inv, actor)
                db.session.flush()
                flash(_("Fakturaen er sendt.") if issue else _("Fakturaen er lagret som utkast."), "success")
                return redirect(url_for("invoices.show", invoice_id=inv.id))
    status = 422 if request.method == "POST" else 200
    blockers = efaktura_blockers(contact, issuer)
    return render_template("invoices/new.html", form=form, contact=contact, issuer=issuer,
                           blockers=blockers), status


@bp.get("/utsteder/fakturaer/<int:invoice_id>")
@issuer_login_required
def show(invoice_id: int):
    inv = _invoice_or_404(invoice_id)
    history = list(db.session.scalars(select(Event).where(Event.invoice_id == inv.id)
                                      .order_by(Event.created_at, Event.id)))
    return render_template("invoices/show.html", inv=inv, history=history, form=ActionForm())


@bp.post("/utsteder/fakturaer/<int:invoice_id>/send")
@issuer_login_required
def issue(invoice_id: int):
    inv = _invoice_or_404(invoice_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.issue_invoice(db.session, inv, staff_actor(current_user))
    except InvalidTransition:
        db.session.rollback()
        flash(_("Fakturaen er allerede sendt."), "info")
        return redirect(url_for("invoices.show", invoice_id=invoice_id))
    db.session.flush()
    flash(_("Fakturaen er sendt."), "success")
    return redirect(url_for("invoices.show", invoice_id=inv.id))


@bp.get("/utsteder/fakturaer/<int:invoice_id>/pdf")
@issuer_login_required
def pdf(invoice_id: int):
    inv = _invoice_or_404(invoice_id)
    body = services.invoice_pdf(inv)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", inv.number)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="faktura-{safe}.pdf"'})


# ---------------------------------------------------------------------------------------------
# Sent documents
# ---------------------------------------------------------------------------------------------

STATUS_FILTERS = {s.value: s for s in InvoiceState}
CHANNEL_FILTERS = {c.value: c for c in Channel}


def _parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _parse_cursor(raw: str) -> tuple[dt.datetime, int] | None:
    """Cursor "<created_at ISO>_<id>"; anything malformed is None."""
    stamp, _, ident = (raw or "").rpartition("_")
    if not stamp or not ident.isdigit():
        return None
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when, int(ident)


@bp.get("/utsteder/sendte")
@issuer_login_required
def sent():
    issuer_id = current_user.issuer_id
    args = request.args
    notices: list[str] = []
    filters: dict[str, str] = {}
    stmt = select(Invoice).where(Invoice.issuer_id == issuer_id)

    status = args.get("status", "")
    if status:
        if status in STATUS_FILTERS:
            stmt = stmt.where(Invoice.state == STATUS_FILTERS[status])
            filters["status"] = status
        else:
            notices.append(_("Ukjent status i filteret ble ignorert."))
    channel = args.get("kanal", "")
    if channel:
        if channel in CHANNEL_FILTERS:
            stmt = stmt.where(Invoice.channel == CHANNEL_FILTERS[channel])
            filters["kanal"] = channel
        else:
            notices.append(_("Ukjent kanal i filteret ble ignorert."))
    for key, op in (("fra", "ge"), ("til", "le")):
        raw = args.get(key, "")
        if raw:
            day = _parse_date(raw)
            if day is None:
                notices.append(_("Datoen «%(value)s» er ikke gyldig (åååå-mm-dd) og ble ignorert.", value=raw[:20]))
            else:
                stmt = stmt.where(Invoice.issue_date >= day if op == "ge" else Invoice.issue_date <= day)
                filters[key] = day.isoformat()
    contact = None
    raw_contact = args.get("kontakt", "")
    if raw_contact:
        if raw_contact.isdigit():
            contact = scoped_get(db.session, Contact, int(raw_contact), issuer_id)
        if contact is None:
            notices.append(_("Kontakten i filteret finnes ikke og ble ignorert."))
        else:
            stmt = stmt.where(Invoice.contact_id == contact.id)
            filters["kontakt"] = str(contact.id)
    q = args.get("q", "").strip()[:30]
    if q:
        stmt = stmt.where(Invoice.number == q)
        filters["q"] = q
    size = args.get("antall", "")
    page_size = DEFAULT_PAGE_SIZE
    if size:
        if size.isdigit() and 1 <= int(size) <= MAX_PAGE_SIZE:
            page_size = int(size)
            filters["antall"] = size
        else:
            notices.append(_("Antall per side må være mellom 1 og %(max)s; viser %(n)s.", max=MAX_PAGE_SIZE,
                             n=DEFAULT_PAGE_SIZE))
    raw_cursor = args.get("etter", "")
    cursor = _parse_cursor(raw_cursor) if raw_cursor else None
    if raw_cursor and cursor is None:
        notices.append(_("Sidemarkøren var ugyldig; viser første side."))
    if cursor:
        when, ident = cursor
        stmt = stmt.where(or_(Invoice.created_at < when, and_(Invoice.created_at == when, Invoice.id < ident)))
    stmt = (stmt.options(joinedload(Invoice.contact))
            .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(page_size + 1))
    rows = list(db.session.scalars(stmt).unique())
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = f"{last.created_at.astimezone(dt.UTC).isoformat()}_{last.id}"
    return render_template("invoices/sent.html", invoices=rows, filters=filters, notices=notices,
                           next_cursor=next_cursor, contact=contact, statuses=list(STATUS_FILTERS),
                           channels=list(CHANNEL_FILTERS), first_page=cursor is None)
