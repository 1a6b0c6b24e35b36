"""Test set-up.

The schema comes from the Alembic migrations (so every run tests them), once per
session, in a database of the run's own: a SQLite file by default, or a fresh
PostgreSQL database when ``PORTAL_TEST_DATABASE_URL`` names a server. Tests commit for
real (so threads, subprocesses and the worker see what a request wrote), and every
table is emptied after each test.
"""
from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TEST_PG = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


def pytest_configure(config):
    config._portal_tmp = None
    # Evidence of earlier runs' browser failures (test-artifacts/browser-*) is removed so what is
    # there belongs to this run: once, in the main process (with -n, before any worker starts; a
    # worker must never remove what another has just saved).
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        for old in (Path(__file__).resolve().parent.parent / "test-artifacts").glob("browser-*"):
            old.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    os.environ["PORTAL_INSTANCE_PATH"] = str(path)
    return path


def _postgres_database(base_url: str):
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - the run asked for PostgreSQL: never fall back silently
        pytest.exit(f"PostgreSQL at {url.render_as_string(hide_password=True)} is not usable: {exc}", returncode=3)
    return admin, name, url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(instance_dir, tmp_path_factory):
    from portal.core.migrate import upgrade

    if TEST_PG:
        admin, name, url = _postgres_database(TEST_PG)
        upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url):
    from portal.core.db import make_engine

    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def is_postgres(database_url) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def postgres_only(is_postgres):
    """For tests that need PostgreSQL (row locks, several worker processes). On the SQLite pass they
    skip with the reason; the PostgreSQL pass (`make test-postgres`, which CI runs) runs them, and
    there a database that is not PostgreSQL ends the run (see ``database_url``)."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass (make test-postgres)")


def _empty_all_tables(eng) -> None:
    from portal.models import Base

    tables = list(reversed(Base.metadata.sorted_tables))
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


TEST_SETTINGS = {
    "ENV": "testing",
    "SECRET_KEY": "test-secret-key-" + secrets.token_hex(8),
    "BANKID_CLIENT_SECRET": "test-client-secret",
    "BASE_URL": "http://localhost",
    "SMTP_HOST": "",
    "SMS_GATEWAY_URL": "",
    "DEV_TOOLS": True,
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; production insists on scrypt
    # Generous limits (the store may be one Redis shared by every test process); tests of the
    # limits set their own.
    **{f"RATE_LIMIT_{name}": "100000/minute" for name in
       ("CONSENT", "BANKID", "APPROVER", "SIGNUP", "STAFF_LOGIN", "SUPPORT_SEARCH", "PASSWORD_RESET")},
}


@pytest.fixture(scope="session")
def register_url():
    """The simulated business register on a real loopback port, once per test session."""
    from tests.helpers.register import running_register

    with running_register() as url:
        yield url


@pytest.fixture
def make_app(database_url, engine, register_url):
    """Build an app on the test database with extra settings."""
    from portal import create_app
    from portal.issuers import register

    register.clear_cache()

    def build(**overrides):
        settings = dict(TEST_SETTINGS, DATABASE_URL=database_url, ENGINE=engine, REGISTER_URL=register_url)
        settings.update(overrides)
        return create_app(settings)

    yield build
    _empty_all_tables(engine)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def db_session(app_ctx):
    from portal.core import db

    yield db.session


@pytest.fixture
def client(app):
    return app.test_client()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def post_form(client):
    """GET a page, take its CSRF token, POST the form: like a browser does."""

    def post(url: str, data: dict, *, page: str | None = None, follow_redirects: bool = False):
        page_html = client.get(page or url).get_data(as_text=True)
        payload = dict(data)
        payload.setdefault("csrf_token", csrf_from(page_html))
        return client.post(url, data=payload, follow_redirects=follow_redirects)

    return post


# --- peers started once per session -------------------------------------------------------

@pytest.fixture(scope="session")
def bankid_provider(tmp_path_factory):
    """The simulated BankID provider on a real loopback port, one RSA key for the whole run."""
    from tests.helpers.bankid import provider_config, running_provider

    with running_provider(provider_config(tmp_path_factory.mktemp("bankid"))) as running:
        yield running


@pytest.fixture
def bankid_app(make_app, bankid_provider):
    """A portal that logs consumers and approvers in on the simulated BankID provider."""
    return make_app(**bankid_provider.portal_settings())


@pytest.fixture
def portal(bankid_app):
    """The BankID portal whose test clients open each request in an app context of its own, as
    a real server does (the test's own context stays apart from the requests')."""
    from tests.helpers.consent import BrowserClient

    bankid_app.test_client_class = BrowserClient
    return bankid_app


@pytest.fixture
def ctx(portal):
    with portal.app_context():
        yield portal


# --- log-in, one per realm (as flaskr's AuthActions) ------------------------------------

class AuthActions:
    """Log a staff user in and out through the realm's own form."""

    def __init__(self, post_form, client, login_url: str, logout_url: str):
        self._post_form, self._client = post_form, client
        self.login_url, self.logout_url = login_url, logout_url

    def login(self, email: str, password: str | None = None, next_url: str | None = None):
        from tests.factories import PASSWORD

        url = self.login_url + (f"?next={next_url}" if next_url else "")
        data = {"email": email, "password": password or PASSWORD}
        if next_url:
            data["next"] = next_url
        return self._post_form(url, data)

    def logout(self):
        return self._post_form(self.logout_url, {}, page=self.login_url)


@pytest.fixture
def issuer_auth(client, post_form):
    return AuthActions(post_form, client, "/utsteder/logg-inn", "/utsteder/logg-ut")


@pytest.fixture
def support_auth(client, post_form):
    return AuthActions(post_form, client, "/kundestotte/logg-inn", "/kundestotte/logg-ut")


@pytest.fixture
def consumer_auth(portal):
    """Log a BankID test person in on the simulated provider, with a browser-like client."""
    from tests.helpers.consent import logged_in

    with portal.app_context():
        yield lambda person, next="/nettbank": logged_in(portal, person, next=next)  # noqa: A002
