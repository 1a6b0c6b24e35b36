"""Errors are RFC 9457 problem details with field messages, in bokmål or English."""
from __future__ import annotations

from tests.helpers.api import api_issuer, invoice_body


def test_contact_errors_use_the_forms_messages_in_bokmal(app, client):
    """A bad contact gets the contact form's messages per field, in bokmål by default."""
    a = api_issuer(app)
    resp = client.post("/api/v1/contacts", headers=a.headers(),
                       json={"customer_number": "1", "kind": "person", "name": "Kari", "mobile": "912 34 567"})
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    body = resp.json
    assert {"type", "title", "status", "detail", "errors"} <= set(body) and body["status"] == 422
    errors = {e["field"]: e["detail"] for e in body["errors"]}
    assert "Mente du +4791234567?" in errors["mobile"]
    assert resp.headers["Content-Language"] == "nb"


def test_english_when_asked(app, client):
    """With Accept-Language: en the same problem is in English."""
    a = api_issuer(app)
    resp = client.post("/api/v1/contacts", headers=a.headers(**{"Accept-Language": "en-GB,en;q=0.8"}),
                       json={"kind": "robot"})
    assert resp.status_code == 422
    errors = {e["field"]: e["detail"] for e in resp.json["errors"]}
    assert errors["kind"] == "Choose private person or company."
    assert errors["customer_number"] == "Enter a customer number."
    assert resp.json["title"] == "Invalid fields" and resp.headers["Content-Language"] == "en"


def test_structural_errors_point_at_the_field(app, client):
    """A wrong type deep in the body is reported with its path; an unknown field is named."""
    a = api_issuer(app)
    body = invoice_body(a.contact_id, lines=[{"description": "A", "unit_price_ore": "lots"}], colour="red")
    resp = client.post("/api/v1/invoices", headers=a.headers(**{"Accept-Language": "en"}), json=body)
    assert resp.status_code == 422
    errors = {e["field"]: e["detail"] for e in resp.json["errors"]}
    assert errors["lines.0.unit_price_ore"] == "Must be a whole number."
    assert errors["colour"] == "Unknown field."
    assert {e["pointer"] for e in resp.json["errors"]} >= {"#/lines/0/unit_price_ore"}


def test_unreadable_json_and_wrong_content_type(app, client):
    """Broken JSON is a 400 problem, form data a 415 problem; neither is a server error."""
    a = api_issuer(app)
    broken = client.post("/api/v1/invoices", headers=a.headers(), data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.content_type == "application/problem+json"
    form = client.post("/api/v1/contacts", headers=a.headers(), data={"name": "x"})
    assert form.status_code == 415


def test_unknown_address_and_method_are_problems(app, client):
    """An unknown /api/ address is a 404 problem and a wrong method a 405 problem, not an HTML page."""
    a = api_issuer(app)
    assert client.get("/api/v1/nothing", headers=a.headers()).content_type == "application/problem+json"
    resp = client.delete("/api/v1/invoices", headers=a.headers(**{"Accept-Language": "en"}))
    assert resp.status_code == 405 and resp.json["title"] == "Method not allowed"
