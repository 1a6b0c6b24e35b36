"""Nynorsk, the third language: what a private person reads (consent pages, the nettbank, the
portal's BankID pages, error pages, SMS, e-mails and PDFs) is complete in nynorsk, chosen by the
reader and remembered; staff pages stay in bokmål and say so.

The texts nynorsk must translate are found mechanically: a babel extraction over the files
listed in babel-consumer.cfg (tests/helpers/catalogues.py).
"""
from __future__ import annotations

import datetime as dt
import html
import io
import re
from glob import glob

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.agreements import services as agreements
from portal.agreements.models import ConsentReceipt
from portal.contacts import services as contacts
from portal.core import db
from portal.core.formatting import format_date, format_money
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery.printing import PartyInfo, render_address_sheet
from portal.delivery.worker import run_once
from portal.invoices import services as invoices
from simulators.bankid.persons import KARI
from tests.conftest import csrf_from
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers import catalogues
from tests.helpers.consent import held_invoice, link_path, login
from tests.helpers.smtp import SmtpSink, pdf_attachments, pdf_text, text_of

COOKIE = "portal_lang"


@pytest.fixture(scope="session")
def nn_catalogue():
    """The nynorsk catalogue, compiled to the .mo the app reads (as `make translations` does)."""
    assert catalogues.po_path("nn").exists(), "portal/translations/nn/LC_MESSAGES/messages.po is missing"
    return catalogues.compile_catalogue("nn")


@pytest.fixture(scope="session")
def consumer_texts(tmp_path_factory):
    """Every msgid in the consumer-facing files (babel-consumer.cfg)."""
    extracted = catalogues.extract(catalogues.CONSUMER_TEXTS, tmp_path_factory.mktemp("consumer-pot"))
    return {catalogues.key(m.id) for m in extracted if m.id}


def _lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]*)">', page)
    assert match, "the page has no <html lang>"
    return match.group(1)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- (a) the catalogue is complete for what a consumer reads ---------------------------------

def test_every_consumer_text_has_its_nynorsk(nn_catalogue, consumer_texts):
    """Every text in the consumer-facing files is translated, none fuzzy, placeholders kept."""
    assert len(consumer_texts) > 300, "the consumer extraction found almost nothing; is babel-consumer.cfg right?"
    found = catalogues.problems(nn_catalogue, consumer_texts)
    assert not found, ("the nynorsk catalogue is incomplete; run `make messages` and translate:\n"
                       + catalogues.report(found))


def test_nynorsk_catalogue_is_current_with_the_source(nn_catalogue, tmp_path):
    """Like the English one, the nynorsk catalogue holds every text of the source (`make messages`)."""
    source = catalogues.extract(catalogues.ALL_TEXTS, tmp_path)
    known = {catalogues.key(m.id) for m in nn_catalogue if m.id}
    missing = [m.id for m in source if m.id and catalogues.key(m.id) not in known]
    assert not missing, "not in the nynorsk catalogue; run `make messages`:\n" + "\n".join(map(repr, missing))


def test_the_checker_finds_an_emptied_a_fuzzy_and_a_broken_entry(nn_catalogue, consumer_texts):
    """The completeness check can fail: a copy with one text emptied, one marked fuzzy, one with a
    wrong placeholder and one left out is reported on each count."""
    broken = catalogues.read_catalogue(catalogues.po_path("nn"), "nn")
    sms = "%(issuer)s vil sende deg eFaktura i nettbanken. Svar med BankID: %(url)s Svarer du ikke, kommer fakturaen som før."
    broken[sms].string = ""
    broken["Nei takk"].flags.add("fuzzy")
    broken["Lenken gjelder til %(date)s."].string = "Lenka gjeld til %(dato)s."
    broken.delete("Mine avtaler")
    found = catalogues.problems(broken, consumer_texts)
    assert found["empty"] == [sms]
    assert found["fuzzy"] == ["Nei takk"]
    assert found["missing"] == ["Mine avtaler"]
    assert len(found["placeholders"]) == 1 and "%(dato)s" in found["placeholders"][0]


def test_every_consumer_file_pattern_matches_a_file():
    """A renamed template or module cannot silently drop out of the nynorsk check."""
    patterns = catalogues.mapping_patterns(catalogues.CONSUMER_TEXTS)
    assert len(patterns) > 10
    empty = [p for p in patterns if not glob(str(catalogues.ROOT / p), recursive=True)]
    assert not empty, "babel-consumer.cfg names files that do not exist: " + ", ".join(empty)


BOKMAL_ONLY = re.compile(r"\b(ikke|jeg|hva|hvordan|hvis|hvem|hvor|hver|fra|bare|noe|noen|være|ble|mens|"
                         r"ennå|allerede|kommer|gjør|tidligere|senere|selv)\b", re.IGNORECASE)


def test_nynorsk_texts_use_no_bokmal_forms(nn_catalogue):
    """Common bokmål-only words (ikke, jeg, hva, fra, bare, …) never appear in a nynorsk text."""
    mixed = [text for m in nn_catalogue if m.id for text in catalogues.forms(m.string)
             if text and BOKMAL_ONLY.search(text)]
    assert not mixed, "bokmål forms in nynorsk:\n" + "\n".join(mixed)


# --- (b) chosen by the reader, remembered -----------------------------------------------------

def test_consent_link_in_nynorsk_is_remembered_on_the_next_page(nn_catalogue, ctx):
    """?lang=nn on the consent link: nynorsk text and <html lang="nn">; the next page without
    ?lang= is nynorsk too, and the switch offers bokmål and English, each in its own language."""
    held_invoice()
    client = ctx.test_client()
    path = link_path()
    response = client.get(path + "?lang=nn")
    page = _text(response)
    assert response.status_code == 200 and _lang(page) == "nn"
    assert "Ja, eg vil ha eFaktura" in page and "Ja, jeg vil ha eFaktura" not in page
    assert '<a href="?lang=nb" lang="nb" hreflang="nb">Norsk (bokmål)</a>' in page
    assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page
    assert "?lang=nn" not in page  # the current language is not offered again

    later = _text(client.get(path))
    assert _lang(later) == "nn" and "Ja, eg vil ha eFaktura" in later
    missing = _text(client.get("/finst-ikkje"))
    assert _lang(missing) == "nn" and "Sida finst ikkje" in missing


def test_bokmal_page_offers_nynorsk_and_english(ctx):
    """A consumer page in bokmål offers both other languages, labelled in their own language."""
    held_invoice()
    page = _text(ctx.test_client().get(link_path()))
    assert _lang(page) == "nb"
    assert '<a href="?lang=nn" lang="nn" hreflang="nn">Norsk (nynorsk)</a>' in page
    assert '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page


def test_the_choice_is_kept_in_a_preference_cookie_for_the_next_visit(nn_catalogue, ctx):
    """The choice is stored in a long-lived cookie (HttpOnly, SameSite=Lax) holding only the
    language; a new browser session with that cookie opens in nynorsk."""
    held_invoice()
    path = link_path()
    response = ctx.test_client().get(path + "?lang=nn")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}=")]
    assert cookie.startswith(f"{COOKIE}=nn;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie

    fresh = ctx.test_client()
    fresh.set_cookie(COOKIE, "nn")
    page = _text(fresh.get(path))
    assert _lang(page) == "nn" and "Ja, eg vil ha eFaktura" in page
    # Switching back is remembered the same way.
    back = ctx.test_client()
    back.set_cookie(COOKIE, "nn")
    response = back.get(path + "?lang=nb")
    assert _lang(_text(response)) == "nb"
    assert any(c.startswith(f"{COOKIE}=nb;") for c in response.headers.getlist("Set-Cookie"))


def test_unknown_language_is_ignored_calmly(nn_catalogue, ctx):
    """?lang=xx (or a forged cookie) changes nothing: the page answers as before, no cookie is set."""
    held_invoice()
    path = link_path()
    client = ctx.test_client()
    response = client.get(path + "?lang=xx")
    assert response.status_code == 200 and _lang(_text(response)) == "nb"
    assert not any(c.startswith(f"{COOKIE}=") for c in response.headers.getlist("Set-Cookie"))
    client.get(path + "?lang=nn")
    response = client.get(path + "?lang=%3Cscript%3E")
    assert response.status_code == 200 and _lang(_text(response)) == "nn"
    forged = ctx.test_client()
    forged.set_cookie(COOKIE, "<b>xx</b>")
    assert _lang(_text(forged.get(path))) == "nb"


def test_staff_pages_stay_bokmal_when_nynorsk_is_chosen(nn_catalogue, client):
    """With nynorsk chosen, an issuer or support page is bokmål with lang="nb" (never a page
    that claims nynorsk), and its switch offers English only; English still works there."""
    client.get("/?lang=nn")
    for url in ("/utsteder/logg-inn", "/kundestotte/logg-inn"):
        page = _text(client.get(url))
        assert _lang(page) == "nb", url
        assert "?lang=nn" not in page and '<a href="?lang=en" lang="en" hreflang="en">English</a>' in page
        assert "ikkje" not in page
    assert _lang(_text(client.get("/utsteder/logg-inn?lang=en"))) == "en"
    # Back on a consumer page the remembered choice is English now.
    assert _lang(_text(client.get("/"))) == "en"


def test_api_stays_bokmal_and_english(nn_catalogue, client):
    """The API negotiates nb and en only: a client asking for nynorsk gets bokmål problems."""
    response = client.get("/api/v1/contacts/1", headers={"Accept-Language": "nn"})
    assert response.status_code == 401
    assert response.headers["Content-Language"] == "nb"


# --- (c) the consumer's answer is recorded in the language it was shown in --------------------

def _answer(client, path: str, decision: str):
    page = client.get(path + "/svar")
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    body = page.get_data(as_text=True)
    digest = body.split('name="digest" value="')[1].split('"')[0]
    return client.post(path + "/svar", data={"csrf_token": csrf_from(body), "digest": digest,
                                             "decision": decision})


def test_approval_in_nynorsk_keeps_a_nynorsk_receipt(nn_catalogue, ctx):
    """A person who reads the consent page in nynorsk approves after BankID: the confirm page and
    the receipt are nynorsk, and the receipt records the nynorsk text that was shown."""
    held_invoice(name="Vestkraft AS")
    client = ctx.test_client()
    path = link_path()
    client.get(path + "?lang=nn")
    response = login(client, KARI.national_id, next=path + "/svar?choice=approve")
    confirm = _text(client.get(response.headers["Location"]))
    assert _lang(confirm) == "nn" and "Dette godtek du" in confirm
    done = _answer(client, path, "approve")
    assert done.status_code == 302
    receipt_page = _text(client.get(done.headers["Location"]))
    assert _lang(receipt_page) == "nn" and "kjem no i nettbanken din" in receipt_page
    db.session.expire_all()
    receipt = db.session.scalars(select(ConsentReceipt)).one()
    assert receipt.language == "nn"
    assert "Eg godtek at Vestkraft AS sender fakturaene sine" in receipt.shown_text


# --- (d) messages to a contact whose language is nynorsk -------------------------------------

@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_app(make_app, smtp_sink):
    app = make_app(**smtp_sink.settings())
    with app.app_context():
        yield app


def test_consent_sms_and_email_in_nynorsk(nn_catalogue, smtp_app, smtp_sink):
    """A contact registered with language nn is asked for consent by SMS and e-mail in nynorsk."""
    issuer = make_issuer(name="Fjordkraft Test AS")
    contact = make_contact(issuer, language="nn", email="synnove@example.no")
    make_invoice(issuer, contact)
    db.session.commit()

    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS)).one()
    text = sms.payload["text"]
    assert text.startswith("Fjordkraft Test AS vil sende deg eFaktura i nettbanken. Svar med BankID: "), text
    assert text.endswith("Svarar du ikkje, kjem fakturaen som før."), text
    assert len(text) <= agreements.SMS_LIMIT

    run_once()
    [mail] = smtp_sink.messages
    assert mail["To"] == "synnove@example.no"
    body = text_of(mail)
    assert "Fjordkraft Test AS ønskjer å sende fakturaene sine til deg som eFaktura" in body
    assert "Lenka gjeld til" in body and "ikke" not in body
    assert '<html lang="nn">' in mail.get_body(preferencelist=("html",)).get_content()


def test_invoice_email_and_pdf_in_nynorsk(nn_catalogue, smtp_app, smtp_sink):
    """The invoice e-mail to an nn contact is nynorsk, and so are the labels of the PDF it carries."""
    issuer = make_issuer(name="Fjordkraft Test AS")
    contact = make_contact(issuer, access_point=None, language="nn")
    inv = make_invoice(issuer, contact, amount_ore=49900)
    db.session.commit()
    assert run_once().done == 1
    [mail] = smtp_sink.messages
    body = text_of(mail)
    assert "Her er ein faktura frå Fjordkraft Test AS" in body and "Hugs å bruke KID-nummeret" in body
    assert f"Faktura {inv.number} frå Fjordkraft Test AS" in mail["Subject"]
    [(_name, data)] = pdf_attachments(mail)
    text = pdf_text(data)
    for label in ("Skildring", "Antal", "Einingspris", "Oppgi KID når du betaler."):
        assert label in text, label
    assert "Beskrivelse" not in text and "623,75" in text  # amounts as in bokmål


def test_paper_follows_the_contacts_language(nn_catalogue, app_ctx):
    """The invoice PDF and the address sheet of a posted letter are in the contact's language,
    and say so in the document (/Lang nn-NO); an unknown language falls back to bokmål."""
    issuer = make_issuer()
    contact = make_contact(issuer, language="nn")
    assert invoices.print_language(contact) == "nn"
    inv = make_invoice(issuer, contact, issue=False)
    assert _pdf_lang(invoices.invoice_pdf(inv)) == "nn-NO"
    party = PartyInfo("Synnøve Li", ["Vegen 1", "5003 Bergen"])
    assert _pdf_lang(render_address_sheet(party, party, "2025-1", "nn")) == "nn-NO"
    contact.language = "xx"
    assert invoices.print_language(contact) == "nb"


def _pdf_lang(data: bytes) -> str:
    return str(PdfReader(io.BytesIO(data)).trailer["/Root"].get("/Lang"))


def test_nynorsk_writes_numbers_and_dates_as_bokmal():
    """Money and dates look the same in nynorsk as in bokmål (1 234,50 kr; 05.03.2026)."""
    assert format_money(123450, "nn") == format_money(123450, "nb")
    assert format_date(dt.date(2026, 3, 5), "nn") == "05.03.2026"


# --- (e) issuers choose nynorsk for a contact -----------------------------------------------

def test_contact_language_accepts_nynorsk_everywhere(app_ctx):
    """The one rule behind the form, the CSV import and the API takes nb, nn and en; anything
    else is refused with a message naming all three."""
    base = {"customer_number": "1", "kind": "privatperson", "name": "Synnøve Li"}
    clean, errors = contacts.validate_contact(dict(base, language="nn"))
    assert "language" not in errors and clean["language"] == "nn"
    _clean, errors = contacts.validate_contact(dict(base, language="sv"))
    assert "nynorsk (nn)" in errors["language"]


def test_csv_and_api_take_language_nn(app, client):
    """A CSV row with sprak=nn and an API contact with "language": "nn" are saved as nynorsk."""
    from tests.helpers.api import api_issuer

    a = api_issuer(app)
    made = client.post("/api/v1/contacts", headers=a.headers(), json={
        "customer_number": "30001", "kind": "person", "name": "Synnøve Li", "mobile": "+4791234567",
        "email": "synnove@example.no", "access_point": "B2CNO", "receive_edocuments": True, "language": "nn"})
    assert made.status_code == 201, made.json
    assert made.json["language"] == "nn"
    csv_text = ("kundenummer;type;navn;mobil;sprak\n"
                "30002;privatperson;Synnøve Li;+4791234568;nn\n")
    with app.app_context():
        result = contacts.parse_csv(db.session, a.issuer_id, csv_text.encode())
        [row] = result.rows
        assert row.ok and row.clean["language"] == "nn", row
