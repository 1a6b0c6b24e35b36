"""API keys: made and revoked on the issuer's API page, stored hashed, scoped, tied to one issuer."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from portal.core import db
from portal.demo import demo_api_key, load_demo
from portal.integrations import ratelimit, webhooks
from portal.integrations.models import ApiCredential
from tests.conftest import csrf_from
from tests.factories import STAFF, make_contact, make_invoice, make_issuer
from tests.helpers.api import api_issuer, invoice_body
from tests.helpers.issuer import login, staff


def test_key_is_shown_once_and_stored_only_as_a_hash(app, client, post_form):
    """The new key is on the page once; the database holds its SHA-256 and prefix, never the key."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    page = post_form("/utsteder/api/nokler", {"name": "Regnskap", "write": "y"}, page="/utsteder/api")
    assert page.status_code == 200
    key = re.search(r'id="api-key">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert key.startswith("efk_")
    with app.app_context():
        cred = db.session.scalar(select(ApiCredential))
        assert cred.secret_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in (cred.prefix, cred.secret_hash) and key.split("_")[1] == cred.prefix
        assert cred.scope_list == ["read", "write"]
    again = client.get("/utsteder/api").get_data(as_text=True)
    assert key not in again and f"efk_{key.split('_')[1]}_" in again
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_last_use_is_shown_and_revoked_key_stops_working(app, client, post_form):
    """After a call the page shows when the key was last used; a revoked key answers 401."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    page = post_form("/utsteder/api/nokler", {"name": "Regnskap"}, page="/utsteder/api").get_data(as_text=True)
    key = re.search(r'id="api-key">([^<]+)<', page).group(1)
    assert "Aldri" in client.get("/utsteder/api").get_data(as_text=True)
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert "Aldri" not in client.get("/utsteder/api").get_data(as_text=True)
    with app.app_context():
        cred_id = db.session.scalar(select(ApiCredential.id))
    resp = post_form(f"/utsteder/api/nokler/{cred_id}/trekk-tilbake", {}, page="/utsteder/api")
    assert resp.status_code == 302
    refused = client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401 and refused.content_type == "application/problem+json"


def test_missing_or_wrong_key_is_401(app, client):
    """No key, a made-up key and a key with a changed secret are all refused."""
    a = api_issuer(app)
    assert client.get("/api/v1/invoices").status_code == 401
    assert client.get("/api/v1/invoices", headers={"Authorization": "Bearer efk_abcdefgh_nope"}).status_code == 401
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Bearer {a.key}x"}).status_code == 401
    assert client.get("/api/v1/invoices", headers={"Authorization": f"Basic {a.key}"}).status_code == 401


def test_read_only_key_cannot_write(app, client):
    """A read-only key reads but gets 403 on creating an invoice, and nothing is created."""
    a = api_issuer(app, scopes=("read",))
    assert client.get(f"/api/v1/contacts/{a.contact_id}", headers=a.headers()).status_code == 200
    resp = client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(a.contact_id))
    assert resp.status_code == 403
    assert client.get("/api/v1/invoices", headers=a.headers()).json["items"] == []


def test_another_issuers_ids_are_404(app, client):
    """Every API URL with an id answers 404 for another issuer's contact or invoice."""
    a = api_issuer(app)
    with app.app_context():
        b = make_issuer()
        contact = make_contact(b)
        inv = make_invoice(b, contact, issue=False)
        db.session.commit()
        foreign = {"contact_id": contact.id, "invoice_id": inv.id}
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or not rule.arguments:
            continue
        url = rule.build(foreign)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            resp = client.open(url, method=method, headers=a.headers(), json={})
            assert resp.status_code == 404, f"{method} {url} gave {resp.status_code}"
            checked += 1
    assert checked >= 5
    made = client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(contact.id))
    assert made.status_code == 422 and made.json["errors"][0]["field"] == "contact_id"
    listed = client.get(f"/api/v1/invoices?contact_id={contact.id}", headers=a.headers())
    assert listed.status_code == 422


def test_issuer_pages_for_keys_are_scoped(app, client, post_form):
    """Revoking another issuer's key from the API page is a 404 and the key keeps working."""
    other = api_issuer(app)
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    token = csrf_from(client.get("/utsteder/api").get_data(as_text=True))
    resp = client.post(f"/utsteder/api/nokler/{other.credential_id}/trekk-tilbake", data={"csrf_token": token})
    assert resp.status_code == 404
    assert client.get("/api/v1/invoices", headers=other.headers()).status_code == 200


def test_rate_limit_per_credential(make_app, client):
    """Past the limit per minute the key gets 429 with Retry-After; another key is unaffected."""
    app = make_app(API_RATE_LIMIT=3)
    client = app.test_client()
    a = api_issuer(app)
    b = api_issuer(app)
    ratelimit.reset()
    codes = [client.get("/api/v1/invoices", headers=a.headers()).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/v1/invoices", headers=a.headers())
    assert int(last.headers["Retry-After"]) >= 1
    assert client.get("/api/v1/invoices", headers=b.headers()).status_code == 200


def test_demo_key_works_and_is_stable(app):
    """The demo issuer's API key reads the demo invoices, and asking again gives the same working key."""
    with app.app_context():
        assert demo_api_key() is None
        load_demo()
        key = demo_api_key()
        assert demo_api_key() == key
    resp = app.test_client().get("/api/v1/invoices", headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 200 and resp.json["items"]


def test_webhook_and_delivery_pages_are_scoped(app, client, post_form):
    """Removing another issuer's webhook address or redelivering its event is a 404."""
    with app.app_context():
        b = make_issuer()
        endpoint = webhooks.add_endpoint(db.session, b.id, "http://127.0.0.1:9/x", ["invoice.delivered"], STAFF)
        delivery = webhooks.emit(db.session, b.id, "invoice.delivered", {"invoice_id": 1})[0]
        db.session.commit()
        ids = (endpoint.id, delivery.id)
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    token = csrf_from(client.get("/utsteder/api").get_data(as_text=True))
    assert client.post(f"/utsteder/api/webhooks/{ids[0]}/fjern", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/utsteder/api/leveranser/{ids[1]}/send-igjen", data={"csrf_token": token}).status_code == 404
