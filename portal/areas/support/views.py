"""Support area: log-in, search, status pages with timelines, and two careful actions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.areas.support.forms import ActionForm, LoginForm, SearchForm
from portal.core import db
from portal.core.auth import (
    LoginRefused,
    attempt_login,
    end_staff_session,
    safe_next,
    start_staff_session,
    submit_password_change,
    support_login_required,
)
from portal.core.forms import ChangePasswordForm
from portal.core.limits import limited
from portal.invoices.models import Invoice
from portal.support import services

bp = Blueprint("support", __name__, url_prefix="/kundestotte")

_KIND_WORDS = {"email": _l("e-post"), "invoice_email": _l("faktura på e-post"), "sms": _l("SMS"),
               "nettbank": _l("nettbank"), "post": _l("post"), "consent_deadline": _l("tredagersfrist"),
               "consent_expiry": _l("utløp av samtykkelenke"), "webhook": _l("varsel til regnskapssystem")}


def _invoice_number(invoice_id: int | None) -> str | None:
    """The invoice number support talks about (the row id means nothing to anyone)."""
    if not invoice_id:
        return None
    inv = db.session.get(Invoice, invoice_id)
    return inv.number if inv is not None else None


def _audit_detail(row) -> str:
    """The detail of an audit row in words, not codes."""
    detail = row.detail or ""
    if row.action == "retry" and " → " in detail:
        kind, new_id = detail.split(" → ", 1)
        return _("%(kind)s, sendes som melding %(id)s", kind=_KIND_WORDS.get(kind, kind), id=new_id)
    if row.action == "reveal" and detail == "mobile":
        return _("mobilnummer")
    if row.action == "search" and " → " in detail:
        query, hits = detail.rsplit(" → ", 1)
        return _("%(query)s – %(hits)s treff", query=query, hits=hits)
    return detail


# Globals (not a context processor), so the macros in support/_partials.html see them too.
bp.add_app_template_global(_invoice_number, "invoice_number")
bp.add_app_template_global(_audit_detail, "audit_detail")

def _is_support_user() -> bool:
    return current_user.is_authenticated and current_user.get_id().startswith("support:")


@bp.route("/logg-inn", methods=["GET", "POST"])
@limited("STAFF_LOGIN", methods=["POST"])
def login():
    target = safe_next(request.args.get("next"), url_for("support.search"))
    if _is_support_user():
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = attempt_login("support", services.authenticate, form.email.data, form.password.data)
        except LoginRefused as refused:
            form.form_errors.append(refused.message)
            return render_template("support/login.html", form=form), refused.status
        start_staff_session(user)
        return redirect(target)
    status = 422 if request.method == "POST" else 200
    return render_template("support/login.html", form=form), status


@bp.post("/logg-ut")
def logout():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    end_staff_session()
    flash(_("Du er logget ut."), "success")
    return redirect(url_for("support.login"))


@bp.route("/passord", methods=["GET", "POST"])
@limited("STAFF_LOGIN", methods=["POST"])
@support_login_required
def change_password():
    """Current password, new password twice; success ends every other session of the account and
    gives this browser a fresh one. A forgotten password is set by an administrator
    (``flask set-support-password``)."""
    form = ChangePasswordForm(email=current_user.email)
    status = submit_password_change("support", form, services.change_own_password)
    if status is None:
        flash(_("Passordet er endret. Andre steder du var logget inn, er du nå logget ut."), "success")
        return redirect(url_for("support.search"))
    return render_template("support/password_change.html", form=form), status


@bp.route("/", methods=["GET", "POST"])
@limited("SUPPORT_SEARCH", methods=["POST"])
@support_login_required
def search():
    form = SearchForm()
    result = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            result = services.search(db.session, current_user, form.q.data or "", only=form.kind.data or None,
                                     cursor=form.after.data or None)
        else:
            status = 422
    return render_template("support/search.html", form=form, result=result), status


@bp.get("/kontakter/<int:contact_id>")
@support_login_required
def contact(contact_id: int):
    status = services.contact_status(db.session, current_user, contact_id)
    if status is None:
        abort(404)
    return render_template("support/contact.html", s=status, form=ActionForm())


@bp.post("/kontakter/<int:contact_id>/vis-mobil")
@support_login_required
def reveal(contact_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    status = services.contact_status(db.session, current_user, contact_id, reveal=True)
    if status is None:
        abort(404)
    return render_template("support/contact.html", s=status, form=form)


@bp.post("/kontakter/<int:contact_id>/send-samtykke")
@support_login_required
def resend(contact_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.resend_consent(db.session, current_user, contact_id)
    except LookupError:
        abort(404)
    except services.SupportError as exc:
        flash(_("Forespørselen ble ikke sendt på nytt:"), "warning")
        for reason in exc.message:
            flash(str(reason), "warning")
        return redirect(url_for("support.contact", contact_id=contact_id))
    flash(_("Samtykkeforespørselen er sendt på nytt på SMS og e-post."), "success")
    return redirect(url_for("support.contact", contact_id=contact_id))


@bp.post("/utboks/<int:message_id>/prov-igjen")
@support_login_required
def retry(message_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    back = safe_next(form.next.data, url_for("support.search"))
    try:
        services.retry_outbox(db.session, current_user, message_id)
    except LookupError:
        abort(404)
    except services.SupportError as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return redirect(back)
    flash(_("Meldingen er lagt i køen igjen og sendes straks."), "success")
    return redirect(back)


@bp.get("/fakturaer/<int:invoice_id>")
@support_login_required
def invoice(invoice_id: int):
    status = services.invoice_status(db.session, current_user, invoice_id)
    if status is None:
        abort(404)
    return render_template("support/invoice.html", s=status, form=ActionForm())


@bp.get("/utstedere/<int:issuer_id>")
@support_login_required
def issuer(issuer_id: int):
    status = services.issuer_status(db.session, current_user, issuer_id)
    if status is None:
        abort(404)
    return render_template("support/issuer.html", s=status, form=ActionForm())


@bp.get("/forbrukere/<int:consumer_id>")
@support_login_required
def consumer(consumer_id: int):
    status = services.consumer_status(db.session, current_user, consumer_id)
    if status is None:
        abort(404)
    return render_template("support/consumer.html", s=status)


@bp.get("/logg")
@support_login_required
def audit():
    rows, more, users = services.audit_page(db.session, current_user, request.args.get("before"))
    return render_template("support/audit.html", rows=rows, more=more, users=users)
