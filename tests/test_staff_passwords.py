"""Staff passwords: a change while logged in (issuer and support staff), a forgotten issuer
password through a single-use link by e-mail, and the operator's new password for support staff."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import time_machine
from sqlalchemy import func, select

from portal.core import db
from portal.core.auth import hash_password
from portal.core.outbox import OutboxMessage
from portal.core.sessions import WebSession
from portal.core.tokens import Purpose, make_token
from portal.delivery.worker import run_once
from portal.issuers.models import IssuerUser
from portal.support.models import SupportUser
from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_issuer, make_issuer_user
from tests.helpers.smtp import SmtpSink, text_of

DASHBOARD = "/utsteder/"
LOGIN = "/utsteder/logg-inn"
CHANGE = "/utsteder/passord"
FORGOT = "/utsteder/glemt-passord"
SUPPORT_LOGIN = "/kundestotte/logg-inn"
SUPPORT_CHANGE = "/kundestotte/passord"
NEW = "et-helt-nytt-passord-2026"
LINK = re.compile(r"http://localhost(/utsteder/nytt-passord/\S+)")


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, sink):
    """A portal whose worker sends e-mail to the SMTP test peer."""
    return make_app(**sink.settings())


def _post(client, url, data, page=None):
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_from(html)})


def _issuer_user(app, **kwargs) -> tuple[int, str]:
    with app.app_context():
        user = make_issuer_user(make_issuer(), **kwargs)
        db.session.commit()
        return user.id, user.email


def _support_user(app) -> tuple[int, str]:
    with app.app_context():
        user = SupportUser(email="stotte@example.no", name="Siri", password_hash=hash_password(PASSWORD))
        db.session.add(user)
        db.session.commit()
        return user.id, user.email


def _login(app, email, password=PASSWORD, url=LOGIN, address=None):
    client = app.test_client()
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    resp = _post(client, url, {"email": email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def _copy(app, client):
    other = app.test_client()
    other.set_cookie("portal_session", client.get_cookie("portal_session").value)
    return other


def _hash(app, model, uid) -> str:
    with app.app_context():
        return db.session.get(model, uid).password_hash


def _outbox(app, purpose: str) -> list[dict]:
    with app.app_context():
        return [row.payload for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                if row.payload.get("purpose") == purpose]


def _deliver(app, sink):
    with app.app_context():
        run_once()
    return sink.messages


def _reset_path(app, email: str) -> str:
    [payload] = [p for p in _outbox(app, "password_reset") if p["to"] == email][-1:]
    return LINK.search(payload["text"]).group(1)


def _request_link(app, email: str) -> str:
    resp = _post(app.test_client(), FORGOT, {"email": email})
    assert resp.status_code == 302
    return _reset_path(app, email)


# --- change password ----------------------------------------------------------------------

def test_issuer_changes_password_other_sessions_end_and_owner_is_told(mail_app, sink):
    """A new password ends every other session (a cookie copied before the change is worthless),
    this browser goes on with a fresh cookie, and the owner gets an e-mail without secrets."""
    uid, email = _issuer_user(mail_app)
    laptop = _login(mail_app, email)
    phone = _login(mail_app, email)
    thief = _copy(mail_app, laptop)
    before = laptop.get_cookie("portal_session").value
    assert mail_app.test_client().get("/utsteder/bedrift").status_code == 302
    assert 'href="/utsteder/passord"' in laptop.get("/utsteder/bedrift").get_data(as_text=True)

    resp = _post(laptop, CHANGE, {"current_password": PASSWORD, "password": NEW, "confirm": NEW})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/bedrift")
    assert "Passordet er endret" in laptop.get(resp.headers["Location"]).get_data(as_text=True)
    assert laptop.get_cookie("portal_session").value != before
    assert laptop.get(DASHBOARD).status_code == 200
    for other in (thief, phone):
        resp = other.get(DASHBOARD)
        assert resp.status_code == 302 and LOGIN in resp.headers["Location"]

    assert _post(mail_app.test_client(), LOGIN, {"email": email, "password": PASSWORD}).status_code == 422
    _login(mail_app, email, NEW)
    [msg] = _deliver(mail_app, sink)
    assert msg["To"] == email and msg["Subject"] == "Passordet ditt er endret"
    text = text_of(msg)
    assert "Var det ikke deg" in text and "/utsteder/glemt-passord" in text
    assert NEW not in text and PASSWORD not in text


def test_wrong_current_password_is_refused_at_the_field_and_counted_like_log_in(app):
    """A wrong current password is named at its field and changes nothing; five of them pause the
    account from this address, at this form and at the log-in page alike."""
    uid, email = _issuer_user(app)
    client = _login(app, email)
    before = _hash(app, IssuerUser, uid)
    for _ in range(5):
        resp = _post(client, CHANGE, {"current_password": "feil-passord-123", "password": NEW, "confirm": NEW})
        assert resp.status_code == 422
        page = resp.get_data(as_text=True)
        assert 'id="current_password-error"' in page and "Passordet er feil" in page
    resp = _post(client, CHANGE, {"current_password": PASSWORD, "password": NEW, "confirm": NEW})
    assert resp.status_code == 429 and "For mange mislykkede forsøk" in resp.get_data(as_text=True)
    assert _post(app.test_client(), LOGIN, {"email": email, "password": PASSWORD}).status_code == 429
    assert _hash(app, IssuerUser, uid) == before
    assert client.get(DASHBOARD).status_code == 200  # still logged in


@pytest.mark.parametrize("new,confirm,message", [
    ("kort-pass", "kort-pass", "minst 12 tegn"),
    ("{email}", "{email}", "samme som e-postadressen"),
    (PASSWORD, PASSWORD, "et annet enn det du har nå"),
    (NEW, NEW + "x", "Passordene er ikke like"),
    ("", "", "Velg et nytt passord"),
])
def test_weak_or_same_password_is_refused_and_nothing_changes(app, new, confirm, message):
    """A short password, the e-mail address, the current password or a mistyped repeat is
    refused at the form; the password, the sessions and the outbox stay as they were."""
    uid, email = _issuer_user(app)
    client = _login(app, email)
    before = _hash(app, IssuerUser, uid)
    resp = _post(client, CHANGE, {"current_password": PASSWORD, "password": new.format(email=email),
                                  "confirm": confirm.format(email=email)})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert _hash(app, IssuerUser, uid) == before
    assert client.get(DASHBOARD).status_code == 200
    assert _outbox(app, "password_changed") == []


def test_support_user_changes_password(mail_app, sink):
    """Support staff change their password from their own nav: other sessions end, an e-mail says so."""
    uid, email = _support_user(mail_app)
    client = _login(mail_app, email, url=SUPPORT_LOGIN)
    thief = _copy(mail_app, client)
    assert 'href="/kundestotte/passord"' in client.get("/kundestotte/").get_data(as_text=True)
    resp = _post(client, SUPPORT_CHANGE, {"current_password": "feil-passord-123", "password": NEW, "confirm": NEW})
    assert resp.status_code == 422 and "Passordet er feil" in resp.get_data(as_text=True)
    resp = _post(client, SUPPORT_CHANGE, {"current_password": PASSWORD, "password": NEW, "confirm": NEW})
    assert resp.status_code == 302
    assert "Passordet er endret" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert thief.get("/kundestotte/").status_code == 302
    _login(mail_app, email, NEW, url=SUPPORT_LOGIN)
    [msg] = _deliver(mail_app, sink)
    assert msg["To"] == email and "kundestøtte" in msg["Subject"] and NEW not in text_of(msg)


def test_the_forms_need_csrf_and_a_log_in(app):
    """Without the CSRF token the change, the request for a link and the new password are refused
    with 400 and change nothing; the change page asks an anonymous visitor to log in."""
    uid, email = _issuer_user(app)
    resp = app.test_client().get(CHANGE)
    assert resp.status_code == 302 and LOGIN in resp.headers["Location"]
    client = _login(app, email)
    before = _hash(app, IssuerUser, uid)
    assert client.post(CHANGE, data={"current_password": PASSWORD, "password": NEW, "confirm": NEW}).status_code == 400
    assert app.test_client().post(FORGOT, data={"email": email}).status_code == 400
    assert _outbox(app, "password_reset") == []
    path = _request_link(app, email)
    assert app.test_client().post(path, data={"password": NEW, "confirm": NEW}).status_code == 400
    assert _hash(app, IssuerUser, uid) == before
    assert app.test_client().get(path).status_code == 200  # the link still works


# --- forgotten password -------------------------------------------------------------------

def test_forgotten_password_answers_the_same_for_known_and_unknown_addresses(mail_app, sink):
    """The log-in page links to the form; a registered and an unknown address get the same
    answer, and only the registered one gets an e-mail."""
    _uid, email = _issuer_user(mail_app)
    client = mail_app.test_client()
    assert f'href="{FORGOT}"' in client.get(LOGIN).get_data(as_text=True)
    known = _post(client, FORGOT, {"email": email.upper()})
    unknown = _post(client, FORGOT, {"email": "ingen-konto@example.no"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    pages = [client.get(r.headers["Location"]) for r in (known, unknown)]
    assert pages[0].status_code == pages[1].status_code == 200
    assert pages[0].get_data() == pages[1].get_data()
    assert "Hvis e-postadressen er registrert, har vi sendt en lenke" in pages[0].get_data(as_text=True)
    [msg] = _deliver(mail_app, sink)
    assert msg["To"] == email
    assert LINK.search(text_of(msg)) and "60 minutter" in text_of(msg)


def test_the_link_sets_a_new_password_once_and_logs_nobody_in(mail_app, sink):
    """Opening the link shows a form (again and again); saving sets the password, ends every
    session, logs nobody in, and tells the owner. The link then refuses calmly."""
    uid, email = _issuer_user(mail_app)
    laptop = _login(mail_app, email)
    assert _post(mail_app.test_client(), FORGOT, {"email": email}).status_code == 302
    [mail] = _deliver(mail_app, sink)
    path = LINK.search(text_of(mail)).group(1)
    browser = mail_app.test_client()
    for _ in range(2):
        page = browser.get(path)
        assert page.status_code == 200 and 'id="password-reset"' in page.get_data(as_text=True)
    resp = _post(browser, path, {"password": NEW, "confirm": NEW})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(LOGIN)
    assert "Passordet er endret. Logg inn med det nye passordet." in browser.get(LOGIN).get_data(as_text=True)
    assert browser.get(DASHBOARD).status_code == 302  # not logged in by the link
    assert laptop.get(DASHBOARD).status_code == 302  # the session from before has ended
    with mail_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == 0
    _login(mail_app, email, NEW)

    after = _hash(mail_app, IssuerUser, uid)
    again = mail_app.test_client()
    page = again.get(path)
    assert page.status_code == 410 and "allerede brukt" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    resp = _post(again, path, {"password": "enda-et-nytt-passord-1", "confirm": "enda-et-nytt-passord-1"},
                 page=FORGOT)
    assert resp.status_code == 410 and "allerede brukt" in resp.get_data(as_text=True)
    assert f'href="{FORGOT}"' in html
    assert _hash(mail_app, IssuerUser, uid) == after
    changed = _deliver(mail_app, sink)[-1]
    assert changed["Subject"] == "Passordet ditt er endret" and NEW not in text_of(changed)


def test_a_refused_new_password_keeps_the_link(app):
    """A too-short password at the link is refused at the field; the link is not used up by it."""
    uid, email = _issuer_user(app)
    path = _request_link(app, email)
    before = _hash(app, IssuerUser, uid)
    client = app.test_client()
    for new in ("kort", email):
        resp = _post(client, path, {"password": new, "confirm": new})
        assert resp.status_code == 422 and 'id="password-error"' in resp.get_data(as_text=True)
    assert _hash(app, IssuerUser, uid) == before
    assert _post(client, path, {"password": NEW, "confirm": NEW}).status_code == 302


def _expired(app, email):
    path = _request_link(app, email)
    return path, time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=61), tick=False)


@pytest.mark.parametrize("case,status,words", [
    ("expired", 410, "Lenken har gått ut"),
    ("changed-later", 410, "Lenken gjelder ikke lenger"),
    ("other-purpose", 400, "Lenken er ikke gyldig"),
    ("garbage", 400, "Lenken er ikke gyldig"),
    ("truncated", 400, "Lenken er ikke gyldig"),
])
def test_links_that_cannot_be_used_refuse_calmly_and_change_nothing(app, case, status, words):
    """An expired link, one made before a later password change, one of another purpose, garbage
    and a cut-off link each get a calm page (GET and POST) with a way to ask for a new link."""
    uid, email = _issuer_user(app)
    clock = None
    if case == "expired":
        path, clock = _expired(app, email)
    elif case == "changed-later":
        path = _request_link(app, email)
        client = _login(app, email)
        assert _post(client, CHANGE, {"current_password": PASSWORD, "password": NEW, "confirm": NEW}).status_code == 302
    elif case == "other-purpose":
        with app.app_context():
            path = "/utsteder/nytt-passord/" + make_token(Purpose.EMAIL, {"u": uid, "e": email})
    elif case == "garbage":
        path = "/utsteder/nytt-passord/ikke-en-lenke"
    else:
        path = _request_link(app, email)[:-6]
    before = _hash(app, IssuerUser, uid)
    if clock is not None:
        clock.start()
    try:
        client = app.test_client()
        page = client.get(path)
        assert page.status_code == status
        html = page.get_data(as_text=True)
        assert words in html and f'href="{FORGOT}"' in html
        token = csrf_from(client.get(FORGOT).get_data(as_text=True))
        resp = client.post(path, data={"password": "enda-et-passord-99", "confirm": "enda-et-passord-99",
                                       "csrf_token": token})
        assert resp.status_code == status and words in resp.get_data(as_text=True)
    finally:
        if clock is not None:
            clock.stop()
    assert _hash(app, IssuerUser, uid) == before


def test_the_refusal_page_speaks_english_too(app):
    """The calm page follows the reader's language."""
    page = app.test_client().get("/utsteder/nytt-passord/ikke-en-lenke?lang=en")
    assert page.status_code == 400 and "The link is not valid" in page.get_data(as_text=True)


def test_a_reset_confirms_an_unconfirmed_address(app):
    """An account whose e-mail was never confirmed can reset its password; the link proves the
    mailbox, so the user can log in afterwards."""
    _uid, email = _issuer_user(app)
    with app.app_context():
        db.session.scalar(select(IssuerUser).where(IssuerUser.email == email)).email_verified_at = None
        db.session.commit()
    assert _post(app.test_client(), LOGIN, {"email": email, "password": PASSWORD}).status_code == 403
    path = _request_link(app, email)
    assert _post(app.test_client(), path, {"password": NEW, "confirm": NEW}).status_code == 302
    client = _login(app, email, NEW)
    assert client.get(DASHBOARD).status_code == 200


def test_requests_for_a_link_are_limited_per_address_and_per_e_mail(make_app):
    """Past the limit the answer is 429 with a readable page: from one client address, and for
    one e-mail address asked for from many."""
    app = make_app(RATE_LIMIT_PASSWORD_RESET="2/hour")
    net = uuid.uuid4().int
    first, second = app.test_client(), app.test_client()
    first.environ_base["REMOTE_ADDR"] = f"10.{net % 250}.{net // 250 % 250}.1"
    second.environ_base["REMOTE_ADDR"] = f"10.{net % 250}.{net // 250 % 250}.2"
    target = f"offer-{uuid.uuid4().hex[:8]}@example.no"
    assert [_post(first, FORGOT, {"email": target}).status_code for _ in range(2)] == [302, 302]
    resp = _post(first, FORGOT, {"email": f"annen-{uuid.uuid4().hex[:8]}@example.no"})
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "For mange forsøk" in resp.get_data(as_text=True)
    resp = _post(second, FORGOT, {"email": target})
    assert resp.status_code == 429 and "For mange forsøk" in resp.get_data(as_text=True)
    assert first.get(FORGOT).status_code == 200  # the form itself is not counted


def test_set_support_password_command(app):
    """An administrator gives a support user a new password: their sessions end and they are told;
    an unknown user or a short password exits 2 with one line."""
    uid, email = _support_user(app)
    client = _login(app, email, url=SUPPORT_LOGIN)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["set-support-password", "--email", email.upper(), "--password", NEW])
    assert ok.exit_code == 0, ok.output
    assert client.get("/kundestotte/").status_code == 302
    _login(app, email, NEW, url=SUPPORT_LOGIN)
    assert [p["to"] for p in _outbox(app, "password_changed")] == [email]
    for args, fragment in [(["--email", "ingen@example.no", "--password", NEW], "no support user"),
                           (["--email", email, "--password", "kort"], "at least 12")]:
        res = runner.invoke(args=["set-support-password", *args])
        assert res.exit_code == 2 and fragment in res.output, res.output
    prompted = runner.invoke(args=["set-support-password", "--email", email], input="enda-et-langt-passord\n" * 2)
    assert prompted.exit_code == 0, prompted.output
    assert "enda-et-langt-passord" not in prompted.output


def test_a_reset_lifts_the_pause_after_wrong_passwords(app):
    """An owner who tried wrong passwords until the account paused can log in at once with the
    password set through the link."""
    _uid, email = _issuer_user(app)
    client = app.test_client()
    for _ in range(6):
        _post(client, LOGIN, {"email": email, "password": "feil-passord-123"})
    assert _post(client, LOGIN, {"email": email, "password": PASSWORD}).status_code == 429
    path = _request_link(app, email)
    assert _post(client, path, {"password": NEW, "confirm": NEW}).status_code == 302
    assert _post(client, LOGIN, {"email": email, "password": NEW}).status_code == 302
