"""Issuer area: contacts (list, create, edit, CSV import) and the consumer register."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from portal.agreements import queries as agreement_queries
from portal.agreements import reachability
from portal.agreements import services as agreements
from portal.agreements.consent import receipts_for_agreement
from portal.agreements.states import AgreementState
from portal.areas.issuer.contact_forms import CheckForm, ContactForm, CsvImportForm, CsvUploadForm
from portal.contacts import services
from portal.contacts.models import Contact
from portal.contacts.rules import efaktura_blockers
from portal.core import db
from portal.core.auth import issuer_login_required
from portal.core.labels import lookup_reason, route_label
from portal.invoices.models import Invoice
from portal.issuers.services import scoped_get, staff_actor

bp = Blueprint("contacts", __name__)

PAGE_SIZE = 25
IMPORT_MAX_AGE = 3600


def _contact_or_404(contact_id: int) -> Contact:
    contact = scoped_get(db.session, Contact, contact_id, current_user.issuer_id)
    if contact is None:
        abort(404)
    return contact


@bp.get("/utsteder/kontakter/")
@issuer_login_required
def index():
    q = request.args.get("q", "")[:200]
    page = services.search_contacts(db.session, current_user.issuer_id, q, after=request.args.get("etter"),
                                    limit=PAGE_SIZE)
    return render_template("contacts/index.html", page=page, q=q)


@bp.route("/utsteder/kontakter/ny", methods=["GET", "POST"])
@issuer_login_required
def new():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.save_contact(db.session, current_user.issuer_id, None, form.values(),
                                            staff_actor(current_user))
        except services.ContactError as exc:
            db.session.rollback()
            form.add_errors(exc.errors)
        else:
            flash(_("Kontakten %(name)s er lagret.", name=contact.name), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contacts/form.html", form=form, contact=None), status


@bp.route("/utsteder/kontakter/<int:contact_id>/endre", methods=["GET", "POST"])
@issuer_login_required
def edit(contact_id: int):
    contact = _contact_or_404(contact_id)
    form = ContactForm(obj=None if request.method == "POST" else contact)
    if request.method == "GET":
        form.kind.data = contact.kind.value
        form.access_point.data = contact.access_point or ""
        form.org_number.data = contact.org_number or ""
        form.mobile.data = contact.mobile or ""
        form.email.data = contact.email or ""
        form.birth_date.data = contact.birth_date.strftime("%d.%m.%Y") if contact.birth_date else ""
    if form.validate_on_submit():
        try:
            services.save_contact(db.session, current_user.issuer_id, contact, form.values(),
                                  staff_actor(current_user))
        except services.ContactError as exc:
            db.session.rollback()
            form.add_errors(exc.errors)
        else:
            flash(_("Endringene er lagret."), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    status = 422 if request.method == "POST" else 200
    return render_template("contacts/form.html", form=form, contact=contact), status


@bp.get("/utsteder/kontakter/<int:contact_id>")
@issuer_login_required
def show(contact_id: int):
    contact = _contact_or_404(contact_id)
    agreement = agreements.agreement_for(db.session, contact)
    blockers = efaktura_blockers(contact, current_user.issuer)
    invoices = list(db.session.scalars(
        select(Invoice).where(Invoice.issuer_id == current_user.issuer_id, Invoice.contact_id == contact.id)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(20)))
    receipts = receipts_for_agreement(db.session, agreement.id) if agreement else []
    others = agreements.answered_by_others(db.session, agreement)
    return render_template("contacts/show.html", contact=contact, agreement=agreement, blockers=blockers,
                           invoices=invoices, receipts=receipts, answered_by_others=others,
                           reach=reachability.lookup(db.session, contact), check_form=CheckForm())


@bp.post("/utsteder/kontakter/<int:contact_id>/sjekk")
@issuer_login_required
def check(contact_id: int):
    """"Check now": run the recipient look-up again and record it."""
    contact = _contact_or_404(contact_id)
    if not CheckForm().validate_on_submit():
        abort(400)
    found = reachability.check_now(db.session, contact, staff_actor(current_user))
    flash(_("Sjekket nå: %(route)s. %(reason)s", route=route_label(found.route.value),
            reason=lookup_reason(found.issuer_reason)), "info")
    if request.form.get("tilbake") == "register":
        return redirect(url_for("contacts.consumers"))
    return redirect(url_for("contacts.show", contact_id=contact.id))


# ---------------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------------

def _import_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="contacts-csv-import")


@bp.get("/utsteder/kontakter/eksempel.csv")
@issuer_login_required
def example_csv():
    return Response(services.CSV_EXAMPLE.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=kontakter-eksempel.csv"})


@bp.route("/utsteder/kontakter/import", methods=["GET", "POST"])
@issuer_login_required
def import_csv():
    form = CsvUploadForm()
    ctx = {"form": form, "header": services.CSV_HEADER}
    if request.method == "GET":
        return render_template("contacts/import.html", **ctx)
    if not form.validate_on_submit():
        return render_template("contacts/import.html", **ctx), 422
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        form.file.errors = [_("Velg en CSV-fil.")]
        return render_template("contacts/import.html", **ctx), 422
    result = services.parse_csv(db.session, current_user.issuer_id, upload.read())
    if result.problem:
        form.file.errors = [result.problem]
        return render_template("contacts/import.html", **ctx), 422
    payload = _import_serializer().dumps({"i": current_user.issuer_id, "u": current_user.id,
                                          "rows": services.serializable_rows(result)})
    confirm = CsvImportForm(formdata=None, payload=payload)
    columns = dict(zip(services.FIELDS, services.CSV_HEADER, strict=False))  # each error names its column
    return render_template("contacts/import_preview.html", result=result, confirm=confirm, columns=columns)


@bp.post("/utsteder/kontakter/import/lagre")
@issuer_login_required
def import_confirm():
    form = CsvImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        data = _import_serializer().loads(form.payload.data or "", max_age=IMPORT_MAX_AGE)
    except BadSignature:
        flash(_("Forhåndsvisningen er for gammel eller ble endret. Last opp filen på nytt. Ingenting ble lagret."),
              "error")
        return redirect(url_for("contacts.import_csv"))
    if not isinstance(data, dict) or data.get("i") != current_user.issuer_id or not isinstance(data.get("rows"), list):
        abort(400)
    saved, skipped = services.import_contacts(db.session, current_user.issuer_id, data["rows"],
                                              staff_actor(current_user))
    flash(ngettext("%(num)s kontakt er importert.", "%(num)s kontakter er importert.", saved), "success")
    if skipped:
        flash(_("Linje %(lines)s ble hoppet over fordi kundenummeret er tatt i bruk siden forhåndsvisningen.",
                lines=", ".join(str(n) for n in skipped)), "warning")
    return redirect(url_for("contacts.index"))


# ---------------------------------------------------------------------------------------------
# Consumer register
# ---------------------------------------------------------------------------------------------

REGISTER_STATES = ("none",) + tuple(s.value for s in AgreementState)


@bp.get("/utsteder/forbrukere")
@issuer_login_required
def consumers():
    issuer_id = current_user.issuer_id
    state = request.args.get("tilstand", "")
    notice = None
    if state and state not in REGISTER_STATES:
        notice = _("Ukjent avtalestatus i filteret ble ignorert.")
        state = ""
    page = agreement_queries.consumer_register(db.session, issuer_id, state or None,
                                               cursor=request.args.get("etter"), size=PAGE_SIZE)
    rows, next_cursor = page.rows, page.next_cursor
    issuer = current_user.issuer
    entries = []
    reaches = reachability.lookup_many(db.session, issuer_id, rows)
    for (contact, agreement), reach in zip(rows, reaches, strict=True):
        reasons = [str(b.message) for b in efaktura_blockers(contact, issuer) if b.code != "issuer_inactive"]
        if agreement is not None and agreement.state is AgreementState.DECLINED:
            reasons.append(_("Kunden har takket nei til eFaktura fra bedriften og blir ikke spurt igjen."))
        if agreement is not None and agreement.state is AgreementState.STOPPED:
            reasons.append(_("Kunden har stoppet eFaktura-avtalen og blir ikke spurt igjen."))
        entries.append((contact, agreement, reasons, reach))
    return render_template("contacts/consumers.html", entries=entries, state=state, states=REGISTER_STATES,
                           notice=notice, next_cursor=next_cursor, issuer=issuer, check_form=CheckForm())
