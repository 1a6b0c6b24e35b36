"""Issuer area: creating and issuing invoices, Sent documents, invoice history and PDF."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.areas.issuer.account_forms import ActionForm
from portal.areas.issuer.invoice_forms import (
    AmountError,
    CreditNoteForm,
    InvoiceForm,
    parse_credit_quantity,
    parse_kroner,
)
from portal.contacts.models import Contact
from portal.contacts.rules import efaktura_blockers
from portal.core import db, pagination
from portal.core.auth import issuer_login_required
from portal.core.events import Event
from portal.core.formatting import OSLO, local_time
from portal.core.identifiers import InvalidIdentifier
from portal.core.states import InvalidTransition
from portal.invoices import credit_notes, queries, services
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, DocumentKind, InvoiceState
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


def _number_used(form, issuer, number: str) -> None:
    form.number.errors = list(form.number.errors) + [services.number_taken_message(db.session, issuer.id, number)]


def _input_errors(form, errors: dict[str, str]) -> None:
    """Put the service's messages next to the fields they are about."""
    for name, message in errors.items():
        head, _sep, rest = name.partition(".")
        field = None
        if head == "lines" and rest:
            index, _sep, sub = rest.partition(".")
            if index.isdigit() and int(index) < len(form.lines.entries):
                sub = {"unit_price_ore": "unit_price"}.get(sub, sub)
                field = getattr(form.lines.entries[int(index)].form, sub, None)
        else:
            field = getattr(form, head, None)
        if field is None or not hasattr(field, "errors"):
            form.form_errors.append(message)
        else:
            field.errors = list(field.errors) + [message]


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
        form.number.data = services.next_invoice_number(db.session, issuer.id)
        form.issue_date.data = _today()
        form.due_date.data = _today() + dt.timedelta(days=14)
        form.account_number.data = issuer.account_number or ""
        form.total_vat.data = "25" if issuer.vat_registered else "0"
    if form.validate_on_submit():
        number = form.number.data.strip()
        if services.number_taken(db.session, issuer.id, number):
            _number_used(form, issuer, number)
        else:
            try:
                kid = form.kid.data or services.generated_kid(contact, number)
            except InvalidIdentifier as exc:
                form.kid.errors = list(form.kid.errors) + [str(exc.message)]
            else:
                actor = staff_actor(current_user)
                try:
                    inv = services.create_invoice(
                        db.session, issuer, contact, number=number, issue_date=form.issue_date.data,
                        due_date=form.due_date.data, kid=kid, account_number=form.account_number.data,
                        lines=[services.LineInput(d, q, p, v) for d, q, p, v in form.parsed_lines], actor=actor)
                except services.NumberTaken:  # another invoice took the number a moment ago
                    _number_used(form, issuer, number)
                except services.InvoiceInputError as exc:
                    _input_errors(form, exc.errors)
                else:
                    issue = request.form.get("action") == "issue"
                    if issue:
                        services.issue_invoice(db.session, inv, actor)
                    db.session.flush()
                    if issue:
                        _flash_issued(inv)
                    else:
                        flash(_("Fakturaen er lagret som utkast."), "success")
                    return redirect(url_for("invoices.show", invoice_id=inv.id))
    status = 422 if request.method == "POST" else 200
    blockers = efaktura_blockers(contact, issuer)
    return render_template("invoices/new.html", form=form, contact=contact, issuer=issuer,
                           blockers=blockers), status


def _fill_from(form: InvoiceForm, inv: Invoice) -> None:
    """The draft's values in the form (lines as written; a single amount as one line)."""
    form.number.data, form.issue_date.data, form.due_date.data = inv.number, inv.issue_date, inv.due_date
    form.kid.data, form.account_number.data = inv.kid, inv.account_number
    for entry, line in zip(form.lines, inv.lines, strict=False):
        entry.form.description.data = line.description
        entry.form.quantity.data = f"{line.quantity.normalize():f}".replace(".", ",")
        entry.form.unit_price.data = f"{line.unit_price_ore / 100:.2f}".replace(".", ",")
        entry.form.vat.data = str(line.vat_rate_percent)


@bp.route("/utsteder/fakturaer/<int:invoice_id>/endre", methods=["GET", "POST"])
@issuer_login_required
def edit(invoice_id: int):
    """Change a draft; anything sent is history and cannot be changed."""
    inv = _invoice_or_404(invoice_id)
    if inv.state is not InvoiceState.DRAFT:
        flash(_("Bare utkast kan endres. Denne fakturaen er sendt."), "info")
        return redirect(url_for("invoices.show", invoice_id=inv.id))
    issuer, contact = current_user.issuer, inv.contact
    form = InvoiceForm()
    if request.method == "GET":
        _fill_from(form, inv)
    if form.validate_on_submit():
        number = form.number.data.strip()
        if number != inv.number and services.number_taken(db.session, issuer.id, number):
            _number_used(form, issuer, number)
        else:
            try:
                kid = form.kid.data or services.generated_kid(contact, number)
            except InvalidIdentifier as exc:
                form.kid.errors = list(form.kid.errors) + [str(exc.message)]
            else:
                actor = staff_actor(current_user)
                try:
                    services.update_draft(
                        db.session, inv, number=number, issue_date=form.issue_date.data,
                        due_date=form.due_date.data, kid=kid, account_number=form.account_number.data,
                        lines=[services.LineInput(d, q, p, v) for d, q, p, v in form.parsed_lines], actor=actor)
                except services.InvoiceInputError as exc:
                    _input_errors(form, exc.errors)
                else:
                    if request.form.get("action") == "issue":
                        services.issue_invoice(db.session, inv, actor)
                        db.session.flush()
                        _flash_issued(inv)
                    else:
                        flash(_("Utkastet er endret."), "success")
                    return redirect(url_for("invoices.show", invoice_id=inv.id))
    status = 422 if request.method == "POST" else 200
    return render_template("invoices/new.html", form=form, contact=contact, issuer=issuer, draft=inv,
                           blockers=efaktura_blockers(contact, issuer)), status


@bp.post("/utsteder/fakturaer/<int:invoice_id>/slett")
@issuer_login_required
def delete(invoice_id: int):
    """Delete a draft (its history stays under the contact)."""
    inv = _invoice_or_404(invoice_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    contact_id, number = inv.contact_id, inv.number
    try:
        services.delete_draft(db.session, inv, staff_actor(current_user))
    except services.NotADraft:
        flash(_("Bare utkast kan slettes. Denne fakturaen er sendt."), "info")
        return redirect(url_for("invoices.show", invoice_id=invoice_id))
    flash(_("Utkastet %(number)s er slettet.", number=number), "success")
    return redirect(url_for("contacts.show", contact_id=contact_id))


@bp.get("/utsteder/fakturaer/<int:invoice_id>")
@issuer_login_required
def show(invoice_id: int):
    inv = _invoice_or_404(invoice_id)
    history = list(db.session.scalars(select(Event).where(Event.invoice_id == inv.id)
                                      .order_by(Event.created_at, Event.id)))
    notes = credit_notes.credit_notes_of(db.session, inv)
    return render_template("invoices/show.html", inv=inv, history=history, form=ActionForm(), credit_notes=notes,
                           credit_refusal=credit_notes.refusal(inv))


@bp.route("/utsteder/fakturaer/<int:invoice_id>/krediter", methods=["GET", "POST"])
@issuer_login_required
def credit(invoice_id: int):
    """Credit an issued invoice: all that remains (one click, confirmed on this page) or chosen
    quantities of its lines, with a reason. The credit note goes to the customer at once."""
    inv = _invoice_or_404(invoice_id)
    refused = credit_notes.refusal(inv)
    if refused is not None:
        flash(str(refused.message), "info")
        return redirect(url_for("invoices.show", invoice_id=inv.id))
    form = CreditNoteForm()
    left = credit_notes.remaining_lines(db.session, inv)
    by_rate = credit_notes.remaining_by_rate(db.session, inv)
    line_errors: dict[int, str] = {}
    rate_errors: dict[int, str] = {}
    quantities: dict[int, str] = {}
    typed_amounts: dict[int, str] = {}
    if form.validate_on_submit():
        full = request.form.get("action") == "full"
        chosen: list[credit_notes.CreditLine] = []
        amounts: dict[int, int] = {}
        if not full:
            for i in range(len(left)):
                raw = request.form.get(f"quantity-{i}", "")
                quantities[i] = raw[:20]
                try:
                    chosen.append(credit_notes.CreditLine(i, parse_credit_quantity(raw)))
                except AmountError as exc:
                    line_errors[i] = str(exc.args[0])
            for rate in by_rate:
                raw = request.form.get(f"amount-{rate}", "").strip()
                typed_amounts[rate] = raw[:20]
                if raw:
                    try:
                        amounts[rate] = parse_kroner(raw)
                    except AmountError as exc:
                        rate_errors[rate] = str(exc.args[0])
        if not line_errors and not rate_errors:
            try:
                note = credit_notes.create_credit_note(
                    db.session, inv, staff_actor(current_user), lines=None if full else chosen,
                    amounts=None if full else amounts, reason=form.reason.data or "")
            except credit_notes.NotCreditable as exc:
                flash(str(exc.message), "info")
                return redirect(url_for("invoices.show", invoice_id=inv.id))
            except (StaleDataError, IntegrityError):  # another credit note of this invoice won the race
                db.session.rollback()
                flash(_("Fakturaen ble kreditert av noen andre i samme øyeblikk. Se hva som gjenstår, og prøv igjen."),
                      "info")
                return redirect(url_for("invoices.show", invoice_id=invoice_id))
            except credit_notes.CreditInputError as exc:
                for name, message in exc.errors.items():
                    head, _sep, rest = name.partition(".")
                    if name == "reason":
                        form.reason.errors = list(form.reason.errors) + [message]
                    elif head == "lines" and rest.split(".")[0].isdigit():
                        line_errors[int(rest.split(".")[0])] = message
                    elif head == "amounts" and rest.isdigit():
                        rate_errors[int(rest)] = message
                    else:
                        form.form_errors.append(message)
            else:
                flash(_("Kreditnota %(number)s er laget og sendes til kunden %(how)s.", number=note.number,
                        how=_channel_words()[note.channel]), "success")
                return redirect(url_for("invoices.show", invoice_id=note.id))
    status = 422 if request.method == "POST" else 200
    return render_template("invoices/credit.html", inv=inv, form=form, left=left, line_errors=line_errors,
                           quantities=quantities, by_rate=by_rate, rate_errors=rate_errors,
                           typed_amounts=typed_amounts), status


def _channel_words() -> dict:
    return {Channel.NETTBANK: _("til nettbanken"), Channel.EMAIL: _("på e-post"), Channel.POST: _("i posten")}


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
    _flash_issued(inv)
    return redirect(url_for("invoices.show", invoice_id=inv.id))


def _flash_issued(inv: Invoice) -> None:
    """Say what really happened: sent, or held while the customer is asked."""
    if inv.state is InvoiceState.HELD:
        flash(_("Fakturaen holdes tilbake mens %(name)s blir spurt om samtykke til eFaktura. Svarer kunden "
                "ikke, sendes den på e-post eller i posten %(when)s.", name=inv.contact.name,
                when=local_time(inv.held_until)), "info")
    else:
        flash(_("Fakturaen er sendt."), "success")


@bp.post("/utsteder/fakturaer/<int:invoice_id>/send-igjen")
@issuer_login_required
def send_again(invoice_id: int):
    """A failed invoice sent again by the issuer, after the contact was fixed."""
    inv = _invoice_or_404(invoice_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        channel = services.send_again(db.session, inv, staff_actor(current_user))
    except InvalidTransition:
        db.session.rollback()
        flash(_("Fakturaen er ikke feilet, så den ble ikke sendt på nytt."), "info")
        return redirect(url_for("invoices.show", invoice_id=invoice_id))
    flash(_("Fakturaen sendes på nytt %(how)s.", how=_channel_words()[channel]), "success")
    return redirect(url_for("invoices.show", invoice_id=inv.id))


@bp.get("/utsteder/fakturaer/<int:invoice_id>/pdf")
@issuer_login_required
def pdf(invoice_id: int):
    inv = _invoice_or_404(invoice_id)
    body = services.invoice_pdf(inv)
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", inv.number)
    word = "kreditnota" if inv.is_credit_note else "faktura"
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{word}-{safe}.pdf"'})


# ---------------------------------------------------------------------------------------------
# Sent documents
# ---------------------------------------------------------------------------------------------

STATUS_FILTERS = {s.value: s for s in InvoiceState}
CHANNEL_FILTERS = {c.value: c for c in Channel}
KIND_FILTERS = {"faktura": DocumentKind.INVOICE, "kreditnota": DocumentKind.CREDIT_NOTE}


def _parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


def _sent_filter(issuer_id: int, args) -> tuple[queries.SentFilter, dict[str, str], list[str], Contact | None]:
    """The Sent documents filter from the query string: what was understood, and a notice for
    each part that was not (ignored, never an error page)."""
    notices: list[str] = []
    filters: dict[str, str] = {}
    query = queries.SentFilter()

    status = args.get("status", "")
    if status:
        if status in STATUS_FILTERS:
            query.state = STATUS_FILTERS[status]
            filters["status"] = status
        else:
            notices.append(_("Ukjent status i filteret ble ignorert."))
    channel = args.get("kanal", "")
    if channel:
        if channel in CHANNEL_FILTERS:
            query.channel = CHANNEL_FILTERS[channel]
            filters["kanal"] = channel
        else:
            notices.append(_("Ukjent kanal i filteret ble ignorert."))
    kind = args.get("type", "")
    if kind:
        if kind in KIND_FILTERS:
            query.kind = KIND_FILTERS[kind]
            filters["type"] = kind
        else:
            notices.append(_("Ukjent dokumenttype i filteret ble ignorert."))
    for key, op in (("fra", "ge"), ("til", "le")):
        raw = args.get(key, "")
        if raw:
            day = _parse_date(raw)
            if day is None:
                notices.append(_("Datoen «%(value)s» er ikke gyldig (åååå-mm-dd) og ble ignorert.", value=raw[:20]))
            else:
                setattr(query, "issued_from" if op == "ge" else "issued_to", day)
                filters[key] = day.isoformat()
    contact = None
    raw_contact = args.get("kontakt", "")
    if raw_contact:
        if raw_contact.isdigit():
            contact = scoped_get(db.session, Contact, int(raw_contact), issuer_id)
        if contact is None:
            notices.append(_("Kontakten i filteret finnes ikke og ble ignorert."))
        else:
            query.contact_id = contact.id
            filters["kontakt"] = str(contact.id)
    if query.issued_from and query.issued_to and query.issued_from > query.issued_to:
        query.issued_from, query.issued_to = query.issued_to, query.issued_from
        filters["fra"], filters["til"] = query.issued_from.isoformat(), query.issued_to.isoformat()
        notices.append(_("Fra-datoen var etter til-datoen, så datoene er byttet om."))
    q = " ".join(args.get("q", "").split())[:60]
    if q:
        query.search = q
        filters["q"] = q
    return query, filters, notices, contact


@bp.get("/utsteder/sendte")
@issuer_login_required
def sent():
    issuer_id = current_user.issuer_id
    args = request.args
    query, filters, notices, contact = _sent_filter(issuer_id, args)
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
    cursor = raw_cursor if pagination.decode(raw_cursor) else None
    if raw_cursor and cursor is None:
        notices.append(_("Sidemarkøren var ugyldig; viser første side."))
    page = queries.sent_documents(db.session, issuer_id, query, cursor=cursor, size=page_size)
    rows, next_cursor = page.rows, page.next_cursor
    return render_template("invoices/sent.html", invoices=rows, filters=filters, notices=notices,
                           next_cursor=next_cursor, contact=contact, statuses=list(STATUS_FILTERS),
                           channels=list(CHANNEL_FILTERS), kinds=list(KIND_FILTERS), first_page=cursor is None)


@bp.get("/utsteder/sendte.csv")
@issuer_login_required
def sent_csv():
    """The filtered list as a spreadsheet file (semicolons, UTF-8), every matching invoice."""
    query, _filters, _notices, _contact = _sent_filter(current_user.issuer_id, request.args)
    body = queries.sent_documents_csv(db.session, current_user.issuer_id, query,
                                      language=str(get_locale() or "nb"))
    stamp = dt.datetime.now(OSLO).strftime("%Y-%m-%d")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="sendte-dokumenter-{stamp}.csv"'})
