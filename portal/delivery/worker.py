"""The worker: claims due outbox rows, performs each effect once, retries with backoff.

Claiming takes a lease on a batch of due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
several workers never take the same row; a lease that runs out lets another worker take
over the rows of a worker that died). Each claimed row is then processed in its own
transaction: the handler runs, the row is marked done, one commit. A failure counts an
attempt and schedules the row again with exponential backoff; after ``max_attempts`` or a
permanent error the row is dead with its reason, and an invoice delivery shows *failed*.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal import db
from portal.db import utcnow
from portal.delivery import channels
from portal.delivery.channels import Attachment, Mail, PermanentError, TransientError
from portal.delivery.models import OutboxKind, OutboxMessage, OutboxStatus
from portal.labels import N_

log = logging.getLogger("portal.worker")

BATCH_SIZE = 20
MAX_BACKOFF_SECONDS = 6 * 3600


@dataclass
class WorkerResult:
    """What one pass of the worker did."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.done + self.retried + self.dead

    def add(self, other: WorkerResult) -> None:
        self.claimed += other.claimed
        self.done += other.done
        self.retried += other.retried
        self.dead += other.dead
        self.errors.extend(other.errors)

    def summary(self) -> str:
        return (f"worker: {self.done} done, {self.retried} to retry, {self.dead} dead "
                f"({self.claimed} claimed)")


class Conflict(Exception):
    """Someone else changed the same data at the same time; try again at once."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def backoff_seconds(attempts: int) -> int:
    base = int(current_app.config["PORTAL"]["WORKER_BACKOFF_BASE_SECONDS"])
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


# --- claiming ----------------------------------------------------------------------------

def claim(sess: Session, worker_id: str, now: dt.datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Lease up to ``limit`` due rows to ``worker_id``; returns their ids in order. Commits."""
    lease = int(current_app.config["PORTAL"]["WORKER_LEASE_SECONDS"])
    due = (
        (OutboxMessage.status == OutboxStatus.PENDING)
        & (OutboxMessage.available_at <= now)
        & or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)
    )
    stmt = select(OutboxMessage.id).where(due).order_by(OutboxMessage.available_at, OutboxMessage.id).limit(limit)
    if sess.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(sess.scalars(stmt))
    if not ids:
        sess.commit()
        return []
    until = now + dt.timedelta(seconds=lease)
    # The conditions are repeated, so a row another worker leased meanwhile is not taken over.
    sess.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), due)
                 .values(locked_until=until, locked_by=worker_id)
                 .execution_options(synchronize_session=False))
    sess.commit()
    mine = set(sess.scalars(select(OutboxMessage.id).where(
        OutboxMessage.id.in_(ids), OutboxMessage.locked_by == worker_id)))
    sess.commit()
    return [i for i in ids if i in mine]


def release(sess: Session, ids: list[int], worker_id: str) -> None:
    """Give back leased rows that were not processed (clean shutdown)."""
    if ids:
        sess.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.locked_by == worker_id,
                                                 OutboxMessage.status == OutboxStatus.PENDING)
                     .values(locked_until=None, locked_by=None)
                     .execution_options(synchronize_session=False))
    sess.commit()


# --- handlers ----------------------------------------------------------------------------

def _invoice_for(sess: Session, row: OutboxMessage, channel_value: str):
    """The invoice this delivery row is for, or None when it is no longer waiting for it."""
    from portal.invoices.models import Invoice
    from portal.invoices.states import InvoiceState

    inv = sess.get(Invoice, int(row.payload.get("invoice_id") or row.invoice_id or 0))
    if inv is None or inv.state is not InvoiceState.SENDING or inv.channel is None:
        return None
    if inv.channel.value != channel_value:
        return None
    return inv


def render_invoice_mail(inv) -> Mail:
    """The e-mail that carries an invoice as a PDF, in the contact's language."""
    from portal.invoices import services as invoices

    contact, issuer = inv.contact, inv.issuer
    ctx = {"invoice": inv, "contact": contact, "issuer": issuer,
           "offers_efaktura": bool(getattr(issuer, "is_active", False))}
    language = contact.language if contact.language in ("nb", "en") else "nb"
    with force_locale(language):
        subject = render_template("messages/invoice_email_subject.txt", **ctx).strip()
        text = render_template("messages/invoice_email.txt", **ctx)
        html = render_template("messages/invoice_email.html", **ctx)
    pdf = invoices.invoice_pdf(inv)
    return Mail(to=contact.email or "", subject=subject, text=text, html=html,
                attachments=[Attachment(f"faktura-{inv.number}.pdf", pdf)])


def handle_email(sess: Session, row: OutboxMessage) -> None:
    payload = row.payload or {}
    if payload.get("purpose") == "invoice" and payload.get("invoice_id"):
        from portal.invoices import services as invoices

        inv = _invoice_for(sess, row, "email")
        if inv is None:
            return
        if not inv.contact.email:
            raise PermanentError(N_("Kontakten har ingen e-postadresse; fakturaen kan ikke sendes på e-post."))
        mail = render_invoice_mail(inv)
        mid = channels.email_channel().send(sess, mail, row.idempotency_key)
        invoices.mark_delivered(sess, inv, detail={"channel": "email", "to": mail.to, "message_id": mid})
        return
    to = payload.get("to")
    if not to:
        raise PermanentError(N_("E-posten mangler mottaker."))
    mail = Mail(to=to, subject=payload.get("subject", ""), text=payload.get("text", ""),
                html=payload.get("html"))
    channels.email_channel().send(sess, mail, row.idempotency_key)


def handle_sms(sess: Session, row: OutboxMessage) -> None:
    payload = row.payload or {}
    to = channels.check_mobile(payload.get("to"))
    channels.sms_channel().send(sess, to, payload.get("text", ""), row.idempotency_key)


def handle_nettbank(sess: Session, row: OutboxMessage) -> None:
    from portal.invoices import services as invoices

    inv = _invoice_for(sess, row, "nettbank")
    if inv is None:
        return
    channels.nettbank_channel().deliver(sess, inv)
    invoices.mark_delivered(sess, inv, detail={"channel": "nettbank"})


def handle_post(sess: Session, row: OutboxMessage) -> None:
    from portal.invoices import services as invoices

    inv = _invoice_for(sess, row, "post")
    if inv is None:
        return
    job = channels.PrintQueue().deliver(sess, inv)
    invoices.mark_delivered(sess, inv, detail={"channel": "post", "status": "queued_for_post",
                                               "batch_date": job.batch_date.isoformat()})


def handle_consent_deadline(sess: Session, row: OutboxMessage) -> None:
    from portal.invoices import services as invoices

    invoices.deadline_passed(sess, int(row.payload.get("invoice_id") or row.invoice_id))


def handle_consent_expiry(sess: Session, row: OutboxMessage) -> None:
    from portal.agreements import services as agreements
    from portal.agreements.models import ConsentRequest

    req = sess.get(ConsentRequest, int(row.payload.get("consent_request_id") or row.consent_request_id))
    if req is not None:
        agreements.expire_request(sess, req)


HANDLERS: dict[OutboxKind, Callable[[Session, OutboxMessage], None]] = {
    OutboxKind.EMAIL: handle_email,
    OutboxKind.SMS: handle_sms,
    OutboxKind.NETTBANK: handle_nettbank,
    OutboxKind.POST: handle_post,
    OutboxKind.CONSENT_DEADLINE: handle_consent_deadline,
    OutboxKind.CONSENT_EXPIRY: handle_consent_expiry,
}

INVOICE_KINDS = {OutboxKind.EMAIL: "email", OutboxKind.NETTBANK: "nettbank", OutboxKind.POST: "post"}


# --- processing --------------------------------------------------------------------------

def _load_leased(sess: Session, row_id: int, worker_id: str) -> OutboxMessage | None:
    # No row lock while the effect runs: the lease keeps other workers away, and a consent
    # decision may cancel a deadline row meanwhile without waiting for this worker.
    stmt = select(OutboxMessage).where(OutboxMessage.id == row_id).execution_options(populate_existing=True)
    row = sess.scalar(stmt)
    if row is None or row.status is not OutboxStatus.PENDING or row.locked_by != worker_id:
        return None
    return row


def _give_up(sess: Session, row: OutboxMessage, reason: str) -> None:
    from portal.invoices import services as invoices

    row.status = OutboxStatus.DEAD
    row.last_error = reason[:1000]
    row.done_at = utcnow()
    row.locked_until = row.locked_by = None
    channel_value = INVOICE_KINDS.get(row.kind)
    payload = row.payload or {}
    is_delivery = row.kind is not OutboxKind.EMAIL or payload.get("purpose") == "invoice"
    if channel_value and payload.get("invoice_id") and is_delivery:
        inv = _invoice_for(sess, row, channel_value)
        if inv is not None:
            invoices.mark_failed(sess, inv, reason)


def process_one(sess: Session, row_id: int, worker_id: str, result: WorkerResult) -> None:
    """Run one leased row in its own transaction."""
    row = _load_leased(sess, row_id, worker_id)
    if row is None:
        sess.rollback()
        return
    kind = row.kind
    error: Exception | None = None
    try:
        HANDLERS[kind](sess, row)
        row.status = OutboxStatus.DONE
        row.done_at = utcnow()
        row.locked_until = None  # locked_by stays: which worker did it
        row.last_error = None
        sess.commit()
        result.done += 1
        return
    except (StaleDataError, IntegrityError, OperationalError) as exc:
        error = Conflict(f"{exc.__class__.__name__}: concurrent change")
    except (PermanentError, TransientError) as exc:
        error = exc
    except Exception as exc:  # a bug or an unexpected answer: logged, and retried like a transient error
        log.exception("outbox row %s (%s) failed", row_id, kind.value)
        error = TransientError(f"{exc.__class__.__name__}: {exc}")
    sess.rollback()
    _record_failure(sess, row_id, worker_id, error, result)


def _record_failure(sess: Session, row_id: int, worker_id: str, error: Exception,
                    result: WorkerResult) -> None:
    reason = getattr(error, "reason", None) or str(error)
    for _ in range(3):
        try:
            row = _load_leased(sess, row_id, worker_id)
            if row is None:
                sess.rollback()
                return
            row.attempts += 1
            if isinstance(error, PermanentError) or row.attempts >= row.max_attempts:
                _give_up(sess, row, reason)
                outcome = "dead"
            else:
                delay = 0 if isinstance(error, Conflict) else backoff_seconds(row.attempts)
                row.available_at = utcnow() + dt.timedelta(seconds=delay)
                row.last_error = reason[:1000]
                row.locked_until = row.locked_by = None
                outcome = "retried"
            sess.commit()
        except (StaleDataError, OperationalError):
            sess.rollback()
            continue
        log.info("outbox row %s %s: %s", row_id, outcome, reason)
        if outcome == "dead":
            result.dead += 1
        else:
            result.retried += 1
        result.errors.append(f"{row_id}: {reason}")
        return


# --- entry points ------------------------------------------------------------------------

def run_once(now: dt.datetime | None = None, limit: int | None = None, *, worker_id: str | None = None,
             should_stop: Callable[[], bool] | None = None) -> WorkerResult:
    """Process every row that is due (inside an app context) and return the counts.

    ``now`` fixes the moment that decides what is due (default: the clock, read per batch);
    ``limit`` caps how many rows are processed."""
    sess = db.session
    worker_id = worker_id or new_worker_id()
    result = WorkerResult()
    while limit is None or result.processed < limit:
        if should_stop and should_stop():
            break
        size = BATCH_SIZE if limit is None else max(1, min(BATCH_SIZE, limit - result.processed))
        ids = claim(sess, worker_id, now or utcnow(), size)
        if not ids:
            break
        result.claimed += len(ids)
        for pos, row_id in enumerate(ids):
            if should_stop and should_stop():
                release(sess, ids[pos:], worker_id)
                return result
            process_one(sess, row_id, worker_id, result)
    return result


class Worker:
    """The long-running worker: polls, processes, stops cleanly on request."""

    def __init__(self, poll_seconds: float | None = None):
        self.poll = poll_seconds if poll_seconds is not None else float(
            current_app.config["PORTAL"]["WORKER_POLL_SECONDS"])
        self.worker_id = new_worker_id()
        self.stopping = threading.Event()
        self.total = WorkerResult()

    def stop(self, *_args) -> None:
        self.stopping.set()

    def run(self) -> WorkerResult:
        log.info("worker %s started", self.worker_id)
        while not self.stopping.is_set():
            try:
                result = run_once(worker_id=self.worker_id, should_stop=self.stopping.is_set)
            except OperationalError as exc:  # the database is away for a moment
                db.session.rollback()
                log.warning("database unavailable: %s", exc.__class__.__name__)
                result = WorkerResult()
            self.total.add(result)
            if result.processed:
                log.info(result.summary())
            if result.claimed == 0:
                self.stopping.wait(self.poll)
        log.info("worker %s stopped: %s", self.worker_id, self.total.summary())
        return self.total

