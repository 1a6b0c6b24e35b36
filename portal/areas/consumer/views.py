"""Consumer pages: the consent link, the answer after BankID, My agreements and the consent
receipts."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from portal.agreements import consent as services
from portal.agreements.services import ConsentError
from portal.agreements.states import AgreementState
from portal.areas.consumer.forms import ApproveForm, DecisionForm, StopForm
from portal.bankid.client import consumer_login_required, current_consumer
from portal.core import db
from portal.core.limits import limited
from portal.core.states import InvalidTransition
from portal.core.tokens import Purpose, expand

bp = Blueprint("consumer", __name__)

# A decision that lost a race with the worker (the deadline released an invoice at the same
# moment) is tried once more; the second try sees the new state.
_ATTEMPTS = 2


def _language() -> str:
    return str(get_locale() or "nb")


def _acr() -> str | None:
    return session.get("consumer_acr")


def _page(template: str, status: int = 200, **ctx):
    ctx.setdefault("consumer", current_consumer())
    return render_template(template, **ctx), status


def _problem(view: services.ConsentLink, notice: str | None = None):
    status = 404 if view.status is services.LinkStatus.INVALID else 200
    if view.status is services.LinkStatus.EXPIRED:
        status = 410
    return _page("consent/link_problem.html", status, view=view, notice=notice)


# --- the consent link ------------------------------------------------------------------------

@bp.get("/samtykke/<token>")
@limited("CONSENT")
def landing(token: str):
    """Opening the link only shows the question: previews and scanners must not use it up."""
    view = services.read_link(db.session, token)
    if not view.is_open:
        return _problem(view)
    return _page("consent/landing.html", view=view, issuer=view.issuer, token=token, request_=view.request)


def _choice() -> str | None:
    """Which answer the person chose on the landing page ("Nei takk" → decline)."""
    return request.values.get("choice") if request.values.get("choice") in ("approve", "decline") else None


def _page_text(issuer_name: str, choice: str | None) -> str:
    """The text the confirm page shows: what declining means after "Nei takk", else what you agree to."""
    if choice == "decline":
        return services.decline_text(issuer_name, _language())
    return services.consent_text(issuer_name, _language())


@bp.get("/s/<code>")
def short_link(code: str):
    """The short link of a consent SMS: on to the signed link it stands for (which still decides
    whether it can be answered)."""
    token = expand(db.session, Purpose.CONSENT, code)
    if token is None:
        return _problem(services.ConsentLink(services.LinkStatus.INVALID))
    return redirect(url_for("consumer.landing", token=token))


def _render_confirm(view, token: str, form: DecisionForm, *, status: int = 200, text_changed: bool = False,
                    choice: str | None = None):
    choice = choice or _choice()
    shown = _page_text(view.issuer.name, choice)
    return _page("consent/confirm.html", status, view=view, issuer=view.issuer, token=token, form=form,
                 shown_text=shown, digest=services.text_digest(shown), choice=choice, text_changed=text_changed)


def _conflict(exc: ConsentError, issuer=None):
    """The person may not answer. Someone other than the contact sees their own page (and the
    note made on the agreement is kept); a person under 18 is told an adult must answer."""
    if exc.code == "answered_by_other":
        db.keep_changes_on_error()
        return _page("consent/not_for_you.html", 403, issuer=issuer)
    if exc.code == "underage":
        db.keep_changes_on_error()  # only the note that someone else tried, when it was so
        return _page("consent/underage.html", 403, issuer=issuer)
    db.session.rollback()
    return _page("consent/conflict.html", 409, message=exc.message)


@bp.route("/samtykke/<token>/svar", methods=["GET", "POST"])
@limited("CONSENT")
@consumer_login_required
def confirm(token: str):
    """After BankID: read exactly what you agree to, then approve or decline."""
    consumer = current_consumer()
    view = services.read_link(db.session, token)
    if not view.is_open:
        return _problem(view)
    try:
        services.check_link_answerer(db.session, view, consumer)
    except ConsentError as exc:
        return _conflict(exc, view.issuer)
    form = DecisionForm()
    if request.method == "GET":
        return _render_confirm(view, token, form)
    if not form.validate_on_submit():
        return _render_confirm(view, token, form, status=422)
    page_text = _page_text(view.issuer.name, _choice())
    if form.digest.data != services.text_digest(page_text):
        return _render_confirm(view, token, form, status=422, text_changed=True)
    if _choice() == "decline" and form.decision.data == "approve":  # the consent text was not on this page
        return _render_confirm(view, token, form, status=422, text_changed=True, choice="approve")
    # The receipt keeps the text of the answer given: a decline is never filed under "Jeg godtar".
    shown = _page_text(view.issuer.name, form.decision.data)

    for attempt in range(_ATTEMPTS):
        try:
            receipt = services.decide_from_link(db.session, token, consumer, form.decision.data,
                                                shown_text=shown, language=_language(), acr=_acr())
            db.session.flush()
            break
        except ConsentError as exc:
            return _conflict(exc, view.issuer)
        except StaleDataError:
            db.session.rollback()
            if attempt + 1 == _ATTEMPTS:
                return _answered_meanwhile(token)
        except (services.Conflict, InvalidTransition):
            db.session.rollback()
            return _answered_meanwhile(token)
    if receipt.decision == "approve":
        flash(_("Takk! Fakturaer fra %(issuer)s kommer nå i nettbanken din.", issuer=view.issuer.name), "success")
    else:
        flash(_("Svaret er registrert. Fakturaer fra %(issuer)s kommer på e-post eller i posten.",
                issuer=view.issuer.name), "success")
    return redirect(url_for("consumer.receipt", agreement_id=receipt.agreement_id))


def _answered_meanwhile(token: str):
    """Another tab, a double click or the deadline got there first: show how things stand now."""
    db.session.expire_all()
    view = services.read_link(db.session, token)
    if view.is_open:
        flash(_("Noe endret seg mens du svarte, så svaret ble ikke lagret. Prøv igjen."), "warning")
        return redirect(url_for("consumer.confirm", token=token))
    return _problem(view, notice=_("Svaret ditt var allerede registrert. Ingenting ble endret nå."))


# --- My agreements ---------------------------------------------------------------------------

@bp.get("/min-side")
@consumer_login_required
def home():
    return redirect(url_for("consumer.my_agreements"))


@bp.get("/min-side/avtaler")
@consumer_login_required
def my_agreements():
    consumer = current_consumer()
    rows = services.visible_agreements(db.session, consumer)
    with_receipts = {a.id for a in rows if services.latest_receipt(db.session, a.id) is not None}
    return _page("consent/my_agreements.html", agreements=rows, with_receipts=with_receipts,
                 approvable=services.approvable_ids(consumer, rows))


def _own_agreement(agreement_id: int):
    agreement = services.agreement_of(db.session, current_consumer(), agreement_id)
    if agreement is None:
        abort(404)
    return agreement


def _decide_in_portal(agreement, form, template: str, shown: str, decide, done_message: str):
    """Show the exact text, and on a valid POST record the decision through one service call."""
    digest = services.text_digest(shown)
    changed = form.is_submitted() and form.digest.data != digest
    if request.method == "GET" or changed or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return _page(template, status, agreement=agreement, form=form, shown_text=shown, digest=digest,
                     text_changed=changed)
    try:
        decide(db.session, current_consumer(), agreement.id, shown_text=shown, language=_language(), acr=_acr())
        db.session.flush()
    except ConsentError as exc:
        return _conflict(exc, agreement.issuer)
    except (services.Conflict, InvalidTransition, StaleDataError):
        db.session.rollback()
        flash(_("Avtalen ble endret mens du svarte. Se hvordan den står nå."), "warning")
        return redirect(url_for("consumer.my_agreements"))
    flash(done_message, "success")
    return redirect(url_for("consumer.my_agreements"))


@bp.route("/min-side/avtaler/<int:agreement_id>/godta", methods=["GET", "POST"])
@consumer_login_required
def approve(agreement_id: int):
    """Say yes to an issuer from My agreements (after declining, stopping or a missed link)."""
    agreement = _own_agreement(agreement_id)
    issuer = agreement.issuer.name
    if agreement.state not in services.APPROVABLE:
        flash(_("eFaktura fra %(issuer)s er allerede aktiv.", issuer=issuer), "info")
        return redirect(url_for("consumer.my_agreements"))
    try:
        services.check_answerer(db.session, current_consumer(), agreement, channel="portal")
    except ConsentError as exc:
        return _conflict(exc, agreement.issuer)
    return _decide_in_portal(
        agreement, ApproveForm(), "consent/approve.html", services.consent_text(issuer, _language()),
        services.approve_in_portal,
        _("Takk! Fakturaer fra %(issuer)s kommer nå i nettbanken din.", issuer=issuer))


@bp.route("/min-side/avtaler/<int:agreement_id>/stopp", methods=["GET", "POST"])
@consumer_login_required
def stop(agreement_id: int):
    """End an active agreement, after a confirm step."""
    agreement = _own_agreement(agreement_id)
    issuer = agreement.issuer.name
    if agreement.state is not AgreementState.ACTIVE:
        flash(_("Avtalen med %(issuer)s er ikke aktiv, så det er ingenting å stoppe.", issuer=issuer), "info")
        return redirect(url_for("consumer.my_agreements"))
    return _decide_in_portal(
        agreement, StopForm(), "consent/stop.html", services.stop_text(issuer, _language()),
        services.stop_in_portal,
        _("eFaktura fra %(issuer)s er stoppet. Senere fakturaer kommer på e-post eller i posten.", issuer=issuer))


# --- receipts --------------------------------------------------------------------------------

@bp.get("/min-side/avtaler/<int:agreement_id>/kvittering")
@consumer_login_required
def receipt(agreement_id: int):
    consumer = current_consumer()
    agreement = _own_agreement(agreement_id)
    receipts = [r for r in services.receipts_for_agreement(db.session, agreement.id)
                if r.consumer_id == consumer.id]
    return _page("consent/receipt.html", agreement=agreement, receipts=receipts)


@bp.get("/min-side/avtaler/<int:agreement_id>/kvittering/<int:receipt_id>.txt")
@consumer_login_required
def receipt_download(agreement_id: int, receipt_id: int):
    agreement = _own_agreement(agreement_id)
    r = services.receipt_of(db.session, current_consumer(), agreement.id, receipt_id)
    if r is None:
        abort(404)
    decisions = {"approve": _("Godtatt"), "decline": _("Avslått"), "stop": _("Stoppet")}
    channels = {"sms": _("lenke i SMS"), "email": _("lenke i e-post"), "portal": _("Mine avtaler")}
    text = render_template("consent/receipt.txt", agreement=agreement, r=r,
                           decision=decisions.get(r.decision, r.decision),
                           channel=channels.get(r.channel, r.channel))
    filename = f"samtykkekvittering-{agreement.id}-{r.id}.txt"
    return Response(text, mimetype="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
