"""The simulated nettbank: the consumer's delivered eFaktura, their PDFs, and paying them."""
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

from portal.agreements import general
from portal.areas.nettbank.forms import AddressForm, ButtonForm, GeneralConsentForm, PayForm
from portal.bankid.client import consumer_login_required, current_consumer
from portal.core import db
from portal.core.downloads import content_disposition
from portal.delivery.models import NettbankDocument
from portal.invoices import nettbank
from portal.invoices.models import Invoice
from portal.invoices.services import invoice_pdf
from portal.issuers.models import Issuer

bp = Blueprint("nettbank", __name__)


def _page(template: str, status: int = 200, **ctx):
    ctx.setdefault("consumer", current_consumer())
    return render_template(template, **ctx), status



@bp.get("/nettbank")
@consumer_login_required
def index():
    consumer = current_consumer()
    rows, next_cursor = nettbank.nettbank_page(db.session, consumer, request.args.get("after"))
    credits = nettbank.credit_notes_for(db.session, consumer, [inv.id for _doc, inv in rows])
    return _page("nettbank/index.html", rows=rows, next_cursor=next_cursor, credits=credits)


def _own_document(document_id: int) -> NettbankDocument:
    doc = nettbank.document_of(db.session, current_consumer(), document_id)
    if doc is None:
        abort(404)
    return doc


@bp.get("/nettbank/<int:document_id>/pdf")
@consumer_login_required
def pdf(document_id: int):
    doc = _own_document(document_id)
    inv = db.session.get(Invoice, doc.invoice_id)
    filename = f"{'kreditnota' if inv.is_credit_note else 'faktura'}-{inv.number}.pdf"
    return Response(invoice_pdf(inv), mimetype="application/pdf",
                    headers={"Content-Disposition": content_disposition(filename, inline=True)})


@bp.post("/nettbank/<int:document_id>/betal")
@consumer_login_required
def pay(document_id: int):
    _own_document(document_id)
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    doc = nettbank.mark_paid(db.session, current_consumer(), document_id)
    db.session.flush()
    inv = db.session.get(Invoice, doc.invoice_id)
    if doc.paid_at is None:
        flash(_("Det er ingenting å betale for %(number)s: den er kreditert.", number=inv.number), "info")
    else:
        flash(_("Faktura %(number)s er betalt.", number=inv.number), "success")
    return redirect(url_for("nettbank.index"))


# --- eFaktura 2.0: yes to all issuers, blocks, and the profile ------------------------------

def _login() -> general.Login:
    return general.Login(acr=session.get("consumer_acr"), language=str(get_locale() or "nb"))


def _settings(status: int = 200, address_form: AddressForm | None = None):
    consumer = current_consumer()
    sess = db.session
    consent = general.consent_of(sess, consumer.id)
    blocks = {b.issuer_id: b for b in general.blocks_of(sess, consumer.id)}
    senders = nettbank.issuers_sent_to(sess, consumer)
    shown = {issuer.id for issuer, _n, _latest in senders}
    blocked_only = [b.issuer for b in blocks.values() if b.issuer_id not in shown]
    language = str(get_locale() or "nb")
    return _page("nettbank/efaktura.html", status, consent=consent, blocks=blocks, senders=senders,
                 blocked_only=blocked_only, addresses=general.addresses_of(sess, consumer.id),
                 receipts=general.receipts_of(sess, consumer.id, limit=20),
                 consent_form=GeneralConsentForm(), button=ButtonForm(),
                 address_form=address_form or AddressForm(formdata=None),
                 on_text=general.shown_text("consent_on", language),
                 off_text=general.shown_text("consent_off", language))


@bp.get("/nettbank/efaktura")
@consumer_login_required
def efaktura():
    return _settings()


@bp.post("/nettbank/efaktura/samtykke")
@consumer_login_required
def general_consent():
    form = GeneralConsentForm()
    if not form.validate_on_submit():
        abort(400)
    on = form.answer.data == "on"
    receipt = general.set_general_consent(db.session, current_consumer(), on, _login())
    if receipt is None:
        flash(_("Ingenting ble endret: svaret ditt var allerede registrert."), "info")
    elif on:
        flash(_("Du har sagt ja til eFaktura fra alle bedrifter. Kvittering nr. %(n)s.", n=receipt.id), "success")
    else:
        flash(_("Du har trukket tilbake ja til eFaktura fra alle. Kvittering nr. %(n)s.", n=receipt.id), "success")
    return redirect(url_for("nettbank.efaktura"))


def _issuer_or_404(issuer_id: int) -> Issuer:
    issuer = db.session.get(Issuer, issuer_id)
    if issuer is None:
        abort(404)
    return issuer


@bp.post("/nettbank/efaktura/bedrift/<int:issuer_id>/sperr")
@consumer_login_required
def block_issuer(issuer_id: int):
    issuer = _issuer_or_404(issuer_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    receipt = general.block(db.session, current_consumer(), issuer, _login())
    if receipt is not None:
        flash(_("Du får ikke lenger eFaktura fra %(issuer)s. Kvittering nr. %(n)s.", issuer=issuer.name,
                n=receipt.id), "success")
    return redirect(url_for("nettbank.efaktura"))


@bp.post("/nettbank/efaktura/bedrift/<int:issuer_id>/tillat")
@consumer_login_required
def unblock_issuer(issuer_id: int):
    issuer = _issuer_or_404(issuer_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    receipt = general.unblock(db.session, current_consumer(), issuer, _login())
    if receipt is not None:
        flash(_("Sperren for %(issuer)s er opphevet. Kvittering nr. %(n)s.", issuer=issuer.name, n=receipt.id),
              "success")
    return redirect(url_for("nettbank.efaktura"))


@bp.post("/nettbank/efaktura/profil")
@consumer_login_required
def add_address():
    form = AddressForm()
    if not form.validate_on_submit():
        return _settings(422, form)
    try:
        general.add_address(db.session, current_consumer(), form.kind.data, form.value.data, _login())
    except general.GeneralConsentError as exc:
        form.value.errors = [exc.message]
        return _settings(422, form)
    flash(_("Lagt til i profilen din."), "success")
    return redirect(url_for("nettbank.efaktura"))


@bp.post("/nettbank/efaktura/profil/<int:address_id>/fjern")
@consumer_login_required
def remove_address(address_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    if general.remove_address(db.session, current_consumer(), address_id, _login()) is None:
        abort(404)
    flash(_("Fjernet fra profilen din."), "success")
    return redirect(url_for("nettbank.efaktura"))
