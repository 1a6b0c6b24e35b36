"""The BankID log-in works with any standard OpenID provider by configuration only: here an
independent one (oidc-provider-mock, on a free port) that signs without ``kid`` and sends no
``acr``. Every other check still applies."""
from __future__ import annotations

import pytest
import requests
from oidc_provider_mock import User, run_server_in_thread

from simulators.bankid.persons import KARI
from tests.helpers.bankid import callback_path


@pytest.fixture(scope="module")
def broker():
    user = User(sub="kari-at-the-broker", claims={"name": "Kari Nordmann", "nnin_altsub": KARI.national_id})
    with run_server_in_thread(port=0, user_claims=[user]) as server:
        yield f"http://localhost:{server.server_port}"


def _settings(broker_url, **extra):
    return {"BANKID_ISSUER": broker_url, "BANKID_CLIENT_ID": "efaktura-portal",
            "BANKID_SCOPES": "openid profile", "BANKID_ACCEPTED_ACR": "", **extra}


def _login(web, sub="kari-at-the-broker"):
    start = web.get("/bankid/login?next=/nettbank")
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    answer = requests.post(start.headers["Location"], data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    return web.get(callback_path(answer.headers["Location"]))


def test_login_through_an_independent_provider(make_app, broker):
    app = make_app(**_settings(broker))
    web = app.test_client()
    response = _login(web)
    assert response.status_code == 302 and response.headers["Location"] == "/nettbank", \
        response.get_data(as_text=True)[:800]
    assert web.get("/nettbank").status_code == 200
    from portal.agreements.models import Consumer
    from portal.core import db

    with app.app_context():
        consumer = db.session.query(Consumer).one()
        assert consumer.sub == "kari-at-the-broker" and consumer.name == "Kari Nordmann"


def test_a_required_acr_is_still_enforced(make_app, broker):
    """With accepted acr values set, a token without an accepted acr is refused."""
    app = make_app(**_settings(broker, BANKID_ACCEPTED_ACR="urn:bankid:bid;LOA=4"))
    web = app.test_client()
    response = _login(web)
    assert response.status_code == 400 and "<code>acr</code>" in response.get_data(as_text=True)
    assert web.get("/nettbank").status_code == 302
