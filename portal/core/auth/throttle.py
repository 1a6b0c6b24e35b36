"""Slowing down password guessing at the staff log-in pages, without locking the owner out.

Failed attempts are rows (so several web processes agree), counted per account *and* client
address: after ``FREE_FAILURES`` failures within ``WINDOW`` from one address, that address must
wait before trying that account again, ``BASE_DELAY`` doubling with each further failure up to
``MAX_DELAY``. The owner logging in from another address is never held up, and failures against
one account never pause anyone else's. How many attempts one address may make in all is the
rate limit ``RATE_LIMIT_STAFF_LOGIN`` (portal.core.limits). A successful log-in clears the
account's failures.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base, utcnow

WINDOW = dt.timedelta(minutes=15)
FREE_FAILURES = 5
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    realm: Mapped[str] = mapped_column(String(20))  # issuer | support
    account: Mapped[str] = mapped_column(String(64))  # sha256 of the lower-cased e-mail
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_login_failures_account", "realm", "account", "created_at"),
        Index("ix_login_failures_address", "realm", "address", "created_at"),
    )


def _account(email: str | None) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def wait_seconds(sess: Session, realm: str, email: str | None, address: str) -> int:
    """Seconds this address must still wait before trying this account again (0: go ahead)."""
    since = utcnow() - WINDOW
    count, last = sess.execute(
        select(func.count(), func.max(LoginFailure.created_at)).where(
            LoginFailure.realm == realm, LoginFailure.account == _account(email),
            LoginFailure.address == address[:64], LoginFailure.created_at >= since)).one()
    if count < FREE_FAILURES or last is None:
        return 0
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** (count - FREE_FAILURES))
    remaining = (last + delay - utcnow()).total_seconds()
    return max(0, math.ceil(remaining))


def record_failure(sess: Session, realm: str, email: str | None, address: str) -> None:
    sess.add(LoginFailure(realm=realm, account=_account(email), address=address[:64]))
    sess.flush()


def clear(sess: Session, realm: str, email: str | None) -> None:
    sess.execute(delete(LoginFailure).where(LoginFailure.realm == realm,
                                            LoginFailure.account == _account(email)))
    # Old rows of anyone are of no further use.
    sess.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - WINDOW))
