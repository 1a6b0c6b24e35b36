"""The worker: claims due outbox rows, performs each effect, records the result, retries with backoff.

The life of one row in a worker:

1. **Claim** (one short transaction for a batch): due rows are leased to this worker
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row) and their
   attempt is counted *now*, so a row that kills its worker still reaches ``max_attempts`` and
   goes dead with a reason instead of being retried for ever.
2. **Work** (in a bounded thread pool, one pool per channel): a handler's ``prepare`` reads and
   builds the message in a transaction that is closed before ``send`` makes the outside call.
   A row is sent only while this worker holds its lease; the leases of rows in hand are renewed
   while they wait and while they are being sent, so a slow server never lets a second worker
   take a row that is still being sent.
3. **Record** (a fresh short transaction for a batch of results): a row is marked done only if
   this worker still holds it (``UPDATE … WHERE id=? AND locked_by=? AND status='pending'``);
   one that was lost is reported, never marked. When the database blips, only this bookkeeping
   is repeated, never the send. Failures are recorded one by one (a savepoint each), so one
   bad row never spoils the others.

Effects that stay in the database (``perform`` handlers) do steps 2 and 3 in one transaction.
The worker knows nothing of invoices: the handlers registered in :mod:`portal.core.outbox` do.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.core import db, outbox
from portal.core.db import utcnow
from portal.core.labels import N_
from portal.core.outbox import OutboxAction, OutboxKind, OutboxMessage, OutboxStatus
from portal.core.outbox.states import next_state
from portal.delivery.channels import DeliveryError, PermanentError, TransientError

log = logging.getLogger("portal.worker")

MAX_BACKOFF_SECONDS = 6 * 3600
BATCH_SIZE = 100  # default; the setting WORKER_BATCH_SIZE decides


@dataclass
class WorkerResult:
    """What one pass of the worker did."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0  # leases another worker took over before the result was recorded
    errors: list[str] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.done + self.retried + self.dead

    def add(self, other: WorkerResult) -> None:
        self.claimed += other.claimed
        self.done += other.done
        self.retried += other.retried
        self.dead += other.dead
        self.lost += other.lost
        self.errors.extend(other.errors)

    def summary(self) -> str:
        lost = f", {self.lost} lost to another worker" if self.lost else ""
        return (f"worker: {self.done} done, {self.retried} to retry, {self.dead} dead{lost} "
                f"({self.claimed} claimed)")


class Conflict(Exception):
    """Someone else changed the same data at the same time; try again at once."""


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def backoff_seconds(attempts: int) -> int:
    base = int(current_app.config["PORTAL"]["WORKER_BACKOFF_BASE_SECONDS"])
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


@dataclass(frozen=True)
class Claimed:
    """A leased row as the handlers see it: the columns they read, no database session."""

    id: int
    kind: OutboxKind
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    issuer_id: int | None
    contact_id: int | None
    invoice_id: int | None
    consent_request_id: int | None
    available_at: dt.datetime


_CLAIMED_COLUMNS = (
    OutboxMessage.id, OutboxMessage.kind, OutboxMessage.idempotency_key, OutboxMessage.payload,
    OutboxMessage.attempts, OutboxMessage.max_attempts, OutboxMessage.issuer_id, OutboxMessage.contact_id,
    OutboxMessage.invoice_id, OutboxMessage.consent_request_id, OutboxMessage.available_at,
)

POISON_REASON = N_("Ga opp etter for mange forsøk: arbeideren stoppet eller mistet raden under sendingen.")


def _settings() -> dict:
    return current_app.config["PORTAL"]


def _lease_seconds() -> float:
    return float(_settings()["WORKER_LEASE_SECONDS"])


def _due(now: dt.datetime):
    return ((OutboxMessage.status == OutboxStatus.PENDING)
            & (OutboxMessage.available_at <= now)
            & or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now))


def _mine(worker_id: str):
    return (OutboxMessage.locked_by == worker_id) & (OutboxMessage.status == OutboxStatus.PENDING)


# --- claiming ----------------------------------------------------------------------------

def claim(sess: Session, worker_id: str, now: dt.datetime, limit: int = BATCH_SIZE,
          kinds: list[OutboxKind] | None = None, result: WorkerResult | None = None) -> list[Claimed]:
    """Lease up to ``limit`` due rows to ``worker_id`` and count an attempt on each; returns them
    in order. A due row that already used all its attempts (its worker died each time) is given
    up instead, with the reason. Commits."""
    lease = _lease_seconds()
    due = _due(now)
    if kinds is not None:
        if not kinds:
            return []
        due = due & OutboxMessage.kind.in_(kinds)
    stmt = (select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.max_attempts).where(due)
            .order_by(OutboxMessage.available_at, OutboxMessage.id).limit(limit))
    if sess.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    try:
        found = sess.execute(stmt).all()
        if not found:
            sess.commit()
            return []
        poison = [r.id for r in found if r.attempts >= r.max_attempts]
        ids = [r.id for r in found if r.attempts < r.max_attempts]
        rows: list[Claimed] = []
        if ids:
            taken = utcnow()
            # The conditions are repeated, so a row another worker leased meanwhile is not taken over.
            res = sess.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids), due)
                .values(locked_until=taken + dt.timedelta(seconds=lease), locked_by=worker_id,
                        locked_at=taken, attempts=OutboxMessage.attempts + 1)
                .returning(*_CLAIMED_COLUMNS)
                .execution_options(synchronize_session=False))
            rows = sorted((Claimed(*r) for r in res.all()), key=lambda r: (r.available_at, r.id))
        for row_id in poison:
            row = sess.scalar(select(OutboxMessage).where(OutboxMessage.id == row_id, due)
                              .execution_options(populate_existing=True))
            if row is not None:
                reason = POISON_REASON
                _give_up(sess, row, reason)
                log.warning("outbox row %s dead after %s attempts without a result", row_id, row.attempts)
                if result is not None:
                    result.dead += 1
                    result.errors.append(f"{row_id}: {reason}")
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    return rows


def renew(sess: Session, worker_id: str, ids: list[int]) -> tuple[set[int], dt.datetime]:
    """Extend this worker's lease on ``ids``; returns the ids it still holds and the new end."""
    until = utcnow() + dt.timedelta(seconds=_lease_seconds())
    held: set[int] = set()
    try:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            held.update(sess.scalars(update(OutboxMessage).where(OutboxMessage.id.in_(chunk), _mine(worker_id))
                                     .values(locked_until=until).returning(OutboxMessage.id)
                                     .execution_options(synchronize_session=False)))
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    return held, until


def release(sess: Session, ids: list[int], worker_id: str) -> None:
    """Give back leased rows that were not worked (clean shutdown). Their attempt is returned too."""
    if ids:
        sess.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids), _mine(worker_id))
                     .values(locked_until=None, locked_by=None,
                             attempts=OutboxMessage.attempts - 1)
                     .execution_options(synchronize_session=False))
    sess.commit()


# --- working one row (in a pool thread) --------------------------------------------------

SENT, DONE, FAILED, LOST = "sent", "done", "failed", "lost"


@dataclass
class Outcome:
    row: Claimed
    status: str  # SENT: the effect happened, to be recorded; DONE: recorded already
    job: Any = None
    result: Any = None
    error: Exception | None = None
    skip_record: bool = False  # nothing was sent (the row no longer mattered)


def _as_error(exc: Exception, row: Claimed) -> Exception:
    if isinstance(exc, (StaleDataError, IntegrityError, OperationalError)):
        return Conflict(f"{exc.__class__.__name__}: concurrent change")
    if isinstance(exc, DeliveryError):
        return exc
    log.error("outbox row %s (%s) failed", row.id, row.kind.value, exc_info=exc)
    return TransientError(f"{exc.__class__.__name__}: {exc}")


def _give_up(sess: Session, row: OutboxMessage, reason: str) -> None:
    outbox.move(row, OutboxAction.GIVE_UP, error=reason)
    handler = outbox.handler_for(row.kind)
    if handler.on_dead is not None:
        handler.on_dead(sess, row, reason)


class Leases:
    """The leases this worker holds, as last confirmed by the database."""

    def __init__(self, lease_seconds: float):
        self.until: dict[int, dt.datetime] = {}
        self.margin = dt.timedelta(seconds=min(2.0, lease_seconds / 4))

    def holds(self, row_id: int) -> bool:
        until = self.until.get(row_id)
        return until is not None and until - self.margin > utcnow()


def work(engine, leases: Leases, worker_id: str, row: Claimed) -> Outcome:
    """Do one leased row's effect. No database transaction is open while ``send`` runs."""
    handler = outbox.handler_for(row.kind)
    if not leases.holds(row.id):
        return Outcome(row, LOST)
    if handler.perform is not None:
        with Session(engine, expire_on_commit=False) as sess:
            try:
                handler.perform(sess, row)
                # Done only if the lease is still ours; else the effect is undone with the rollback.
                # (A deadline that cancels its own row, e.g. releasing a held invoice, stays cancelled.)
                if not _complete(sess, worker_id, [row.id]) and not _cancelled_in_hand(sess, worker_id, row.id):
                    sess.rollback()
                    return Outcome(row, LOST)
                sess.commit()
                return Outcome(row, DONE)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded against the row
                sess.rollback()
                return Outcome(row, FAILED, error=_as_error(exc, row))
    job: Any = row
    if handler.prepare is not None:
        with Session(engine, expire_on_commit=False) as sess:
            try:
                job = handler.prepare(sess, row)
                sess.commit()
            except Exception as exc:  # noqa: BLE001 - every failure is recorded against the row
                sess.rollback()
                return Outcome(row, FAILED, error=_as_error(exc, row))
    if job is None:
        return Outcome(row, SENT, skip_record=True)
    if not leases.holds(row.id):  # re-checked just before the outside call
        return Outcome(row, LOST)
    try:
        result = handler.send(job)  # type: ignore[misc]
    except Exception as exc:  # noqa: BLE001 - every failure is recorded against the row
        return Outcome(row, FAILED, job=job, error=_as_error(exc, row))
    return Outcome(row, SENT, job=job, result=result)


# --- recording results -------------------------------------------------------------------

def _complete(sess: Session, worker_id: str, ids: list[int]) -> set[int]:
    """Mark done the rows of ``ids`` this worker still holds (a set-based ``move(COMPLETE)``)."""
    target = next_state(OutboxStatus.PENDING, OutboxAction.COMPLETE)
    return set(sess.scalars(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), _mine(worker_id))
        .values(status=target, done_at=utcnow(), locked_until=None, last_error=None)
        .returning(OutboxMessage.id).execution_options(synchronize_session=False)))


def _cancelled_in_hand(sess: Session, worker_id: str, row_id: int) -> bool:
    return sess.scalar(select(OutboxMessage.id).where(
        OutboxMessage.id == row_id, OutboxMessage.locked_by == worker_id,
        OutboxMessage.status == OutboxStatus.CANCELLED)) is not None


def _savepoint(sess: Session):
    # SQLite (tests, development) records one result per transaction instead.
    return sess.begin_nested() if sess.get_bind().dialect.name != "sqlite" else contextlib.nullcontext()


def _record_failure(sess: Session, worker_id: str, outcome: Outcome) -> str:
    error = outcome.error or TransientError("unknown")
    reason = getattr(error, "reason", None) or str(error)
    row = sess.scalar(select(OutboxMessage).where(OutboxMessage.id == outcome.row.id, _mine(worker_id))
                      .execution_options(populate_existing=True))
    if row is None:
        return LOST
    if isinstance(error, PermanentError) or row.attempts >= row.max_attempts:
        _give_up(sess, row, reason)
        return "dead"
    delay = 0 if isinstance(error, Conflict) else backoff_seconds(row.attempts)
    outbox.move(row, OutboxAction.RESCHEDULE, error=reason, available_at=utcnow() + dt.timedelta(seconds=delay))
    return "retried"


def _record_sent(sess: Session, worker_id: str, outcome: Outcome) -> str:
    handler = outbox.handler_for(outcome.row.kind)
    for tries in range(3):
        try:
            with _savepoint(sess):
                if not _complete(sess, worker_id, [outcome.row.id]):
                    return LOST
                handler.record(sess, outcome.row, outcome.job, outcome.result)  # type: ignore[misc]
                sess.flush()
            return "done"
        except (StaleDataError, IntegrityError) as exc:  # the domain changed meanwhile: read it again
            if sess.get_bind().dialect.name == "sqlite" or tries == 2:
                raise
            log.info("outbox row %s: recording again after %s", outcome.row.id, exc.__class__.__name__)
    return "done"


def record(engine, worker_id: str, outcomes: list[Outcome], result: WorkerResult) -> None:
    """Write the results of sent or failed rows in one short transaction. Raises OperationalError
    when the database is away: the caller keeps the outcomes and records them again later (the
    sends are not repeated)."""
    with Session(engine, expire_on_commit=False) as sess:
        tally: list[tuple[Outcome, str]] = []
        try:
            plain = [o for o in outcomes if o.status == SENT
                     and (o.skip_record or outbox.handler_for(o.row.kind).record is None)]
            if plain:
                got = _complete(sess, worker_id, [o.row.id for o in plain])
                tally += [(o, "done" if o.row.id in got else LOST) for o in plain]
            plain_ids = {id(o) for o in plain}
            for o in outcomes:
                if o.status == SENT and id(o) not in plain_ids:
                    tally.append((o, _record_sent(sess, worker_id, o)))
                elif o.status == FAILED:
                    with _savepoint(sess):
                        tally.append((o, _record_failure(sess, worker_id, o)))
            sess.commit()
        except BaseException:
            sess.rollback()
            raise
        lost = [o.row.id for o, what in tally if what == LOST]
        already = set()
        if lost:  # a commit whose answer never came may have recorded them before
            already = set(sess.scalars(select(OutboxMessage.id).where(
                OutboxMessage.id.in_(lost), OutboxMessage.locked_by == worker_id,
                OutboxMessage.status.in_((OutboxStatus.DONE, OutboxStatus.DEAD)))))
            sess.rollback()
    for o, outcome in tally:
        what = "done" if outcome == LOST and o.row.id in already else outcome
        if what == "done":
            result.done += 1
        elif what == "retried" or what == "dead":
            setattr(result, what, getattr(result, what) + 1)
            reason = getattr(o.error, "reason", None) or str(o.error)
            result.errors.append(f"{o.row.id}: {reason}")
            log.info("outbox row %s %s: %s", o.row.id, what, reason)
        else:
            result.lost += 1
            log.warning("outbox row %s: the lease was lost before the result was recorded "
                        "(another worker has the row); not marked", o.row.id)


# --- the loop ----------------------------------------------------------------------------

class _Inline:
    """Runs work at once in the calling thread (SQLite: one writer at a time anyway)."""

    def submit(self, fn, *args) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller like a pool would
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class Engine:
    """Claims, hands rows to per-channel thread pools, renews leases, records results."""

    def __init__(self, app: Flask, worker_id: str):
        cfg = app.config["PORTAL"]
        self.app = app
        self.worker_id = worker_id
        self.engine = app.extensions["db_engine"]
        self.inline = self.engine.dialect.name == "sqlite"
        self.lease = float(cfg["WORKER_LEASE_SECONDS"])
        self.batch = max(1, int(cfg["WORKER_BATCH_SIZE"]))
        self.total = max(1, int(cfg["WORKER_CONCURRENCY"]))
        self.leases = Leases(self.lease)
        self.rows: dict[int, Claimed] = {}  # in hand: claimed, not yet recorded
        self.futures: dict[int, Future] = {}
        self.per_channel: Counter[str] = Counter()
        self.results: queue.Queue[Outcome] = queue.Queue()
        self.unrecorded: list[Outcome] = []
        self.pools: dict[str, Any] = {}
        self.limits: dict[str, int] = {}
        self.last_renewal = time.monotonic()
        self.db_retry_at = 0.0
        self.db_backoff = 0.1

    # channels and pools
    def channel_of(self, kind: OutboxKind) -> str:
        return outbox.handler_for(kind).channel

    def limit_of(self, channel: str) -> int:
        if channel not in self.limits:
            value = self.app.config["PORTAL"].get(f"WORKER_{channel.upper()}_CONCURRENCY", self.total)
            self.limits[channel] = max(1, min(int(value), self.total))
        return self.limits[channel]

    def pool(self, channel: str):
        if channel not in self.pools:
            if self.inline:
                self.pools[channel] = _Inline()
            else:
                app = self.app

                def enter() -> None:  # each pool thread works inside the app's context
                    app.app_context().push()

                self.pools[channel] = ThreadPoolExecutor(self.limit_of(channel), f"outbox-{channel}",
                                                         initializer=enter)
        return self.pools[channel]

    def allowed_kinds(self) -> list[OutboxKind] | None:
        missing = outbox.missing_handlers()
        allowed = [k for k in OutboxKind if k not in missing
                   and self.per_channel[self.channel_of(k)] < 2 * self.limit_of(self.channel_of(k))]
        return None if len(allowed) == len(OutboxKind) else allowed

    # steps
    def _run_row(self, row: Claimed) -> None:
        try:
            outcome = work(self.engine, self.leases, self.worker_id, row)
        except BaseException as exc:  # noqa: BLE001 - a result must come back for every row
            outcome = Outcome(row, FAILED, error=TransientError(f"{exc.__class__.__name__}: {exc}"))
        self.results.put(outcome)

    def submit(self, row: Claimed) -> None:
        channel = self.channel_of(row.kind)
        self.rows[row.id] = row
        self.per_channel[channel] += 1
        self.futures[row.id] = self.pool(channel).submit(self._run_row, row)

    def forget(self, row_id: int) -> None:
        row = self.rows.pop(row_id, None)
        self.futures.pop(row_id, None)
        self.leases.until.pop(row_id, None)
        if row is not None:
            self.per_channel[self.channel_of(row.kind)] -= 1

    def collect(self, timeout: float) -> None:
        try:
            first = self.results.get(timeout=timeout) if timeout > 0 else self.results.get_nowait()
        except queue.Empty:
            return
        self.unrecorded.append(first)
        while True:
            try:
                self.unrecorded.append(self.results.get_nowait())
            except queue.Empty:
                return

    def db_ready(self) -> bool:
        return time.monotonic() >= self.db_retry_at

    def db_failed(self, what: str, exc: Exception) -> None:
        log.warning("database unavailable while %s (%s); trying again", what, exc.__class__.__name__)
        self.db_retry_at = time.monotonic() + self.db_backoff
        self.db_backoff = min(self.db_backoff * 2, 2.0)

    def db_ok(self) -> None:
        self.db_backoff = 0.1

    def record_results(self, result: WorkerResult) -> None:
        if not self.unrecorded or not self.db_ready():
            return
        done_now = [o for o in self.unrecorded if o.status in (DONE, LOST)]
        rest = [o for o in self.unrecorded if o.status not in (DONE, LOST)]
        for o in done_now:
            if o.status == DONE:
                result.done += 1
            else:
                result.lost += 1
                log.warning("outbox row %s: lease lost before it was sent; left to its new holder", o.row.id)
            self.forget(o.row.id)
        self.unrecorded = rest
        if not rest:
            return
        batches = [rest] if not self.inline else [[o] for o in rest]
        while batches:
            batch = batches.pop(0)
            try:
                record(self.engine, self.worker_id, batch, result)
            except (OperationalError, DBAPIError) as exc:  # only the bookkeeping is repeated
                self.db_failed("recording results", exc)
                return
            except Exception:
                if len(batch) > 1:  # one result spoils the batch: record them one by one
                    batches[:0] = [[o] for o in batch]
                    continue
                log.exception("outbox row %s: its result could not be recorded", batch[0].row.id)
                self._record_plainly(batch[0], result)
            self.db_ok()
            gone = {id(o) for o in batch}
            for o in batch:
                self.forget(o.row.id)
            self.unrecorded = [o for o in self.unrecorded if id(o) not in gone]

    def _record_plainly(self, outcome: Outcome, result: WorkerResult) -> None:
        """Last resort when a handler's ``record`` keeps failing: a sent row is still marked done
        (it is not sent again); a failed one is left for its lease to run out."""
        if outcome.status != SENT:
            return
        try:
            with Session(self.engine) as sess:
                got = _complete(sess, self.worker_id, [outcome.row.id])
                sess.commit()
        except (OperationalError, DBAPIError) as exc:
            self.db_failed("recording results", exc)
            return
        if got:
            result.done += 1

    def renew_leases(self, force: bool = False) -> None:
        if not self.rows or not self.db_ready():
            return
        if not force and time.monotonic() - self.last_renewal < self.lease / 3:
            return
        ids = list(self.rows)
        try:
            with Session(self.engine) as sess:
                held, until = renew(sess, self.worker_id, ids)
        except (OperationalError, DBAPIError) as exc:
            self.db_failed("renewing leases", exc)
            return
        self.db_ok()
        self.last_renewal = time.monotonic()
        for row_id in ids:
            if row_id in held:
                self.leases.until[row_id] = until
            else:
                self.leases.until.pop(row_id, None)

    def claim_more(self, now: dt.datetime | None, budget: int | None, result: WorkerResult) -> int:
        room = 2 * self.total - len(self.rows)
        if budget is not None:
            room = min(room, budget)
        room = min(room, self.batch)
        if room <= 0 or not self.db_ready():
            return 0
        kinds = self.allowed_kinds()
        try:
            with Session(self.engine, expire_on_commit=False) as sess:
                rows = claim(sess, self.worker_id, now or utcnow(), room, kinds, result)
        except (OperationalError, DBAPIError) as exc:
            self.db_failed("claiming", exc)
            return 0
        self.db_ok()
        until = utcnow() + dt.timedelta(seconds=self.lease)
        for row in rows:
            self.leases.until[row.id] = until
        for row in rows:
            self.submit(row)
        return len(rows)

    def run(self, *, now: dt.datetime | None = None, limit: int | None = None,
            should_stop: Callable[[], bool] | None = None, forever: bool = False,
            poll: float = 1.0, stop_event: threading.Event | None = None) -> WorkerResult:
        result = WorkerResult()
        stop = should_stop or (lambda: False)
        try:
            while True:
                self.collect(0)
                self.record_results(result)
                self.renew_leases()
                if stop():
                    break
                budget = None if limit is None else limit - result.claimed
                got = self.claim_more(now, budget, result) if budget is None or budget > 0 else 0
                result.claimed += got
                if not self.rows and not got:
                    if not forever:
                        break
                    if stop_event is not None:
                        stop_event.wait(poll)
                    else:
                        time.sleep(poll)
                    continue
                if not self.db_ready():
                    time.sleep(max(0.0, min(self.db_retry_at - time.monotonic(), 0.5)))
                    continue
                full = len(self.rows) >= 2 * self.total or (budget is not None and budget <= got)
                self.collect(0.05 if (full or not got) else 0)
        finally:
            self.shutdown(result)
        return result

    def shutdown(self, result: WorkerResult) -> None:
        """Let sends in progress finish and record them; give back rows not started."""
        for pool in self.pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        self.pools.clear()
        self.collect(0)
        deadline = time.monotonic() + max(10.0, self.lease)
        while self.unrecorded and time.monotonic() < deadline:
            self.db_retry_at = 0.0
            self.record_results(result)
            if self.unrecorded:
                time.sleep(0.2)
        not_started = [row_id for row_id in self.rows if row_id not in {o.row.id for o in self.unrecorded}]
        if not_started:
            try:
                with Session(self.engine) as sess:
                    release(sess, not_started, self.worker_id)
            except (OperationalError, DBAPIError) as exc:
                log.warning("could not give back %s rows (%s); their leases run out",
                            len(not_started), exc.__class__.__name__)
            for row_id in not_started:
                self.forget(row_id)


# --- entry points ------------------------------------------------------------------------

def run_once(now: dt.datetime | None = None, limit: int | None = None, *, worker_id: str | None = None,
             should_stop: Callable[[], bool] | None = None) -> WorkerResult:
    """Process every row that is due (inside an app context) and return the counts.

    ``now`` fixes the moment that decides what is due (default: the clock, read per claim);
    ``limit`` caps how many rows are claimed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db.session.rollback()  # nothing of the caller's stays open while the worker runs
    return Engine(app, worker_id or new_worker_id()).run(now=now, limit=limit, should_stop=should_stop)


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
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        engine = Engine(app, self.worker_id)
        self.total = engine.run(should_stop=self.stopping.is_set, forever=True, poll=self.poll,
                                stop_event=self.stopping)
        log.info("worker %s stopped: %s", self.worker_id, self.total.summary())
        return self.total
