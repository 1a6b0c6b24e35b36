"""Writing side effects: rows in the outbox, in the caller's transaction."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.delivery.models import OutboxKind, OutboxMessage, OutboxStatus


def enqueue(
    sess: Session,
    kind: OutboxKind,
    key: str,
    payload: dict[str, Any],
    *,
    issuer_id: int | None = None,
    contact_id: int | None = None,
    invoice_id: int | None = None,
    consent_request_id: int | None = None,
    available_at: dt.datetime | None = None,
) -> OutboxMessage:
    """Add one effect. ``key`` is its idempotency key: a second row with the same key is refused
    by the database, so one cause never produces two effects."""
    msg = OutboxMessage(
        kind=kind,
        idempotency_key=key,
        payload=payload,
        issuer_id=issuer_id,
        contact_id=contact_id,
        invoice_id=invoice_id,
        consent_request_id=consent_request_id,
        available_at=available_at or utcnow(),
        max_attempts=int(current_app.config["PORTAL"]["WORKER_MAX_ATTEMPTS"]),
    )
    sess.add(msg)
    return msg


def cancel_pending(sess: Session, kind: OutboxKind, *, invoice_id: int | None = None,
                   consent_request_id: int | None = None) -> int:
    """Cancel pending rows of one kind for an invoice or consent request (e.g. a deadline that
    no longer matters). Returns how many were cancelled."""
    stmt = update(OutboxMessage).where(OutboxMessage.kind == kind,
                                       OutboxMessage.status == OutboxStatus.PENDING)
    if invoice_id is not None:
        stmt = stmt.where(OutboxMessage.invoice_id == invoice_id)
    if consent_request_id is not None:
        stmt = stmt.where(OutboxMessage.consent_request_id == consent_request_id)
    result = sess.execute(stmt.values(status=OutboxStatus.CANCELLED, done_at=utcnow())
                          .execution_options(synchronize_session=False))
    return result.rowcount or 0


def pending_for_invoice(sess: Session, invoice_id: int) -> list[OutboxMessage]:
    return list(sess.scalars(select(OutboxMessage).where(
        OutboxMessage.invoice_id == invoice_id, OutboxMessage.status == OutboxStatus.PENDING)))
