"""API v1: contacts, invoices, Sent documents and reachability for accounting systems.

Every request carries ``Authorization: Bearer <key>``; the key decides the issuer, and every
query is scoped to it (another issuer's id is a 404). The views call the same services as the
issuer's pages; the after-request hook of the app commits responses below 400."""
from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from spectree import Response as Resp
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.areas.api import schemas
from portal.areas.api.problems import (
    PROBLEM_TYPE,
    ApiProblem,
    field_error,
    from_exception,
    from_model_errors,
    problem_response,
    validation_problem,
)
from portal.contacts import services as contacts
from portal.contacts.models import Contact
from portal.core import db, pagination
from portal.core.events import Actor, Event
from portal.core.formatting import OSLO
from portal.core.identifiers import InvalidIdentifier, validate_account_number, validate_kid
from portal.core.states import InvalidTransition
from portal.core.text import MSG_CONTROL, control_fields
from portal.integrations import credentials, ehf, idempotency, ratelimit
from portal.integrations.models import ApiCredential
from portal.invoices import credit_notes, queries, services
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, DocumentKind, InvoiceState
from portal.issuers.models import Issuer
from portal.issuers.services import scoped_get

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CSRF_EXEMPT = True  # credentials in a header, not cookies

MAX_BODY = 2 * 1024 * 1024
PUBLIC_ENDPOINTS = {"api.openapi", "api.docs"}


def _refuse_structure(_req, _resp, error, *_rest) -> None:
    if error is not None:
        if request.method in ("POST", "PUT"):
            _json_body()  # an unreadable body is told as such, not as missing fields
        raise from_model_errors(error.errors(include_url=False, include_input=False))


spec = SpecTree(
    "flask", mode="strict", title="eFaktura portal API", version="1.0.0", path="api/v1/_spec",
    page_templates={}, annotations=True, before=_refuse_structure,
    description=("The API for issuers' accounting systems. Authenticate with `Authorization: Bearer <key>`; "
                 "keys are made under API on the issuer pages. Every POST takes an `Idempotency-Key`."),
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer"))],
    security={"bearer": []},
)

PROBLEMS = {f"HTTP_{code}": schemas.Problem for code in (401, 403, 404, 422, 429)}


def requires(scope: str):
    """Mark a view with the scope it needs (checked before the view runs)."""

    def mark(func):
        func.api_scope = scope
        return func

    return mark


def _actor(cred: ApiCredential) -> Actor:
    return Actor("api_credential", cred.id, f"API: {cred.name} ({cred.prefix})")


def _issuer() -> Issuer:
    return db.session.get(Issuer, g.api_credential.issuer_id)


# --- every request: problem details, key, scope, rate limit, idempotency -------------------

@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem):
    return from_exception(exc)


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sp, key = header.partition(" ")
    cred = credentials.authenticate(db.session, key.strip()) if scheme.lower() == "bearer" else None
    if cred is None:
        raise ApiProblem(401, "unauthorized", headers={"WWW-Authenticate": 'Bearer realm="api"'})
    g.api_credential = cred
    view = current_app.view_functions.get(request.endpoint)
    needed = getattr(view, "api_scope", "read")
    if needed not in cred.scope_list:
        raise ApiProblem(403, "scope", _("API-nøkkelen har ikke tilgangen «%(scope)s».", scope=needed))
    limit = int(current_app.config["PORTAL"].get("API_RATE_LIMIT", 120) or 120)
    verdict = ratelimit.hit(cred.prefix, limit)
    g.api_rate = verdict
    if not verdict.allowed:
        raise ApiProblem(429, "rate-limit", headers={"Retry-After": str(verdict.reset_seconds)})
    if request.content_length and request.content_length > MAX_BODY:
        raise ApiProblem(413, "too-large")
    if request.method == "POST":
        return _claim_idempotency_key(cred)
    return None


def _claim_idempotency_key(cred: ApiCredential):
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > 255 or not key.isprintable():
        raise validation_problem([field_error("Idempotency-Key", _("Høyst 255 synlige tegn."))])
    digest = idempotency.body_hash(request.method, request.path, request.get_data(cache=True))
    outcome = idempotency.begin(cred.issuer_id, key, request.method, request.path, digest)
    if outcome.kind == "new":
        g.idempotency_row = outcome.row_id
        return None
    if outcome.kind == "mismatch":
        raise ApiProblem(422, "idempotency-mismatch", _(
            "Idempotency-Key «%(key)s» ble brukt med en annen forespørsel. Bruk en ny nøkkel for en ny forespørsel.",
            key=key[:60]), title=_("Nøkkelen er brukt før"))
    if outcome.kind == "in_progress":
        raise ApiProblem(409, "idempotency-in-progress", _(
            "En forespørsel med samme Idempotency-Key behandles fortsatt. Prøv igjen om litt."),
            headers={"Retry-After": "1"})
    row = outcome.row
    resp = Response(row.response_body or b"", status=row.status_code or 200, mimetype=None,
                    content_type=row.response_type or "application/json")
    resp.headers["Idempotent-Replayed"] = "true"
    if row.location:
        resp.headers["Location"] = row.location
    return resp


@bp.after_request
def _finish(response: Response):
    verdict = g.get("api_rate")
    if verdict is not None:
        response.headers["RateLimit-Limit"] = str(verdict.limit)
        response.headers["RateLimit-Remaining"] = str(verdict.remaining)
        response.headers["RateLimit-Reset"] = str(verdict.reset_seconds)
    row_id = g.pop("idempotency_row", None)
    if row_id is not None:
        if response.status_code < 400:
            idempotency.complete(db.session, row_id, response.status_code, response.get_data(),
                                 response.content_type or "application/json", response.headers.get("Location"))
        else:
            idempotency.release(row_id)
    cred = g.get("api_credential")
    if cred is not None and response.status_code < 400:
        cred.last_used_at = dt.datetime.now(dt.UTC)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.teardown_request
def _release_on_crash(exc):
    row_id = g.pop("idempotency_row", None)
    if row_id is not None and exc is not None:
        idempotency.release(row_id)


def _json_body() -> dict:
    """The request body as a JSON object, or a 400/415 problem."""
    if request.mimetype != "application/json":
        raise ApiProblem(415, "content-type", _("Send JSON med «Content-Type: application/json»."))
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "json", _("Innholdet er ikke gyldig JSON.")) from None
    if not isinstance(data, dict):
        raise validation_problem([field_error("", _("Skal være et JSON-objekt."))])
    return data


def _parse(model, data: dict):
    dirty = control_fields(data)
    if dirty:  # the same rule as the forms: no control characters in any string
        raise validation_problem([field_error(path, str(MSG_CONTROL)) for path in dirty[:20]])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_model_errors(exc.errors(include_url=False, include_input=False)) from None


def _json(model_obj, status: int = 200, location: str | None = None) -> Response:
    resp = Response(model_obj.model_dump_json(), status=status, mimetype="application/json")
    if location:
        resp.headers["Location"] = location
    return resp


# --- contacts -------------------------------------------------------------------------------

def _contact_out(c: Contact) -> schemas.Contact:
    return schemas.Contact(
        id=c.id, customer_number=c.customer_number, kind=c.kind.value, name=c.name, org_number=c.org_number,
        mobile=c.mobile, email=c.email, address_line=c.address_line or "", postal_code=c.postal_code or "",
        city=c.city or "", language=c.language, access_point=c.access_point,
        receive_edocuments=bool(c.receive_edocuments), created_at=c.created_at, updated_at=c.updated_at)


def _contact_or_404(contact_id: int) -> Contact:
    contact = scoped_get(db.session, Contact, contact_id, g.api_credential.issuer_id)
    if contact is None:
        raise ApiProblem(404, "not-found", _("Kontakten finnes ikke."))
    return contact


def _save_contact(contact: Contact | None) -> Contact:
    body = _parse(schemas.ContactIn, _json_body())
    try:
        return contacts.save_contact(db.session, g.api_credential.issuer_id, contact, body.model_dump(),
                                     _actor(g.api_credential))
    except contacts.ContactError as exc:
        db.session.rollback()
        raise validation_problem(exc.errors) from None


@bp.post("/contacts")
@requires("write")
@spec.validate(json=schemas.ContactIn, resp=Resp(HTTP_201=schemas.Contact, HTTP_409=schemas.Problem, **PROBLEMS),
               tags=["contacts"])
def create_contact():
    """Create a contact (same rules and messages as the contact form)."""
    contact = _save_contact(None)
    return _json(_contact_out(contact), 201, url_for("api.get_contact", contact_id=contact.id))


@bp.get("/contacts/<int:contact_id>")
@requires("read")
@spec.validate(resp=Resp(HTTP_200=schemas.Contact, **PROBLEMS), tags=["contacts"])
def get_contact(contact_id: int):
    """Read one contact."""
    return _json(_contact_out(_contact_or_404(contact_id)))


@bp.put("/contacts/<int:contact_id>")
@requires("write")
@spec.validate(json=schemas.ContactIn, resp=Resp(HTTP_200=schemas.Contact, **PROBLEMS), tags=["contacts"])
def update_contact(contact_id: int):
    """Replace a contact's fields (every field is sent; the customer number may change)."""
    contact = _contact_or_404(contact_id)
    return _json(_contact_out(_save_contact(contact)))


def _explanation(reason: str) -> str:
    return {
        "agreement": _("Kunden har en aktiv eFaktura-avtale; fakturaen går til nettbanken."),
        "general_consent": _("Kunden har sagt ja til eFaktura fra alle i nettbanken; fakturaen går dit uten at kunden spørres."),
        "not_receiving": _("Kunden tar ikke imot eFaktura fra dere; fakturaen går på e-post eller i posten."),
        "consent_request": _("Kunden blir spurt om eFaktura (SMS og e-post); fakturaen holdes til svaret kommer, høyst til fristen."),
        "consent_pending": _("Kunden er allerede spurt om eFaktura; fakturaen holdes til svaret kommer, høyst til fristen."),
        "declined": _("Kunden har takket nei til eller stoppet eFaktura; fakturaen går på e-post eller i posten."),
        "not_eligible": _("Kontakten kan ikke få eFaktura nå; fakturaen går på e-post eller i posten."),
    }[reason]


@bp.get("/contacts/<int:contact_id>/reachability")
@requires("read")
@spec.validate(resp=Resp(HTTP_200=schemas.Reachability, **PROBLEMS), tags=["contacts"])
def contact_reachability(contact_id: int):
    """Whether an invoice to this contact would reach nettbank, wait for consent, or go by e-mail or post."""
    contact = _contact_or_404(contact_id)
    r = queries.reachability(db.session, contact)
    return _json(schemas.Reachability(
        contact_id=contact.id, agreement_state=r.agreement_state.value if r.agreement_state else None,
        route=r.route, channel=r.channel.value if r.channel else None, reason=r.reason,
        explanation=_explanation(r.reason),
        blockers=[schemas.Blocker(code=b.code, message=str(b.message)) for b in r.blockers]))


# --- invoices -------------------------------------------------------------------------------

def _invoice_out(inv: Invoice, *, history: bool = False) -> schemas.Invoice:
    out = schemas.Invoice(
        id=inv.id, number=inv.number, contact_id=inv.contact_id, state=inv.state.value,
        channel=inv.channel.value if inv.channel else None, issue_date=inv.issue_date, due_date=inv.due_date,
        kid=inv.kid, account_number=inv.account_number, net_ore=inv.net_ore, vat_ore=inv.vat_ore,
        total_ore=inv.total_ore, issued_at=inv.issued_at, delivered_at=inv.delivered_at,
        held_until=inv.held_until, failure_reason=inv.failure_reason, kind=inv.kind.value,
        credits_invoice_id=inv.credits_invoice_id, credit_reason=inv.credit_reason, credited_ore=inv.credited_ore,
        amount_due_ore=inv.amount_due_ore,
        lines=[schemas.Line(position=ln.position, description=ln.description, quantity=str(ln.quantity),
                            unit_price_ore=ln.unit_price_ore, vat_rate_percent=ln.vat_rate_percent,
                            line_net_ore=ln.line_net_ore, line_vat_ore=ln.line_vat_ore) for ln in inv.lines])
    if history:
        events = db.session.scalars(select(Event).where(Event.invoice_id == inv.id)
                                    .order_by(Event.created_at, Event.id))
        out.history = [schemas.HistoryEntry(at=e.created_at, action=e.action, from_state=e.from_state,
                                            to_state=e.to_state, actor=e.actor_type, data=_public_data(e.data))
                       for e in events]
    return out


def _public_data(data: dict | None) -> dict:
    return {k: v for k, v in (data or {}).items() if k in ("channel", "route", "reason", "held_until", "status",
                                                            "batch_date", "credit_note_id", "amount_ore")}


def _invoice_or_404(invoice_id: int) -> Invoice:
    inv = scoped_get(db.session, Invoice, invoice_id, g.api_credential.issuer_id)
    if inv is None:
        raise ApiProblem(404, "not-found", _("Fakturaen finnes ikke."))
    return inv


def _quantity(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value >= Decimal(10**9) or value.as_tuple().exponent < -3:
        return None
    return value


def create_invoice_from(body: schemas.InvoiceIn, *, source=None) -> Invoice:
    """Check an invoice body with the invoice form's rules and create the draft."""
    issuer = _issuer()
    errors: list[dict] = []
    contact = scoped_get(db.session, Contact, body.contact_id, issuer.id)
    if contact is None:
        errors.append(field_error("contact_id", _("Kontakten finnes ikke.")))
    number = (body.number or "").strip() or services.next_invoice_number(db.session, issuer.id)
    if services.number_taken(db.session, issuer.id, number):
        errors.append(field_error("number", services.number_taken_message(db.session, issuer.id, number)))
    issue_date = body.issue_date or dt.datetime.now(OSLO).date()
    if body.due_date < issue_date:
        errors.append(field_error("due_date", _("Forfallsdatoen kan ikke være før fakturadatoen.")))
    kid = None
    if (body.kid or "").strip():
        try:
            kid = validate_kid(body.kid)
        except InvalidIdentifier as exc:
            errors.append(field_error("kid", str(exc.message)))
    try:
        account = validate_account_number(body.account_number or issuer.account_number or "")
    except InvalidIdentifier as exc:
        errors.append(field_error("account_number", str(exc.message)))
        account = ""
    lines = []
    for i, line in enumerate(body.lines):
        qty = _quantity(line.quantity)
        if qty is None:
            errors.append(field_error(f"lines.{i}.quantity", _("Antallet må være større enn null, med høyst tre desimaler.")))
            continue
        if not line.description.strip():
            errors.append(field_error(f"lines.{i}.description", _("Skriv en beskrivelse.")))
            continue
        lines.append(services.LineInput(line.description.strip(), qty, line.unit_price_ore, line.vat_rate_percent))
    if errors:
        raise validation_problem(errors)
    if kid is None:
        try:
            kid = services.generated_kid(contact, number)
        except InvalidIdentifier as exc:
            raise validation_problem([field_error("kid", str(exc.message))]) from None
    try:
        return services.create_invoice(db.session, issuer, contact, number=number, issue_date=issue_date,
                                       due_date=body.due_date, kid=kid, account_number=account, lines=lines,
                                       actor=_actor(g.api_credential))
    except services.NumberTaken:
        raise validation_problem([field_error("number", services.number_taken_message(
            db.session, issuer.id, number))]) from None
    except services.InvoiceInputError as exc:
        raise validation_problem([field_error(k, v) for k, v in exc.errors.items()]) from None


@bp.post("/invoices")
@requires("write")
@spec.validate(json=schemas.InvoiceIn, resp=Resp(HTTP_201=schemas.Invoice, **PROBLEMS), tags=["invoices"])
def create_invoice():
    """Create a draft invoice with lines (send it with POST /invoices/{id}/send)."""
    body = _parse(schemas.InvoiceIn, _json_body())
    inv = create_invoice_from(body)
    return _json(_invoice_out(inv, history=True), 201, url_for("api.get_invoice", invoice_id=inv.id))


@bp.post("/invoices/ehf")
@requires("write")
@spec.validate(resp=Resp(HTTP_201=schemas.Invoice, HTTP_413=schemas.Problem, HTTP_415=schemas.Problem, **PROBLEMS),
               tags=["invoices"])
def create_invoice_from_ehf():
    """Create a draft invoice from an EHF Billing 3.0 / Peppol BIS Billing 3.0 document.

    Send the UBL 2.1 XML as the body with `Content-Type: application/xml`. The seller must be the
    issuer of the key; the buyer is found by customer number (PartyIdentification/ID) or name, or
    created. Every problem is reported in `errors` with the element's path in `field`."""
    if request.mimetype not in ("application/xml", "text/xml"):
        raise ApiProblem(415, "content-type", _("Send EHF-dokumentet som XML med «Content-Type: application/xml»."))
    data = request.get_data(cache=True)
    if len(data) > ehf.MAX_BYTES:
        raise ApiProblem(413, "too-large")
    try:
        inv = ehf.import_invoice(db.session, _issuer(), data, _actor(g.api_credential))
    except (services.NumberTaken, services.InvoiceInputError) as exc:
        db.session.rollback()
        errors = (exc.errors if isinstance(exc, services.InvoiceInputError)
                  else {"number": _("Fakturanummeret %(number)s er allerede brukt.", number=exc.number)})
        raise validation_problem([field_error(k, v) for k, v in errors.items()],
                                 _("EHF-dokumentet kan ikke tas imot. Ingenting ble lagret.")) from None
    except ehf.EhfError as exc:
        db.session.rollback()
        raise validation_problem([{"field": p.path, "pointer": p.path, "detail": p.message} for p in exc.problems],
                                 _("EHF-dokumentet kan ikke tas imot. Ingenting ble lagret.")) from None
    return _json(_invoice_out(inv, history=True), 201, url_for("api.get_invoice", invoice_id=inv.id))


@bp.post("/invoices/<int:invoice_id>/send")
@requires("write")
@spec.validate(resp=Resp(HTTP_200=schemas.Invoice, HTTP_409=schemas.Problem, **PROBLEMS), tags=["invoices"])
def send_invoice(invoice_id: int):
    """Issue a draft: it is routed to nettbank, held for consent, or sent by e-mail or post."""
    inv = _invoice_or_404(invoice_id)
    try:
        services.issue_invoice(db.session, inv, _actor(g.api_credential))
    except InvalidTransition:
        db.session.rollback()
        raise ApiProblem(409, "already-sent", _("Fakturaen er allerede sendt.")) from None
    db.session.flush()
    return _json(_invoice_out(inv, history=True))


_CREDIT_REFUSALS = {"fully_credited": "already-credited"}


@bp.post("/invoices/<int:invoice_id>/credit-notes")
@requires("write")
@spec.validate(json=schemas.CreditNoteIn, resp=Resp(HTTP_201=schemas.Invoice, HTTP_409=schemas.Problem, **PROBLEMS),
               tags=["invoices"])
def create_credit_note(invoice_id: int):
    """Credit a delivered invoice: all that remains (no `lines`, no `amounts`), or quantities of
    its lines and/or an amount per VAT rate, with a `reason`. The credit note gets the next number, is sent the way the invoice went, and is
    answered with 201. Refusals: 409 `already-credited` or `not-creditable`, 422 `too-much`."""
    inv = _invoice_or_404(invoice_id)
    body = _parse(schemas.CreditNoteIn, _json_body())
    chosen = None
    if body.lines is not None:
        by_position = {ln.position: i for i, ln in enumerate(inv.lines)}
        chosen, errors = [], []
        for i, line in enumerate(body.lines):
            qty = _quantity(line.quantity)
            if line.position not in by_position:
                errors.append(field_error(f"lines.{i}.position", str(credit_notes.MSG_UNKNOWN_LINE)))
            elif qty is None:
                errors.append(field_error(f"lines.{i}.quantity",
                                          _("Antallet må være større enn null, med høyst tre desimaler.")))
            else:
                chosen.append(credit_notes.CreditLine(by_position[line.position], qty))
        if errors:
            raise validation_problem(errors)
    amounts = None
    if body.amounts is not None:
        amounts = {}
        for a in body.amounts:
            amounts[a.vat_rate_percent] = amounts.get(a.vat_rate_percent, 0) + a.amount_ore
    try:
        note = credit_notes.create_credit_note(db.session, inv, _actor(g.api_credential), lines=chosen,
                                               amounts=amounts, reason=body.reason or "")
    except credit_notes.NotCreditable as exc:
        db.session.rollback()
        raise ApiProblem(409, _CREDIT_REFUSALS.get(exc.code, "not-creditable"), str(exc.message),
                         title=_("Fakturaen kan ikke krediteres")) from None
    except credit_notes.CreditInputError as exc:
        db.session.rollback()
        index_to_position = {i: ln.position for i, ln in enumerate(inv.lines)}
        items = []
        rate_index = {a.vat_rate_percent: i for i, a in enumerate(body.amounts or [])}
        for name, message in exc.errors.items():
            head, _sep, rest = name.partition(".")
            field = name
            if head == "amounts" and rest.isdigit() and int(rest) in rate_index:
                field = f"amounts.{rate_index[int(rest)]}.amount_ore"
            if head == "lines" and rest.split(".")[0].isdigit() and chosen is not None:
                line_index = int(rest.split(".")[0])
                # back to the request's own line, whose position named this invoice line
                where = next((i for i, ln in enumerate(body.lines)
                              if ln.position == index_to_position.get(line_index)), line_index)
                field = f"lines.{where}.quantity"
            items.append(field_error(field, message))
        if exc.code == "too_much":
            raise ApiProblem(422, "too-much", _("Kreditnotaen ville kreditert mer enn det som gjenstår av fakturaen. "
                                                "Ingenting ble lagret."), errors=items,
                             title=_("For mye å kreditere")) from None
        raise validation_problem(items) from None
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        raise ApiProblem(409, "credit-conflict", _("Fakturaen ble kreditert i samme øyeblikk av en annen "
                                                   "forespørsel. Les fakturaen og prøv igjen."),
                         headers={"Retry-After": "1"}) from None
    return _json(_invoice_out(note, history=True), 201, url_for("api.get_invoice", invoice_id=note.id))


@bp.get("/invoices/<int:invoice_id>")
@requires("read")
@spec.validate(resp=Resp(HTTP_200=schemas.Invoice, **PROBLEMS), tags=["invoices"])
def get_invoice(invoice_id: int):
    """Read an invoice with its state, channel and history."""
    return _json(_invoice_out(_invoice_or_404(invoice_id), history=True))


@bp.get("/invoices")
@requires("read")
@spec.validate(query=schemas.SentQuery, resp=Resp(HTTP_200=schemas.InvoicePage, **PROBLEMS), tags=["invoices"])
def list_invoices():
    """Sent documents: the issuer's invoices newest first, with the filters and cursor of the page."""
    q = _parse(schemas.SentQuery, request.args.to_dict())
    issuer_id = g.api_credential.issuer_id
    if q.cursor and pagination.decode(q.cursor) is None:
        raise validation_problem([field_error("cursor", _("Sidemarkøren er ugyldig."))])
    if q.contact_id is not None and scoped_get(db.session, Contact, q.contact_id, issuer_id) is None:
        raise validation_problem([field_error("contact_id", _("Kontakten finnes ikke."))])
    filters = queries.SentFilter(
        state=InvoiceState(q.status) if q.status else None, channel=Channel(q.channel) if q.channel else None,
        kind=DocumentKind(q.kind) if q.kind else None,
        issued_from=q.issued_from, issued_to=q.issued_to, contact_id=q.contact_id, number=q.number or None)
    page = queries.sent_documents(db.session, issuer_id, filters, cursor=q.cursor, size=q.limit)
    return _json(schemas.InvoicePage(items=[_invoice_out(inv) for inv in page.rows], next_cursor=page.next_cursor))


# --- the description of the API ------------------------------------------------------------

@functools.cache
def openapi_document() -> dict:
    """spectree's document from the views and models above, plus what it cannot know: errors
    are ``application/problem+json``, every POST takes an Idempotency-Key, the EHF body is XML,
    and any operation may answer 401 or 429."""
    doc = copy.deepcopy(spec.spec)
    problem_ref = {"$ref": "#/components/schemas/" + _problem_schema_name(doc)}
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            extra = ["401", "403", "429"] + (["400", "413", "415", "422"] if method in ("post", "put") else [])
            if "{" in path:
                extra.append("404")
            if method == "get":
                extra.append("422")
            for code in extra:
                responses.setdefault(code, {"description": str(code)})
            for code, resp in responses.items():
                if code.startswith(("4", "5")):
                    resp["content"] = {PROBLEM_TYPE: {"schema": problem_ref}}
            params = op.setdefault("parameters", [])
            params.append({"name": "Accept-Language", "in": "header", "required": False,
                           "schema": {"type": "string", "enum": ["nb", "en"]},
                           "description": "Language of problem details; bokmål by default."})
            if method == "post":
                params.append({"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                               "description": "Same key and body: the stored response. Same key, other body: 422."})
            if path.endswith("/invoices/ehf"):
                op["requestBody"] = {"required": True, "content": {"application/xml": {"schema": {
                    "type": "string", "description": "EHF Billing 3.0 / Peppol BIS Billing 3.0 invoice (UBL 2.1)"}}}}
    return doc


def _problem_schema_name(doc: dict) -> str:
    names = [n for n in doc.get("components", {}).get("schemas", {}) if n.split(".")[-1] == "Problem"]
    return names[0] if names else "Problem"


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document, generated from the views and models above."""
    return current_app.json.response(openapi_document())


@bp.get("/docs")
def docs():
    """A readable reference of the operations, rendered here from the OpenAPI document."""
    doc = openapi_document()
    operations = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            operations.append({"method": method.upper(), "path": path, "op": op})
    return render_template("api/docs.html", doc=doc, operations=operations, problem_type=PROBLEM_TYPE)


def problem_for_status(status: int) -> Response:
    """A plain HTTP error (unknown address, wrong method) under /api/ as problem details."""
    return problem_response(status)
