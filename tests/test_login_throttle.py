"""Repeated wrong passwords pause the account for a while, on both staff log-in pages."""
from __future__ import annotations

import datetime as dt

import time_machine

from portal.core import db
from portal.core.auth import hash_password
from portal.support.models import SupportUser
from tests.factories import PASSWORD, make_issuer, make_issuer_user


def _issuer_user(app):
    with app.app_context():
        user = make_issuer_user(make_issuer())
        db.session.commit()
        return user.email


def test_issuer_account_paused_after_five_failures_then_released(app, client, post_form):
    """After five wrong passwords from one address even the right one is refused there for a while; then it works."""
    email = _issuer_user(app)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            resp = post_form("/utsteder/logg-inn", {"email": email, "password": "feil-passord-123"})
            assert resp.status_code == 422
            assert "passordet er feil" in resp.get_data(as_text=True)
        resp = post_form("/utsteder/logg-inn", {"email": email, "password": PASSWORD})
        assert resp.status_code == 429
        assert "For mange mislykkede forsøk på kort tid fra denne enheten" in resp.get_data(as_text=True)
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        resp = post_form("/utsteder/logg-inn", {"email": email, "password": PASSWORD})
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/")


def test_success_clears_earlier_failures(app, client, post_form):
    """Four failures and a success leave the account with a clean slate: four more failures
    (eight in all) still do not pause it."""
    email = _issuer_user(app)
    for _ in range(4):
        post_form("/utsteder/logg-inn", {"email": email, "password": "feil-passord-123"})
    assert post_form("/utsteder/logg-inn", {"email": email, "password": PASSWORD}).status_code == 302
    other = app.test_client()
    page = other.get("/utsteder/logg-inn").get_data(as_text=True)
    from tests.conftest import csrf_from

    for _ in range(4):
        resp = other.post("/utsteder/logg-inn", data={"email": email, "password": "feil-passord-123",
                                                       "csrf_token": csrf_from(page)})
        assert resp.status_code == 422


def test_support_login_is_paused_too(app, post_form):
    """The support log-in pauses an account the same way."""
    with app.app_context():
        db.session.add(SupportUser(email="stotte@example.no", name="Siri",
                                   password_hash=hash_password("et-langt-passord-1")))
        db.session.commit()
    for _ in range(5):
        post_form("/kundestotte/logg-inn", {"email": "stotte@example.no", "password": "feil"})
    resp = post_form("/kundestotte/logg-inn", {"email": "stotte@example.no", "password": "et-langt-passord-1"})
    assert resp.status_code == 429


def test_the_owner_elsewhere_is_not_held_up(app, post_form):
    """An attacker failing from one address delays only that address: the owner logs in from
    another at once, and the attacker's failures grow their own wait."""
    email = _issuer_user(app)
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    from tests.conftest import csrf_from

    page = attacker.get("/utsteder/logg-inn").get_data(as_text=True)
    statuses = [attacker.post("/utsteder/logg-inn", data={"email": email, "password": "feil-passord-123",
                                                          "csrf_token": csrf_from(page)}).status_code
                for _ in range(8)]
    assert statuses[:5] == [422] * 5 and set(statuses[5:]) == {429}
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    page = owner.get("/utsteder/logg-inn").get_data(as_text=True)
    resp = owner.post("/utsteder/logg-inn", data={"email": email, "password": PASSWORD,
                                                  "csrf_token": csrf_from(page)})
    assert resp.status_code == 302


def test_one_address_failing_many_accounts_does_not_pause_the_area(app, post_form):
    """Forty failures from one address against made-up accounts do not stop a real user there."""
    email = _issuer_user(app)
    for n in range(40):
        post_form("/utsteder/logg-inn", {"email": f"gjett{n}@example.no", "password": "feil-passord-123"})
    assert post_form("/utsteder/logg-inn", {"email": email, "password": PASSWORD}).status_code == 302
