"""eFaktura B2C portal: issuer agreement, consumer consent with BankID, and delivery."""
from __future__ import annotations

import functools
import importlib
from urllib.parse import urlsplit

from flask import Flask, g, has_app_context, has_request_context, render_template, request, session
from flask_babel import Babel, get_locale, get_translations
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2.ext import (
    _make_new_gettext,
    _make_new_ngettext,
    _make_new_npgettext,
    _make_new_pgettext,
)
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from portal import cli
from portal.core import auth, db, formatting, limits, logs, outbox, redact, sessions
from portal.core.config import flask_settings, instance_path, load_config
from portal.issuers.models import IssuerUser
from portal.support.models import SupportUser

csrf = CSRFProtect()
babel = Babel()

# Staff pages (issuer, support) and the API speak bokmål and English; what a private person
# reads is in nynorsk too (consumer pages, nettbank, the portal's BankID pages, error pages,
# and every message to a contact: see babel-consumer.cfg).
LOCALES = ("nb", "en")
CONSUMER_LOCALES = ("nb", "nn", "en")
# Blueprints whose pages a private person reads; a request that matched no blueprint (an
# unknown address) gets the error page, which is theirs too.
CONSUMER_BLUEPRINTS = frozenset({"consumer", "nettbank", "bankid", "web"})
# The reader's language across visits: a preference cookie holding nb, nn or en and nothing else.
LANG_COOKIE = "portal_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# The language switch names each language in itself.
LANGUAGE_NAMES = {"nb": "Norsk (bokmål)", "nn": "Norsk (nynorsk)", "en": "English"}
API_PREFIX = "/api/"

# Blueprints as "module:attribute": the areas own the pages; the BankID relying party owns its
# callback. A missing module is an error at start-up, never a silently absent area.
BLUEPRINTS = [
    "portal.areas.public.views:bp",
    "portal.bankid.client:bp",
    "portal.areas.issuer.accounts:bp",
    "portal.areas.issuer.contacts:bp",
    "portal.areas.issuer.invoices:bp",
    "portal.areas.issuer.printing:bp",
    "portal.areas.consumer.views:bp",
    "portal.areas.nettbank.views:bp",
    "portal.areas.support.views:bp",
    "portal.areas.dev.views:bp",
    "portal.areas.dev.webhooks:bp",
    "portal.areas.issuer.integrations:bp",
    "portal.areas.api.views:bp",
]

# Features that react to lower ones (signals) or perform outbox kinds; each module has
# ``register_handlers()``, called once per app.
HANDLER_MODULES = [
    "portal.agreements.services",
    "portal.delivery.handlers",
    "portal.invoices.delivery",
    "portal.integrations.webhooks",
]


def register_handlers() -> None:
    """Connect every feature's outbox handlers and signal receivers (idempotent)."""
    for module_name in HANDLER_MODULES:
        importlib.import_module(module_name).register_handlers()
    missing = outbox.missing_handlers()
    if missing:
        raise RuntimeError("no outbox handler for: " + ", ".join(k.value for k in missing))


def is_consumer_page() -> bool:
    """Whether this request's page is one a private person reads (and may be in nynorsk)."""
    return request.blueprint is None or request.blueprint in CONSUMER_BLUEPRINTS


def chosen_language() -> str | None:
    """The reader's choice: ``?lang=`` on this request, else the session's, else the cookie's."""
    for value in (request.args.get("lang"), session.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in CONSUMER_LOCALES:
            return value
    return None


def select_locale() -> str:
    if not has_request_context():
        return "nb"  # worker and CLI; messages to a contact use force_locale
    if request.path.startswith(API_PREFIX):  # machines ask with Accept-Language, not a session
        return request.accept_languages.best_match(LOCALES) or "nb"
    chosen = chosen_language() or "nb"
    if chosen == "nn" and not is_consumer_page():
        return "nb"  # staff pages have no nynorsk: bokmål, and the page says so in <html lang>
    return chosen


def _remember_language(app: Flask) -> None:
    """``?lang=`` (nb, nn, en) is kept in the session for the next page and in a long-lived
    preference cookie for the next visit; anything else is ignored."""

    @app.before_request
    def _keep_choice():
        chosen = request.args.get("lang")
        if chosen in CONSUMER_LOCALES and not request.path.startswith(API_PREFIX):
            if session.get("lang") != chosen:
                session["lang"] = chosen
            g.lang_chosen = chosen

    @app.context_processor
    def _language_choices():
        if not has_request_context():
            return {"language_choices": ()}
        offered = CONSUMER_LOCALES if is_consumer_page() else LOCALES
        return {"language_choices": tuple((code, LANGUAGE_NAMES[code]) for code in offered)}

    @app.after_request
    def _set_cookie(response):
        chosen = g.get("lang_chosen")
        if chosen and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE, path="/",
                                secure=bool(app.config.get("SESSION_COOKIE_SECURE")),
                                httponly=True, samesite="Lax")
        return response


# The templates' gettext functions, made once per locale and bound to that locale's catalogue
# (Flask-Babel's own look up the request's catalogue again for every string).
_TEMPLATE_GETTEXT: dict[str, tuple[object, dict]] = {}


def template_gettext() -> dict:
    """``gettext``/``_`` and friends for one render: the catalogue is resolved once here, not once
    per string. A context processor, so ``force_locale`` (e-mails in the contact's language)
    gets the functions of the forced locale."""
    translations = get_translations()
    key = str(get_locale())
    cached = _TEMPLATE_GETTEXT.get(key)
    if cached is None or cached[0] is not translations:
        gettext = _make_new_gettext(translations.ugettext)
        funcs = {"gettext": gettext, "_": gettext,
                 "ngettext": _make_new_ngettext(translations.ungettext),
                 "pgettext": _make_new_pgettext(translations.upgettext),
                 "npgettext": _make_new_npgettext(translations.unpgettext)}
        if len(_TEMPLATE_GETTEXT) > 16:  # only real locales are kept for long
            _TEMPLATE_GETTEXT.clear()
        _TEMPLATE_GETTEXT[key] = cached = (translations, funcs)
    return cached[1]


_CATALOGUES: dict = {}


def _catalogue():
    """This context's catalogue from one look-up of the locale Flask-Babel already chose (forced
    locales included), instead of Flask-Babel's several context look-ups per string."""
    ctx = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(ctx, "babel_locale", None)
    if locale is None:
        return get_translations()  # the first string of a request chooses the locale
    found = _CATALOGUES.get(locale)
    if found is None:
        found = _CATALOGUES[locale] = get_translations()
    return found


def install_fast_gettext(app: Flask) -> None:
    """Templates that do not see the render's context (imported macros) use these globals."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )


# Largest id a route accepts: the database's integer columns stop here, so a larger number in
# a URL is a page that cannot exist (404), not a database error.
MAX_ROUTE_ID = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, limited to the database's integer range."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ROUTE_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(instance_path()),
    )
    app.url_map.converters["int"] = BoundedIntConverter
    if cfg["TRUSTED_PROXIES"]:
        # Behind N load balancers or proxies: the client's address, scheme and host come from
        # the X-Forwarded-* headers they set, and only from as many hops as there are proxies.
        hops = int(cfg["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.config.update(flask_settings(cfg))
    app.config["PORTAL"] = cfg
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = "translations"

    db.init_app(app, engine=(config or {}).get("ENGINE"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _remember_language(app)
    app.context_processor(template_gettext)
    install_fast_gettext(app)
    app.jinja_env.add_extension("jinja2.ext.do")

    auth.init_app(app)
    # Staff pages show the account (and an issuer's company) on every page: read with the session.
    sessions.accounts.update({"issuer": (IssuerUser, (joinedload(IssuerUser.issuer),)),
                              "support": (SupportUser, ())})
    auth.user_loaders.update({realm: functools.partial(sessions.account, realm) for realm in sessions.accounts})
    sessions.init_app(app)
    limits.init_app(app)
    formatting.init_app(app)
    db.init_request_transactions(app)

    for ref in BLUEPRINTS:
        module_name, _, attr = ref.partition(":")
        module = importlib.import_module(module_name)
        app.register_blueprint(getattr(module, attr))
        if getattr(module, "CSRF_EXEMPT", False):  # the API: credentials in a header, not cookies
            csrf.exempt(getattr(module, attr))
    register_handlers()

    _register_error_pages(app)
    _register_security_headers(app)

    cli.init_app(app)
    redact.install()
    if not app.debug and not app.testing:
        logs.configure(json_lines=bool(cfg["LOG_JSON"]))
    return app


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(cfg: dict) -> str:
    """Scripts, styles and images only from us; forms post only to us, or to the BankID
    provider (a form whose answer redirects there, such as a consent decision leading to the
    BankID log-in, is checked against ``form-action`` by browsers)."""
    form_action = ["'self'"]
    bankid = _origin(str(cfg["BANKID_ISSUER"]))
    if bankid != _origin(str(cfg["BASE_URL"])):
        form_action.append(bankid)
    return (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        f"form-action {' '.join(form_action)}; frame-ancestors 'none'"
    )


def _authenticated() -> bool:
    """Whether this request belongs to a logged-in person: staff (flask-login) or a consumer
    (BankID session)."""
    if session.get("_user_id") or session.get("consumer_id"):
        return True
    user = g.get("_login_user")
    return bool(user is not None and user.is_authenticated)


def _register_security_headers(app: Flask) -> None:
    """Pages are not framed, scripts and styles come only from us, and a consent link in the
    address bar is never sent on to another site as a referrer. What a logged-in person sees
    (pages, PDFs, receipts) is never kept by a browser or a shared cache; in production the
    browser is told to use https only."""
    cfg = app.config["PORTAL"]
    csp = content_security_policy(cfg)
    hsts = "max-age=31536000; includeSubDomains" if cfg["PRODUCTION"] else None

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", csp)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        if _authenticated():
            response.headers["Cache-Control"] = "no-store, private"
        elif response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _register_error_pages(app: Flask) -> None:
    def render_error(status: int):
        if request.path.startswith(API_PREFIX):
            # late: the API area is imported with the blueprints, after this module
            from portal.areas.api.views import problem_for_status

            return problem_for_status(status)
        return render_template("errors/error.html", status=status), status

    @app.errorhandler(CSRFError)
    def _csrf(_e):
        return render_template("errors/error.html", status=400, csrf=True), 400

    for status in (400, 403, 404, 405, 413):
        app.register_error_handler(status, lambda _e, s=status: render_error(s))

    @app.errorhandler(429)
    def _too_many(e):
        response = app.make_response(render_error(429))
        retry = dict(e.get_headers()).get("Retry-After") if isinstance(e, HTTPException) else None
        if retry and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = retry
        return response

    @app.errorhandler(500)
    def _server_error(_e):
        db.session.rollback()
        return render_error(500)

    @app.errorhandler(HTTPException)
    def _other_http_error(e: HTTPException):
        if request.path.startswith(API_PREFIX) and e.code:
            return render_error(e.code)
        return e
