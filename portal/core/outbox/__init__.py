"""Side effects as rows in the outbox, written in the caller's transaction.

Features write rows with :func:`enqueue` and register, at start-up, the handler that performs
each kind (:func:`register`). The worker (``portal.delivery.worker``) claims due rows and calls
the handler; it knows nothing about invoices or consent. Every change of a row's status goes
through :func:`move`, which applies the pure table in :mod:`portal.core.outbox.states`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core.db import utcnow
from portal.core.outbox.models import Installation, OutboxKind, OutboxMessage
from portal.core.outbox.states import OutboxAction, OutboxStatus, next_state

__all__ = [
    "Handler", "OutboxAction", "OutboxKind", "OutboxMessage", "OutboxStatus", "cancel_pending",
    "enqueue", "handler_for", "installation_id", "move", "pending_for_invoice", "register",
]


# --- handlers ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Handler:
    """What the worker calls for one kind of row.

    Either ``perform(sess, row)``: an effect that stays inside the database (the development
    mailbox, the simulated nettbank, the print queue, a deadline); it runs in the short
    transaction that also marks the row done.

    Or three steps for an effect that leaves the database (SMTP, an SMS gateway):
    ``prepare(sess, row)`` reads what it needs and builds the message (its transaction is
    closed before the next step; returning None means there is nothing to send any more);
    ``send(job)`` makes the outside call with no transaction open and returns a result;
    ``record(sess, row, job, result)``, when given, makes the domain change (an invoice
    delivered) in the short transaction that marks the row done. ``record`` must be safe to
    run again: after a database blip only the bookkeeping is repeated, never the send.

    ``channel`` names the concurrency limit the sends share (settings
    ``WORKER_<CHANNEL>_CONCURRENCY``). ``on_dead(sess, row, reason)``, when given, runs in the
    transaction that gives the row up (an invoice delivery then shows *failed*).
    Handlers raise the delivery errors of ``portal.delivery.channels`` on failure."""

    perform: Callable[[Session, Any], None] | None = None
    on_dead: Callable[[Session, Any, str], None] | None = None
    prepare: Callable[[Session, Any], Any] | None = None
    send: Callable[[Any], Any] | None = None
    record: Callable[[Session, Any, Any, Any], None] | None = None
    channel: str = "local"


_HANDLERS: dict[OutboxKind, Handler] = {}


def register(kind: OutboxKind, perform: Callable[[Session, Any], None] | None = None, *,
             on_dead: Callable[[Session, Any, str], None] | None = None,
             prepare: Callable[[Session, Any], Any] | None = None,
             send: Callable[[Any], Any] | None = None,
             record: Callable[[Session, Any, Any, Any], None] | None = None,
             channel: str = "local") -> None:
    """Say which function performs rows of ``kind`` (``perform``), or which three steps do
    (``prepare``, ``send``, ``record``). Registering again replaces the handler."""
    if (perform is None) == (send is None):
        raise ValueError("give either perform or prepare/send")
    _HANDLERS[kind] = Handler(perform=perform, on_dead=on_dead, prepare=prepare, send=send,
                              record=record, channel=channel)


class NoHandler(LookupError):
    """A row of a kind that no feature registered a handler for: a start-up mistake."""


def handler_for(kind: OutboxKind) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise NoHandler(f"no outbox handler registered for {kind.value!r}") from None


def missing_handlers() -> list[OutboxKind]:
    return [kind for kind in OutboxKind if kind not in _HANDLERS]


# --- the installation's id ---------------------------------------------------------------

_INSTALLATION: dict[str, str] = {}


def installation_id(sess: Session) -> str:
    """This installation's id (32 hex digits), made once per database. It starts every new
    idempotency key, so keys (and the Message-IDs built from them) never repeat in another
    installation or after the database is made anew."""
    bind = sess.get_bind()
    cache_key = f"{bind.url!r}:{id(bind)}"
    found = _INSTALLATION.get(cache_key)
    if found is not None:
        return found
    value = sess.scalar(select(Installation.uuid).where(Installation.id == 1))
    if value is None:
        candidate = uuid.uuid4().hex
        try:
            with sess.begin_nested():
                sess.add(Installation(id=1, uuid=candidate))
        except IntegrityError:  # made at the same moment elsewhere
            pass
        value = sess.scalar(select(Installation.uuid).where(Installation.id == 1)) or candidate
    _INSTALLATION[cache_key] = value
    return value


# --- writing rows ------------------------------------------------------------------------

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
    """Add one effect. ``key`` names its cause; the row's idempotency key is the installation's
    id and ``key``: a second row with the same key is refused by the database, so one cause never
    produces two effects, and no two installations ever share a key."""
    msg = OutboxMessage(
        kind=kind,
        idempotency_key=f"{installation_id(sess)}:{key}",
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


def move(row: OutboxMessage, action: OutboxAction, *, now: dt.datetime | None = None,
         error: str | None = None, available_at: dt.datetime | None = None) -> None:
    """Apply one transition to a loaded row (raises InvalidTransition when not allowed)."""
    now = now or utcnow()
    row.status = next_state(row.status, action)
    if action is OutboxAction.COMPLETE:
        row.done_at = now
        row.locked_until = None  # locked_by stays: which worker did it
        row.last_error = None
    elif action is OutboxAction.RESCHEDULE:
        row.available_at = available_at or now
        row.last_error = (error or "")[:1000] or None
        row.locked_until = row.locked_by = None
    elif action is OutboxAction.GIVE_UP:
        row.done_at = now
        row.last_error = (error or "")[:1000] or None
        row.locked_until = row.locked_by = None
    elif action in (OutboxAction.CANCEL, OutboxAction.SUPERSEDE):
        row.done_at = now
        row.locked_until = row.locked_by = None
    elif action is OutboxAction.RETRY:
        row.attempts = 0
        row.available_at = now
        row.locked_until = row.locked_by = None
        row.done_at = None


def cancel_pending(sess: Session, kind: OutboxKind, *, invoice_id: int | None = None,
                   consent_request_id: int | None = None) -> int:
    """Cancel pending rows of one kind for an invoice or consent request (e.g. a deadline that
    no longer matters). Returns how many were cancelled. A set-based form of
    ``move(row, OutboxAction.CANCEL)``: pending → cancelled."""
    target = next_state(OutboxStatus.PENDING, OutboxAction.CANCEL)
    stmt = update(OutboxMessage).where(OutboxMessage.kind == kind,
                                       OutboxMessage.status == OutboxStatus.PENDING)
    if invoice_id is not None:
        stmt = stmt.where(OutboxMessage.invoice_id == invoice_id)
    if consent_request_id is not None:
        stmt = stmt.where(OutboxMessage.consent_request_id == consent_request_id)
    result = sess.execute(stmt.values(status=target, done_at=utcnow(), locked_until=None)
                          .execution_options(synchronize_session=False))
    return result.rowcount or 0


def pending_for_invoice(sess: Session, invoice_id: int) -> list[OutboxMessage]:
    return list(sess.scalars(select(OutboxMessage).where(
        OutboxMessage.invoice_id == invoice_id, OutboxMessage.status == OutboxStatus.PENDING)))


def count_caused(sess: Session, cause_prefix: str) -> int:
    """How many rows were written for causes starting with ``cause_prefix`` (e.g. every sending
    of one approver link), whether their keys carry the installation id or are older than it."""
    return sess.scalar(select(func.count()).select_from(OutboxMessage).where(or_(
        OutboxMessage.idempotency_key.like(cause_prefix + "%"),
        OutboxMessage.idempotency_key.like("%:" + cause_prefix + "%")))) or 0
