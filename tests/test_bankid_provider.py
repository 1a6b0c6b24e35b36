"""The simulated BankID provider, used the way an independent OpenID Connect client would:
plain HTTP with ``requests``, no Authlib client."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine
from authlib.oauth2 import rfc9207
from authlib.oidc import discovery, rpinitiated
from joserfc import jwt
from joserfc.jwk import KeySet

from portal.core.config import ConfigError
from simulators.bankid.persons import ALI, DEFAULT_OTP, DEFAULT_PASSWORD, KARI, OLA, SYNNE
from simulators.bankid.provider import create_provider_app
from tests.helpers.bankid import (
    CALLBACK_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    cancel_bankid_login,
    complete_bankid_login,
    find_form,
    provider_config,
    running_provider,
)

HIGH = "urn:bankid:bid;LOA=4"
SUBSTANTIAL = "urn:bankid:bis;LOA=3"


@pytest.fixture(scope="module")
def op(tmp_path_factory):
    with running_provider(provider_config(tmp_path_factory.mktemp("bankid"))) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


class Request:
    """One authorization request of an independent client, with its secrets."""

    def __init__(self, op, **params):
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(self.verifier.encode()).digest()
        ).rstrip(b"=").decode()
        self.state = secrets.token_urlsafe(16)
        self.nonce = secrets.token_urlsafe(16)
        self.params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": CALLBACK_URL,
            "scope": "openid profile nnin_altsub",
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        for key, value in params.items():
            if value is None:
                self.params.pop(key, None)
            else:
                self.params[key] = value
        self.url = op.url("/authorize?" + urlencode(self.params))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def exchange(op, code, verifier, *, auth="basic", secret=CLIENT_SECRET, client_id=CLIENT_ID,
             redirect_uri=CALLBACK_URL):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    if auth == "basic":
        return requests.post(op.url("/token"), data=data, auth=(client_id, secret), timeout=10)
    data.update(client_id=client_id, client_secret=secret)
    return requests.post(op.url("/token"), data=data, timeout=10)


def login(op, http, national_id=KARI.national_id, **params):
    req = Request(op, **params)
    back = complete_bankid_login(http, req.url, national_id, DEFAULT_OTP, DEFAULT_PASSWORD)
    return req, query(back), back


def verify_id_token(op, id_token):
    jwks = requests.get(op.url("/jwks"), timeout=10).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    return token


# -- discovery -----------------------------------------------------------------------------


def test_discovery_document_passes_authlib_metadata_validation(op):
    """The discovery document is valid OpenID Provider Metadata, issuer and endpoints included."""
    data = requests.get(op.url("/.well-known/openid-configuration"), timeout=10).json()
    metadata = discovery.OpenIDProviderMetadata(data)
    metadata.validate(
        metadata_classes=[rpinitiated.OpenIDProviderMetadata, rfc9207.AuthorizationServerMetadata]
    )
    assert data["issuer"] == op.issuer
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["authorization_response_iss_parameter_supported"] is True
    assert requests.get(data["jwks_uri"], timeout=10).json()["keys"]


# -- the code flow -------------------------------------------------------------------------


def test_code_exchange_with_client_secret_basic_gives_verified_id_token(op, http):
    """A full login gives a code (with state and iss) that buys an RS256 ID token with BankID claims."""
    req, back, _ = login(op, http)
    assert back["state"] == req.state and back["iss"] == op.issuer

    response = exchange(op, back["code"], req.verifier, auth="basic")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer" and tokens["expires_in"] == 300

    id_token = verify_id_token(op, tokens["id_token"])
    jwks_kids = [k["kid"] for k in requests.get(op.url("/jwks"), timeout=10).json()["keys"]]
    assert id_token.header["alg"] == "RS256" and id_token.header["kid"] in jwks_kids
    claims = id_token.claims
    assert claims["iss"] == op.issuer and claims["aud"] == CLIENT_ID
    assert claims["nonce"] == req.nonce
    assert claims["acr"] == HIGH and isinstance(claims["amr"], list)
    assert claims["exp"] - claims["iat"] == 300
    assert claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert uuid.UUID(claims["sub"]) and KARI.national_id not in claims["sub"]
    assert claims["nnin_altsub"] == KARI.national_id
    assert claims["name"] == "Kari Nordmann" and claims["birthdate"] == "1985-05-15"

    info = requests.get(
        op.url("/userinfo"), headers={"Authorization": "Bearer " + tokens["access_token"]},
        timeout=10,
    )
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["nnin_altsub"] == KARI.national_id


def test_code_exchange_with_client_secret_post(op, http):
    """Client authentication with client_secret_post is accepted too."""
    req, back, _ = login(op, http)
    response = exchange(op, back["code"], req.verifier, auth="post")
    assert response.status_code == 200, response.text
    assert verify_id_token(op, response.json()["id_token"]).claims["nonce"] == req.nonce


def test_wrong_client_secret_is_refused(op, http):
    """A token request with the wrong client secret gets invalid_client."""
    req, back, _ = login(op, http)
    response = exchange(op, back["code"], req.verifier, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_sub_is_stable_per_person_and_not_the_number(op, http):
    """The same person gets the same sub every time; another person gets another; neither is the number."""
    subs = []
    for person in (KARI, KARI, OLA):
        with requests.Session() as browser:
            req, back, _ = login(op, browser, person.national_id)
            token = exchange(op, back["code"], req.verifier).json()
            subs.append(verify_id_token(op, token["id_token"]).claims["sub"])
    assert subs[0] == subs[1] != subs[2]
    assert not any(s.replace("-", "").isdigit() for s in subs)


def test_d_number_and_synthetic_persons_log_in(op):
    """A D-number and a synthetic Tenor number both log in and carry their birth date."""
    for person in (ALI, SYNNE):
        with requests.Session() as browser:
            req, back, _ = login(op, browser, person.national_id)
            claims = verify_id_token(
                op, exchange(op, back["code"], req.verifier).json()["id_token"]
            ).claims
            assert claims["nnin_altsub"] == person.national_id
            assert claims["birthdate"] == person.birthdate.isoformat()


def test_biometric_login_gives_substantial_acr(op, http):
    """Choosing the BankID app with biometrics gives the substantial level in acr."""
    req = Request(op)
    back = query(complete_bankid_login(http, req.url, KARI.national_id, method="app"))
    claims = verify_id_token(op, exchange(op, back["code"], req.verifier).json()["id_token"]).claims
    assert claims["acr"] == SUBSTANTIAL


# -- PKCE, nonce, codes, redirect URIs -----------------------------------------------------


def test_pkce_missing_challenge_is_refused(op, http):
    """An authorization request without code_challenge goes back with invalid_request (and iss)."""
    req = Request(op, code_challenge=None, code_challenge_method=None)
    response = http.get(req.url, allow_redirects=False)
    assert response.status_code == 302
    back = query(response.headers["Location"])
    assert back["error"] == "invalid_request" and "code_challenge" in back["error_description"]
    assert back["state"] == req.state and back["iss"] == op.issuer


def test_pkce_plain_is_refused(op, http):
    """code_challenge_method=plain is refused; so is a challenge with no method (plain by default)."""
    for method in ("plain", None):
        req = Request(op, code_challenge_method=method)
        req.params["code_challenge"] = req.verifier
        response = http.get(op.url("/authorize?" + urlencode(
            {k: v for k, v in req.params.items() if v is not None}
        )), allow_redirects=False)
        back = query(response.headers["Location"])
        assert back["error"] == "invalid_request" and "S256" in back["error_description"]


def test_pkce_wrong_or_missing_verifier_is_refused(op, http):
    """The token endpoint refuses a wrong code_verifier (invalid_grant) and a missing one."""
    _, back, _ = login(op, http)
    wrong = exchange(op, back["code"], secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"

    _, back, _ = login(op, http)
    missing = exchange(op, back["code"], None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_code_works_once_and_reuse_revokes_its_token(op, http):
    """A second exchange of the same code is refused, and the token from the first stops working."""
    req, back, _ = login(op, http)
    first = exchange(op, back["code"], req.verifier)
    assert first.status_code == 200
    again = exchange(op, back["code"], req.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    info = requests.get(
        op.url("/userinfo"),
        headers={"Authorization": "Bearer " + first.json()["access_token"]},
        timeout=10,
    )
    assert info.status_code == 401


def test_code_expires_after_60_seconds(op, http):
    """A code presented 61 seconds after it was issued is refused."""
    req, back, _ = login(op, http)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=True):
        response = exchange(op, back["code"], req.verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_access_token_expires_after_five_minutes(op, http):
    """Userinfo refuses an access token after its five minutes."""
    req, back, _ = login(op, http)
    access_token = exchange(op, back["code"], req.verifier).json()["access_token"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=301)
    with time_machine.travel(later, tick=True):
        info = requests.get(
            op.url("/userinfo"), headers={"Authorization": "Bearer " + access_token}, timeout=10
        )
    assert info.status_code == 401


def test_only_the_authorization_code_flow_is_offered(op, http):
    """Implicit requests and other grant types are refused."""
    req = Request(op, response_type="token")
    back = query(http.get(req.url, allow_redirects=False).headers["Location"])
    assert back["error"] == "unsupported_response_type" and back["iss"] == op.issuer
    response = requests.post(op.url("/token"), data={"grant_type": "client_credentials"},
                             auth=(CLIENT_ID, CLIENT_SECRET), timeout=10)
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_nonce_is_required(op, http):
    """An authorization request without nonce goes back with invalid_request."""
    req = Request(op, nonce=None)
    back = query(http.get(req.url, allow_redirects=False).headers["Location"])
    assert back["error"] == "invalid_request" and "nonce" in back["error_description"]


def test_redirect_uri_must_match_exactly(op, http):
    """A redirect URI that differs from the registered one by as little as a slash is not used."""
    for uri in (CALLBACK_URL + "/", CALLBACK_URL.upper(), CALLBACK_URL + "?x=1", "http://evil.example/cb"):
        response = http.get(Request(op, redirect_uri=uri).url, allow_redirects=False)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "Innloggingen kan ikke starte" in response.text


def test_token_request_with_another_redirect_uri_is_refused(op, http):
    """The token request must repeat the exact redirect URI of the authorization request."""
    req, back, _ = login(op, http)
    response = exchange(op, back["code"], req.verifier, redirect_uri=CALLBACK_URL + "/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unknown_client_gets_an_error_page(op, http):
    """An unknown client_id is answered on the provider's own page, never redirected."""
    response = http.get(Request(op, client_id="who-is-this").url, allow_redirects=False)
    assert response.status_code == 400 and "invalid_client" in response.text


def test_national_id_claim_only_for_clients_allowed_it(tmp_path, http):
    """A client not allowed nnin_altsub gets no national identity number, even when it asks."""
    other = {
        "client_id": "other-rp",
        "client_secret": "other-secret",
        "redirect_uris": ["http://other.example/cb"],
        "scopes": ["openid", "profile"],
    }
    config = provider_config(tmp_path, BANKID_EXTRA_CLIENTS=[other])
    with running_provider(config) as op:
        req = Request(op, client_id="other-rp", redirect_uri="http://other.example/cb")
        back = query(complete_bankid_login(http, req.url, KARI.national_id))
        token = exchange(op, back["code"], req.verifier, client_id="other-rp",
                         secret="other-secret", redirect_uri="http://other.example/cb").json()
        assert "nnin_altsub" not in token["scope"].split()
        claims = verify_id_token(op, token["id_token"]).claims
        assert "nnin_altsub" not in claims and claims["name"] == "Kari Nordmann"
        info = requests.get(op.url("/userinfo"),
                            headers={"Authorization": "Bearer " + token["access_token"]}).json()
        assert "nnin_altsub" not in info


# -- the login pages -----------------------------------------------------------------------


def test_three_wrong_codes_end_the_login_with_access_denied(op, http):
    """Three wrong one-time codes send the person back to the client with access_denied."""
    req = Request(op)
    back = query(complete_bankid_login(http, req.url, KARI.national_id, otp="000000"))
    assert back["error"] == "access_denied"
    assert "attempts" in back["error_description"]
    assert back["state"] == req.state and back["iss"] == op.issuer


def test_wrong_password_shows_attempts_left_then_denies(op, http):
    """A wrong password is explained with the attempts left; the third ends with access_denied."""
    req = Request(op)
    page = http.get(req.url)
    form = find_form(page.text, "bankid-form")
    page = http.post(page.url.split("?")[0], data={**form.fields, "nnin": KARI.national_id,
                                                   "action": "next"})
    page = http.post(page.url, data={"otp": DEFAULT_OTP, "action": "next"})
    wrong = http.post(page.url, data={"password": "nope", "action": "next"})
    assert wrong.status_code == 400
    assert "Passordet er feil" in wrong.text and "2 forsøk igjen" in wrong.text
    assert 'href="#password"' in wrong.text  # the error summary links to the field
    http.post(page.url, data={"password": "nope", "action": "next"})
    last = http.post(page.url, data={"password": "nope", "action": "next"}, allow_redirects=False)
    assert query(last.headers["Location"])["error"] == "access_denied"


def test_cancel_returns_access_denied(op, http):
    """Avbryt sends the person back to the client with access_denied, state and iss."""
    req = Request(op)
    back = query(cancel_bankid_login(http, req.url))
    assert back["error"] == "access_denied" and "cancelled" in back["error_description"]
    assert back["state"] == req.state and back["iss"] == op.issuer


def test_invalid_national_id_is_explained_on_the_page(op, http):
    """A number with wrong control digits is refused with an error linked to the field."""
    page = http.get(Request(op).url)
    response = http.post(page.url, data={"nnin": "15058521432", "action": "next"})
    assert response.status_code == 400
    assert "kontrollsifrene stemmer ikke" in response.text
    assert 'href="#nnin"' in response.text and 'aria-invalid="true"' in response.text


def test_login_hint_prefills_the_number(op, http):
    """login_hint=BID:<number> puts the number in the field."""
    page = http.get(Request(op, login_hint="BID:" + OLA.national_id).url)
    assert find_form(page.text, "bankid-form").fields["nnin"] == OLA.national_id


def test_ui_locales_switches_language(op, http):
    """ui_locales=en shows the login page in English; the default is bokmål."""
    english = http.get(Request(op, ui_locales="en-GB en").url)
    assert '<html lang="en">' in english.text
    with requests.Session() as other:
        norwegian = other.get(Request(op).url)
    assert '<html lang="nb">' in norwegian.text and "Fødselsnummer" in norwegian.text


def test_quick_pick_appears_only_with_dev_tools(tmp_path, http):
    """The list of test persons is on the login page only when DEV_TOOLS is on."""
    with running_provider(provider_config(tmp_path / "a", DEV_TOOLS=True)) as op:
        assert 'id="quickpick"' in http.get(Request(op).url).text
    with running_provider(provider_config(tmp_path / "b", DEV_TOOLS=False)) as op:
        page = http.get(Request(op).url).text
        assert 'id="quickpick"' not in page and KARI.national_id not in page


def test_quick_pick_logs_in_a_test_person(op, http):
    """Choosing a test person in the quick-pick goes straight to the one-time code."""
    page = http.get(Request(op).url)
    pick = find_form(page.text, "quickpick")
    response = http.post(page.url, data={**pick.fields, "nnin": OLA.national_id})
    assert 'name="otp"' in response.text


def test_prompt_none_without_session_returns_login_required(op, http):
    """prompt=none with no provider session goes back with login_required."""
    req = Request(op, prompt="none")
    back = query(http.get(req.url, allow_redirects=False).headers["Location"])
    assert back["error"] == "login_required" and back["state"] == req.state
    assert back["iss"] == op.issuer


def test_prompt_none_with_session_and_logout(op, http):
    """After a login, prompt=none gives a code silently; after end-session it is login_required."""
    req, back, _ = login(op, http)
    id_token = exchange(op, back["code"], req.verifier).json()["id_token"]

    silent = Request(op, prompt="none")
    answer = query(http.get(silent.url, allow_redirects=False).headers["Location"])
    assert "code" in answer and answer["state"] == silent.state

    logout = http.get(op.url("/logout"), params={
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://localhost/",
        "state": "bye",
    }, allow_redirects=False)
    assert logout.status_code == 302 and logout.headers["Location"] == "http://localhost/?state=bye"

    again = query(http.get(Request(op, prompt="none").url, allow_redirects=False).headers["Location"])
    assert again["error"] == "login_required"


# -- keys, configuration, privacy ----------------------------------------------------------


def test_key_rotation_keeps_the_old_key_in_the_jwks(tmp_path, http):
    """bankid rotate-key signs new tokens with a new kid while the old key stays published."""
    with running_provider(provider_config(tmp_path)) as op:
        req, back, _ = login(op, http)
        old_token = exchange(op, back["code"], req.verifier).json()["id_token"]
        old_kid = verify_id_token(op, old_token).header["kid"]

        result = op.app.test_cli_runner().invoke(args=["bankid", "rotate-key"])
        assert result.exit_code == 0 and "New signing key" in result.output

        kids = [k["kid"] for k in requests.get(op.url("/jwks"), timeout=10).json()["keys"]]
        assert len(kids) == 2 and old_kid in kids
        verify_id_token(op, old_token)  # still verifies against the published JWKS

        with requests.Session() as browser:
            req, back, _ = login(op, browser)
            new_token = exchange(op, back["code"], req.verifier).json()["id_token"]
        new_kid = verify_id_token(op, new_token).header["kid"]
        assert new_kid != old_kid and new_kid in kids


def test_kid_is_the_rfc7638_thumbprint(op):
    """Each published key's kid is its RFC 7638 thumbprint, and no private part is published."""
    jwks = requests.get(op.url("/jwks"), timeout=10).json()
    assert all(set(k) <= {"kty", "n", "e", "kid", "use", "alg"} for k in jwks["keys"])
    for key in KeySet.import_key_set(jwks).keys:
        assert key.kid == key.thumbprint()


def test_provider_refuses_production():
    """The simulator cannot be created with ENV=production, with a one-line reason."""
    with pytest.raises(ConfigError, match="cannot run with PORTAL_ENV=production"):
        create_provider_app({"ENV": "production"})


def test_national_id_is_never_logged(op, http, caplog):
    """A whole login, login_hint in the URL included, leaves no national identity number in the logs."""
    caplog.set_level(logging.DEBUG)
    req = Request(op, login_hint="BID:" + KARI.national_id)
    back = query(complete_bankid_login(http, req.url, KARI.national_id))
    exchange(op, back["code"], req.verifier)
    # What the provider side wrote: its own loggers, the web server's and Authlib's.
    provider_side = [r for r in caplog.records
                     if r.name.startswith(("portal", "werkzeug", "authlib"))]
    assert any("/authorize" in r.getMessage() for r in provider_side)
    assert not any(KARI.national_id in r.getMessage() for r in provider_side)
