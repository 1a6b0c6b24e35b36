"""The simulated nettbank: the consumer's delivered eFaktura, their PDFs, and paying them."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.areas.nettbank.forms import PayForm
from portal.bankid.client import consumer_login_required, current_consumer
from portal.core import db
from portal.core.downloads import content_disposition
from portal.delivery.models import NettbankDocument
from portal.invoices import nettbank
from portal.invoices.models import Invoice
from portal.invoices.services import invoice_pdf

bp = Blueprint("nettbank", __name__)


def _page(template: str, status: int = 200, **ctx):
    ctx.setdefault("consumer", current_consumer())
    return render_template(template, **ctx), status



@bp.get("/nettbank")
@consumer_login_required
def index():
    consumer = current_consumer()
    rows, next_cursor = nettbank.nettbank_page(db.session, consumer, request.args.get("after"))
    return _page("nettbank/index.html", rows=rows, next_cursor=next_cursor)


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
    filename = f"faktura-{inv.number}.pdf"
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
    flash(_("Faktura %(number)s er betalt.", number=inv.number), "success")
    return redirect(url_for("nettbank.index"))
