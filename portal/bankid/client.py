"""The portal's BankID login: an OpenID Connect relying party.

Routes (blueprint ``bankid``, prefix ``/bankid``):

* ``GET /bankid/login?next=/path`` – starts a login; ``next`` must be a local path.
* ``GET /bankid/callback`` – the provider's answer; on success the consumer is logged in.
* ``POST /bankid/logout`` – ends the consumer's session (CSRF-protected form), back to ``/``;
  ``GET /bankid/logout`` shows that form (the partial ``bankid/_logout_form.html``).

Helpers for other blueprints: :func:`current_consumer`, :func:`consumer_login_required`,
:func:`logout_consumer`.

Everything the provider says is checked the way OpenID Connect Core and the OAuth security
BCP ask: the discovery ``issuer``; a fresh, single-use ``state``; ``nonce``; PKCE S256;
``iss`` on the callback (RFC 9207); the ID token's ``alg`` (allow-list), ``kid`` (in the
JWKS; a token without one only when the JWKS has exactly one key for its ``alg``), signature,
``iss``, ``aud``/``azp``, ``exp``/``iat`` (small leeway), ``acr`` (accepted set; an empty
setting accepts any) and ``at_hash``; and that userinfo's ``sub`` equals the ID token's. Which claim carries
the national identity number (``BANKID_NNIN_CLAIM``) and which ``acr`` values are accepted
(``BANKID_ACCEPTED_ACR``) are settings, so a real BankID broker needs configuration only.

The session keeps only ``consumer_id``, ``consumer_acr`` and ``consumer_auth_time``; the
national identity number is handed to ``upsert_consumer`` (which stores a keyed hash and a
masked form) and is never kept in the session nor logged.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hmac
import json
import logging
import time

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core.util import create_half_hash
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.exc import SQLAlchemyError

from portal.agreements.models import Consumer
from portal.agreements.services import upsert_consumer
from portal.core import db, redact, sessions
from portal.core.auth import rotate_session
from portal.core.auth import safe_next as auth_safe_next
from portal.core.identifiers import InvalidIdentifier, national_id_birth_date
from portal.core.limits import limited

log = logging.getLogger(__name__)

bp = Blueprint("bankid", __name__, url_prefix="/bankid")

OAUTH_NAME = "bankid"
SESSION_KEYS = ("consumer_id", "consumer_acr", "consumer_auth_time")
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10


class LoginFailed(Exception):
    """A login that must not succeed; ``reason`` picks the message, ``detail`` is for the log."""
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


# What the person is told, by reason. Technical reasons share a few plain explanations.
_MESSAGES = {
    "cancelled": _l(
        "Innloggingen med BankID ble avbrutt. Det skjer når du trykker «Avbryt», eller når "
        "engangskoden eller passordet er feil for mange ganger."
    ),
    "login_required": _l("Du må logge inn med BankID for å gå videre."),
    "provider_error": _l(
        "BankID kunne ikke fullføre innloggingen. Ingenting er endret, og du kan prøve igjen."
    ),
    "state": _l(
        "Innloggingsforsøket er utløpt eller ikke gyldig lenger. Det skjer hvis du brukte "
        "en gammel lenke, gikk tilbake i nettleseren eller brukte lang tid. Start på nytt."
    ),
    "exchange": _l(
        "Innloggingen kunne ikke fullføres fordi svaret fra BankID allerede var brukt eller "
        "ikke hørte til dette innloggingsforsøket. Start på nytt."
    ),
    "verification": _l(
        "Vi kunne ikke bekrefte svaret fra BankID, så du er ikke logget inn. "
        "Prøv igjen, og kontakt oss hvis det gjentar seg."
    ),
    "acr": _l(
        "Innloggingen hadde ikke høyt nok sikkerhetsnivå for denne tjenesten. "
        "Prøv igjen med BankID."
    ),
    "unavailable": _l("BankID svarer ikke akkurat nå. Vent litt og prøv igjen."),
    "unexpected": _l("Noe gikk galt under innloggingen. Ingenting er lagret. Prøv igjen."),
}
_VERIFICATION_REASONS = {
    "discovery", "issuer", "alg", "kid", "signature", "iss", "aud", "expired", "iat",
    "nonce", "sub", "at_hash", "userinfo", "id_token", "identity",
}


# -- configuration -------------------------------------------------------------------------


def _settings() -> dict:
    return current_app.config["PORTAL"]


def _issuer() -> str:
    return str(_settings()["BANKID_ISSUER"]).rstrip("/")


def _allowed_algs() -> list[str]:
    return [a for a in str(_settings()["BANKID_ALLOWED_ALGS"]).split() if a.lower() != "none"]


def _accepted_acr() -> list[str]:
    return str(_settings()["BANKID_ACCEPTED_ACR"]).split()


def _redirect_uri() -> str:
    return str(_settings()["BASE_URL"]).rstrip("/") + "/bankid/callback"


@bp.record_once
def _register_client(state) -> None:
    app = state.app
    cfg = app.config["PORTAL"]
    redact.install()
    oauth = OAuth()
    oauth.init_app(app)
    oauth.register(
        name=OAUTH_NAME,
        client_id=cfg["BANKID_CLIENT_ID"],
        client_secret=cfg["BANKID_CLIENT_SECRET"],
        server_metadata_url=str(cfg["BANKID_ISSUER"]).rstrip("/")
        + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": cfg["BANKID_SCOPES"],
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": HTTP_TIMEOUT_SECONDS,
        },
    )
    app.extensions["bankid_oauth"] = oauth


def _client():
    return current_app.extensions["bankid_oauth"].create_client(OAUTH_NAME)


def _metadata(client) -> dict:
    """The provider's discovery document, after checking it names the configured issuer."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise LoginFailed("unavailable", f"discovery: {type(exc).__name__}") from None
    if metadata.get("issuer") != _issuer():
        raise LoginFailed("discovery", f"discovery issuer {metadata.get('issuer')!r}")
    return metadata


# -- the consumer session ------------------------------------------------------------------


def current_consumer():
    """The logged-in consumer (``portal.agreements.models.Consumer``) or None."""
    consumer_id = session.get("consumer_id")
    if consumer_id is None:
        return None
    if "bankid_consumer" not in g:

        consumer = db.session.get(Consumer, consumer_id)
        if consumer is None:
            logout_consumer()
        g.bankid_consumer = consumer
    return g.bankid_consumer


def consumer_login_required(view):
    """Send a visitor without a consumer session to BankID, then back to this page."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_consumer() is None:
            here = request.full_path.rstrip("?") if request.query_string else request.path
            return redirect(url_for("bankid.login", next=here))
        return view(*args, **kwargs)

    return wrapped


def logout_consumer() -> None:
    """Forget the consumer in this session (other session data stays); the server-side session
    ends, so a copy of the cookie no longer logs anyone in."""
    if session.get("consumer_id") is not None:
        sessions.end()
    for key in SESSION_KEYS:
        session.pop(key, None)
    g.pop("bankid_consumer", None)


def safe_next(value: str | None) -> str:
    """A local path to return to after login; anything else becomes ``/``."""
    return auth_safe_next(value, "/")


# -- views ---------------------------------------------------------------------------------


def _failed(failure: LoginFailed, next_url: str = "/"):
    """A clear page in the person's language. A failed callback never logs in; nor does it log
    out a person already logged in (a forged callback request must not end their session)."""
    log.warning("BankID login failed: %s %s", failure.reason, failure.detail)
    reason = failure.reason
    if reason in _VERIFICATION_REASONS:
        message = _MESSAGES["verification"]
    else:
        message = _MESSAGES.get(reason, _MESSAGES["unexpected"])
    return (
        render_template(
            "bankid/login_failed.html",
            message=message,
            reason=reason,
            retry_url=url_for("bankid.login", next=next_url),
        ),
        400,
    )


@bp.get("/login")
@limited("BANKID")
def login():
    next_url = safe_next(request.args.get("next"))
    client = _client()
    try:
        _metadata(client)
        params = {"prompt": "login", "ui_locales": str(get_locale() or "nb")}
        if _accepted_acr():
            params["acr_values"] = " ".join(_accepted_acr())
        redirect_uri = _redirect_uri()
        authorization = client.create_authorization_url(redirect_uri, **params)
    except LoginFailed as failure:
        return _failed(failure, next_url)
    except (requests.RequestException, OAuthError, RuntimeError, ValueError) as exc:
        return _failed(LoginFailed("unavailable", type(exc).__name__), next_url)
    _forget_older_attempts()
    client.save_authorize_data(redirect_uri=redirect_uri, next=next_url, **authorization)
    return redirect(authorization["url"])


# Unfinished log-ins kept in the cookie (each ~200 bytes): a person with a few tabs open can
# finish any of them; older ones are forgotten, so the cookie never outgrows the browser's 4 KB.
MAX_PENDING_LOGINS = 3
_STATE_PREFIX = f"_state_{OAUTH_NAME}_"


def _forget_older_attempts() -> None:
    """Before a new log-in starts: keep only the newest ``MAX_PENDING_LOGINS - 1`` others."""
    pending = [k for k in session if k.startswith(_STATE_PREFIX)]
    if len(pending) < MAX_PENDING_LOGINS:
        return

    def expires(key):
        value = session.get(key)
        exp = value.get("exp") if isinstance(value, dict) else None
        return exp if isinstance(exp, (int, float)) else 0

    pending.sort(key=expires)
    for key in pending[: len(pending) - (MAX_PENDING_LOGINS - 1)]:
        session.pop(key, None)


@bp.get("/callback")
@limited("BANKID")
def callback():
    client = _client()
    state = request.args.get("state")
    state_data = client.framework.get_state_data(session, state) if state else None
    if state:
        client.framework.clear_state_data(session, state)  # single use, even on failure
    next_url = safe_next((state_data or {}).get("next"))
    try:
        claims = _verify_callback(client, state_data)
    except LoginFailed as failure:
        db.session.rollback()
        return _failed(failure, next_url)
    except Exception as exc:  # never a server error on the way in
        db.session.rollback()
        log.exception("BankID callback failed unexpectedly: %s", type(exc).__name__)
        return _failed(LoginFailed("unexpected", type(exc).__name__), next_url)
    rotate_session()  # a fresh session for the logged-in person
    sessions.start("consumer", claims["consumer_id"])
    session["consumer_id"] = claims["consumer_id"]
    session["consumer_acr"] = claims.get("acr")
    session["consumer_auth_time"] = claims.get("auth_time")
    log.info("BankID login: consumer %s, acr %s", claims["consumer_id"], claims.get("acr"))
    return redirect(next_url)


@bp.get("/logout")
def logout_page():
    """A page with the log-out button, for links and for people without the menu."""
    return render_template("bankid/logout.html", consumer=current_consumer())


@bp.post("/logout")
def logout():
    logout_consumer()
    flash(_l("Du er logget ut."), "info")
    return redirect("/")


# -- verification --------------------------------------------------------------------------


def _verify_callback(client, state_data: dict | None) -> dict:
    """Check the provider's answer, fetch and check the tokens, record the consumer."""
    args = request.args
    metadata = _metadata(client)

    iss = args.get("iss")
    if iss is not None and iss != _issuer():
        raise LoginFailed("issuer", f"iss parameter {iss!r}")
    if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
        raise LoginFailed("issuer", "iss parameter missing")
    if state_data is None:
        raise LoginFailed("state", "unknown or reused state")

    error = args.get("error")
    if error:
        reason = {"access_denied": "cancelled", "login_required": "login_required"}.get(
            error, "provider_error"
        )
        raise LoginFailed(reason, f"{error}: {args.get('error_description', '')}")
    code = args.get("code")
    if not code:
        raise LoginFailed("provider_error", "no code in the response")

    try:
        token = client.fetch_access_token(
            redirect_uri=state_data["redirect_uri"],
            code=code,
            code_verifier=state_data["code_verifier"],
        )
    except OAuthError as exc:
        raise LoginFailed(
            "exchange", f"token endpoint: {exc.error}: {exc.description or ''}"
        ) from None
    except (requests.RequestException, ValueError) as exc:
        raise LoginFailed("unavailable", f"token endpoint: {type(exc).__name__}") from None

    claims = _verify_id_token(client, token, state_data["nonce"])

    try:
        userinfo = client.userinfo(token=token)
    except (requests.RequestException, ValueError, OAuthError) as exc:
        raise LoginFailed("unavailable", f"userinfo: {type(exc).__name__}") from None
    if not isinstance(userinfo.get("sub"), str) or not hmac.compare_digest(
        userinfo["sub"], claims["sub"]
    ):
        raise LoginFailed("userinfo", "userinfo sub differs from the ID token's")

    consumer_id = _record_consumer(claims, userinfo)
    return {**claims, "consumer_id": consumer_id}


def _unverified_header(raw: str) -> dict:
    try:
        segment = raw.split(".")[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError, TypeError):
        raise LoginFailed("id_token", "the ID token is not a JWS") from None
    if not isinstance(header, dict):
        raise LoginFailed("id_token", "the ID token header is not an object")
    return header


_KTY_BY_ALG_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def _key_for(keys: KeySet, kid, alg: str):
    """The one signing key the token names: by ``kid``; without one, only when the JWKS has
    exactly one key usable with ``alg`` (OpenID Connect Core §10.1 makes ``kid`` optional then)."""
    if kid:
        found = [k for k in keys if k.kid == kid]
        return found[0] if len(found) == 1 else None
    kty = _KTY_BY_ALG_PREFIX.get(alg[:2])
    usable = [k for k in keys
              if k.key_type == kty and k.get("use", "sig") == "sig" and k.get("alg", alg) == alg]
    return usable[0] if len(usable) == 1 else None


def _verify_id_token(client, token: dict, nonce: str) -> dict:
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise LoginFailed("id_token", "no ID token")
    header = _unverified_header(raw)
    algs = _allowed_algs()
    alg = header.get("alg")
    if alg not in algs:
        raise LoginFailed("alg", f"alg {alg!r} is not allowed")
    kid = header.get("kid")
    try:
        keys = KeySet.import_key_set(client.fetch_jwk_set())
        if _key_for(keys, kid, alg) is None:
            keys = KeySet.import_key_set(client.fetch_jwk_set(force=True))  # rotated?
    except (requests.RequestException, ValueError, JoseError) as exc:
        raise LoginFailed("unavailable", f"jwks: {type(exc).__name__}") from None
    key = _key_for(keys, kid, alg)
    if key is None:
        raise LoginFailed("kid", f"kid {kid!r} does not pick one key of the JWKS")
    keys = KeySet([key])
    try:
        claims = dict(jwt.decode(raw, keys, algorithms=algs).claims)
    except (JoseError, ValueError) as exc:
        raise LoginFailed("signature", type(exc).__name__) from None

    client_id = str(_settings()["BANKID_CLIENT_ID"])
    now = int(time.time())
    if claims.get("iss") != _issuer():
        raise LoginFailed("iss", f"iss claim {claims.get('iss')!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise LoginFailed("aud", f"aud claim {aud!r}")
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise LoginFailed("aud", f"azp claim {claims.get('azp')!r}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or exp + LEEWAY_SECONDS < now:
        raise LoginFailed("expired", f"exp {exp!r}, now {now}")
    if not isinstance(iat, (int, float)) or iat - LEEWAY_SECONDS > now:
        raise LoginFailed("iat", f"iat {iat!r}, now {now}")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise LoginFailed("nonce", "nonce differs from the one sent")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LoginFailed("sub", "no sub")
    if _accepted_acr() and claims.get("acr") not in _accepted_acr():
        raise LoginFailed("acr", f"acr {claims.get('acr')!r} is not accepted")
    at_hash = claims.get("at_hash")
    if at_hash is not None:
        expected = create_half_hash(token.get("access_token", ""), alg)
        if expected is None or not hmac.compare_digest(expected.decode(), str(at_hash)):
            raise LoginFailed("at_hash", "at_hash does not match the access token")
    return claims


def _record_consumer(claims: dict, userinfo: dict) -> int:
    """Create or update the consumer; commits. Returns the consumer's id."""
    nnin_claim = str(_settings()["BANKID_NNIN_CLAIM"])
    national_id = userinfo.get(nnin_claim) or claims.get(nnin_claim)
    if national_id is not None and not isinstance(national_id, str):
        raise LoginFailed("identity", "the national id claim is not a string")
    name = userinfo.get("name") or claims.get("name")
    if not name:
        parts = [userinfo.get("given_name") or claims.get("given_name"),
                 userinfo.get("family_name") or claims.get("family_name")]
        name = " ".join(p for p in parts if p) or None
    birth_date = _birth_date(userinfo.get("birthdate") or claims.get("birthdate"), national_id)
    try:
        consumer = upsert_consumer(
            db.session,
            sub=claims["sub"],
            national_id=national_id,
            name=name,
            birth_date=birth_date,
        )
        db.session.flush()
    except InvalidIdentifier:
        raise LoginFailed("identity", "the national id from BankID is not valid") from None
    except SQLAlchemyError as exc:
        raise LoginFailed("unexpected", f"database: {type(exc).__name__}") from None
    return consumer.id


def _birth_date(value, national_id: str | None) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if national_id:
        try:
            return national_id_birth_date(national_id)
        except InvalidIdentifier:
            return None
    return None
