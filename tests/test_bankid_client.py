"""The portal's BankID login against the simulated provider on a real port: the happy path,
the consumer session, and every way a login must fail (a clear page, no session)."""
from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from joserfc import jwt
from sqlalchemy import func, select, text

from portal.bankid.client import consumer_login_required, safe_next
from portal.core import db
from simulators.bankid.keys import new_signing_key
from simulators.bankid.persons import KARI, OLA, SYNNE
from tests.conftest import csrf_from
from tests.helpers import bankid as bankid_helpers
from tests.helpers.bankid import (
    callback_path,
    cancel_bankid_login,
    complete_bankid_login,
    login_consumer,
    provider_config,
    running_provider,
)

bankid_provider = bankid_helpers.bankid_provider  # the reusable fixture, as other tests use it


class Tamper:
    """Test middleware in front of the provider: rewrites ID tokens and userinfo answers."""

    def __init__(self):
        self.provider = None
        self.id_token = None  # (header, claims) -> compact JWT string
        self.userinfo = None  # dict -> dict
        self.discovery = None  # dict -> dict

    def reset(self):
        self.id_token = None
        self.userinfo = None
        self.discovery = None

    def wrap(self, wsgi_app):
        def middleware(environ, start_response):
            path = environ.get("PATH_INFO")
            edit = {
                "/token": self.id_token,
                "/userinfo": self.userinfo,
                "/.well-known/openid-configuration": self.discovery,
            }.get(path)
            if edit is None:
                return wsgi_app(environ, start_response)
            captured = {}

            def capture(status, headers, exc_info=None):
                captured["status"], captured["headers"] = status, headers

            body = b"".join(wsgi_app(environ, capture))
            if captured["status"].startswith("200"):
                data = json.loads(body)
                if path == "/token":
                    header, claims = _unverified(data["id_token"])
                    data["id_token"] = edit(header, claims)
                else:
                    data = edit(data)
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
            start_response(captured["status"], headers)
            return [body]

        return middleware

    def resign(self, header, claims, key=None):
        key = key or self.provider.keys.current()
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unverified(compact: str):
    head, body, _ = compact.split(".")
    def load(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    return load(head), load(body)


@pytest.fixture(scope="module")
def tamper():
    return Tamper()


@pytest.fixture(scope="module")
def op(tmp_path_factory, tamper):
    config = provider_config(tmp_path_factory.mktemp("bankid"))
    with running_provider(config, wrap=tamper.wrap) as running:
        tamper.provider = running.provider
        yield running


@pytest.fixture
def portal(make_app, op, tamper):
    tamper.reset()
    app = make_app(**op.portal_settings())

    @consumer_login_required
    def protected():
        return "protected page"

    app.add_url_rule("/test/protected", "test_protected", protected)
    yield app
    tamper.reset()


@pytest.fixture
def web(portal):
    return portal.test_client()


@pytest.fixture
def browser():
    with requests.Session() as session:
        yield session


def consumers(app):
    from portal.agreements.models import Consumer

    with app.app_context():
        return db.session.scalars(select(Consumer)).all()


def session_of(web) -> dict:
    with web.session_transaction() as sess:
        return dict(sess)


def provider_callback(web, browser, national_id=KARI.national_id, **kwargs):
    """Start a login on the portal and finish it at the provider; the callback URL."""
    start = web.get("/bankid/login?next=/test/protected")
    assert start.status_code == 302
    return complete_bankid_login(browser, start.headers["Location"], national_id, **kwargs)


def with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def assert_failed(response, web, app, reason: str, *, text_fragment: str | None = None,
                  consumers_left=0, still_logged_in=False):
    """The failure page (400) with try-again, the reason code shown, and no new consumer session
    (one that existed before the failed attempt stays)."""
    body = response.get_data(as_text=True)
    assert response.status_code == 400, body[:500]
    assert "Innloggingen med BankID mislyktes" in body
    assert f"<code>{reason}</code>" in body
    assert "/bankid/login?next=" in body  # "Prøv igjen"
    if text_fragment:
        assert text_fragment in body
    assert ("consumer_id" in session_of(web)) == still_logged_in
    assert len(consumers(app)) == consumers_left
    return body


# -- the happy path -------------------------------------------------------------------------


def test_full_login_creates_a_consumer_without_the_plain_number(portal, web, browser):
    """A BankID login ends on the page asked for, with a Consumer that has only a hash of the number."""
    response = login_consumer(web, KARI.national_id, next="/test/protected", http=browser)
    assert response.status_code == 302 and response.headers["Location"] == "/test/protected"
    assert web.get("/test/protected").get_data(as_text=True) == "protected page"

    [consumer] = consumers(portal)
    assert consumer.name == "Kari Nordmann" and str(consumer.birth_date) == "1985-05-15"
    assert consumer.nnin_hash and consumer.nnin_hash != KARI.national_id
    assert consumer.nnin_masked == "150585 *****"
    assert uuid.UUID(consumer.sub)

    sess = session_of(web)
    assert sess["consumer_id"] == consumer.id
    assert sess["consumer_acr"] == "urn:bankid:bid;LOA=4" and sess["consumer_auth_time"]
    assert KARI.national_id not in json.dumps(sess, default=str)

    from portal.models import Base

    with portal.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                assert KARI.national_id not in repr(tuple(row)), table.name


def test_second_login_of_the_same_person_reuses_the_consumer(portal, web, browser):
    """Logging in twice as the same person keeps one Consumer row."""
    login_consumer(web, KARI.national_id, http=browser)
    with requests.Session() as other:
        login_consumer(portal.test_client(), KARI.national_id, http=other)
    assert len(consumers(portal)) == 1


def test_synthetic_test_person_can_log_in(portal, web, browser):
    """The synthetic Tenor test person logs in to the portal."""
    response = login_consumer(web, SYNNE.national_id, http=browser)
    assert response.status_code == 302
    assert consumers(portal)[0].nnin_masked == "288278 *****"


def test_login_rotates_the_session(portal, web, browser):
    """Whatever was in the session before the login is gone after it; the language stays."""
    web.get("/?lang=en")
    with web.session_transaction() as sess:
        sess["planted"] = "by someone else"
    login_consumer(web, KARI.national_id, http=browser)
    sess = session_of(web)
    assert "planted" not in sess and sess.get("lang") == "en" and "consumer_id" in sess


def test_login_asks_for_pkce_nonce_state_and_a_fresh_login(portal, web):
    """The authorization request carries S256 PKCE, nonce, state, prompt=login and the language."""
    location = web.get("/bankid/login?lang=en").headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["nonce"] and params["state"] and params["prompt"] == "login"
    assert params["ui_locales"] == "en"
    assert params["redirect_uri"] == "http://localhost/bankid/callback"


@pytest.mark.parametrize("bad", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "evil", "", "/\x00x",
])
def test_next_must_be_a_local_path(bad):
    """next is accepted only as a local path; anything else becomes /."""
    assert safe_next(bad) == "/"
    assert safe_next("/samtykke/abc?x=1") == "/samtykke/abc?x=1"


def test_next_with_a_host_ends_on_the_home_page(portal, web, browser):
    """A login started with next pointing elsewhere lands on / after login."""
    start = web.get("/bankid/login?next=https://evil.example/steal")
    back = complete_bankid_login(browser, start.headers["Location"], KARI.national_id)
    response = web.get(callback_path(back))
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_protected_page_sends_visitor_to_bankid(web):
    """A page behind consumer_login_required sends a visitor to /bankid/login?next=<the page>."""
    response = web.get("/test/protected?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/bankid/login?next=/test/protected?tab%3D2"


def test_logout_clears_the_consumer_session(portal, web, browser):
    """The log-out form ends the consumer session and goes to the home page."""
    login_consumer(web, KARI.national_id, http=browser)
    page = web.get("/bankid/logout").get_data(as_text=True)
    assert "Kari Nordmann" in page
    response = web.post("/bankid/logout", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "consumer_id" not in session_of(web)
    assert web.get("/test/protected").status_code == 302


def test_logout_without_csrf_token_is_refused(portal, web, browser):
    """A log-out POST without the CSRF token changes nothing."""
    login_consumer(web, KARI.national_id, http=browser)
    response = web.post("/bankid/logout")
    assert response.status_code == 400
    assert "consumer_id" in session_of(web)


# -- failures: the authorization response ---------------------------------------------------


def test_access_denied_ends_on_a_clear_page(portal, web, browser):
    """Pressing Avbryt at BankID ends on a page that says the login was stopped, with try again."""
    start = web.get("/bankid/login?next=/test/protected")
    back = cancel_bankid_login(browser, start.headers["Location"])
    body = assert_failed(web.get(callback_path(back)), web, portal, "cancelled",
                         text_fragment="avbrutt")
    assert "/bankid/login?next=/test/protected" in body


def test_too_many_wrong_codes_end_on_a_clear_page(portal, web, browser):
    """Three wrong one-time codes end on the failure page, not logged in."""
    back = provider_callback(web, browser, otp="999999")
    assert_failed(web.get(callback_path(back)), web, portal, "cancelled", text_fragment="avbrutt")


def test_tampered_state_is_refused(portal, web, browser):
    """A callback whose state was changed is refused."""
    back = provider_callback(web, browser)
    response = web.get(callback_path(with_query(back, state="forged-state")))
    assert_failed(response, web, portal, "state", text_fragment="utløpt")


def test_replayed_callback_is_refused_and_keeps_the_session(portal, web, browser):
    """Using the same callback twice fails the second time; the person already logged in stays
    logged in (a forged or replayed callback request cannot log anyone out)."""
    back = provider_callback(web, browser)
    assert web.get(callback_path(back)).status_code == 302
    response = web.get(callback_path(back))
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "<code>state</code>" in body
    assert "consumer_id" in session_of(web)
    assert web.get("/test/protected").status_code == 200


def test_forged_callback_does_not_log_out(portal, web, browser):
    """A callback with a made-up state or an error, sent to a logged-in browser, changes nothing."""
    login_consumer(web, KARI.national_id, http=browser)
    for query in ("state=forged&code=x", "error=access_denied&state=forged", "code=x", ""):
        assert web.get("/bankid/callback?" + query).status_code == 400
        assert web.get("/test/protected").status_code == 200, query


def test_many_unfinished_logins_keep_the_cookie_small(portal, web):
    """25 started, unfinished log-ins keep only the newest few: the cookie stays far below 4 KB,
    and the newest can still be finished."""
    sizes = []
    for _ in range(25):
        assert web.get("/bankid/login?next=/test/protected").status_code == 302
        sizes.append(len(web.get_cookie("portal_session").value))
    assert max(sizes) < 1500, sizes
    assert sizes[-1] <= sizes[5] + 50
    pending = [k for k in session_of(web) if k.startswith("_state_bankid_")]
    assert len(pending) == 3


def test_callback_from_another_browser_is_refused(portal, web, browser):
    """A callback that arrives in a session that did not start the login is refused."""
    back = provider_callback(web, browser)
    other = portal.test_client()
    response = other.get(callback_path(back))
    assert response.status_code == 400 and "consumer_id" not in session_of(other)


def test_wrong_iss_parameter_is_refused(portal, web, browser):
    """A callback whose iss parameter names another issuer (mix-up) is refused."""
    back = provider_callback(web, browser)
    response = web.get(callback_path(with_query(back, iss="http://evil.example")))
    assert_failed(response, web, portal, "issuer")


def test_code_reuse_is_refused(portal, web, browser):
    """A code that was already exchanged, replayed with a fresh state, is refused by the provider."""
    first = provider_callback(web, browser)
    assert web.get(callback_path(first)).status_code == 302
    second_start = web.get("/bankid/login").headers["Location"]
    fresh_state = parse_qs(urlsplit(second_start).query)["state"][0]
    response = web.get(callback_path(with_query(first, state=fresh_state)))
    assert_failed(response, web, portal, "exchange", consumers_left=1, still_logged_in=True,
                  text_fragment="allerede var brukt")


def test_pkce_verifier_mismatch_is_refused(portal, web, browser, caplog):
    """A code from one login redeemed under another login's state (other PKCE verifier) fails."""
    stolen = provider_callback(web, browser)  # never delivered to the portal
    victim_start = web.get("/bankid/login").headers["Location"]
    victim_state = parse_qs(urlsplit(victim_start).query)["state"][0]
    response = web.get(callback_path(with_query(stolen, state=victim_state)))
    assert_failed(response, web, portal, "exchange")
    assert "Code challenge failed" in caplog.text


# -- failures: the tokens --------------------------------------------------------------------


def _claims_edit(tamper, **changes):
    def edit(header, claims):
        claims.update(changes)
        return tamper.resign(header, claims)
    return edit


def test_wrong_nonce_is_refused(portal, web, browser, tamper):
    """An ID token whose nonce is not the one sent is refused."""
    tamper.id_token = _claims_edit(tamper, nonce="not-the-nonce")
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "nonce")


def test_wrong_iss_claim_is_refused(portal, web, browser, tamper):
    """An ID token from another issuer is refused."""
    tamper.id_token = _claims_edit(tamper, iss="http://evil.example")
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "iss")


def test_wrong_aud_is_refused(portal, web, browser, tamper):
    """An ID token for another client is refused."""
    tamper.id_token = _claims_edit(tamper, aud="another-client")
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "aud")


def test_expired_id_token_is_refused(portal, web, browser, tamper):
    """An ID token that expired (beyond the leeway) is refused."""
    past = int(time.time()) - 3600
    tamper.id_token = _claims_edit(tamper, iat=past - 300, exp=past)
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "expired")


def test_alg_none_is_refused(portal, web, browser, tamper):
    """An unsigned ID token (alg none) is refused."""
    def unsigned(header, claims):
        return _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
    tamper.id_token = unsigned
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "alg")


def test_unknown_kid_is_refused(portal, web, browser, tamper):
    """An ID token signed by a key that is not in the provider's JWKS is refused."""
    stranger = new_signing_key()

    def foreign(header, claims):
        return tamper.resign({**header, "kid": stranger.kid}, claims, stranger)
    tamper.id_token = foreign
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "kid")


def test_altered_claims_with_the_old_signature_are_refused(portal, web, browser, tamper):
    """An ID token whose claims were changed after signing fails the signature check."""
    def altered(header, claims):
        original = tamper.resign(header, claims)
        head, _, signature = original.split(".")
        return f"{head}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}"
    tamper.id_token = altered
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "signature")


def test_userinfo_sub_mismatch_is_refused(portal, web, browser, tamper):
    """Userinfo about another subject than the ID token's is refused."""
    tamper.userinfo = lambda data: {**data, "sub": str(uuid.uuid4())}
    assert_failed(web.get(callback_path(provider_callback(web, browser))), web, portal,
                  "userinfo")


def test_acr_outside_the_accepted_set_is_refused(make_app, op, browser):
    """With only LOA=4 accepted, a login with the app (substantial level) is refused."""
    app = make_app(**op.portal_settings(), BANKID_ACCEPTED_ACR="urn:bankid:bid;LOA=4")
    web = app.test_client()
    start = web.get("/bankid/login")
    # The provider offers only what the client accepts; ask for the app anyway.
    location = start.headers["Location"].replace("acr_values=", "acr_values_ignored=")
    back = complete_bankid_login(browser, location, OLA.national_id, method="app")
    response = web.get(callback_path(back))
    assert_failed(response, web, app, "acr", text_fragment="sikkerhetsnivå")


# -- failures: configuration and availability ------------------------------------------------


def test_discovery_issuer_mismatch_is_refused(portal, web, tamper):
    """A discovery document that names another issuer stops the login before it starts."""
    tamper.discovery = lambda data: {**data, "issuer": "http://evil.example"}
    response = web.get("/bankid/login")
    assert_failed(response, web, portal, "discovery", text_fragment="Vi kunne ikke bekrefte")


def test_provider_down_gives_a_clear_page(make_app):
    """When BankID does not answer, /bankid/login shows a clear page, not a server error."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(BANKID_ISSUER=f"http://127.0.0.1:{port}")
    web = app.test_client()
    assert_failed(web.get("/bankid/login"), web, app, "unavailable", text_fragment="BankID svarer ikke")


def test_failure_page_is_in_english_when_chosen(portal, web, browser):
    """The failure page follows the person's language."""
    web.get("/?lang=en")
    back = provider_callback(web, browser)
    response = web.get(callback_path(with_query(back, state="forged")))
    assert response.status_code == 400
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_national_id_is_not_logged_by_the_portal(portal, web, browser, caplog):
    """A login and a failed login leave no national identity number in the portal's logs."""
    import logging

    caplog.set_level(logging.DEBUG)
    login_consumer(web, KARI.national_id, http=browser)
    with portal.app_context():
        assert db.session.scalar(select(func.count()).select_from(text("consumers"))) == 1
    portal_side = [r for r in caplog.records if r.name.startswith(("portal", "werkzeug"))]
    assert any("BankID login" in r.getMessage() for r in portal_side)
    assert not any(KARI.national_id in r.getMessage() for r in portal_side)


def test_documented_fixture_logs_a_consumer_in(make_app, bankid_provider):
    """The bankid_provider fixture and login_consumer log a consumer in as docs/bankid.md shows."""
    app = make_app(**bankid_provider.portal_settings())
    web = app.test_client()
    response = login_consumer(web, OLA.national_id, next="/somewhere")
    assert response.status_code == 302 and response.headers["Location"] == "/somewhere"
    assert session_of(web)["consumer_id"] == consumers(app)[0].id
