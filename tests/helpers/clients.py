"""Test clients already logged in as each kind of user, without going through the forms."""
from __future__ import annotations

from portal.agreements.models import Consumer
from portal.core import db, sessions
from portal.core.auth import hash_password
from portal.support.models import SupportUser
from tests.factories import make_contact, make_invoice, make_issuer, make_issuer_user


def staff_client(app, post_form, client, kind):
    with app.app_context():
        issuer = make_issuer()
        contact = make_contact(issuer)
        make_invoice(issuer, contact)
        if kind == "issuer":
            user = make_issuer_user(issuer)
        else:
            user = SupportUser(email="stotte@example.no", name="Siri", password_hash=hash_password("passord-med-lengde-1"))
            db.session.add(user)
        db.session.commit()
        email = user.email
    if kind == "issuer":
        resp = post_form("/utsteder/logg-inn", {"email": email, "password": "riktig-hest-batteri-42"})
    else:
        resp = post_form("/kundestotte/logg-inn", {"email": email, "password": "passord-med-lengde-1"})
    assert resp.status_code == 302, "login failed"
    return client


def consumer_client(app, client):
    with app.app_context():
        consumer = Consumer(sub="sub-junk", name="Kari")
        db.session.add(consumer)
        db.session.flush()
        consumer_id = consumer.id
        sid = sessions.issue(db.session, "consumer", consumer_id)
        db.session.commit()
    with client.session_transaction() as sess:
        sess["consumer_id"] = consumer_id
        sess["sid"] = sid
        sess["consumer_acr"] = "urn:bankid:bid;LOA=4"
    return client
