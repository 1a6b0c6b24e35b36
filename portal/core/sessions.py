"""Server-side log-in sessions for every realm (issuer staff, support staff, consumers).

The signed cookie still carries the session, but a log-in is only valid while its row in
``web_sessions`` exists: the cookie holds a random session id, the table its SHA-256. Logging out
deletes the row, so a cookie copied before the log-out no longer logs anyone in; a changed
password ends every session of the account (each row remembers a stamp of the password hash it
was opened with); and each realm has an idle and an absolute time-out (settings). Rows live in
the database that already holds the accounts, so every web process agrees without another
service (see docs/architecture.md, "Sessions").
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from flask import Flask, current_app, flash, g, request, session
from flask_babel import gettext as _
from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.core import db
from portal.core.db import Base, utcnow

SID_KEY = "sid"
REALMS = ("issuer", "support", "consumer")
# last_seen_at is written at most this often (not on every request).
TOUCH_SECONDS = 30


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    realm: Mapped[str] = mapped_column(String(20))  # issuer | support | consumer
    account_id: Mapped[int] = mapped_column(Integer)
    # A keyed digest of the password hash at log-in (staff only): a new password ends the session.
    password_stamp: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_web_sessions_account", "realm", "account_id"),)


# realm -> (account model with a ``password_hash``, loader options): for these realms the session
# row and its account (with what the options load along) are read in one query, and the password
# stamp is checked against that account. Filled by create_app, like ``auth.user_loaders``.
accounts: dict[str, tuple[type, tuple]] = {}


def account(realm: str, account_id: int):
    """The account of a realm in ``accounts``, read at most once per request (the session check
    and flask-login share it; the identity map alone would not keep it, it holds objects weakly)."""
    model, options = accounts[realm]
    loaded = request.environ.setdefault("portal.accounts", {})
    key = (realm, account_id)
    if key not in loaded:
        loaded[key] = db.session.get(model, account_id, options=list(options))
    return loaded[key]


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def password_stamp(password_hash: str | None) -> str | None:
    if not password_hash:
        return None
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()


def limits(realm: str) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle time-out, absolute time-out) of a realm, from the settings."""
    cfg = current_app.config["PORTAL"]
    name = realm.upper()
    return (dt.timedelta(minutes=int(cfg[f"{name}_IDLE_MINUTES"])),
            dt.timedelta(minutes=int(cfg[f"{name}_SESSION_MINUTES"])))


def issue(sess: Session, realm: str, account_id: int, password_hash: str | None = None) -> str:
    """Record a new session and return its raw id (for the cookie)."""
    if realm not in REALMS:
        raise ValueError(f"unknown realm {realm!r}")
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    sess.add(WebSession(token_hash=_hash(raw), realm=realm, account_id=account_id,
                        password_stamp=password_stamp(password_hash), created_at=now, last_seen_at=now))
    # Sessions nobody can use any more are of no further use.
    longest = max(sum(limits(r), dt.timedelta()) for r in REALMS)
    sess.execute(delete(WebSession).where(WebSession.last_seen_at < now - longest))
    sess.flush()
    return raw


def start(realm: str, account_id: int, password_hash: str | None = None) -> None:
    """Open a server-side session for the person just logged in (after the cookie was rotated)."""
    session[SID_KEY] = issue(db.session, realm, account_id, password_hash)


def end() -> None:
    """End this request's session on the server (log-out); the cookie is cleared by the caller."""
    raw = session.pop(SID_KEY, None)
    if isinstance(raw, str):
        db.session.execute(delete(WebSession).where(WebSession.token_hash == _hash(raw)))
        db.keep_changes_on_error()


def end_all(sess: Session, realm: str, account_id: int) -> int:
    """End every session of an account (a changed password, a removed account)."""
    result = sess.execute(delete(WebSession).where(WebSession.realm == realm,
                                                   WebSession.account_id == account_id))
    return result.rowcount or 0


def _claimed() -> tuple[str, int] | None:
    """The realm and account this cookie says it is logged in as, if any."""
    user_id = session.get("_user_id")
    if isinstance(user_id, str):
        kind, _sep, raw = user_id.partition(":")
        if kind in REALMS and raw.isdigit() and len(raw) <= 18:
            return kind, int(raw)
        return "invalid", 0
    consumer_id = session.get("consumer_id")
    if consumer_id is not None:
        if isinstance(consumer_id, int) and not isinstance(consumer_id, bool):
            return "consumer", consumer_id
        return "invalid", 0
    return None


def _forget_locally() -> None:
    """Clear the cookie's log-in (all but the language) for the rest of this request."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("_login_user", None)
    g.pop("bankid_consumer", None)
    g.pop("csrf_token", None)


def _session_row(realm: str, account_id: int, token_hash: str) -> WebSession | None:
    """The session row; for a realm with accounts, its account comes along in the same query."""
    if realm not in accounts:
        return db.session.scalar(select(WebSession).where(WebSession.token_hash == token_hash))
    model, options = accounts[realm]
    found = db.session.execute(
        select(WebSession, model).outerjoin(model, model.id == account_id)
        .where(WebSession.token_hash == token_hash).options(*options)
    ).first()
    if found is None:
        return None
    row, loaded = found
    request.environ.setdefault("portal.accounts", {})[(realm, account_id)] = loaded
    return row


def check_request() -> None:
    """Before every request: a log-in in the cookie counts only with a live server-side session."""
    claimed = _claimed()
    if claimed is None:
        return
    realm, account_id = claimed
    raw = session.get(SID_KEY)
    row = None
    if isinstance(raw, str) and realm in REALMS:
        row = _session_row(realm, account_id, _hash(raw))
    now = utcnow()
    reason = None
    if row is None or row.realm != realm or row.account_id != account_id:
        reason = "ended"
    else:
        idle, absolute = limits(realm)
        if now - row.created_at > absolute or now - row.last_seen_at > idle:
            reason = "timeout"
        elif realm in accounts and not hmac.compare_digest(
                row.password_stamp or "",
                password_stamp(getattr(account(realm, account_id), "password_hash", None)) or ""):
            reason = "ended"
    if reason is None:
        if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
            row.last_seen_at = now
        return
    if row is not None:
        db.session.delete(row)
        db.keep_changes_on_error()
    _forget_locally()
    g.session_ended = reason
    if reason == "timeout":
        flash(_("Du ble logget ut fordi du ikke hadde gjort noe på en stund. Logg inn igjen for å fortsette."),
              "info")


def init_app(app: Flask) -> None:
    app.before_request(check_request)
