"""The JSON API does what the issuer's pages do: contacts, invoices, sending, Sent documents, reachability."""
from __future__ import annotations

from portal.core import db
from portal.invoices.models import Invoice
from tests.helpers.api import api_issuer, invoice_body

CONTACT = {"customer_number": "20001", "kind": "person", "name": "Kari Nordmann", "mobile": "+4791234567",
           "email": "kari@example.no", "address_line": "Storgata 1", "postal_code": "0155", "city": "Oslo",
           "access_point": "B2CNO", "receive_edocuments": True}


def test_create_and_update_a_contact(app, client):
    """A contact is created (201, Location) and updated; a taken customer number is refused by field."""
    a = api_issuer(app)
    made = client.post("/api/v1/contacts", headers=a.headers(), json=CONTACT)
    assert made.status_code == 201 and made.json["name"] == "Kari Nordmann"
    assert client.get(made.headers["Location"], headers=a.headers()).json["id"] == made.json["id"]
    changed = client.put(f"/api/v1/contacts/{made.json['id']}", headers=a.headers(), json=dict(CONTACT, city="Bergen"))
    assert changed.status_code == 200 and changed.json["city"] == "Bergen"
    dup = client.post("/api/v1/contacts", headers=a.headers(), json=CONTACT)
    assert dup.status_code == 422
    assert "20001" in dup.json["errors"][0]["detail"] and dup.json["errors"][0]["field"] == "customer_number"


def test_invoice_created_sent_and_read_with_history(app, client):
    """A draft is created with lines and totals, sent, and read back with state, channel and history."""
    a = api_issuer(app, access_point=None)  # not eFaktura: goes by e-mail
    made = client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(a.contact_id))
    assert made.status_code == 201
    inv = made.json
    assert inv["state"] == "draft" and inv["total_ore"] == 25000 and inv["vat_ore"] == 5000
    assert len(inv["kid"]) >= 2 and inv["lines"][0]["line_net_ore"] == 20000
    sent = client.post(f"/api/v1/invoices/{inv['id']}/send", headers=a.headers())
    assert sent.status_code == 200 and sent.json["state"] == "sending" and sent.json["channel"] == "email"
    again = client.post(f"/api/v1/invoices/{inv['id']}/send", headers=a.headers())
    assert again.status_code == 409
    read = client.get(f"/api/v1/invoices/{inv['id']}", headers=a.headers()).json
    assert [h["action"] for h in read["history"]] == ["create", "issue"]
    assert read["history"][1]["data"]["channel"] == "email"
    with app.app_context():
        assert db.session.get(Invoice, inv["id"]).created_by.startswith("API: Regnskap")


def test_invoice_number_taken_and_due_before_issue(app, client):
    """The invoice form's rules: a used number and a due date before the issue date are refused by field."""
    a = api_issuer(app)
    assert client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(a.contact_id, number="77")).status_code == 201
    resp = client.post("/api/v1/invoices", headers=a.headers(),
                       json=invoice_body(a.contact_id, number="77", issue_date="2030-03-01", due_date="2030-02-01"))
    errors = {e["field"]: e["detail"] for e in resp.json["errors"]}
    assert "allerede brukt" in errors["number"] and "før fakturadatoen" in errors["due_date"]


def test_sent_documents_filters_and_cursor(app, client):
    """The list narrows by status and number and pages with the opaque cursor until it runs out."""
    a = api_issuer(app)
    ids = [client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(a.contact_id)).json["id"]
           for _ in range(3)]
    client.post(f"/api/v1/invoices/{ids[0]}/send", headers=a.headers())
    drafts = client.get("/api/v1/invoices?status=draft", headers=a.headers()).json["items"]
    assert sorted(i["id"] for i in drafts) == sorted(ids[1:])
    seen, cursor = [], None
    while True:
        url = "/api/v1/invoices?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=a.headers()).json
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    assert client.get("/api/v1/invoices?cursor=not-a-cursor", headers=a.headers()).status_code == 422
    assert client.get("/api/v1/invoices?status=lost", headers=a.headers()).status_code == 422


def test_reachability_says_route_and_reason(app, client):
    """An eligible contact would be asked for consent; one without B2CNO goes by e-mail, with the reason."""
    a = api_issuer(app)
    r = client.get(f"/api/v1/contacts/{a.contact_id}/reachability", headers=a.headers()).json
    assert r["route"] == "held_for_consent" and r["reason"] == "consent_request" and r["blockers"] == []
    b = api_issuer(app, access_point=None)
    r = client.get(f"/api/v1/contacts/{b.contact_id}/reachability", headers=b.headers(**{"Accept-Language": "en"})).json
    assert r["route"] == "email" and r["reason"] == "not_eligible"
    assert r["blockers"][0]["code"] == "access_point" and "B2CNO" in r["blockers"][0]["message"]


def test_openapi_document_and_reference_page(app, client):
    """The OpenAPI 3.1 document lists every operation and the reference page shows them without a CDN."""
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    assert {"/api/v1/contacts", "/api/v1/invoices", "/api/v1/invoices/{invoice_id}/send"} <= set(doc["paths"])
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/invoices/{invoice_id}/send" in page and "cdn" not in page.lower()
