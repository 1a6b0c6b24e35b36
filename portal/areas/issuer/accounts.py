"""Issuer area: log-in, sign-up, dashboard, B2C activation, and the approver's link."""
from __future__ import annotations

import hashlib

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from portal.agreements import services as agreements
from portal.areas.issuer.account_forms import (
    ActionForm,
    ApproverAnswerForm,
    ApproverForm,
    CompanySettingsForm,
    ConfirmActivationForm,
    ForgotPasswordForm,
    LoginForm,
    SignupForm,
)
from portal.bankid.client import current_consumer, logout_consumer
from portal.core import db, limits
from portal.core.auth import (
    LoginRefused,
    PasswordRefused,
    attempt_login,
    end_staff_session,
    issuer_login_required,
    safe_next,
    start_staff_session,
    submit_password_change,
)
from portal.core.db import utcnow
from portal.core.forms import ChangePasswordForm, NewPasswordForm
from portal.core.limits import limited
from portal.invoices import queries
from portal.issuers import services
from portal.issuers.register import RegisterUnavailable

bp = Blueprint("issuers", __name__)


def _issuer():
    return current_user.issuer


@bp.route("/utsteder/logg-inn", methods=["GET", "POST"])
@limited("STAFF_LOGIN", methods=["POST"])
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
            if not user.email_verified:
                services.send_verification_link(db.session, user)
                db.keep_changes_on_error()
                form.form_errors.append(_("Du må bekrefte e-postadressen din før du kan logge inn. Vi har sendt "
                                          "deg en ny lenke på e-post."))
                return render_template("issuers/login.html", form=form), 403
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
@limited("SIGNUP", methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            services.create_issuer(
                db.session, org_number=form.org_number.data, admin_name=form.admin_name.data,
                email=form.email.data, password=form.password.data,
                account_number=form.account_number.data or None)
        except services.SignupError as exc:
            db.session.rollback()
            target = {"org_number": form.org_number, "email": form.email,
                      "password": form.password}.get(exc.field or "")
            if target is not None:
                target.errors = list(target.errors) + [str(exc.message)]
            else:
                form.form_errors.append(str(exc.message))
        else:
            # The same answer whether the account is new or already existed (then an e-mail says so).
            return redirect(url_for("issuers.signup_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("issuers/signup.html", form=form), status


@bp.get("/utsteder/registrert")
def signup_sent():
    return render_template("issuers/signup_sent.html")


@bp.route("/utsteder/bekreft-epost/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """GET shows a button (mail scanners open links); POST confirms and logs in."""
    form = ActionForm()
    if request.method == "GET":
        return render_template("issuers/verify_email.html", form=form, token=token)
    if not form.validate_on_submit():
        abort(400)
    try:
        user = services.verify_email(db.session, token)
    except services.EmailLinkError as exc:
        db.session.rollback()
        return render_template("issuers/verify_problem.html", problem=exc.problem.value), (
            410 if exc.problem.value == "expired" else 400)
    start_staff_session(user)
    flash(_("E-postadressen er bekreftet. Neste steg er å aktivere eFaktura B2C."), "success")
    return redirect(url_for("issuers.dashboard"))


@bp.get("/utsteder/")
@issuer_login_required
def dashboard():
    counts = queries.invoice_counts(db.session, current_user.issuer_id)
    board = queries.dashboard(db.session, current_user.issuer_id, utcnow())
    return render_template("issuers/dashboard.html", counts=counts, board=board, issuer=_issuer())


@bp.route("/utsteder/bedrift", methods=["GET", "POST"])
@issuer_login_required
def company():
    """The company's settings: address and account number; name and VAT from the register."""
    issuer = _issuer()
    form = CompanySettingsForm(obj=issuer if request.method == "GET" else None)
    if form.validate_on_submit():
        changed = services.update_company_settings(
            db.session, issuer, current_user, address_line=form.address_line.data or "",
            postal_code=form.postal_code.data or "", city=form.city.data or "",
            account_number=form.account_number.data or "", digest_opt_in=form.digest_opt_in.data)
        flash(_("Endringene er lagret.") if changed else _("Ingenting ble endret."), "success")
        return redirect(url_for("issuers.company"))
    status = 422 if request.method == "POST" else 200
    return render_template("issuers/company.html", form=form, issuer=issuer), status


# ---------------------------------------------------------------------------------------------
# Passwords: change (logged in), and a new one through a link by e-mail (forgotten)
# ---------------------------------------------------------------------------------------------

@bp.route("/utsteder/passord", methods=["GET", "POST"])
@limited("STAFF_LOGIN", methods=["POST"])
@issuer_login_required
def change_password():
    """Current password, new password twice. Success ends every other session of the account and
    gives this browser a fresh one."""
    form = ChangePasswordForm(email=current_user.email)
    status = submit_password_change("issuer", form, services.change_own_password)
    if status is None:
        flash(_("Passordet er endret. Andre steder du var logget inn, er du nå logget ut."), "success")
        return redirect(url_for("issuers.company"))
    return render_template("issuers/password_change.html", form=form), status


@bp.route("/utsteder/glemt-passord", methods=["GET", "POST"])
@limited("PASSWORD_RESET", methods=["POST"])
def forgot_password():
    """Asks for the e-mail address; the answer is the same whether it has an account or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Counted per e-mail address too, so nobody can fill one mailbox from many addresses.
        per_email = hashlib.sha256(form.email.data.encode()).hexdigest()
        limit = str(current_app.config["PORTAL"]["RATE_LIMIT_PASSWORD_RESET"])
        verdict = limits.hit("PASSWORD_RESET", "email:" + per_email, limit, stats_when_allowed=False)
        if not verdict.allowed:
            raise TooManyRequests(retry_after=verdict.reset_seconds)
        services.request_password_reset(db.session, form.email.data)
        return redirect(url_for("issuers.forgot_password_sent"))
    status = 422 if request.method == "POST" else 200
    return render_template("issuers/password_forgot.html", form=form), status


@bp.get("/utsteder/glemt-passord/sendt")
def forgot_password_sent():
    return render_template("issuers/password_forgot_sent.html")


def _reset_problem_page(problem: str):
    status = 400 if problem == "invalid" else 410
    return render_template("issuers/password_reset_problem.html", problem=problem), status


@bp.route("/utsteder/nytt-passord/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """GET only shows the form (mail scanners open links); POST sets the password and uses the
    link up. Nobody is logged in by it: the new password is used at the log-in page."""
    try:
        user = services.check_reset_link(db.session, token)
    except services.PasswordLinkError as exc:
        return _reset_problem_page(exc.problem)
    form = NewPasswordForm(email=user.email)
    if form.validate_on_submit():
        try:
            services.reset_password(db.session, token, form.password.data)
        except services.PasswordLinkError as exc:
            db.session.rollback()
            return _reset_problem_page(exc.problem)
        except PasswordRefused as refused:
            db.session.rollback()
            form.password.errors = [*form.password.errors, str(refused.message)]
        else:
            if current_user.is_authenticated and current_user.get_id() == user.get_id():
                end_staff_session()  # this browser's own session of the account ended with the change
            flash(_("Passordet er endret. Logg inn med det nye passordet."), "success")
            return redirect(url_for("issuers.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("issuers/password_reset.html", form=form, token=token, user=user), status


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
                           action_form=ActionForm(), status=services.approval_status(db.session, issuer))


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
                               preview=preview, action_form=ActionForm(),
                               status=services.approval_status(db.session, issuer)), 422
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
# The approver's link: BankID log-in, then a role holder with signing authority answers
# ---------------------------------------------------------------------------------------------

def _link_problem_page(exc: services.ApproverLinkError):
    status = 410 if exc.problem in (services.ApproverLinkProblem.EXPIRED,
                                    services.ApproverLinkProblem.WITHDRAWN) else 400
    if exc.problem in (services.ApproverLinkProblem.APPROVED, services.ApproverLinkProblem.DECLINED,
                       services.ApproverLinkProblem.CHANGED):
        status = 409
    return render_template("issuers/approver_problem.html", problem=exc.problem.value,
                           agreement=exc.agreement, token=request.view_args.get("token")), status


def _bankid_person() -> services.BankIDPerson | None:
    consumer = current_consumer()
    if consumer is None:
        return None
    return services.BankIDPerson(name=consumer.name, birth_date=consumer.birth_date, sub=consumer.sub,
                                 acr=session.get("consumer_acr"))


def _not_signatory_page(agr, person, exc: services.NotASignatory):
    db.keep_changes_on_error()  # the issuer must see that the named approver could not sign
    return render_template("issuers/approver_not_signatory.html", agreement=agr, issuer=agr.issuer,
                           person=person, signatories=exc.signatories), 403


def _register_down_page(agr):
    return render_template("issuers/approver_register_down.html", agreement=agr, issuer=agr.issuer), 503


@bp.get("/utstederavtale/<token>")
@limited("APPROVER")
def approver(token: str):
    try:
        _link, agr = services.check_approver_link(db.session, token)
    except services.ApproverLinkError as exc:
        return _link_problem_page(exc)
    preview = agreements.activation_preview(db.session, agr.issuer)
    days = int(current_app.config["PORTAL"]["APPROVER_LINK_MAX_AGE"]) // 86400
    person = _bankid_person()
    holder = None
    if person is not None:
        try:
            holder = services.find_signatory(db.session, agr, person)
        except services.NotASignatory as exc:
            return _not_signatory_page(agr, person, exc)
        except RegisterUnavailable:
            return _register_down_page(agr)
    form = ApproverAnswerForm(formdata=None, digest=services.agreement_digest(agr))
    login_url = url_for("bankid.login", next=url_for("issuers.approver", token=token))
    return render_template("issuers/approver.html", agreement=agr, issuer=agr.issuer, preview=preview,
                           form=form, token=token, days=days, person=person, holder=holder,
                           login_url=login_url, text_version=services.APPROVER_TEXT_VERSION)


@bp.post("/utstederavtale/<token>")
@limited("APPROVER")
def approver_answer(token: str):
    form = ApproverAnswerForm()
    if not form.validate_on_submit():
        abort(400)
    person = _bankid_person()
    if person is None:
        return redirect(url_for("issuers.approver", token=token))
    try:
        agr = services.answer_issuer_agreement(db.session, token, approve=form.decision.data == "approve",
                                               person=person, digest=form.digest.data)
    except services.ApproverLinkError as exc:
        db.session.rollback()
        return _link_problem_page(exc)
    except services.NotASignatory as exc:
        _link, agr = services.check_approver_link(db.session, token)
        return _not_signatory_page(agr, person, exc)
    except RegisterUnavailable:
        db.session.rollback()
        _link, agr = services.check_approver_link(db.session, token)
        return _register_down_page(agr)
    logout_consumer()  # the approver was here only to answer
    return render_template("issuers/approver_done.html", agreement=agr, issuer=agr.issuer)
