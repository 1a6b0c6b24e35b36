"""Clean input in one place: control characters are refused in every single-line field (forms,
CSV cells, API strings) with a message; amounts have sane limits; two invoices racing for one
number end with one invoice and the form's message; an e-mail that cannot be built fails for good."""
from __future__ import annotations

import importlib
import io
import pkgutil

import pytest
from sqlalchemy import func, select

import portal.areas
from portal.contacts.models import Contact
from portal.core import db
from portal.core.forms import PortalForm
from portal.invoices.models import Invoice
from tests.conftest import csrf_from
from tests.factories import make_contact
from tests.helpers.api import api_issuer, invoice_body
from tests.helpers.issuer import CONTACT_FORM as BASE
from tests.helpers.issuer import login, query, staff

HOSTILE = ["Per\x00Persen", "Firma AS\r\nBcc: alle@example.no", "Tab\there", "Slutt\x7f", "Linje\u2028to"]


def _count(app, model):
    return query(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def test_every_form_in_the_areas_is_a_portal_form():
    from flask_wtf import FlaskForm

    for info in pkgutil.walk_packages(portal.areas.__path__, "portal.areas."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, FlaskForm) and value.__module__ == module.__name__:
                assert issubclass(value, PortalForm), f"{value.__module__}.{value.__name__}"


@pytest.mark.parametrize("bad", HOSTILE)
def test_contact_form_refuses_control_characters(app, client, post_form, bad):
    _i, user = staff(app)
    login(client, post_form, user.email)
    for field in ("name", "city", "customer_number"):
        resp = post_form("/utsteder/kontakter/ny", dict(BASE, **{field: bad}))
        assert resp.status_code == 422, field
        assert "linjeskift eller andre kontrolltegn" in resp.get_data(as_text=True)
    assert _count(app, Contact) == 0


def test_search_boxes_refuse_nul(app, client, post_form):
    from portal.core.auth import hash_password
    from portal.support.models import SupportUser

    with app.app_context():
        db.session.add(SupportUser(email="s@example.no", name="S", password_hash=hash_password("passord-som-er-langt")))
        db.session.commit()
    post_form("/kundestotte/logg-inn", {"email": "s@example.no", "password": "passord-som-er-langt"})
    resp = post_form("/kundestotte/", {"q": "Kari\x00"})
    assert resp.status_code == 422 and "kontrolltegn" in resp.get_data(as_text=True)


def test_csv_cells_with_control_characters_are_row_errors(app, client, post_form):
    _i, user = staff(app)
    login(client, post_form, user.email)
    csv_text = ("kundenummer;type;navn;organisasjonsnummer;mobil;epost;adresse;postnummer;poststed;sprak;"
                "aksesspunkt;motta_edokumenter\n"
                "1;privatperson;Ok\x00En;;+4791234567;en@example.no;Vei 1;0155;Oslo;nb;B2CNO;ja\n")
    token = csrf_from(client.get("/utsteder/kontakter/import").get_data(as_text=True))
    resp = client.post("/utsteder/kontakter/import", data={
        "csrf_token": token, "file": (io.BytesIO(csv_text.encode()), "k.csv")}, content_type="multipart/form-data")
    assert resp.status_code < 500 and "kontrolltegn" in resp.get_data(as_text=True)
    assert _count(app, Contact) == 0


def test_api_strings_with_control_characters_are_refused(app, client):
    issuer = api_issuer(app)
    resp = client.post("/api/v1/contacts", json={"customer_number": "9", "kind": "person", "name": "A\x00B"},
                       headers=issuer.headers())
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "name"
    body = invoice_body(issuer.contact_id, number="X\r\n1")
    resp = client.post("/api/v1/invoices", json=body, headers=issuer.headers())
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "number"
    assert _count(app, Invoice) == 0


def test_amounts_have_sane_limits(app, client):
    issuer = api_issuer(app)
    body = invoice_body(issuer.contact_id)
    body["lines"][0]["unit_price_ore"] = 10**17
    resp = client.post("/api/v1/invoices", json=body, headers=issuer.headers())
    assert resp.status_code == 422, resp.json
    assert _count(app, Invoice) == 0


def test_invoice_form_amount_limit(app, client, post_form):
    issuer, user = staff(app)
    with app.app_context():
        from portal.issuers.models import Issuer

        contact_id = make_contact(db.session.get(Issuer, issuer.id)).id
        db.session.commit()
    login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact_id}"
    data = {"number": "77", "issue_date": "2030-01-01", "due_date": "2030-01-15", "account_number": "12345678903",
            "lines-0-description": "Mye", "lines-0-quantity": "999999", "lines-0-unit_price": "999999999999", "lines-0-vat": "25"}
    resp = post_form(url, data)
    assert resp.status_code == 422 and "for stort" in resp.get_data(as_text=True)


def test_two_invoices_racing_for_one_number(app, client, post_form, monkeypatch):
    """The second of two simultaneous invoices with the same number gets the form's message."""
    from portal.invoices import services

    issuer, user = staff(app)
    with app.app_context():
        from portal.issuers.models import Issuer

        iss = db.session.get(Issuer, issuer.id)
        contact = make_contact(iss)
        db.session.commit()
        contact_id = contact.id
    login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact_id}"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": csrf_from(page), "number": "2030-1", "issue_date": "2030-01-01", "due_date": "2030-01-15",
            "account_number": "12345678903", "total": "100"}
    # The other request got there first, after this one checked the number.
    from tests.factories import make_invoice

    with app.app_context():
        make_invoice(db.session.get(Issuer, issuer.id), db.session.get(Contact, contact_id), number="2030-1")
        db.session.commit()
    real, calls = services.number_taken, []

    def checked_before_the_other_committed(*args, **kwargs):
        calls.append(1)
        return False if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(services, "number_taken", checked_before_the_other_committed)
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    assert "allerede brukt" in resp.get_data(as_text=True)
    assert _count(app, Invoice) == 1


def test_an_email_that_cannot_be_built_fails_for_good():
    from portal.delivery.channels import Mail, PermanentError, build_message

    mail = Mail(to="kari@example.no", subject="Faktura fra Firma AS\r\nBcc: alle@example.no", text="Hei")
    with pytest.raises(PermanentError):
        build_message(mail, "key-1", "eFaktura <efaktura@example.no>")
