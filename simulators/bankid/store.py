"""In-process state of the simulated provider: logins in progress, single sign-on sessions,
authorization codes and access tokens.

The simulator runs as one process, so memory guarded by one lock is enough; what matters is
that the rules are exact: everything expires on time, a code works once, and a code used a
second time revokes the tokens it gave.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from simulators.bankid.persons import TestPerson

CODE_MEMORY = 600  # seconds a code is remembered after it expired


def now() -> float:
    return time.time()


@dataclass
class Authentication:
    """Who logged in at the provider, how and when (the provider's session)."""

    sid: str
    person: TestPerson
    sub: str
    acr: str
    amr: list[str]
    auth_time: int
    expires_at: float

    def __repr__(self) -> str:  # never show the person's number
        return f"Authentication(sid={self.sid!r}, acr={self.acr!r})"


@dataclass
class LoginTransaction:
    """One visit to the login pages for one authorization request."""

    id: str
    params: dict[str, str]  # the authorization request as the client sent it
    browser: str  # binds the transaction to the browser session that started it
    expires_at: float
    step: str = "nnin"  # nnin -> otp -> password | nnin -> app
    method: str = "code"  # code | app
    person: TestPerson | None = None
    failures: int = 0
    locale: str | None = None

    def __repr__(self) -> str:
        return f"LoginTransaction(id={self.id!r}, step={self.step!r})"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth: Authentication
    expires_at: float
    used: bool = False
    token_ids: list[str] = field(default_factory=list)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth.auth_time

    def get_acr(self):
        return self.auth.acr

    def get_amr(self):
        return list(self.auth.amr)


@dataclass
class AccessToken(TokenMixin):
    access_token: str
    client: object
    scope: str
    auth: Authentication
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client):
        return client.get_client_id() == self.client.get_client_id()

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return now() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return self.auth

    def get_client(self):
        return self.client


class ProviderStore:
    """All of the provider's short-lived state, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.transactions: dict[str, LoginTransaction] = {}
        self.sessions: dict[str, Authentication] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.nonces: dict[tuple[str, str], float] = {}  # (client_id, nonce) -> expires_at

    def _sweep(self) -> None:
        t = now()
        for table in (self.transactions, self.sessions):
            for key in [k for k, v in table.items() if v.expires_at <= t]:
                del table[key]
        # Used and expired codes are remembered a while longer, so that a replay is still
        # recognised and revokes what the code gave.
        for key in [k for k, v in self.codes.items() if v.expires_at + CODE_MEMORY <= t]:
            del self.codes[key]
        for key in [k for k, v in self.tokens.items() if v.is_expired()]:
            del self.tokens[key]
        for key in [k for k, exp in self.nonces.items() if exp <= t]:
            del self.nonces[key]

    # -- login transactions -------------------------------------------------------------
    def start_login(self, params: dict[str, str], browser: str, lifetime: int) -> LoginTransaction:
        with self.lock:
            self._sweep()
            txn = LoginTransaction(
                id=secrets.token_urlsafe(24),
                params=dict(params),
                browser=browser,
                expires_at=now() + lifetime,
            )
            self.transactions[txn.id] = txn
            return txn

    def get_login(self, txn_id: str, browser: str) -> LoginTransaction | None:
        with self.lock:
            txn = self.transactions.get(txn_id)
            if txn is None or txn.expires_at <= now() or not secrets.compare_digest(
                txn.browser, browser
            ):
                return None
            return txn

    def end_login(self, txn_id: str) -> None:
        with self.lock:
            self.transactions.pop(txn_id, None)

    # -- single sign-on sessions --------------------------------------------------------
    def save_session(self, auth: Authentication) -> None:
        with self.lock:
            self._sweep()
            self.sessions[auth.sid] = auth

    def get_session(self, sid: str | None) -> Authentication | None:
        if not sid:
            return None
        with self.lock:
            auth = self.sessions.get(sid)
            if auth is None or auth.expires_at <= now():
                return None
            return auth

    def end_session(self, sid: str | None) -> None:
        if not sid:
            return
        with self.lock:
            self.sessions.pop(sid, None)
            for token in self.tokens.values():
                if token.auth.sid == sid:
                    token.revoked = True

    # -- authorization codes ------------------------------------------------------------
    def save_code(self, code: AuthorizationCode) -> None:
        with self.lock:
            self._sweep()
            self.codes[code.code] = code
            if code.nonce:
                self.nonces[(code.client_id, code.nonce)] = code.expires_at + 3600

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        with self.lock:
            exp = self.nonces.get((client_id, nonce))
            return exp is not None and exp > now()

    def take_code(self, value: str, client_id: str) -> AuthorizationCode | None:
        """The code if it is valid for this client; it can be taken only once.

        Presenting a used code again revokes every token issued for it.
        """
        with self.lock:
            code = self.codes.get(value)
            if code is None or code.client_id != client_id:
                return None
            if code.used:
                for token_id in code.token_ids:
                    token = self.tokens.get(token_id)
                    if token is not None:
                        token.revoked = True
                return None
            if code.expires_at <= now():
                return None
            code.used = True
            return code

    # -- access tokens ------------------------------------------------------------------
    def save_token(self, token: AccessToken, code: AuthorizationCode | None) -> None:
        with self.lock:
            self.tokens[token.access_token] = token
            if code is not None:
                code.token_ids.append(token.access_token)

    def get_token(self, value: str) -> AccessToken | None:
        with self.lock:
            return self.tokens.get(value)
