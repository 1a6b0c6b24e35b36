"""Slowing down password guessing at the staff log-in pages.

Failed attempts are rows (so several web processes agree). An account is paused after
``ACCOUNT_LIMIT`` failures within ``WINDOW``; one address after ``ADDRESS_LIMIT`` failures,
whatever accounts it tries. A successful log-in clears the account's failures.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base, utcnow

WINDOW = dt.timedelta(minutes=15)
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 30


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


def is_paused(sess: Session, realm: str, email: str | None, address: str) -> bool:
    since = utcnow() - WINDOW
    base = select(func.count()).select_from(LoginFailure).where(
        LoginFailure.realm == realm, LoginFailure.created_at >= since)
    if sess.scalar(base.where(LoginFailure.account == _account(email))) >= ACCOUNT_LIMIT:
        return True
    return sess.scalar(base.where(LoginFailure.address == address[:64])) >= ADDRESS_LIMIT


def record_failure(sess: Session, realm: str, email: str | None, address: str) -> None:
    sess.add(LoginFailure(realm=realm, account=_account(email), address=address[:64]))
    sess.flush()


def clear(sess: Session, realm: str, email: str | None) -> None:
    sess.execute(delete(LoginFailure).where(LoginFailure.realm == realm,
                                            LoginFailure.account == _account(email)))
    # Old rows of anyone are of no further use.
    sess.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - WINDOW))
