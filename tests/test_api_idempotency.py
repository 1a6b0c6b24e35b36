"""Idempotency keys on POST: a replay gets the stored answer, a changed body is refused, and
concurrent requests with one key make one effect."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from portal.core import db
from portal.integrations.models import IdempotencyKey
from portal.invoices import services
from portal.invoices.models import Invoice
from tests.helpers.api import api_issuer, invoice_body


def _invoices(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Invoice))


def test_same_key_same_body_replays_the_stored_response(app, client):
    """The second POST with the key gets the same 201 and body, marked as replayed; one invoice exists."""
    a = api_issuer(app)
    h = a.headers(**{"Idempotency-Key": "order-1"})
    first = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id))
    second = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id))
    assert first.status_code == second.status_code == 201
    assert second.data == first.data and second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert _invoices(app) == 1


def test_same_key_other_body_is_422(app, client):
    """Reusing a key with another body answers a 422 problem and creates nothing more."""
    a = api_issuer(app)
    h = a.headers(**{"Idempotency-Key": "order-2", "Accept-Language": "en"})
    assert client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id)).status_code == 201
    other = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id, due_date="2030-02-28"))
    assert other.status_code == 422 and other.content_type == "application/problem+json"
    assert "different request" in other.json["detail"]
    assert _invoices(app) == 1


def test_failed_request_releases_its_key(app, client):
    """A refused body does not use the key up: the corrected request with the same key succeeds."""
    a = api_issuer(app)
    h = a.headers(**{"Idempotency-Key": "order-3"})
    bad = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id, kid="123"))
    assert bad.status_code == 422
    good = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id))
    assert good.status_code == 201


def test_keys_belong_to_one_issuer(app, client):
    """Two issuers may use the same key string without seeing each other's answers."""
    a, b = api_issuer(app), api_issuer(app)
    ra = client.post("/api/v1/invoices", headers=a.headers(**{"Idempotency-Key": "k"}), json=invoice_body(a.contact_id))
    rb = client.post("/api/v1/invoices", headers=b.headers(**{"Idempotency-Key": "k"}), json=invoice_body(b.contact_id))
    assert ra.status_code == rb.status_code == 201 and ra.json["id"] != rb.json["id"]


def test_concurrent_requests_with_one_key_make_one_invoice(app):
    """Eight threads POST the same body with one key at once: one invoice, the rest replay or are told to wait."""
    a = api_issuer(app)
    h = a.headers(**{"Idempotency-Key": "race"})
    codes: list[int] = []
    barrier = threading.Barrier(8)

    def post():
        client = app.test_client()
        barrier.wait()
        codes.append(client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id)).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _invoices(app) == 1
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
    with app.app_context():
        row = db.session.scalar(select(IdempotencyKey))
        assert row.status_code == 201 and row.completed_at is not None


def test_unexpected_error_is_a_problem_and_frees_the_key(app, client, monkeypatch):
    """A crash inside the work answers a 500 problem (not an HTML page) and the key can be used again."""
    a = api_issuer(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    real = services.create_invoice
    monkeypatch.setattr(services, "create_invoice", lambda *args, **kw: 1 / 0)
    h = a.headers(**{"Idempotency-Key": "crash"})
    resp = client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id))
    assert resp.status_code == 500 and resp.content_type == "application/problem+json"
    monkeypatch.setattr(services, "create_invoice", real)
    assert client.post("/api/v1/invoices", headers=h, json=invoice_body(a.contact_id)).status_code == 201
    assert _invoices(app) == 1
