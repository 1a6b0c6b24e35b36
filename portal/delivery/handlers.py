"""Outbox handlers for ready-made messages: an e-mail or an SMS whose text is in the row.

Both are three steps (see :class:`portal.core.outbox.Handler`): the message is built from the row
alone, sent with no database transaction open, and nothing but the row's state is recorded.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal.core import outbox
from portal.core.labels import N_
from portal.core.outbox import OutboxKind
from portal.delivery import channels
from portal.delivery.channels import Mail, PermanentError


@dataclass(frozen=True)
class EmailJob:
    mail: Mail
    key: str


@dataclass(frozen=True)
class SmsJob:
    to: str
    text: str
    key: str


def prepare_email(_sess: Session, row) -> EmailJob:
    payload = row.payload or {}
    to = payload.get("to")
    if not to:
        raise PermanentError(N_("E-posten mangler mottaker."))
    mail = Mail(to=to, subject=payload.get("subject", ""), text=payload.get("text", ""),
                html=payload.get("html"))
    return EmailJob(mail, row.idempotency_key)


def send_email(job: EmailJob) -> str:
    return channels.email_channel().send(job.mail, job.key)


def prepare_sms(_sess: Session, row) -> SmsJob:
    payload = row.payload or {}
    return SmsJob(channels.check_mobile(payload.get("to")), payload.get("text", ""), row.idempotency_key)


def send_sms(job: SmsJob) -> None:
    channels.sms_channel().send(job.to, job.text, job.key)


def register_handlers() -> None:
    outbox.register(OutboxKind.EMAIL, prepare=prepare_email, send=send_email, channel="email")
    outbox.register(OutboxKind.SMS, prepare=prepare_sms, send=send_sms, channel="sms")
