"""Log-in sessions end on the server: log-out, a new password and time-outs, in every realm."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from portal.core import db
from portal.core.auth import change_password
from portal.core.sessions import WebSession
from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_issuer, make_issuer_user
from tests.helpers.sessions import open_session

DASHBOARD = "/utsteder/"
SEARCH = "/kundestotte/"


def _issuer_user(app):
    with app.app_context():
        user = make_issuer_user(make_issuer())
        db.session.commit()
        return user.id, user.email


def _support_user(app, email="stotte@example.no"):
    from portal.core.auth import hash_password
    from portal.support.models import SupportUser

    with app.app_context():
        user = SupportUser(email=email, name="Siri", password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.commit()
        return user.id, user.email


def _login(client, url, email, password=PASSWORD):
    page = client.get(url).get_data(as_text=True)
    resp = client.post(url, data={"email": email, "password": password, "csrf_token": csrf_from(page)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


def _copy_cookie(app, client):
    thief = app.test_client()
    thief.set_cookie("portal_session", client.get_cookie("portal_session").value)
    return thief


def _live_sessions(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebSession))


def test_issuer_logout_ends_a_copied_cookie(app, client):
    _uid, email = _issuer_user(app)
    _login(client, "/utsteder/logg-inn", email)
    thief = _copy_cookie(app, client)
    assert thief.get(DASHBOARD).status_code == 200  # the copy works while the session lives
    page = client.get(DASHBOARD).get_data(as_text=True)
    assert client.post("/utsteder/logg-ut", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get(DASHBOARD).status_code == 302
    resp = thief.get(DASHBOARD)
    assert resp.status_code == 302 and "/utsteder/logg-inn" in resp.headers["Location"]
    assert _live_sessions(app) == 0


def test_support_logout_ends_a_copied_cookie(app, client):
    _uid, email = _support_user(app)
    _login(client, "/kundestotte/logg-inn", email)
    thief = _copy_cookie(app, client)
    assert thief.get(SEARCH).status_code == 200
    page = client.get(SEARCH).get_data(as_text=True)
    assert client.post("/kundestotte/logg-ut", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert thief.get(SEARCH).status_code == 302


def test_consumer_logout_ends_a_copied_cookie(app, client):
    from portal.agreements.models import Consumer

    with app.app_context():
        consumer = Consumer(sub="sub-kari", name="Kari")
        db.session.add(consumer)
        db.session.commit()
        consumer_id = consumer.id
    open_session(app, client, "consumer", consumer_id)
    thief = _copy_cookie(app, client)
    assert thief.get("/nettbank").status_code == 200
    page = client.get("/bankid/logout").get_data(as_text=True)
    assert client.post("/bankid/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    resp = thief.get("/nettbank")
    assert resp.status_code == 302 and "/bankid/login" in resp.headers["Location"]


def test_password_change_ends_every_session_of_the_account(app):
    uid, email = _issuer_user(app)
    other_uid, other_email = _support_user(app)
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    _login(laptop, "/utsteder/logg-inn", email)
    _login(phone, "/utsteder/logg-inn", email)
    _login(colleague, "/kundestotte/logg-inn", other_email)
    with app.app_context():
        from portal.issuers.models import IssuerUser

        change_password(db.session, db.session.get(IssuerUser, uid), "et-helt-nytt-passord-99")
        db.session.commit()
    assert laptop.get(DASHBOARD).status_code == 302
    assert phone.get(DASHBOARD).status_code == 302
    assert colleague.get(SEARCH).status_code == 200  # another account is untouched
    _login(laptop, "/utsteder/logg-inn", email, "et-helt-nytt-passord-99")
    assert laptop.get(DASHBOARD).status_code == 200


def test_a_password_changed_behind_the_portals_back_ends_sessions_too(app, client):
    """Even a password set directly in the database ends the sessions opened with the old one."""
    uid, email = _issuer_user(app)
    _login(client, "/utsteder/logg-inn", email)
    with app.app_context():
        from portal.core.auth import hash_password
        from portal.issuers.models import IssuerUser

        db.session.get(IssuerUser, uid).password_hash = hash_password("annet-passord-12345")
        db.session.commit()
    assert client.get(DASHBOARD).status_code == 302


def test_idle_and_absolute_timeouts_per_realm(make_app):
    app = make_app(ISSUER_IDLE_MINUTES=10, ISSUER_SESSION_MINUTES=60)
    _uid, email = _issuer_user(app)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        client = app.test_client()
        _login(client, "/utsteder/logg-inn", email)
        clock.shift(dt.timedelta(minutes=11))
        resp = client.get(DASHBOARD)
        assert resp.status_code == 302
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "ikke hadde gjort noe på en stund" in page

        _login(client, "/utsteder/logg-inn", email)
        for _ in range(7):  # active every nine minutes, but not longer than an hour in all
            clock.shift(dt.timedelta(minutes=9))
            status = client.get(DASHBOARD).status_code
        assert status == 302


def test_a_cookie_without_a_server_session_is_not_logged_in(app, client):
    """A cookie that claims a log-in (e.g. signed with a leaked key) without a live row is anonymous."""
    uid, _email = _issuer_user(app)
    with client.session_transaction() as sess:
        sess["_user_id"] = f"issuer:{uid}"
        sess["_fresh"] = True
        sess["sid"] = "made-up"
    assert client.get(DASHBOARD).status_code == 302
