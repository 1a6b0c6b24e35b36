"""Staff log-in (issuer staff and support staff are separate kinds of user)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, has_app_context, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from portal.core import db, sessions
from portal.core.auth import throttle
from portal.core.db import utcnow

login_manager = LoginManager()
login_manager.login_message = _l("Logg inn for å se denne siden.")
login_manager.login_message_category = "info"

# Each kind of staff account ("issuer", "support") says how to load a user by id; filled by
# create_app, since the account models live in the features above this package.
user_loaders: dict[str, Callable[[int], object | None]] = {}

# The one password rule for staff accounts (sign-up, the operator's commands, a change, a reset).
MIN_PASSWORD_LENGTH = 12

# A fixed hash to compare against when the e-mail is unknown, so that timing does
# not reveal which addresses have accounts.
_DUMMY_HASHES: dict[str, str] = {}


def hash_password(password: str) -> str:
    method = "scrypt"
    if has_app_context():
        method = current_app.config["PORTAL"]["PASSWORD_HASH_METHOD"]
    return generate_password_hash(password, method=method)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        method = current_app.config["PORTAL"]["PASSWORD_HASH_METHOD"] if has_app_context() else "scrypt"
        if method not in _DUMMY_HASHES:
            _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
        check_password_hash(_DUMMY_HASHES[method], password)
        return False
    return check_password_hash(stored_hash, password)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        kind, _, raw = user_id.partition(":")
        loader = user_loaders.get(kind)
        if loader is None or not raw.isdigit() or len(raw) > 18:
            return None
        return loader(int(raw))

    @login_manager.unauthorized_handler
    def unauthorized():
        area = "support" if request.blueprint == "support" else "issuers"
        target = url_for(f"{area}.login", next=request.full_path.rstrip("?"))
        return redirect(target)


def safe_next(target: str | None, default: str) -> str:
    """Accept only a local path: no scheme, no host, no backslash tricks."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    return target


def rotate_session() -> None:
    """Start a fresh session (at every login and logout): nothing from before survives except
    the chosen language. The CSRF token is renewed with it."""
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)
    if lang:
        session["lang"] = lang


def start_staff_session(user) -> None:
    """Rotate the session at login and log the staff user in."""
    rotate_session()
    login_user(user)
    session.permanent = True
    realm = user.get_id().partition(":")[0]
    sessions.start(realm, user.id, user.password_hash)
    user.last_login_at = utcnow()


def end_staff_session() -> None:
    """Log out: the session ends on the server too, so a copy of the cookie is worth nothing."""
    sessions.end()
    logout_user()
    rotate_session()


def change_password(sess, user, new_password: str) -> None:
    """Set a staff user's password; every session of the account ends (the one making the change
    too, unless the caller starts a fresh one)."""
    user.password_hash = hash_password(new_password)
    sessions.end_all(sess, user.get_id().partition(":")[0], user.id)
    sess.flush()


class PasswordRefused(Exception):
    """A new password breaks the rule; ``message`` is for the person at the form."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def check_new_password(new_password: str, *, email: str | None = None,
                       current_hash: str | None = None) -> None:
    """The rule for a new staff password, in one place: at least ``MIN_PASSWORD_LENGTH``
    characters, not the account's e-mail address, and not the password it has now. Raises
    PasswordRefused."""
    new_password = new_password or ""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(_l("Passordet må ha minst %(num)s tegn.", num=MIN_PASSWORD_LENGTH))
    if email and new_password.strip().lower() == email.strip().lower():
        raise PasswordRefused(_l("Passordet kan ikke være det samme som e-postadressen."))
    if current_hash and verify_password(current_hash, new_password):
        raise PasswordRefused(_l("Det nye passordet må være et annet enn det du har nå."))


class LoginRefused(Exception):
    """The log-in did not go through; ``message`` is for the person at the form."""

    def __init__(self, message, status: int = 422):
        super().__init__(str(message))
        self.message = message
        self.status = status


def attempt_login(realm: str, authenticate, email: str, password: str):
    """Check the password through ``authenticate(sess, email, password)``, with a growing delay
    after repeated failures from the same address for the same account. Returns the user or raises LoginRefused. Failures are kept although the
    page answers with an error status, so that they count."""
    address = request.remote_addr or "unknown"
    wait = throttle.wait_seconds(db.session, realm, email, address)
    if wait:
        raise LoginRefused(_("For mange mislykkede forsøk på kort tid fra denne enheten. Vent "
                             "%(minutes)s minutt(er) og prøv igjen.", minutes=max(1, -(-wait // 60))),
                           status=429)
    user = authenticate(db.session, email, password)
    if user is None:
        throttle.record_failure(db.session, realm, email, address)
        db.keep_changes_on_error()
        raise LoginRefused(_("E-postadressen eller passordet er feil. Prøv igjen."))
    throttle.clear(db.session, realm, email)
    return user


def check_current_password(realm: str, user, password: str) -> None:
    """A logged-in staff user confirms their password (before changing it). A wrong one counts
    as a failed log-in of the account from this address, with the same growing delay, so the form
    cannot be used to guess it. Raises LoginRefused (the message belongs at the field)."""
    address = request.remote_addr or "unknown"
    wait = throttle.wait_seconds(db.session, realm, user.email, address)
    if wait:
        raise LoginRefused(_("For mange mislykkede forsøk på kort tid fra denne enheten. Vent "
                             "%(minutes)s minutt(er) og prøv igjen.", minutes=max(1, -(-wait // 60))),
                           status=429)
    if not verify_password(user.password_hash, password or ""):
        throttle.record_failure(db.session, realm, user.email, address)
        db.keep_changes_on_error()
        raise LoginRefused(_("Passordet er feil. Skriv passordet du logger inn med i dag."))
    throttle.clear(db.session, realm, user.email)


def submit_password_change(realm: str, form, change: Callable) -> int | None:
    """The change-password form of a staff area, submitted: ``change(sess, user, new_password)``
    is the area's own change (it ends every session of the account). Returns None when the
    password was changed (this browser has a fresh session; the caller says so and redirects),
    else the status to show the form again with its messages at the fields."""
    if not form.validate_on_submit():
        return 422 if request.method == "POST" else 200
    user = current_user._get_current_object()
    try:
        check_current_password(realm, user, form.current_password.data)
        change(db.session, user, form.password.data)
    except LoginRefused as refused:
        form.current_password.errors = [*form.current_password.errors, refused.message]
        return refused.status
    except PasswordRefused as refused:
        db.session.rollback()
        form.password.errors = [*form.password.errors, str(refused.message)]
        return 422
    start_staff_session(user)
    return None


def _kind_required(kind: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.get_id().startswith(kind + ":"):
                abort(403)
            if getattr(current_user, "email_verified_at", True) is None:  # e-mail not confirmed yet
                return login_manager.unauthorized()
            return view(*args, **kwargs)

        return wrapped

    return decorator


issuer_login_required = _kind_required("issuer")
support_login_required = _kind_required("support")
