"""Issuer staff accounts: sign-up, log-in, log-out, dashboard, and the create-issuer command."""
from __future__ import annotations

from sqlalchemy import select

from portal.core import db
from portal.issuers.models import Issuer, IssuerUser
from tests.factories import make_issuer
from tests.helpers.issuer import login, query, signup, staff, verification_path


def test_signup_creates_issuer_and_logs_in(app, client, post_form):
    """Signing up by org number takes the name from the register; after the e-mail link the dashboard shows the not-active banner."""
    resp = signup(post_form)
    assert resp.status_code == 302
    path = verification_path(app, "siri@fjord.no")
    assert post_form(path, {}).status_code == 302
    page = client.get("/utsteder/").get_data(as_text=True)
    assert "Fjordlys Energi AS" in page
    assert "eFaktura B2C er ikke aktivert" in page
    user = query(app, lambda s: s.scalar(select(IssuerUser).where(IssuerUser.email == "siri@fjord.no")))
    assert user is not None and user.password_hash != "langt-passord-1"
    assert query(app, lambda s: s.get(Issuer, user.issuer_id).org_number) == "923609016"


def test_signup_rejects_bad_input(app, client, post_form):
    """A wrong org number, short password and mismatched confirmation are shown at the fields; nothing saved."""
    resp = post_form("/utsteder/registrer", {
        "org_number": "123456789", "admin_name": "A", "email": "a@b.no",
        "password": "kort", "confirm": "annet"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "kontrollsifferet stemmer ikke" in page
    assert "minst 12 tegn" in page
    assert "Passordene er ikke like" in page
    assert query(app, lambda s: s.scalar(select(Issuer.id))) is None


def test_login_wrong_password_does_not_reveal_account(app, client, post_form):
    """A wrong password and an unknown e-mail get the same message."""
    _issuer, user = staff(app)
    a = login(client, post_form, user.email, "feil-passord-123").get_data(as_text=True)
    b = login(client, post_form, "ingen@example.no", "feil-passord-123").get_data(as_text=True)
    msg = "E-postadressen eller passordet er feil"
    assert msg in a and msg in b


def test_login_ignores_next_with_host(app, client, post_form):
    """A `next` pointing to another host is ignored; a local path is followed."""
    _issuer, user = staff(app)
    resp = login(client, post_form, user.email, next_url="https://evil.example/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/")
    client.post("/utsteder/logg-ut", data={"csrf_token": _token(client)})
    resp = login(client, post_form, user.email, next_url="/utsteder/b2c")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith("/utsteder/b2c")


def _token(client):
    from tests.conftest import csrf_from

    return csrf_from(client.get("/utsteder/").get_data(as_text=True))


def test_session_rotated_at_login(app, client, post_form):
    """Logging in gives a new session cookie and drops what the session held before."""
    _issuer, user = staff(app)
    with client.session_transaction() as sess:
        sess["planted"] = "from-before"
    before = client.get_cookie("portal_session").value
    login(client, post_form, user.email)
    after = client.get_cookie("portal_session").value
    assert after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("_user_id") == f"issuer:{user.id}"


def test_logout_is_post_and_ends_session(app, client, post_form):
    """Logging out (POST) ends the session; the dashboard then asks for log-in."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    assert client.get("/utsteder/logg-ut").status_code == 405
    resp = post_form("/utsteder/logg-ut", {}, page="/utsteder/")
    assert resp.status_code == 302
    assert "/utsteder/logg-inn" in client.get("/utsteder/").headers["Location"]


def test_dashboard_shows_counts(app, client, post_form):
    """The dashboard counts held and sent invoices of this issuer only."""
    from tests.factories import make_contact, make_invoice

    issuer, user = staff(app)
    with app.app_context():
        issuer = db.session.merge(issuer)
        make_invoice(issuer, make_contact(issuer))
        other = make_issuer()
        make_invoice(other, make_contact(other))
        make_invoice(other, make_contact(other))
        db.session.commit()
    login(client, post_form, user.email)
    page = client.get("/utsteder/").get_data(as_text=True)
    assert 'id="count-held"><a href="/utsteder/sendte?status=held&amp;type=faktura">1</a>' in page


def test_missing_csrf_is_400_and_nothing_saved(app, client):
    """A sign-up POST without the CSRF token is refused with 400 and creates nothing."""
    resp = client.post("/utsteder/registrer", data={
        "org_number": "923609016", "admin_name": "A", "email": "a@b.no",
        "password": "langt-passord-1", "confirm": "langt-passord-1"})
    assert resp.status_code == 400
    assert query(app, lambda s: s.scalar(select(Issuer.id))) is None


def test_cli_create_issuer(app):
    """`create-issuer` takes the name from the register; bad input, refused units and duplicates end with one line and exit status 2."""
    runner = app.test_cli_runner()  # each command runs in its own app context
    ok = runner.invoke(args=["create-issuer", "--org-number", "974760673",
                             "--email", "kli@example.no", "--password", "langt-passord-1"])
    assert ok.exit_code == 0, ok.output
    assert "Created issuer Snekker Hansen AS" in ok.output
    bad = runner.invoke(args=["create-issuer", "--org-number", "123",
                              "--email", "y@example.no", "--password", "langt-passord-1"])
    assert bad.exit_code == 2 and "--org-number" in bad.output
    short = runner.invoke(args=["create-issuer", "--org-number", "971526920",
                                "--email", "y@example.no", "--password", "kort"])
    assert short.exit_code == 2 and "at least 12" in short.output
    bankrupt = runner.invoke(args=["create-issuer", "--org-number", "889640782",
                                   "--email", "y@example.no", "--password", "langt-passord-1"])
    assert bankrupt.exit_code == 2 and "konkurs" in bankrupt.output
    dup = runner.invoke(args=["create-issuer", "--org-number", "974760673",
                              "--email", "z@example.no", "--password", "langt-passord-1"])
    assert dup.exit_code == 2 and "already has an account" in dup.output
    assert query(app, lambda s: s.scalar(select(IssuerUser.email).where(IssuerUser.email == "kli@example.no")))
