"""Production readiness inside the app: strict settings, headers, route ids, downloads, the
identity-number key and the proxy setting."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import request

from portal.core import db
from portal.core.config import ConfigError, flask_settings, load_config
from portal.core.downloads import content_disposition
from portal.core.identity_key import identity_key, national_id_hmac
from simulators.bankid.persons import KARI
from tests.helpers.consent import (
    approved_issuer,
    doc_for,
    logged_in,
)
from tests.helpers.issuer import login, staff
from tests.helpers.production import PRODUCTION, PRODUCTION_ENV

ROOT = Path(__file__).resolve().parent.parent
# -- strict production settings ------------------------------------------------------------

@pytest.mark.parametrize("change,message", [
    ({"SECRET_KEY": "short-but-set"}, "PORTAL_SECRET_KEY must be at least 32 bytes"),
    ({"BASE_URL": "http://efaktura.example.no"}, "PORTAL_BASE_URL must be an https URL in production"),
    ({"IDENTITY_KEY": None}, "PORTAL_IDENTITY_KEY must be set in production"),
    ({"IDENTITY_KEY": "kort"}, "PORTAL_IDENTITY_KEY must be at least 32 bytes"),
    ({"WEB_WORKERS": 0}, "PORTAL_WEB_WORKERS must be a positive number"),
])
def test_production_refuses_weak_settings(change, message):
    """Production refuses a short secret key, a plain-http base URL and a missing identity key."""
    with pytest.raises(ConfigError, match=message):
        load_config({**PRODUCTION, **change})


def test_production_cookies_are_secure():
    """In production the session and remember-me cookies are sent over https only."""
    settings = flask_settings(load_config(PRODUCTION))
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True


def test_seed_demo_refuses_production(tmp_path):
    """`flask seed-demo` in production stops with one line and loads nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PRODUCTION_ENV, PORTAL_INSTANCE_PATH=str(tmp_path),
               PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite3'}")
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "seed-demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "seed-demo refuses to run with PORTAL_ENV=production" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# -- the identity-number key ---------------------------------------------------------------

def test_identity_key_is_its_own_setting():
    """With PORTAL_IDENTITY_KEY set, identity hashes no longer depend on the Flask secret key."""
    one = load_config({**PRODUCTION, "SECRET_KEY": "a" * 40})
    other = load_config({**PRODUCTION, "SECRET_KEY": "b" * 40})
    assert national_id_hmac("15058521431", one) == national_id_hmac("15058521431", other)
    assert identity_key(one) != ("nnin:" + one["SECRET_KEY"]).encode()


def test_identity_key_falls_back_to_secret_key_outside_production(app_ctx):
    """Outside production, without an identity key, hashes are the ones already stored."""
    from portal.agreements.services import national_id_hash

    assert national_id_hmac("15058521431") == national_id_hash("15058521431")


# -- headers -------------------------------------------------------------------------------

def test_staff_pages_and_pdfs_are_not_cached(app, client, post_form):
    """Everything a logged-in issuer sees is marked no-store, private; the public home page is
    not private."""
    _issuer, user = staff(app)
    assert "private" not in client.get("/").headers.get("Cache-Control", "")
    login(client, post_form, user.email)
    for url in ("/utsteder/", "/utsteder/kontakter/eksempel.csv"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-store, private", url


def test_consumer_pdf_is_not_cached_and_named_safely(ctx):
    """The nettbank PDF is never cached, and an odd invoice number cannot break its header."""
    client, kari = logged_in(ctx, KARI)
    _, _, _, (inv,) = approved_issuer(kari, "Vannverket AS")
    inv.number = 'F"17\r\nSet-Cookie: x=1; ø'
    db.session.commit()
    response = client.get(f"/nettbank/{doc_for(inv).id}/pdf")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store, private"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="faktura-F17')
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in response.headers


def test_csp_allows_forms_to_us_and_bankid_only(make_app):
    """Forms may post only to the portal itself and to the BankID provider."""
    app = make_app(BANKID_ISSUER="https://bankid.example.no/oidc")
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "form-action 'self' https://bankid.example.no;" in csp


def test_hsts_only_in_production(make_app):
    """Browsers are told to insist on https in production, not on a developer's machine."""
    assert "Strict-Transport-Security" not in make_app().test_client().get("/").headers
    app = make_app(**{k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"})
    assert app.test_client().get("/").headers["Strict-Transport-Security"].startswith("max-age=31536000")


# -- route ids and downloads ---------------------------------------------------------------

def test_ids_beyond_the_database_range_are_404(app, client, post_form):
    """An id larger than the database's integers is a missing page, before any query runs."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    huge = 2**31
    for url in (f"/utsteder/kontakter/{huge}/endre", f"/utsteder/fakturaer/{huge}/pdf",
                "/utsteder/fakturaer/99999999999999999999999", f"/nettbank/{huge}/pdf"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/nettbank/{huge - 1}/pdf").status_code == 302  # in range: asks for BankID


@pytest.mark.parametrize("name,expected", [
    ("faktura-17.pdf", 'attachment; filename="faktura-17.pdf"'),
    ('a"b\\c.pdf', 'attachment; filename="abc.pdf"'),
    ("kvittering-ø-é.txt", "attachment; filename=\"kvittering-_-e.txt\"; filename*=UTF-8''kvittering-%C3%B8-%C3%A9.txt"),
    ("x\r\nSet-Cookie: y.pdf", "attachment; filename=\"xSet-Cookie_ y.pdf\"; filename*=UTF-8''xSet-Cookie%3A%20y.pdf"),
])
def test_content_disposition_is_safe(name, expected):
    """Download names keep no quotes, line breaks or raw non-ASCII, with the real name in filename*."""
    assert content_disposition(name) == expected


# -- behind a proxy ------------------------------------------------------------------------

def _address_app(make_app, **settings):
    app = make_app(**settings)
    app.add_url_rule("/_address", "address", lambda: f"{request.remote_addr} {request.scheme}")
    return app.test_client()


def test_trusted_proxy_gives_the_client_address(make_app):
    """Behind one proxy the client's address and scheme come from the proxy's headers."""
    client = _address_app(make_app, TRUSTED_PROXIES=1)
    headers = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https"}
    assert client.get("/_address", headers=headers).get_data(as_text=True) == "203.0.113.7 https"


def test_forwarded_headers_ignored_without_trusted_proxies(make_app):
    """Without PORTAL_TRUSTED_PROXIES a client cannot choose its own address."""
    client = _address_app(make_app)
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert client.get("/_address", headers=headers).get_data(as_text=True) == "127.0.0.1 http"
