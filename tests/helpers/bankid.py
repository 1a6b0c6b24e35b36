"""Log consumers in through the simulated BankID provider, for any test.

The provider runs for real on a free loopback port in a background thread; the portal (the
Flask test client) is pointed at it by configuration, and the provider's pages are driven
with ``requests`` the way a browser would (read the form, fill it, post it).

Typical use in a test module::

    from simulators.bankid.persons import KARI
    from tests.helpers import bankid as bankid_helpers
    from tests.helpers.bankid import login_consumer

    bankid_provider = bankid_helpers.bankid_provider  # the fixture

    def test_something(make_app, bankid_provider):
        app = make_app(**bankid_provider.portal_settings())
        client = app.test_client()
        response = login_consumer(client, KARI.national_id, next="/min-side")
        assert response.status_code == 302 and response.headers["Location"] == "/min-side"

Lower-level pieces:

* ``running_provider(config, wrap=None)`` – context manager; yields a :class:`RunningProvider`.
* ``provider_config(key_dir, **overrides)`` – provider settings that agree with the portal's
  test settings (``tests/conftest.py``: client secret, ``BASE_URL=http://localhost``).
* ``complete_bankid_login(http, authorize_url, national_id, otp, password)`` – drives the
  provider's pages and returns the URL the provider sends the browser back to (the client's
  callback with ``code``/``state``/``iss``, or with ``error=access_denied`` when the login
  failed).
* ``cancel_bankid_login(http, authorize_url)`` – presses *Avbryt* on the first page.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from simulators.bankid.persons import DEFAULT_OTP, DEFAULT_PASSWORD

CLIENT_ID = "efaktura-portal"
CLIENT_SECRET = "test-client-secret"  # the same as tests/conftest.py TEST_SETTINGS
PORTAL_BASE_URL = "http://localhost"  # the Flask test client's host
CALLBACK_URL = PORTAL_BASE_URL + "/bankid/callback"


class BankIDLoginError(AssertionError):
    """The provider's pages did not behave like a login."""


# -- running the provider ----------------------------------------------------------------


def provider_config(key_dir: str | Path, **overrides) -> dict:
    """Settings for a test provider; keys and secrets are kept under ``key_dir``."""
    settings = {
        "ENV": "testing",
        "SECRET_KEY": "provider-test-secret",
        "DATABASE_URL": "sqlite://",
        "BASE_URL": PORTAL_BASE_URL,
        "BANKID_CLIENT_ID": CLIENT_ID,
        "BANKID_CLIENT_SECRET": CLIENT_SECRET,
        "BANKID_KEY_DIR": str(key_dir),
        "BANKID_PROVIDER_SECRET_KEY": "provider-session-secret",
        "BANKID_SUB_SECRET": "provider-sub-secret",
        "DEV_TOOLS": True,
    }
    settings.update(overrides)
    return settings


@dataclass
class RunningProvider:
    """A provider serving on ``issuer`` (``http://127.0.0.1:<port>``)."""

    issuer: str
    app: object  # the provider's Flask app
    config: dict = field(repr=False)

    @property
    def provider(self):
        """The provider's state (keys, store, clients): ``simulators.bankid.provider.Provider``."""
        return self.app.extensions["bankid_provider"]

    def url(self, path: str) -> str:
        return self.issuer + path

    def portal_settings(self) -> dict:
        """Overrides for ``create_app``/``make_app`` that point the portal at this provider."""
        return {
            "BANKID_ISSUER": self.issuer,
            "BASE_URL": str(self.config["BASE_URL"]),
            "BANKID_CLIENT_ID": str(self.config["BANKID_CLIENT_ID"]),
            "BANKID_CLIENT_SECRET": str(self.config["BANKID_CLIENT_SECRET"]),
        }


@contextlib.contextmanager
def running_provider(
    config: dict, *, wrap: Callable | None = None, host: str = "127.0.0.1"
) -> Iterator[RunningProvider]:
    """Run the simulated provider on a free port of ``host`` in a background thread.

    ``config`` is passed to ``create_provider_app`` with ``BANKID_ISSUER`` set to the real
    address. ``wrap(wsgi_app) -> wsgi_app`` may put a test middleware in front of it (for
    example one that tampers with tokens).
    """
    from simulators.bankid.provider import create_provider_app

    def not_ready(environ, start_response):  # pragma: no cover - replaced before serving
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"starting"]

    server = make_server(host, 0, not_ready, threaded=True)
    issuer = f"http://{host}:{server.server_port}"
    settings = dict(config, BANKID_ISSUER=issuer)
    app = create_provider_app(settings)
    if wrap is not None:
        app.wsgi_app = wrap(app.wsgi_app)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="bankid-provider", daemon=True)
    thread.start()
    try:
        yield RunningProvider(issuer=issuer, app=app, config=settings)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def bankid_provider(tmp_path) -> Iterator[RunningProvider]:
    """A simulated BankID provider on a real loopback port, keys under ``tmp_path``."""
    with running_provider(provider_config(tmp_path / "bankid")) as running:
        yield running


# -- driving the provider's pages --------------------------------------------------------


@dataclass
class Form:
    id: str | None
    action: str
    method: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("id"), a.get("action", ""), a.get("method", "get"), {})
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            if kind in ("submit", "button", "image", "reset"):
                return
            self._current.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def find_form(html: str, form_id: str | None = None) -> Form | None:
    """The form with ``form_id`` (or the first form) on a page, with its current values."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        if form_id is None or form.id == form_id:
            return form
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _drive(http: requests.Session, authorize_url: str, fill: Callable[[dict], dict],
           max_steps: int = 12) -> str:
    provider_origin = _origin(authorize_url)
    response = http.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(max_steps):
        if response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if _origin(location) != provider_origin:
                return location
            response = http.get(location, allow_redirects=False, timeout=10)
            continue
        form = find_form(response.text, "bankid-form")
        if form is None:
            raise BankIDLoginError(
                f"the provider answered {response.status_code} without a login form: "
                f"{response.text[:500]}"
            )
        data = fill(dict(form.fields))
        response = http.post(
            urljoin(response.url, form.action), data=data, allow_redirects=False, timeout=10
        )
    raise BankIDLoginError(f"the login did not finish within {max_steps} steps")


def complete_bankid_login(
    http: requests.Session,
    authorize_url: str,
    national_id: str,
    otp: str = DEFAULT_OTP,
    password: str = DEFAULT_PASSWORD,
    *,
    method: str = "code",
) -> str:
    """Log in on the provider's pages; return the URL it redirects the browser to.

    ``authorize_url`` is the provider's authorization URL (for the portal: the ``Location``
    of ``GET /bankid/login``). Each page's form is filled (number, then one-time code, then
    password) and submitted with *Neste*. Wrong codes are simply submitted again, so three
    wrong ones end with a redirect carrying ``error=access_denied``. ``method="app"`` picks
    the BankID app with biometrics (substantial level, no code or password).
    """

    def fill(fields: dict) -> dict:
        if "nnin" in fields:
            fields["nnin"] = national_id
            fields["method"] = method
        if "otp" in fields:
            fields["otp"] = otp
        if "password" in fields:
            fields["password"] = password
        fields["action"] = "next"
        return fields

    return _drive(http, authorize_url, fill)


def cancel_bankid_login(http: requests.Session, authorize_url: str) -> str:
    """Press *Avbryt* on the provider's first page; return the redirect back to the client."""

    def fill(fields: dict) -> dict:
        fields["action"] = "cancel"
        return fields

    return _drive(http, authorize_url, fill)


# -- the portal side ---------------------------------------------------------------------


def callback_path(url: str) -> str:
    """The path and query of a callback URL, for the Flask test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def login_consumer(
    client,
    national_id: str,
    *,
    next: str = "/",
    otp: str = DEFAULT_OTP,
    password: str = DEFAULT_PASSWORD,
    method: str = "code",
    http: requests.Session | None = None,
):
    """Log a consumer in on the portal's test ``client``; returns the callback's response
    (a redirect to ``next`` on success).

    The app behind ``client`` must point at a running provider
    (``make_app(**bankid_provider.portal_settings())``).
    """
    start = client.get("/bankid/login?next=" + quote(next, safe="/"))
    if start.status_code != 302:
        raise BankIDLoginError(f"/bankid/login answered {start.status_code}")
    final = complete_bankid_login(
        http or requests.Session(), start.headers["Location"], national_id, otp, password,
        method=method,
    )
    return client.get(callback_path(final))
