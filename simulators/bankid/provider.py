"""The simulated BankID OpenID Connect provider: its own Flask app, port and cookie.

Run it beside the portal::

    flask --app simulators.bankid.provider:create_provider_app run --port 5001

and rotate its signing key with::

    flask --app simulators.bankid.provider:create_provider_app bankid rotate-key

It refuses to start when ``PORTAL_ENV=production``. Endpoints (relative to the issuer):
``/.well-known/openid-configuration``, ``/authorize``, ``/token``, ``/userinfo``, ``/jwks``
and ``/logout`` (RP-initiated logout). Test persons: :mod:`simulators.bankid.persons`.
"""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from pathlib import Path

import click
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oidc.core.errors import LoginRequiredError
from flask import Flask, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask.cli import AppGroup
from flask_babel import Babel, get_locale, ngettext
from flask_babel import gettext as _

from portal.core import redact
from portal.core.config import PROJECT_ROOT
from portal.core.identifiers import InvalidIdentifier, national_id_birth_date, validate_national_id
from simulators.bankid.keys import SIGNING_ALG, KeyStore, file_secret
from simulators.bankid.persons import PERSONS, find_person
from simulators.bankid.server import (
    ACR_HIGH,
    ACR_SUBSTANTIAL,
    AUTH_METHODS,
    NNIN_CLAIM,
    NNIN_SCOPE,
    SUPPORTED_SCOPES,
    Client,
    StoredRequest,
    authentication_for,
    build_server,
)
from simulators.bankid.settings import load_provider_config
from simulators.bankid.store import Authentication, LoginTransaction, ProviderStore, now

log = logging.getLogger(__name__)

LOCALES = ("nb", "en")
LOGIN_HINT_PREFIX = "BID:"


class Provider:
    """Everything the provider knows: settings, clients, keys and short-lived state."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.issuer = str(cfg["BANKID_ISSUER"]).rstrip("/")
        key_dir = Path(str(cfg["BANKID_KEY_DIR"]))
        self.keys = KeyStore(key_dir, keep=int(cfg["BANKID_KEEP_KEYS"]))
        self.sub_secret = str(cfg["BANKID_SUB_SECRET"] or file_secret(key_dir, "sub-secret"))
        self.store = ProviderStore()
        self.clients: dict[str, Client] = {}
        base_url = str(cfg["BASE_URL"]).rstrip("/")
        self.clients[str(cfg["BANKID_CLIENT_ID"])] = Client(
            client_id=str(cfg["BANKID_CLIENT_ID"]),
            client_secret=str(cfg["BANKID_CLIENT_SECRET"]),
            redirect_uris=[base_url + "/bankid/callback"],
            scopes=list(SUPPORTED_SCOPES),
            post_logout_redirect_uris=[base_url + "/"],
            display_name=str(cfg.get("BANKID_CLIENT_NAME") or "eFaktura – faktura rett i nettbanken"),
        )
        for extra in cfg.get("BANKID_EXTRA_CLIENTS") or []:
            self.clients[extra["client_id"]] = Client(
                client_id=extra["client_id"],
                client_secret=extra["client_secret"],
                redirect_uris=list(extra["redirect_uris"]),
                scopes=list(extra.get("scopes") or ["openid", "profile"]),
                post_logout_redirect_uris=list(extra.get("post_logout_redirect_uris") or []),
                display_name=extra.get("display_name"),
            )
        self.server = None  # set by create_provider_app

    def endpoint(self, name: str) -> str:
        paths = {
            "authorize": "/authorize",
            "token": "/token",
            "userinfo": "/userinfo",
            "jwks": "/jwks",
            "end_session": "/logout",
        }
        return self.issuer + paths[name]

    def metadata(self) -> dict:
        """The OpenID Provider Metadata (discovery document)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "jwks_uri": self.endpoint("jwks"),
            "end_session_endpoint": self.endpoint("end_session"),
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
            "userinfo_signing_alg_values_supported": [SIGNING_ALG],
            "acr_values_supported": [ACR_HIGH, ACR_SUBSTANTIAL],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
                "name", "given_name", "family_name", "birthdate", NNIN_CLAIM,
            ],
            "ui_locales_supported": ["nb", "en"],
            "prompt_values_supported": ["none", "login"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }

    def user_claims(self, auth: Authentication, scope: str) -> dict:
        """Claims about the person for the granted scope (ID token and userinfo alike)."""
        scopes = scope_to_list(scope) or []
        person = auth.person
        claims: dict[str, object] = {"sub": auth.sub}
        if "profile" in scopes:
            claims.update(
                name=person.name,
                given_name=person.given_name,
                family_name=person.family_name,
                birthdate=person.birthdate.isoformat(),
            )
        if NNIN_SCOPE in scopes:
            claims[NNIN_CLAIM] = person.national_id
        return claims


# -- helpers used by the views -----------------------------------------------------------


def _provider() -> Provider:
    from flask import current_app

    return current_app.extensions["bankid_provider"]


def _browser_id() -> str:
    """A random id for this browser, kept in the provider's cookie session."""
    value = session.get("browser")
    if not value:
        value = secrets.token_urlsafe(24)
        session["browser"] = value
    return value


def _current_authentication() -> Authentication | None:
    return _provider().store.get_session(session.get("sid"))


def _locale_from_ui_locales(value: str | None) -> str | None:
    for tag in (value or "").split():
        primary = tag.split("-")[0].lower()
        if primary in ("nb", "nn", "no"):
            return "nb"
        if primary == "en":
            return "en"
    return None


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
        return chosen
    from_login = g.get("bankid_locale")
    if from_login in LOCALES:
        return from_login
    saved = session.get("lang")
    if saved in LOCALES:
        return saved
    return "nb"


def _offered_methods(params: dict) -> list[str]:
    """Ways to log in: code device and password always; the app with biometrics only when
    the client's acr_values (if any) accept the substantial level."""
    wanted = (params.get("acr_values") or "").split()
    methods = ["code"]
    if not wanted or ACR_SUBSTANTIAL in wanted:
        methods.append("app")
    return methods


def _session_satisfies(auth: Authentication, params: dict) -> bool:
    """May this existing provider session answer the request without a new login?"""
    wanted = (params.get("acr_values") or "").split()
    if wanted and auth.acr not in wanted and auth.acr != ACR_HIGH:
        return False
    max_age = params.get("max_age")
    if max_age is not None:
        try:
            if now() - auth.auth_time > int(max_age):
                return False
        except ValueError:
            return False
    return True


def _error_response(error: OAuth2Error):
    """Send an error back to the client when its redirect URI is known, else show it here."""
    provider = _provider()
    server = provider.server
    if error.redirect_uri:
        response = server.handle_error_response(None, error)
        server.issuer_parameter.add_issuer_parameter(server, response)
        return response
    log.info("Refused authorization request: %s (%s)", error.error, error.description)
    return (
        render_template(
            "bankid/provider_error.html",
            title=_("Innloggingen kan ikke starte"),
            message=_(
                "Tjenesten du kom fra sendte en forespørsel BankID ikke kan behandle. "
                "Gå tilbake til tjenesten og prøv igjen."
            ),
            technical=f"{error.error}: {error.description or ''}".strip(),
        ),
        400,
    )


def _finish(params: dict, auth: Authentication):
    """Answer the client's authorization request for a person who is logged in."""
    server = _provider().server
    try:
        grant = server.get_consent_grant(request=StoredRequest(params), end_user=auth)
    except OAuth2Error as error:
        return _error_response(error)
    return server.create_authorization_response(request=grant.request, grant_user=auth, grant=grant)


def _deny(txn: LoginTransaction, description: str):
    """End a login without success: ``access_denied`` back to the client."""
    provider = _provider()
    provider.store.end_login(txn.id)
    try:
        grant = provider.server.get_consent_grant(request=StoredRequest(txn.params), end_user=None)
    except OAuth2Error as error:
        return _error_response(error)
    return _error_response(
        AccessDeniedError(
            description=description,
            redirect_uri=grant.redirect_uri,
            state=txn.params.get("state"),
        )
    )


def _render_step(txn: LoginTransaction, *, error: str | None = None, nnin_value: str = "",
                 status: int = 200):
    provider = _provider()
    hint = txn.params.get("login_hint") or ""
    if not nnin_value and hint.upper().startswith(LOGIN_HINT_PREFIX):
        nnin_value = hint[len(LOGIN_HINT_PREFIX):].strip()
    client = provider.clients.get(txn.params.get("client_id", ""))
    max_attempts = int(provider.cfg["BANKID_MAX_ATTEMPTS"])
    persons = []
    if provider.cfg.get("DEV_TOOLS") and txn.step == "nnin":
        persons = list(PERSONS)
    response = render_template(
        "bankid/provider_login.html",
        txn=txn,
        step=txn.step,
        error=error,
        nnin_value=nnin_value,
        methods=_offered_methods(txn.params),
        client_id=client.display_name if client else "",
        attempts_left=max_attempts - txn.failures,
        persons=persons,
    )
    return response, status


def _wrong_attempt(txn: LoginTransaction, message_kind: str):
    provider = _provider()
    txn.failures += 1
    left = int(provider.cfg["BANKID_MAX_ATTEMPTS"]) - txn.failures
    if left <= 0:
        log.info("BankID login stopped after too many failed attempts")
        return _deny(txn, "The login was stopped after too many failed attempts.")
    message = _("Engangskoden er feil.") if message_kind == "otp" else _("Passordet er feil.")
    message = " ".join([message, ngettext("Du har %(num)d forsøk igjen.", "Du har %(num)d forsøk igjen.", left)])
    return _render_step(txn, error=message, status=400)


def _complete(txn: LoginTransaction, acr: str):
    provider = _provider()
    auth = authentication_for(provider, txn.person, acr)
    provider.store.save_session(auth)
    provider.store.end_session(session.get("sid"))
    session["sid"] = auth.sid
    provider.store.end_login(txn.id)
    log.info("BankID login completed: sub=%s acr=%s", auth.sub, acr)
    return _finish(txn.params, auth)


# -- the app ----------------------------------------------------------------------------


def create_provider_app(config: dict | None = None) -> Flask:
    """The simulated BankID provider as its own Flask app (never in production)."""
    cfg = load_provider_config(config)
    provider = Provider(cfg)
    provider.keys.ensure()

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    key_dir = Path(str(cfg["BANKID_KEY_DIR"]))
    app.config.update(
        SECRET_KEY=str(cfg["BANKID_PROVIDER_SECRET_KEY"] or file_secret(key_dir, "session-secret")),
        SESSION_COOKIE_NAME="bankid_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=provider.issuer.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=int(cfg["BANKID_SESSION_LIFETIME"])),
        BABEL_DEFAULT_LOCALE="nb",
        BABEL_DEFAULT_TIMEZONE="Europe/Oslo",
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "portal" / "translations"),
        TESTING=cfg["ENV"] == "testing",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config["BANKID"] = cfg
    app.extensions["bankid_provider"] = provider
    provider.server = build_server(provider, app)
    Babel(app, locale_selector=select_locale)
    redact.install()

    @app.context_processor
    def _template_globals():
        return {"current_locale": str(get_locale() or "nb"), "dev_tools": bool(cfg["DEV_TOOLS"])}

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
        )
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        return response

    # -- discovery and keys --------------------------------------------------------------
    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(provider.metadata())

    @app.get("/jwks")
    def jwks():
        response = jsonify(provider.keys.public_jwks())
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @app.get("/")
    def index():
        return render_template("bankid/provider_index.html", persons=PERSONS)

    # -- authorization ---------------------------------------------------------------------
    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        auth = _current_authentication()
        try:
            grant = provider.server.get_consent_grant(end_user=auth)
        except OAuth2Error as error:
            return _error_response(error)
        params = request.values.to_dict(flat=True)
        if auth is not None and grant.prompt != "login" and _session_satisfies(auth, params):
            return _finish(params, auth)
        if params.get("prompt") == "none":
            return _error_response(
                LoginRequiredError(redirect_uri=grant.redirect_uri, state=params.get("state"))
            )
        txn = provider.store.start_login(
            params, _browser_id(), int(cfg["BANKID_LOGIN_LIFETIME"])
        )
        txn.locale = _locale_from_ui_locales(params.get("ui_locales"))
        return redirect(url_for("login", txn_id=txn.id))

    @app.route("/login/<txn_id>", methods=["GET", "POST"])
    def login(txn_id: str):
        # One step of one login at a time: attempts are counted exactly even when a
        # browser sends several answers at once.
        with provider.store.lock:
            return _login_step(txn_id)

    def _login_step(txn_id: str):
        txn = provider.store.get_login(txn_id, _browser_id())
        if txn is None:
            return (
                render_template(
                    "bankid/provider_error.html",
                    title=_("Innloggingen er utløpt"),
                    message=_(
                        "Denne innloggingen er ikke lenger gyldig. Gå tilbake til tjenesten "
                        "du kom fra og start innloggingen på nytt."
                    ),
                ),
                400,
            )
        chosen = request.args.get("lang")
        if chosen in LOCALES:
            txn.locale = chosen
        g.bankid_locale = txn.locale
        if request.method == "GET":
            return _render_step(txn)

        action = request.form.get("action")
        if action == "cancel":
            log.info("BankID login cancelled by the user")
            return _deny(txn, "The user cancelled the login.")
        if action != "next":
            return _render_step(txn, status=400)

        if txn.step == "nnin":
            raw = request.form.get("nnin", "")
            try:
                national_id = validate_national_id(raw, allow_synthetic=True)
            except InvalidIdentifier as exc:
                return _render_step(txn, error=str(exc.message), nnin_value=raw, status=400)
            methods = _offered_methods(txn.params)
            method = request.form.get("method", methods[0])
            if method not in methods:
                method = methods[0]
            txn.person = find_person(national_id, national_id_birth_date(national_id))
            txn.method = method
            txn.step = "otp" if method == "code" else "app"
            return redirect(url_for("login", txn_id=txn.id), code=303)

        if txn.step == "otp":
            given = request.form.get("otp", "").strip()
            if not secrets.compare_digest(given.encode(), txn.person.otp.encode()):
                return _wrong_attempt(txn, "otp")
            txn.step = "password"
            return redirect(url_for("login", txn_id=txn.id), code=303)

        if txn.step == "password":
            given = request.form.get("password", "")
            if not secrets.compare_digest(given.encode(), txn.person.password.encode()):
                return _wrong_attempt(txn, "password")
            return _complete(txn, ACR_HIGH)

        if txn.step == "app":
            return _complete(txn, ACR_SUBSTANTIAL)

        abort(400)

    # -- back channel ----------------------------------------------------------------------
    @app.post("/token")
    def token():
        return provider.server.create_token_response()

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        return provider.server.create_endpoint_response("userinfo")

    # -- logout ----------------------------------------------------------------------------
    @app.route("/logout", methods=["GET", "POST"])
    def end_session():
        try:
            req = provider.server.validate_endpoint_request("end_session")
        except OAuth2Error as error:
            return (
                render_template(
                    "bankid/provider_error.html",
                    title=_("Utloggingen kunne ikke fullføres"),
                    message=_("Forespørselen om utlogging var ugyldig."),
                    technical=f"{error.error}: {error.description or ''}".strip(),
                ),
                400,
            )
        g.bankid_locale = _locale_from_ui_locales(req.ui_locales)
        if req.needs_confirmation:
            confirmed = request.method == "POST" and secrets.compare_digest(
                request.form.get("confirm", "").encode(), _browser_id().encode()
            )
            if not confirmed:
                fields = {
                    k: v for k, v in request.values.to_dict(flat=True).items() if k != "confirm"
                }
                return render_template(
                    "bankid/provider_logout.html", confirm=True, fields=fields,
                    browser=_browser_id(),
                )
        response = provider.server.create_endpoint_response("end_session", req)
        session.pop("sid", None)
        return response or render_template("bankid/provider_logout.html", confirm=False)

    # -- command line ----------------------------------------------------------------------
    bankid_cli = AppGroup("bankid", help="The simulated BankID provider.")

    @bankid_cli.command("rotate-key")
    def rotate_key():
        """Sign with a new key; the previous keys stay in the JWKS."""
        new = provider.keys.rotate()
        kids = [k["kid"] for k in provider.keys.public_jwks()["keys"]]
        click.echo(f"New signing key: {new.kid}")
        click.echo(f"The JWKS now publishes {len(kids)} key(s): {', '.join(kids)}")

    @bankid_cli.command("persons")
    def list_persons():
        """List the test persons with their one-time code and password."""
        for p in PERSONS:
            click.echo(
                f"{p.national_id}  {p.name:<20} born {p.birthdate}  {p.kind:<14} "
                f"code {p.otp}  password {p.password}"
            )

    app.cli.add_command(bankid_cli)
    return app
