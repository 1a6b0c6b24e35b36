"""The outside world the worker talks to: e-mail, SMS, nettbank and the print queue.

Each channel has an embedded default that keeps what it would send in the database (the
development mailbox, the simulated nettbank, the print queue) and, for e-mail and SMS, a
real adapter chosen by configuration. Channels raise :class:`TransientError` for a failure
that may pass (the row is tried again later) and :class:`PermanentError` for one that will
not (the row is given up with the reason).
"""
from __future__ import annotations

import datetime as dt
import email.policy
import ipaddress
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core import db
from portal.core.identifiers import is_valid_mobile
from portal.core.labels import N_
from portal.delivery.models import MailboxMessage, NettbankDocument, PrintJob

OSLO = ZoneInfo("Europe/Oslo")


class DeliveryError(Exception):
    """A channel could not do its work; ``reason`` is one line for support."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:900]


class TransientError(DeliveryError):
    """Try again later (connection refused, timeout, 4xx from a mail server, 5xx from a gateway)."""


class PermanentError(DeliveryError):
    """Trying again will not help until someone fixes the cause."""


def message_id_domain() -> str:
    """The right-hand side of our Message-IDs: the host of the configured PORTAL_BASE_URL."""
    host = urlsplit(_settings()["BASE_URL"]).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    return f"[{host}]"


def message_id(key: str) -> str:
    """The e-mail Message-ID for one outbox effect: the same key always gives the same id, so a
    receiving system that deduplicates on it never shows a retried message twice. The key
    starts with the installation's id, so ids never repeat across installations."""
    safe = re.sub(r"[^A-Za-z0-9.\-_]", ".", key).strip(".") or "x"
    return f"<outbox-{safe}@{message_id_domain()}>"


# --- e-mail ------------------------------------------------------------------------------

@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


class EmailChannel(Protocol):
    def send(self, mail: Mail, key: str) -> str:
        """Send one e-mail; ``key`` is the idempotency key. Returns the Message-ID. Called with
        no database transaction open."""


def _settings() -> dict:
    return current_app.config["PORTAL"]


# Long header lines are kept whole (up to the 998 characters RFC 5322 allows), so a long
# Message-ID is never folded onto a line of its own.
MAIL_POLICY = email.policy.default.clone(max_line_length=998)


def build_message(mail: Mail, key: str, sender: str) -> EmailMessage:
    """The e-mail to send. One that cannot be built (a header with a line break, say) will never
    be buildable: a PermanentError, not a retry."""
    try:
        return _build_message(mail, key, sender)
    except (ValueError, TypeError) as exc:
        raise PermanentError(f"the e-mail cannot be built: {exc.__class__.__name__}: {exc}") from None


def _build_message(mail: Mail, key: str, sender: str) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id(key)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    for att in mail.attachments:
        maintype, _, subtype = att.mimetype.partition("/")
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


def _keep_in_mailbox(key: str, **fields) -> None:
    """Store one message in the development mailbox in a short transaction of its own (a sink
    that deduplicates on the key, like a real one)."""
    with Session(db.get_engine()) as sess:
        if sess.scalar(select(MailboxMessage.id).where(MailboxMessage.idempotency_key == key)) is not None:
            return
        sess.add(MailboxMessage(idempotency_key=key, **fields))
        try:
            sess.commit()
        except IntegrityError:  # kept at the same moment by another attempt
            sess.rollback()


class MailboxEmail:
    """Embedded default: the e-mail is kept for the development mailbox page."""

    def send(self, mail: Mail, key: str) -> str:
        build_message(mail, key, _settings()["MAIL_FROM"])  # refused here exactly as over SMTP
        first = mail.attachments[0] if mail.attachments else None
        _keep_in_mailbox(key, channel="email", recipient=mail.to, sender=_settings()["MAIL_FROM"],
                         subject=mail.subject[:300], body_text=mail.text, body_html=mail.html,
                         attachment_name=first.filename if first else None,
                         attachment=first.content if first else None)
        return message_id(key)


def _smtp_reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"SMTP {code}: {text}".strip()


class SmtpEmail:
    """Real e-mail through an SMTP server (settings SMTP_*)."""

    def send(self, mail: Mail, key: str) -> str:
        cfg = _settings()
        msg = build_message(mail, key, cfg["MAIL_FROM"])
        host, port, timeout = cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), float(cfg["SMTP_TIMEOUT"])
        security = cfg["SMTP_SECURITY"]
        try:
            if security == "ssl":
                client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            with client:
                if security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if cfg["SMTP_USERNAME"]:
                    client.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
                envelope_from = parseaddr(cfg["MAIL_FROM"])[1] or cfg["MAIL_FROM"]
                client.send_message(msg, from_addr=envelope_from, to_addrs=[mail.to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            err = PermanentError if 500 <= code < 600 else TransientError
            raise err(_smtp_reason(code, text)) from None
        except smtplib.SMTPAuthenticationError as exc:
            # The operator fixes the credentials; the message itself is fine.
            raise TransientError(_smtp_reason(exc.smtp_code, exc.smtp_error)) from None
        except smtplib.SMTPResponseException as exc:
            err = PermanentError if 500 <= exc.smtp_code < 600 else TransientError
            raise err(_smtp_reason(exc.smtp_code, exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP {host}:{port}: {exc.__class__.__name__}: {exc}") from None
        return str(msg["Message-ID"])


def email_channel() -> EmailChannel:
    return SmtpEmail() if _settings()["SMTP_HOST"] else MailboxEmail()


# --- SMS ---------------------------------------------------------------------------------

class SmsChannel(Protocol):
    def send(self, to: str, text: str, key: str) -> None:
        """Send one SMS to a +47 mobile; ``key`` is the idempotency key (the gateway's reference).
        Called with no database transaction open."""


class MailboxSms:
    """Embedded default: the SMS is kept for the development mailbox page."""

    def send(self, to: str, text: str, key: str) -> None:
        _keep_in_mailbox(key, channel="sms", recipient=to, sender=_settings()["SMS_SENDER"],
                         subject="", body_text=text)


_http = threading.local()


def _http_session() -> requests.Session:
    """One HTTP session per thread, so connections to the gateway are kept and reused."""
    sess = getattr(_http, "session", None)
    if sess is None:
        sess = _http.session = requests.Session()
    return sess


class HttpSmsGateway:
    """An SMS gateway over HTTP: POST JSON {to, from, text, reference} with a bearer token."""

    def __init__(self, url: str, token: str, sender: str, timeout: float = 10.0):
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, to: str, text: str, key: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        body = {"to": to, "from": self.sender, "text": text, "reference": key}
        try:
            resp = _http_session().post(self.url, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise TransientError(f"SMS gateway unreachable: {exc.__class__.__name__}") from None
        if 200 <= resp.status_code < 300:
            return
        detail = f"SMS gateway {resp.status_code}: {resp.text[:300]}".strip()
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            raise PermanentError(detail)
        raise TransientError(detail)


def sms_channel() -> SmsChannel:
    cfg = _settings()
    if cfg["SMS_GATEWAY_URL"]:
        return HttpSmsGateway(cfg["SMS_GATEWAY_URL"], cfg["SMS_GATEWAY_TOKEN"], cfg["SMS_SENDER"],
                              timeout=float(cfg["SMTP_TIMEOUT"]))
    return MailboxSms()


def check_mobile(to: str | None) -> str:
    if not to or not is_valid_mobile(to):
        raise PermanentError(N_("Mobilnummeret kan ikke motta SMS: det må være +47 og åtte sifre uten mellomrom."))
    return to


# --- nettbank ----------------------------------------------------------------------------

class NettbankChannel(Protocol):
    def deliver(self, sess: Session, invoice, consumer_id: int) -> None:
        """Put the invoice in this consumer's nettbank (a repeat is a no-op)."""


class SimulatedNettbank:
    """The simulated nettbank: one document per invoice for the agreement's consumer."""

    def deliver(self, sess: Session, invoice, consumer_id: int) -> None:
        if sess.scalar(select(NettbankDocument.id).where(NettbankDocument.invoice_id == invoice.id)) is None:
            sess.add(NettbankDocument(consumer_id=consumer_id, invoice_id=invoice.id))
            sess.flush()


def nettbank_channel() -> NettbankChannel:
    return current_app.extensions.get("nettbank_channel") or SimulatedNettbank()


# --- post --------------------------------------------------------------------------------

def oslo_today(now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(OSLO).date()


class PrintQueue:
    """Post: the invoice joins today's print batch (address sheet + PDF, printed per day)."""

    def deliver(self, sess: Session, invoice) -> PrintJob:
        if not invoice.contact.has_postal_address:
            raise PermanentError(N_("Kontakten har ingen fullstendig postadresse (adresse, postnummer og sted); "
                                    "legg den inn og send fakturaen på nytt."))
        job = sess.scalar(select(PrintJob).where(PrintJob.invoice_id == invoice.id))
        if job is None:
            job = PrintJob(invoice_id=invoice.id, issuer_id=invoice.issuer_id, batch_date=oslo_today())
            sess.add(job)
            sess.flush()
        return job

