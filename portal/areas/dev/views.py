"""The development mailbox: every e-mail and SMS the embedded default keeps instead of sending."""
from __future__ import annotations

import re

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup, escape
from sqlalchemy import and_, or_, select

from portal.core import db
from portal.core.downloads import content_disposition
from portal.delivery.models import MailboxMessage

bp = Blueprint("dev", __name__)

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

    name = msg.attachment_name or "vedlegg.pdf"
    mimetype = "application/pdf" if name.lower().endswith(".pdf") else "application/octet-stream"
    return Response(msg.attachment, mimetype=mimetype,
                    headers={"Content-Disposition": content_disposition(name)})
