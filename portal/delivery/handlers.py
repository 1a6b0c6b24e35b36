"""Outbox handlers for ready-made messages: an e-mail or an SMS whose text is in the row."""
from __future__ import annotations

from sqlalchemy.orm import Session

from portal.core import outbox
from portal.core.labels import N_
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery import channels
from portal.delivery.channels import Mail, PermanentError


def send_email(sess: Session, row: OutboxMessage) -> None:
    payload = row.payload or {}
    to = payload.get("to")
    if not to:
        raise PermanentError(N_("E-posten mangler mottaker."))
    mail = Mail(to=to, subject=payload.get("subject", ""), text=payload.get("text", ""),
                html=payload.get("html"))
    channels.email_channel().send(sess, mail, row.idempotency_key)


def send_sms(sess: Session, row: OutboxMessage) -> None:
    payload = row.payload or {}
    to = channels.check_mobile(payload.get("to"))
    channels.sms_channel().send(sess, to, payload.get("text", ""), row.idempotency_key)


def register_handlers() -> None:
    outbox.register(OutboxKind.EMAIL, send_email)
    outbox.register(OutboxKind.SMS, send_sms)
