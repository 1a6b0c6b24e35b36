"""Signed links: one serializer per purpose (the salt), a max age per purpose, single use."""
from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core.db import Base, utcnow


class Purpose(enum.Enum):
    APPROVER = "issuer-agreement-approval"
    CONSENT = "efaktura-consent"
    EMAIL = "issuer-email-verification"
    PASSWORD_RESET = "issuer-password-reset"


MAX_AGE_SETTING = {
    Purpose.APPROVER: "APPROVER_LINK_MAX_AGE",
    Purpose.CONSENT: "CONSENT_LINK_MAX_AGE",
    Purpose.EMAIL: "EMAIL_LINK_MAX_AGE",
    Purpose.PASSWORD_RESET: "PASSWORD_RESET_LINK_MAX_AGE",
}


class LinkProblem(enum.Enum):
    EXPIRED = "expired"
    INVALID = "invalid"  # tampered, truncated or for another purpose
    USED = "used"


class LinkError(Exception):
    def __init__(self, problem: LinkProblem, payload: dict[str, Any] | None = None):
        super().__init__(problem.value)
        self.problem = problem
        # For an expired link the signature was valid, so the payload is trustworthy
        # enough to offer a new link to the right party.
        self.payload = payload


class UsedToken(Base):
    __tablename__ = "used_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    used_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Short links: an SMS must fit one segment, and a signed link is 150 characters. The short code
# stands for one signed link and nothing more: the signed link still decides its lifetime and
# single use (its own expiry and UsedToken), so a code can never outlive or reopen it.
SHORT_PATH = "/s/"
SHORT_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no l, o, O, I, 0, 1
SHORT_LENGTH = 8


class ShortLink(Base):
    __tablename__ = "short_links"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)  # as the signed link; for clean-up


def shorten(sess: Session, purpose: Purpose, token: str) -> str:
    """A new random code for the signed link (8 characters from 56: about 10^14 codes)."""
    code = "".join(secrets.choice(SHORT_ALPHABET) for _ in range(SHORT_LENGTH))
    sess.add(ShortLink(code=code, purpose=purpose.value, token=token,
                       expires_at=utcnow() + dt.timedelta(seconds=max_age(purpose))))
    sess.flush()
    return code


def expand(sess: Session, purpose: Purpose, code: str) -> str | None:
    """The signed link a short code stands for, or None when there is no such code."""
    if len(code) != SHORT_LENGTH or any(ch not in SHORT_ALPHABET for ch in code):
        return None
    row = sess.get(ShortLink, code)
    return row.token if row is not None and row.purpose == purpose.value else None


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose.value)


def make_token(purpose: Purpose, payload: dict[str, Any]) -> str:
    body = dict(payload)
    body["jti"] = secrets.token_urlsafe(16)
    return _serializer(purpose).dumps(body)


def max_age(purpose: Purpose) -> int:
    return int(current_app.config["PORTAL"][MAX_AGE_SETTING[purpose]])


@dataclass(frozen=True)
class Link:
    payload: dict[str, Any]
    jti: str


def read_token(sess: Session, purpose: Purpose, token: str) -> Link:
    """Verify signature, purpose and age, and that it has not been used."""
    link = verify_token(purpose, token)
    if sess.get(UsedToken, link.jti) is not None:
        raise LinkError(LinkProblem.USED, link.payload)
    return link


def verify_token(purpose: Purpose, token: str) -> Link:
    """Verify signature, purpose and age without asking the database whether the link was used
    (the caller checks ``used_tokens`` itself, e.g. in the query that reads what the link names)."""
    ser = _serializer(purpose)
    try:
        payload = ser.loads(token, max_age=max_age(purpose))
    except SignatureExpired as exc:
        payload = None
        if exc.payload is not None:
            try:
                payload = ser.load_payload(exc.payload)
            except BadSignature:
                payload = None
        raise LinkError(LinkProblem.EXPIRED, payload if isinstance(payload, dict) else None) from None
    except BadSignature:
        raise LinkError(LinkProblem.INVALID) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("jti"), str):
        raise LinkError(LinkProblem.INVALID)
    return Link(payload=payload, jti=payload["jti"])


def mark_used(sess: Session, purpose: Purpose, link: Link) -> None:
    """Record single use inside the caller's transaction; a concurrent second use fails."""
    try:
        with sess.begin_nested():
            sess.add(UsedToken(jti=link.jti, purpose=purpose.value))
    except IntegrityError:
        raise LinkError(LinkProblem.USED, link.payload) from None


def is_used(sess: Session, jti: str) -> bool:
    return sess.scalar(select(UsedToken.jti).where(UsedToken.jti == jti)) is not None
