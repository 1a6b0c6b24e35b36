"""Webhooks: issuers register HTTPS endpoints and choose events; each event becomes a delivery
row and an outbox row in the transaction that records the event; the worker POSTs it, signed
the Standard Webhooks way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

Addresses are checked at registration and again before every POST: in production only https,
and every address the host resolves to must be public (no loopback, private, link-local,
multicast or reserved ranges), so an endpoint cannot be pointed at the portal's own network."""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from portal.agreements import signals as agreement_signals
from portal.core import events, outbox
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery.channels import TransientError
from portal.integrations.models import (
    InvoiceSource,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from portal.invoices import signals as invoice_signals
from portal.issuers import signals as issuer_signals

EVENT_TYPES = {
    "consent.approved": _l("eFaktura-samtykke godkjent"),
    "consent.declined": _l("eFaktura-samtykke avslått"),
    "consent.stopped": _l("eFaktura-avtale stoppet av kunden"),
    "invoice.delivered": _l("Faktura levert (med kanal)"),
    "invoice.failed": _l("Levering av faktura feilet"),
    "invoice.paid": _l("Faktura betalt i nettbanken"),
    "invoice.credited": _l("Faktura kreditert (kreditnota laget)"),
    "issuer_agreement.approved": _l("Utstederavtalen godkjent"),
}
MAX_ENDPOINTS = 10


class WebhookUrlError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _settings() -> dict:
    return current_app.config["PORTAL"]


def _allow_private() -> bool:
    flag = _settings().get("WEBHOOK_ALLOW_PRIVATE")
    return (not _settings().get("PRODUCTION")) if flag is None else bool(flag)


def _public(addr: str) -> bool:
    ip = ipaddress.ip_address(addr.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def check_url(url: str, *, resolve=socket.getaddrinfo) -> str:
    """The URL when it may receive webhooks; raises WebhookUrlError with the reason."""
    url = (url or "").strip()
    if len(url) > 500:
        raise WebhookUrlError(_l("Adressen er for lang (høyst 500 tegn)."))
    parts = urlsplit(url)
    production = bool(_settings().get("PRODUCTION"))
    allowed = ("https",) if production else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname:
        raise WebhookUrlError(_l("Adressen må begynne med https:// og ha et vertsnavn."))
    if parts.username or parts.password:
        raise WebhookUrlError(_l("Adressen kan ikke inneholde brukernavn eller passord."))
    if _allow_private():
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        raise WebhookUrlError(_l("Fant ikke vertsnavnet %(host)s.", host=parts.hostname)) from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_public(a) for a in addresses):
        raise WebhookUrlError(_l("Adressen peker til et privat, lokalt eller reservert nett og kan ikke brukes."))
    return url


# --- endpoints ------------------------------------------------------------------------------

def add_endpoint(sess: Session, issuer_id: int, url: str, event_types: list[str], actor: Actor) -> WebhookEndpoint:
    url = check_url(url)
    chosen = [e for e in EVENT_TYPES if e in event_types]
    if not chosen:
        raise WebhookUrlError(_l("Velg minst én hendelse."))
    count = len(endpoints_for(sess, issuer_id))
    if count >= MAX_ENDPOINTS:
        raise WebhookUrlError(_l("Høyst %(n)s adresser per utsteder.", n=MAX_ENDPOINTS))
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint = WebhookEndpoint(issuer_id=issuer_id, url=url, events=chosen, secret=secret)
    sess.add(endpoint)
    sess.flush()
    events.record(sess, actor, "webhook_endpoint", endpoint.id, "create", issuer_id=issuer_id,
                  data={"events": chosen})
    return endpoint


def endpoints_for(sess: Session, issuer_id: int) -> list[WebhookEndpoint]:
    return list(sess.scalars(select(WebhookEndpoint).where(WebhookEndpoint.issuer_id == issuer_id,
                                                           WebhookEndpoint.disabled_at.is_(None))
                             .order_by(WebhookEndpoint.id)))


def remove_endpoint(sess: Session, endpoint: WebhookEndpoint, actor: Actor) -> None:
    endpoint.disabled_at = utcnow()
    events.record(sess, actor, "webhook_endpoint", endpoint.id, "disable", issuer_id=endpoint.issuer_id)
    sess.flush()


def recent_deliveries(sess: Session, issuer_id: int, limit: int = 50) -> list[WebhookDelivery]:
    return list(sess.scalars(select(WebhookDelivery).where(WebhookDelivery.issuer_id == issuer_id)
                             .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit)))


# --- events become deliveries --------------------------------------------------------------

def emit(sess: Session, issuer_id: int, event_type: str, data: dict) -> list[WebhookDelivery]:
    """One delivery per endpoint that chose ``event_type``, each with its outbox row."""
    made = []
    for endpoint in endpoints_for(sess, issuer_id):
        if event_type not in (endpoint.events or []):
            continue
        msg_id = "msg_" + uuid.uuid4().hex
        payload = {"type": event_type, "timestamp": utcnow().isoformat(), "data": data}
        delivery = WebhookDelivery(endpoint_id=endpoint.id, issuer_id=issuer_id, event_type=event_type,
                                   message_id=msg_id, payload=payload)
        sess.add(delivery)
        sess.flush()
        _enqueue(sess, delivery, 0)
        made.append(delivery)
    return made


def _enqueue(sess: Session, delivery: WebhookDelivery, round_: int) -> None:
    outbox.enqueue(sess, OutboxKind.WEBHOOK, f"webhook:{delivery.id}:{round_}", {"delivery_id": delivery.id},
                   issuer_id=delivery.issuer_id)


def redeliver(sess: Session, delivery: WebhookDelivery, actor: Actor) -> None:
    """Send a delivery again by hand (same message id, so receivers can de-duplicate)."""
    round_ = len(delivery.attempts) + 1
    delivery.status = "pending"
    _enqueue(sess, delivery, round_)
    events.record(sess, actor, "webhook_delivery", delivery.id, "redeliver", issuer_id=delivery.issuer_id)
    sess.flush()


# --- the outbox handler: prepare (read, sign), send (the POST), record --------------------------

def sign(secret: str, msg_id: str, when: dt.datetime, body: str) -> str:
    return Webhook(secret).sign(msg_id, when, body)


@dataclass(frozen=True)
class WebhookJob:
    """One signed POST, built from the database before any connection to the receiver opens."""

    delivery_id: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class WebhookAnswer:
    at: dt.datetime
    status_code: int
    duration_ms: int


def prepare(sess: Session, row: OutboxMessage) -> WebhookJob | None:
    """Read the delivery and sign its body (the transaction closes before the POST)."""
    delivery = sess.get(WebhookDelivery, int((row.payload or {}).get("delivery_id") or 0))
    if delivery is None or delivery.status == "delivered":
        return None
    endpoint = delivery.endpoint
    if endpoint.disabled_at is not None:
        delivery.status = "failed"
        return None
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    headers = {"content-type": "application/json", "user-agent": "efaktura-portal-webhooks/1",
               "webhook-id": delivery.message_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": sign(endpoint.secret, delivery.message_id, now, body)}
    return WebhookJob(delivery.id, endpoint.url, body.encode("utf-8"), headers)


def send(job: WebhookJob) -> WebhookAnswer:
    """The POST, with no database transaction open; a refused or failed try is kept as an
    attempt and retried with backoff."""
    started, at = time.monotonic(), utcnow()
    try:
        check_url(job.url)
        resp = requests.post(job.url, data=job.body, headers=job.headers,
                             timeout=float(_settings().get("WEBHOOK_TIMEOUT_SECONDS") or 5), allow_redirects=False)
    except WebhookUrlError as exc:
        _failed_attempt(job.delivery_id, at, started, None, str(exc.message))
    except requests.RequestException as exc:
        _failed_attempt(job.delivery_id, at, started, None, f"{type(exc).__name__}: {exc}")
    if not 200 <= resp.status_code < 300:
        _failed_attempt(job.delivery_id, at, started, resp.status_code, f"HTTP {resp.status_code}")
    return WebhookAnswer(at, resp.status_code, int((time.monotonic() - started) * 1000))


def record(sess: Session, row: OutboxMessage, job: WebhookJob, answer: WebhookAnswer) -> None:
    """The delivered try, in the transaction that marks the outbox row done."""
    delivery = sess.get(WebhookDelivery, job.delivery_id)
    if delivery is None or delivery.status == "delivered":
        return
    sess.add(WebhookAttempt(delivery_id=delivery.id, at=answer.at, status_code=answer.status_code,
                            duration_ms=answer.duration_ms))
    delivery.status = "delivered"
    delivery.delivered_at = utcnow()
    sess.flush()


def _failed_attempt(delivery_id: int, at: dt.datetime, started: float, status: int | None, error: str):
    """Keep the failed try in a transaction of its own (the worker rolls its own back), then
    raise so that the outbox retries with backoff."""
    with current_app.extensions["db_sessionmaker"]() as own:
        own.add(WebhookAttempt(delivery_id=delivery_id, at=at, status_code=status, error=error[:500],
                               duration_ms=int((time.monotonic() - started) * 1000)))
        own.commit()
    raise TransientError(error[:500])


def on_dead(sess: Session, row: OutboxMessage, reason: str) -> None:
    delivery = sess.get(WebhookDelivery, int((row.payload or {}).get("delivery_id") or 0))
    if delivery is not None and delivery.status != "delivered":
        delivery.status = "failed"


# --- receivers of the features' signals -------------------------------------------------------

def _agreement_data(agreement) -> dict:
    return {"agreement_id": agreement.id, "contact_id": agreement.contact_id,
            "customer_number": agreement.contact.customer_number if agreement.contact else None,
            "state": agreement.state.value}


def _on_agreement(event_type: str):
    def receiver(agreement, *, sess: Session, **_extra) -> None:
        emit(sess, agreement.issuer_id, event_type, _agreement_data(agreement))

    return receiver


def _invoice_data(inv) -> dict:
    return {"invoice_id": inv.id, "number": inv.number, "contact_id": inv.contact_id, "state": inv.state.value,
            "channel": inv.channel.value if inv.channel else None, "kind": inv.kind.value,
            "credits_invoice_id": inv.credits_invoice_id}


def _on_delivered(inv, *, sess: Session, **_extra) -> None:
    emit(sess, inv.issuer_id, "invoice.delivered", _invoice_data(inv))


def _on_failed(inv, *, sess: Session, reason: str = "", **_extra) -> None:
    emit(sess, inv.issuer_id, "invoice.failed", dict(_invoice_data(inv), reason=reason[:300]))


def _on_paid(inv, *, sess: Session, paid_at: dt.datetime | None = None, **_extra) -> None:
    emit(sess, inv.issuer_id, "invoice.paid",
         dict(_invoice_data(inv), paid_at=paid_at.isoformat() if paid_at else None))


def _on_credited(note, *, sess: Session, credited=None, **_extra) -> None:
    """A credit note was made: its id and amount, and what remains to pay on the invoice."""
    emit(sess, note.issuer_id, "invoice.credited", dict(
        _invoice_data(note), total_ore=note.total_ore, credited_invoice_number=credited.number if credited else None,
        amount_due_ore=credited.amount_due_ore if credited else None))


def _on_issuer_activated(issuer, *, sess: Session, **_extra) -> None:
    emit(sess, issuer.id, "issuer_agreement.approved", {"issuer_id": issuer.id, "org_number": issuer.org_number})


_RECEIVERS = {
    "approved": _on_agreement("consent.approved"),
    "declined": _on_agreement("consent.declined"),
    "stopped": _on_agreement("consent.stopped"),
}


def _on_draft_deleting(inv, *, sess: Session, **_kw) -> None:
    """A deleted draft made from EHF takes its original XML with it."""
    sess.execute(delete(InvoiceSource).where(InvoiceSource.invoice_id == inv.id))


def register_handlers() -> None:
    outbox.register(OutboxKind.WEBHOOK, prepare=prepare, send=send, record=record, on_dead=on_dead,
                    channel="webhook")
    invoice_signals.draft_deleting.connect(_on_draft_deleting)
    agreement_signals.agreement_approved.connect(_RECEIVERS["approved"])
    agreement_signals.agreement_declined.connect(_RECEIVERS["declined"])
    agreement_signals.agreement_stopped.connect(_RECEIVERS["stopped"])
    invoice_signals.invoice_delivered.connect(_on_delivered)
    invoice_signals.invoice_failed.connect(_on_failed)
    invoice_signals.invoice_paid.connect(_on_paid)
    invoice_signals.invoice_credited.connect(_on_credited)
    issuer_signals.issuer_activated.connect(_on_issuer_activated)
