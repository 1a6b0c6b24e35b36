"""Delivery pages: the development mailbox and the issuer's print batches."""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import and_, func, or_, select

from portal import db
from portal.auth import issuer_login_required
from portal.delivery.models import MailboxMessage, PrintJob

bp = Blueprint("delivery", __name__)

PAGE_SIZE = 25
_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Plain text as HTML with every http(s) URL a link; everything else escaped."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(text or ""):
        url = match.group(0).rstrip(".,;:)!?")
        end = match.start() + len(url)
        out.append(str(escape(text[pos:match.start()])))
        out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        pos = end
    out.append(str(escape((text or "")[pos:])))
    return Markup("".join(out))


def _require_dev_tools() -> None:
    if not current_app.config["PORTAL"]["DEV_TOOLS"]:
        abort(404)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@bp.get("/dev/postkasse")
def mailbox():
    _require_dev_tools()
    recipient = (request.args.get("til") or "").strip()[:254]
    kind = request.args.get("type") if request.args.get("type") in ("email", "sms") else ""
    stmt = select(MailboxMessage)
    if recipient:
        stmt = stmt.where(MailboxMessage.recipient == recipient)
    if kind:
        stmt = stmt.where(MailboxMessage.channel == kind)
    cursor_id = _int_arg("eldre")
    cursor = db.session.get(MailboxMessage, cursor_id) if cursor_id else None
    if cursor is not None:
        stmt = stmt.where(or_(MailboxMessage.created_at < cursor.created_at,
                              and_(MailboxMessage.created_at == cursor.created_at,
                                   MailboxMessage.id < cursor.id)))
    rows = list(db.session.scalars(stmt.order_by(MailboxMessage.created_at.desc(), MailboxMessage.id.desc())
                                   .limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template("delivery/mailbox.html", messages=rows, recipient=recipient, kind=kind,
                           next_cursor=rows[-1].id if more else None)


@bp.get("/dev/postkasse/<int:message_id>")
def mailbox_message(message_id: int):
    _require_dev_tools()
    msg = db.session.get(MailboxMessage, message_id) or abort(404)
    return render_template("delivery/mailbox_message.html", msg=msg, body=linkify(msg.body_text))


@bp.get("/dev/postkasse/<int:message_id>/vedlegg")
def mailbox_attachment(message_id: int):
    _require_dev_tools()
    msg = db.session.get(MailboxMessage, message_id)
    if msg is None or msg.attachment is None:
        abort(404)
    import io

    name = msg.attachment_name or "vedlegg.pdf"
    mimetype = "application/pdf" if name.lower().endswith(".pdf") else "application/octet-stream"
    return send_file(io.BytesIO(msg.attachment), mimetype=mimetype, as_attachment=True, download_name=name)


# --- print batches (issuer area) ---------------------------------------------------------

@bp.get("/utsteder/utskrift")
@issuer_login_required
def print_batches():
    issuer_id = current_user.issuer_id
    stmt = (select(PrintJob.batch_date, func.count(PrintJob.id))
            .where(PrintJob.issuer_id == issuer_id)
            .group_by(PrintJob.batch_date))
    before = _parse_date(request.args.get("eldre"))
    if before is not None:
        stmt = stmt.where(PrintJob.batch_date < before)
    rows = list(db.session.execute(stmt.order_by(PrintJob.batch_date.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template("delivery/print_batches.html", batches=rows,
                           next_cursor=rows[-1][0].isoformat() if more else None)


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.get("/utsteder/utskrift/<batch>.pdf")
@issuer_login_required
def print_batch_pdf(batch: str):
    import io

    from portal.invoices import services as invoices
    from portal.invoices.models import Invoice
    from portal.pdf import PartyInfo, render_print_batch

    day = _parse_date(batch) or abort(404)
    jobs = list(db.session.execute(
        select(PrintJob, Invoice).join(Invoice, Invoice.id == PrintJob.invoice_id)
        .where(PrintJob.issuer_id == current_user.issuer_id, PrintJob.batch_date == day)
        .order_by(PrintJob.id)))
    if not jobs:
        abort(404)
    items = []
    for _job, inv in jobs:
        contact, issuer = inv.contact, inv.issuer
        recipient = PartyInfo(contact.name, contact.address_lines[1:])
        sender_lines = tuple(x for x in (issuer.address_line, f"{issuer.postal_code} {issuer.city}".strip()) if x)
        sender = PartyInfo(issuer.name, sender_lines, issuer.org_number)
        items.append((recipient, sender, inv.number, invoices.invoice_pdf(inv)))
    pdf = render_print_batch(items)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"utskrift-{day.isoformat()}.pdf")
