"""Idempotency keys for POST requests.

The key's row is inserted and committed *first*, in a transaction of its own, so that of two
concurrent requests with one key only one does the work: the other finds the row and is told
the first is still in progress (409). The finished response is stored in the request's own
transaction, together with its effect; a request that fails (status 400 or above) releases its
key so the client can correct the body and try again. Rows are kept for ``RETENTION``."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core.db import utcnow
from portal.integrations.models import IdempotencyKey

RETENTION = dt.timedelta(hours=48)


def body_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


@dataclass
class Outcome:
    kind: str  # "new", "replay", "mismatch", "in_progress"
    row_id: int
    row: IdempotencyKey | None = None


def _own_session() -> Session:
    return current_app.extensions["db_sessionmaker"]()


def begin(issuer_id: int, key: str, method: str, path: str, digest: str) -> Outcome:
    """Claim ``key`` for this request, or say what happened to it before."""
    with _own_session() as sess:
        old = sess.scalar(select(IdempotencyKey).where(IdempotencyKey.issuer_id == issuer_id,
                                                        IdempotencyKey.key == key))
        if old is not None and old.created_at < utcnow() - RETENTION:
            sess.delete(old)
            sess.commit()
            old = None
        if old is None:
            row = IdempotencyKey(issuer_id=issuer_id, key=key, method=method, path=path, request_hash=digest)
            sess.add(row)
            try:
                sess.commit()
            except IntegrityError:
                sess.rollback()
                old = sess.scalar(select(IdempotencyKey).where(IdempotencyKey.issuer_id == issuer_id,
                                                                IdempotencyKey.key == key))
                if old is None:  # pragma: no cover - released between our insert and read
                    return begin(issuer_id, key, method, path, digest)
            else:
                sess.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - RETENTION))
                sess.commit()
                return Outcome("new", row.id)
        sess.expunge(old)
    if old.request_hash != digest:
        return Outcome("mismatch", old.id, old)
    if old.completed_at is None:
        return Outcome("in_progress", old.id, old)
    return Outcome("replay", old.id, old)


def complete(sess: Session, row_id: int, status: int, body: bytes, content_type: str,
             location: str | None) -> None:
    """Store the response with the request's own transaction (committed with its effect)."""
    row = sess.get(IdempotencyKey, row_id)
    if row is None:
        return
    row.status_code, row.response_body, row.response_type = status, body, content_type
    row.location, row.completed_at = location, utcnow()


def release(row_id: int) -> None:
    """Forget a key whose request failed, in a transaction of its own."""
    with _own_session() as sess:
        sess.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id,
                                                  IdempotencyKey.completed_at.is_(None)))
        sess.commit()
