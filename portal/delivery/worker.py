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

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.core import db, outbox
from portal.core.db import utcnow
from portal.core.outbox import OutboxAction, OutboxMessage, OutboxStatus
from portal.delivery.channels import PermanentError, TransientError

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
    outbox.move(row, OutboxAction.GIVE_UP, error=reason)
    handler = outbox.handler_for(row.kind)
    if handler.on_dead is not None:
        handler.on_dead(sess, row, reason)


def process_one(sess: Session, row_id: int, worker_id: str, result: WorkerResult) -> None:
    """Run one leased row in its own transaction."""
    row = _load_leased(sess, row_id, worker_id)
    if row is None:
        sess.rollback()
        return
    kind = row.kind
    error: Exception | None = None
    try:
        outbox.handler_for(kind).perform(sess, row)
        outbox.move(row, OutboxAction.COMPLETE)
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
                outbox.move(row, OutboxAction.RESCHEDULE, error=reason,
                            available_at=utcnow() + dt.timedelta(seconds=delay))
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

