"""Contacts (flow C): the form's rules, the contact page, search, CSV import with preview, consumer register."""
from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import func, select

from portal.contacts.models import Contact
from portal.core import db
from portal.core.events import Event
from portal.issuers.models import Issuer
from tests.factories import make_contact
from tests.helpers.issuer import CONTACT_FORM as BASE
from tests.helpers.issuer import login, query, staff


def n_contacts(app):
    return query(app, lambda s: s.scalar(select(func.count()).select_from(Contact)))


def test_mobile_without_prefix_refused_with_suggestion(app, client, post_form):
    """`91234567` is refused with the expected form and the suggestion +4791234567; nothing saved."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    for typed in ("91234567", "912 34 567"):
        resp = post_form("/utsteder/kontakter/ny", dict(BASE, mobile=typed))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 422
        assert "+47 og åtte sifre" in page and "Mente du +4791234567?" in page
    assert n_contacts(app) == 0


def test_b2cno_on_company_refused(app, client, post_form):
    """B2CNO on a company fails with a message about the missing organisation number; nothing saved."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    resp = post_form("/utsteder/kontakter/ny", dict(BASE, kind="company", org_number="923609016"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "mangler organisasjonsnummer" in page and "bare velges for en privatperson" in page
    bad_org = post_form("/utsteder/kontakter/ny", dict(BASE, kind="company", org_number="123", access_point="EHF"))
    assert "ni sifre" in bad_org.get_data(as_text=True)
    assert n_contacts(app) == 0


def test_create_edit_and_show_contact(app, client, post_form):
    """A valid contact is saved with an event; its page shows eFaktura state; editing saves; duplicates refused."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    resp = post_form("/utsteder/kontakter/ny", BASE)
    assert resp.status_code == 302
    cid = query(app, lambda s: s.scalar(select(Contact.id)))
    page = client.get(f"/utsteder/kontakter/{cid}").get_data(as_text=True)
    assert "Per Persen" in page and "Ingen avtale" in page and "Kontakten kan få eFaktura" in page
    assert f"/utsteder/fakturaer/ny?contact={cid}" in page
    resp = post_form(f"/utsteder/kontakter/{cid}/endre", dict(BASE, receive_edocuments=""))
    assert resp.status_code == 302
    page = client.get(f"/utsteder/kontakter/{cid}").get_data(as_text=True)
    assert "«Motta eDokumenter» er slått av" in page
    actions = query(app, lambda s: list(s.scalars(select(Event.action).where(Event.subject_type == "contact"))))
    assert actions == ["create", "update"]
    dup = post_form("/utsteder/kontakter/ny", dict(BASE, name="Annen"))
    assert dup.status_code == 422 and "allerede brukt" in dup.get_data(as_text=True)


def test_search_and_pagination(app, client, post_form):
    """Search finds by name, number, e-mail and mobile; the list pages by name."""
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        for i in range(30):
            make_contact(iss, name=f"Navn {i:02d}", mobile=None, email=f"k{i}@example.no")
        make_contact(iss, name="Mobil Mann", mobile="+4798765432", email="mobil@example.no")
        db.session.commit()
    login(client, post_form, user.email)
    first = client.get("/utsteder/kontakter/").get_data(as_text=True)
    assert "Navn 00" in first and "Navn 29" not in first and "Neste side" in first
    assert "Mobil Mann" in client.get("/utsteder/kontakter/?q=987%2065%20432").get_data(as_text=True)
    assert "Navn 07" in client.get("/utsteder/kontakter/?q=k7@example.no").get_data(as_text=True)
    assert client.get("/utsteder/kontakter/?etter=rubbish").status_code == 200
    link = re.search(r'href="([^"]*etter=[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "Navn" not in link and "%20" not in link  # the cursor carries no name
    second = client.get(link).get_data(as_text=True)
    assert "Navn 29" in second and "Navn 00" not in second


CSV = ("\ufeffkundenummer;type;navn;organisasjonsnummer;mobil;epost;adresse;postnummer;poststed;sprak;"
       "aksesspunkt;motta_edokumenter\n"
       "1;privatperson;Ok En;;+4791234567;en@example.no;Vei 1;0155;Oslo;nb;B2CNO;ja\n"
       "2;privatperson;Feil Mobil;;912 34 567;;;;;nb;B2CNO;ja\n"
       "3;bedrift;Firma AS;923609016;;post@firma.no;;;;nb;B2CNO;nei\n"
       "1;privatperson;Dobbel;;;;;;;nb;;nei\n"
       "4;privatperson;Ok To;;;to@example.no;;;;en;;nei\n"
       "EXIST;privatperson;Finnes;;;;;;;nb;;nei\n")


def test_csv_preview_saves_nothing_then_imports_valid_rows(app, client, post_form):
    """The preview lists row errors and saves nothing; importing saves only the valid rows."""
    issuer, user = staff(app)
    with app.app_context():
        c = make_contact(db.session.get(Issuer, issuer.id), name="Finnes")
        c.customer_number = "EXIST"
        db.session.commit()
    login(client, post_form, user.email)
    from tests.conftest import csrf_from

    token = csrf_from(client.get("/utsteder/kontakter/import").get_data(as_text=True))
    resp = client.post("/utsteder/kontakter/import", data={
        "csrf_token": token, "file": (io.BytesIO(CSV.encode("utf-8")), "kontakter.csv")},
        content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "2 rader kan importeres. 4 rader har feil." in page
    assert "Mente du +4791234567?" in page
    assert "mangler organisasjonsnummer" in page
    assert "står også på linje 2" in page
    assert "allerede brukt" in page
    assert n_contacts(app) == 1
    payload = page.split('name="payload" type="hidden" value="')[1].split('"')[0]
    tampered = client.post("/utsteder/kontakter/import/lagre", data={"csrf_token": csrf_from(page),
                                                                    "payload": payload[:-2] + "xx"})
    assert tampered.status_code == 302 and n_contacts(app) == 1
    done = client.post("/utsteder/kontakter/import/lagre", data={"csrf_token": csrf_from(page), "payload": payload})
    assert done.status_code == 302
    names = query(app, lambda s: sorted(s.scalars(select(Contact.name))))
    assert names == ["Finnes", "Ok En", "Ok To"]


def test_csv_bad_files(app, client, post_form):
    """A non-UTF-8 file or a wrong header gives a clear message and nothing is saved."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    from tests.conftest import csrf_from

    for body, msg in ((CSV.encode("utf-16"), "ikke UTF-8"), (b"a,b,c\n1,2,3\n", "Overskriftsraden stemmer ikke")):
        token = csrf_from(client.get("/utsteder/kontakter/import").get_data(as_text=True))
        resp = client.post("/utsteder/kontakter/import", data={"csrf_token": token, "file": (io.BytesIO(body), "x.csv")},
                           content_type="multipart/form-data")
        assert resp.status_code == 422 and msg in resp.get_data(as_text=True)
    assert client.get("/utsteder/kontakter/eksempel.csv").get_data(as_text=True).startswith("kundenummer;type")
    assert n_contacts(app) == 0


def test_consumer_register(app, client, post_form):
    """The register shows each contact's agreement state, filters by state, and explains blockers."""
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        from portal.agreements import services as agreements
        from portal.core.events import SYSTEM

        agreements.import_third_party(db.session, make_contact(iss, name="Aktiv Anne"), SYSTEM)
        make_contact(iss, name="Uten Mobil", mobile=None)
        db.session.commit()
    login(client, post_form, user.email)
    page = client.get("/utsteder/forbrukere").get_data(as_text=True)
    assert "Aktiv Anne" in page and "Uten Mobil" in page and "mangler et gyldig mobilnummer" in page
    active = client.get("/utsteder/forbrukere?tilstand=active").get_data(as_text=True)
    assert "Aktiv Anne" in active and "Uten Mobil" not in active
    none = client.get("/utsteder/forbrukere?tilstand=none").get_data(as_text=True)
    assert "Uten Mobil" in none and "Aktiv Anne" not in none
    bad = client.get("/utsteder/forbrukere?tilstand=zzz")
    assert bad.status_code == 200 and "ble ignorert" in bad.get_data(as_text=True)


def test_contact_page_shows_the_consumers_answer(app, client, post_form):
    """After the consumer approves, the issuer sees the receipt: when, the answer, the channel, the text version."""
    from portal.agreements import services as agreements
    from portal.agreements.models import Consumer
    from tests.factories import make_invoice

    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        contact = make_contact(iss, name="Svar Svendsen")
        make_invoice(iss, contact)
        consumer = Consumer(sub="sub-svar", name="Svar Svendsen", birth_date=dt.date(1980, 1, 1))
        db.session.add(consumer)
        db.session.flush()
        agreements.approve(db.session, agreements.agreement_for(db.session, contact), consumer, channel="sms",
                           acr="urn:bankid:bid;LOA=4", shown_text="tekst", language="nb")
        db.session.commit()
        contact_id = contact.id
    login(client, post_form, user.email)
    page = client.get(f"/utsteder/kontakter/{contact_id}").get_data(as_text=True)
    receipts = page[page.index('id="receipts"'):]
    assert "Godkjent" in receipts and "SMS" in receipts and agreements.CONSENT_TEXT_VERSION in receipts
    assert "sub-svar" not in page  # the BankID identifier is not the issuer's business


def test_birth_date_is_checked_saved_and_shown(app, client, post_form):
    """A birth date must be a real date not in the future; a valid one is saved and shown on the contact page."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).strftime("%d.%m.%Y")
    for typed, message in (("31.02.1985", "dd.mm.åååå"), ("mai 1985", "dd.mm.åååå"),
                           (tomorrow, "kan ikke være fram i tid")):
        resp = post_form("/utsteder/kontakter/ny", dict(BASE, birth_date=typed))
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), typed
    assert n_contacts(app) == 0
    assert post_form("/utsteder/kontakter/ny", dict(BASE, birth_date="15.05.1985")).status_code == 302
    cid = query(app, lambda s: s.scalar(select(Contact.id)))
    assert query(app, lambda s: s.get(Contact, cid).birth_date) == dt.date(1985, 5, 15)
    page = client.get(f"/utsteder/kontakter/{cid}").get_data(as_text=True)
    assert "Fødselsdato" in page and "15.05.1985" in page
    assert 'value="15.05.1985"' in client.get(f"/utsteder/kontakter/{cid}/endre").get_data(as_text=True)


def test_csv_birth_date_column_is_optional(app, client, post_form):
    """A CSV may carry a fodselsdato (or birth_date) column; a wrong date is a row error, a good one is saved."""
    _i, user = staff(app)
    login(client, post_form, user.email)
    from tests.conftest import csrf_from

    body = ("kundenummer;type;navn;birth_date\n"
            "1;privatperson;Kari Nordmann;15.05.1985\n"
            "2;privatperson;Ola Nordmann;1952-11-03\n"
            "3;privatperson;Feil Dato;32.01.1990\n"
            "4;privatperson;Uten Dato;\n")
    token = csrf_from(client.get("/utsteder/kontakter/import").get_data(as_text=True))
    resp = client.post("/utsteder/kontakter/import", data={
        "csrf_token": token, "file": (io.BytesIO(body.encode("utf-8")), "kontakter.csv")},
        content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "3 rader kan importeres" in page
    assert "dd.mm.åååå" in page
    payload = page.split('name="payload" type="hidden" value="')[1].split('"')[0]
    client.post("/utsteder/kontakter/import/lagre", data={"csrf_token": csrf_from(page), "payload": payload})
    born = query(app, lambda s: dict(s.execute(select(Contact.name, Contact.birth_date)).all()))
    assert born == {"Kari Nordmann": dt.date(1985, 5, 15), "Ola Nordmann": dt.date(1952, 11, 3),
                    "Uten Dato": None}
    example = client.get("/utsteder/kontakter/eksempel.csv").get_data(as_text=True)
    assert example.splitlines()[0].endswith(";fodselsdato")
