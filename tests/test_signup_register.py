"""Sign-up checked against the business register (flow H): only active units, nothing saved
when the register cannot answer, duplicates answered like a new account, and a confirmed
e-mail address before the first log-in."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from portal.core.outbox import OutboxMessage
from portal.issuers.models import Issuer, IssuerUser
from tests.factories import make_issuer, make_issuer_user
from tests.helpers.issuer import login, query, signup, verification_path
from tests.helpers.register import closed_port_url, running_wsgi, text_app


def mails_to(app, to):
    return query(app, lambda s: [m.payload for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                                 if m.payload.get("to") == to])


def issuer_count(app):
    return query(app, lambda s: s.scalar(select(func.count()).select_from(Issuer)))


def test_name_and_address_come_from_the_register(app, client, post_form):
    """The new issuer gets the register's name and address, not anything typed in the form."""
    resp = signup(post_form, org="974760673", company_name="Falskt Navn AS")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/registrert")
    issuer = query(app, lambda s: s.scalars(select(Issuer)).one())
    assert (issuer.name, issuer.address_line, issuer.postal_code, issuer.city) == (
        "Snekker Hansen AS", "Verkstedveien 12", "7010", "Trondheim")
    assert "Sjekk e-posten din" in client.get("/utsteder/registrert").get_data(as_text=True)


def test_unknown_unit_is_refused(app, post_form):
    """An org number the register does not know is refused at the field; nothing saved."""
    resp = signup(post_form, org="914778263")
    assert resp.status_code == 422
    assert "Enhetsregisteret kjenner ikke dette organisasjonsnummeret" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0


def test_deleted_unit_is_refused(app, post_form):
    """A unit deleted from the register cannot sign up."""
    resp = signup(post_form, org="983887457")
    assert resp.status_code == 422 and "Enheten er slettet" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0


def test_bankrupt_unit_is_refused(app, post_form):
    """A bankrupt unit cannot sign up."""
    resp = signup(post_form, org="889640782")
    assert resp.status_code == 422 and "Enheten er konkurs" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0


def test_liquidating_unit_is_refused(app, post_form):
    """A unit under liquidation cannot sign up."""
    resp = signup(post_form, org="995568217")
    assert resp.status_code == 422 and "Enheten er under avvikling" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0


def test_register_down_says_so_and_saves_nothing(make_app):
    """With the register unreachable the form says the register does not answer; nothing saved, no e-mail."""
    app = make_app(REGISTER_URL=closed_port_url(), REGISTER_TIMEOUT=1.0)
    client = app.test_client()
    from tests.conftest import csrf_from

    html = client.get("/utsteder/registrer").get_data(as_text=True)
    resp = client.post("/utsteder/registrer", data={
        "csrf_token": csrf_from(html), "org_number": "923609016", "admin_name": "Siri Sjef",
        "email": "siri@fjord.no", "password": "langt-passord-1", "confirm": "langt-passord-1"})
    assert resp.status_code == 422
    assert "Enhetsregisteret svarer ikke akkurat nå" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0 and mails_to(app, "siri@fjord.no") == []


def test_register_garbage_saves_nothing(make_app):
    """A register answering an HTML page instead of JSON refuses the sign-up; nothing saved."""
    with running_wsgi(text_app(b"<html>vedlikehold</html>", content_type="text/html")) as base:
        app = make_app(REGISTER_URL=base + "/api")
        client = app.test_client()
        from tests.conftest import csrf_from

        html = client.get("/utsteder/registrer").get_data(as_text=True)
        resp = client.post("/utsteder/registrer", data={
            "csrf_token": csrf_from(html), "org_number": "923609016", "admin_name": "Siri Sjef",
            "email": "siri@fjord.no", "password": "langt-passord-1", "confirm": "langt-passord-1"})
    assert resp.status_code == 422 and "Enhetsregisteret svarer ikke" in resp.get_data(as_text=True)
    assert issuer_count(app) == 0


def test_existing_org_number_gets_the_same_answer_and_an_email(app, post_form):
    """Signing up a company that has an account answers like a new sign-up; the address gets an e-mail instead."""
    with app.app_context():
        from portal.core import db

        make_issuer(org_number="923609016")
        db.session.commit()
    resp = signup(post_form, org="923609016", email="ny@fjord.no")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/registrert")
    assert issuer_count(app) == 1
    [mail] = mails_to(app, "ny@fjord.no")
    assert mail["subject"] == "Du har allerede en konto" and "allerede har en konto" in mail["text"]


def test_existing_email_gets_the_same_answer_and_an_email(app, post_form):
    """Signing up with an e-mail that has a user answers like a new sign-up; that address is told to log in."""
    with app.app_context():
        from portal.core import db

        make_issuer_user(make_issuer(org_number="971526920"), email="siri@fjord.no")
        db.session.commit()
    resp = signup(post_form, org="923609016", email="siri@fjord.no")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/utsteder/registrert")
    assert issuer_count(app) == 1
    [mail] = mails_to(app, "siri@fjord.no")
    assert "har allerede en bruker" in mail["text"] and "/utsteder/logg-inn" in mail["text"]
    assert '<a href="http://localhost/utsteder/logg-inn">' in mail["html"]


def test_unconfirmed_user_cannot_log_in_until_the_link_is_used(app, client, post_form):
    """Before the e-mail link, log-in is refused and a new link is sent; after it, the user is in."""
    signup(post_form)
    refused = login(client, post_form, "siri@fjord.no", "langt-passord-1")
    assert refused.status_code == 403
    assert "Du må bekrefte e-postadressen din" in refused.get_data(as_text=True)
    assert client.get("/utsteder/").status_code == 302
    assert len([m for m in mails_to(app, "siri@fjord.no") if m["purpose"] == "email_verification"]) == 2
    path = verification_path(app, "siri@fjord.no")
    page = client.get(path)
    assert page.status_code == 200 and "Bekreft e-postadressen" in page.get_data(as_text=True)
    done = post_form(path, {})
    assert done.status_code == 302
    assert "Fjordlys Energi AS" in client.get("/utsteder/").get_data(as_text=True)
    assert query(app, lambda s: s.scalars(select(IssuerUser)).one().email_verified_at) is not None


def test_reused_confirmation_link_says_it_was_used(app, client, post_form):
    """A confirmation link works once; the second time it says so and points to log-in."""
    signup(post_form)
    path = verification_path(app, "siri@fjord.no")
    assert post_form(path, {}).status_code == 302
    again = app.test_client()
    from tests.conftest import csrf_from

    html = again.get(path).get_data(as_text=True)
    resp = again.post(path, data={"csrf_token": csrf_from(html)})
    assert resp.status_code == 400 and 'data-problem="used"' in resp.get_data(as_text=True)


def test_expired_confirmation_link_says_to_log_in(app, client, post_form):
    """An old confirmation link explains that logging in sends a new one; the user stays unconfirmed."""
    signup(post_form)
    path = verification_path(app, "siri@fjord.no")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
        resp = post_form(path, {})
    assert resp.status_code == 410 and "sender vi en ny lenke" in resp.get_data(as_text=True)
    assert query(app, lambda s: s.scalars(select(IssuerUser)).one().email_verified_at) is None
