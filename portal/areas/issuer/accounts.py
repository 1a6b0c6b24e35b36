"""Issuer area: log-in, sign-up, dashboard, B2C activation, and the approver's link."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.agreements import services as agreements
from portal.areas.issuer.account_forms import (
    ActionForm,
    ApproverForm,
    ConfirmActivationForm,
    LoginForm,
    SignupForm,
)
from portal.core import db
from portal.core.auth import (
    LoginRefused,
    attempt_login,
    end_staff_session,
    issuer_login_required,
    safe_next,
    start_staff_session,
)
from portal.core.db import utcnow
from portal.invoices import queries
from portal.issuers import services

bp = Blueprint("issuers", __name__)


def _issuer():
    return current_user.issuer


@bp.route("/utsteder/logg-inn", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    if form.validate_on_submit():
        try:
            user = attempt_login("issuer", services.authenticate, form.email.data, form.password.data)
        except LoginRefused as refused:
            form.form_errors.append(refused.message)
            status = refused.status
        else:
            start_staff_session(user)
            return redirect(safe_next(form.next.data, url_for("issuers.dashboard")))
    elif request.method == "POST":
        status = 422
    return render_template("issuers/login.html", form=form), status


@bp.post("/utsteder/logg-ut")
def logout():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    end_staff_session()
    flash(_("Du er logget ut."), "info")
    return redirect(url_for("issuers.login"))


@bp.route("/utsteder/registrer", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_issuer(
                db.session, name=form.company_name.data, org_number=form.org_number.data,
                admin_name=form.admin_name.data, email=form.email.data, password=form.password.data,
                account_number=form.account_number.data or None)
        except services.SignupError as exc:
            db.session.rollback()
            target = {"org_number": form.org_number, "email": form.email,
                      "password": form.password}.get(exc.field)
            if target is not None:
                target.errors = list(target.errors) + [str(exc.message)]
            else:
                form.form_errors.append(str(exc.message))
        else:
            start_staff_session(user)
            flash(_("Bedriften er registrert. Neste steg er å aktivere eFaktura B2C."), "success")
            return redirect(url_for("issuers.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("issuers/signup.html", form=form), status


@bp.get("/utsteder/")
@issuer_login_required
def dashboard():
    counts = queries.invoice_counts(db.session, current_user.issuer_id)
    board = queries.dashboard(db.session, current_user.issuer_id, utcnow())
    return render_template("issuers/dashboard.html", counts=counts, board=board, issuer=_issuer())


# ---------------------------------------------------------------------------------------------
# B2C activation
# ---------------------------------------------------------------------------------------------

@bp.get("/utsteder/b2c")
@issuer_login_required
def b2c():
    issuer = _issuer()
    form = ApproverForm()
    pending = issuer.pending_agreement
    if pending is not None and request.method == "GET":
        form.approver_name.data = pending.approver_name
        form.approver_email.data = pending.approver_email
    preview = agreements.activation_preview(db.session, issuer)
    return render_template("issuers/b2c.html", form=form, issuer=issuer, pending=pending, preview=preview,
                           action_form=ActionForm())


@bp.post("/utsteder/b2c/forhandsvis")
@issuer_login_required
def b2c_preview():
    issuer = _issuer()
    if issuer.is_active:
        flash(_("eFaktura B2C er allerede aktivert."), "info")
        return redirect(url_for("issuers.b2c"))
    form = ApproverForm()
    preview = agreements.activation_preview(db.session, issuer)
    if not form.validate_on_submit():
        return render_template("issuers/b2c.html", form=form, issuer=issuer, pending=issuer.pending_agreement,
                               preview=preview, action_form=ActionForm()), 422
    confirm = ConfirmActivationForm(uses_avtalegiro=issuer.uses_avtalegiro, formdata=None,
                                    approver_name=form.approver_name.data,
                                    approver_email=form.approver_email.data)
    return render_template("issuers/b2c_preview.html", form=confirm, issuer=issuer, preview=preview)


@bp.post("/utsteder/b2c/bekreft")
@issuer_login_required
def b2c_confirm():
    issuer = _issuer()
    if issuer.is_active:
        flash(_("eFaktura B2C er allerede aktivert."), "info")
        return redirect(url_for("issuers.b2c"))
    form = ConfirmActivationForm(uses_avtalegiro=issuer.uses_avtalegiro)
    preview = agreements.activation_preview(db.session, issuer)
    if not form.validate_on_submit():
        return render_template("issuers/b2c_preview.html", form=form, issuer=issuer, preview=preview), 422
    try:
        agr = services.request_activation(db.session, issuer, current_user, approver_name=form.approver_name.data,
                                          approver_email=form.approver_email.data,
                                          stop_avtalegiro=form.stop_avtalegiro.data, preview=preview)
    except services.ActivationError as exc:
        db.session.rollback()
        form.form_errors.append(str(exc.message))
        return render_template("issuers/b2c_preview.html", form=form, issuer=issuer, preview=preview), 422
    flash(_("Utstederavtalen er sendt til %(name)s (%(email)s) for godkjenning.",
            name=agr.approver_name, email=agr.approver_email), "success")
    return redirect(url_for("issuers.b2c"))


@bp.post("/utsteder/b2c/send-igjen")
@issuer_login_required
def b2c_resend():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    issuer = _issuer()
    try:
        services.resend_approver_link(db.session, issuer, current_user,
                                      agreements.activation_preview(db.session, issuer))
    except services.ActivationError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(url_for("issuers.b2c"))
    agr = issuer.pending_agreement
    flash(_("En ny lenke er sendt til %(email)s.", email=agr.approver_email), "success")
    return redirect(url_for("issuers.b2c"))


# ---------------------------------------------------------------------------------------------
# The approver's link (no log-in)
# ---------------------------------------------------------------------------------------------

def _link_problem_page(exc: services.ApproverLinkError):
    status = 410 if exc.problem in (services.ApproverLinkProblem.EXPIRED,
                                    services.ApproverLinkProblem.WITHDRAWN) else 400
    if exc.problem is services.ApproverLinkProblem.APPROVED:
        status = 409
    return render_template("issuers/approver_problem.html", problem=exc.problem.value,
                           agreement=exc.agreement), status


@bp.get("/utstederavtale/<token>")
def approver(token: str):
    try:
        _link, agr = services.check_approver_link(db.session, token)
    except services.ApproverLinkError as exc:
        return _link_problem_page(exc)
    preview = agreements.activation_preview(db.session, agr.issuer)
    days = int(current_app.config["PORTAL"]["APPROVER_LINK_MAX_AGE"]) // 86400
    return render_template("issuers/approver.html", agreement=agr, issuer=agr.issuer, preview=preview,
                           form=ActionForm(), token=token, days=days)


@bp.post("/utstederavtale/<token>")
def approver_approve(token: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        agr = services.approve_issuer_agreement(db.session, token)
    except services.ApproverLinkError as exc:
        db.session.rollback()
        return _link_problem_page(exc)
    return render_template("issuers/approver_done.html", agreement=agr, issuer=agr.issuer)
