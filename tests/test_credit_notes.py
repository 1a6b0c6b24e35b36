"""Credit notes: an issued invoice is corrected by a credit note, never changed."""
from __future__ import annotations

import csv
import io
import re
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from portal.core import db
from portal.delivery.models import PrintJob
from portal.delivery.worker import run_once
from portal.integrations import webhooks
from portal.integrations.models import WebhookDelivery
from portal.invoices import credit_notes
from portal.invoices.models import Invoice
from portal.invoices.printing import batch_pdf
from portal.invoices.services import invoice_pdf
from portal.invoices.states import Channel, DocumentKind, InvoiceState
from portal.issuers.models import Issuer
from simulators.bankid.persons import KARI
from tests.conftest import csrf_from
from tests.factories import (
    STAFF,
    make_contact,
    make_invoice,
    make_issuer,
    make_issuer_user,
    make_support_user,
)
from tests.helpers.api import api_issuer, invoice_body
from tests.helpers.consent import approved_issuer, doc_for, logged_in, run_worker
from tests.helpers.credit import delivered_invoice
from tests.helpers.issuer import login
from tests.helpers.smtp import SmtpSink, pdf_attachments, pdf_text, text_of
from tests.helpers.support import login as support_login


def test_full_credit_takes_back_everything_and_goes_the_same_way(app_ctx):
    inv = delivered_invoice()
    assert inv.state is InvoiceState.DELIVERED and inv.total_ore == 1_060_000
    note = credit_notes.create_credit_note(db.session, inv, STAFF)
    db.session.commit()
    assert note.kind is DocumentKind.CREDIT_NOTE and note.credits_invoice_id == inv.id
    assert (note.net_ore, note.vat_ore, note.total_ore) == (-860_000, -200_000, -1_060_000)
    assert note.number == "5002"  # the next number of the issuer's one series
    assert [ln.quantity for ln in note.lines] == [Decimal(-2), Decimal(-3)]
    assert note.state is InvoiceState.SENDING and note.channel is Channel.EMAIL
    assert inv.credited_ore == 1_060_000 and inv.amount_due_ore == 0
    run_once()
    db.session.expire_all()
    assert db.session.get(Invoice, note.id).state is InvoiceState.DELIVERED
    text = pdf_text(invoice_pdf(db.session.get(Invoice, note.id)))
    assert "KREDITNOTA" in text and "Krediterer faktura nr. 5001" in text
    assert "KID" not in text and "Ingenting å betale" in text



# --- the issuer's pages -------------------------------------------------------------------

def _login_issuer(app, client, post_form, via="email"):
    with app.app_context():
        issuer = make_issuer(name="Sykkelbutikken AS")
        user = make_issuer_user(issuer)
        inv = delivered_invoice(issuer, via=via)
        ids = (issuer.id, inv.id, user.email)
    login(client, post_form, ids[2])
    return ids[0], ids[1]


def test_full_credit_from_the_invoice_page(app, client, post_form):
    """The invoice page offers «Krediter»; the credit page confirms the amount; one click credits
    all of it, and the two documents link to each other."""
    _issuer_id, invoice_id = _login_issuer(app, client, post_form)
    page = client.get(f"/utsteder/fakturaer/{invoice_id}").get_data(as_text=True)
    assert f'href="/utsteder/fakturaer/{invoice_id}/krediter"' in page and "Kan fortsatt krediteres" in page
    confirm = client.get(f"/utsteder/fakturaer/{invoice_id}/krediter").get_data(as_text=True)
    assert "Bekreft: krediter 10\u00a0600,00\u00a0kr" in confirm
    r = post_form(f"/utsteder/fakturaer/{invoice_id}/krediter", {"action": "full", "reason": ""})
    assert r.status_code == 302
    note_path = r.headers["Location"]
    note_page = client.get(note_path).get_data(as_text=True)
    assert "Kreditnota 5002" in note_page and f'href="/utsteder/fakturaer/{invoice_id}"' in note_page
    assert "-10\u00a0600,00\u00a0kr" in note_page
    page = client.get(f"/utsteder/fakturaer/{invoice_id}").get_data(as_text=True)
    assert 'id="credit-notes"' in page and note_path in page
    assert "allerede kreditert i sin helhet" in page and 'id="credit-link"' not in page
    # asking again is refused with the reason, nothing is made
    r = client.post(f"/utsteder/fakturaer/{invoice_id}/krediter",
                    data={"action": "full", "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "allerede kreditert i sin helhet" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)
                                 .where(Invoice.credits_invoice_id == invoice_id)) == 1


def test_partial_credit_of_chosen_lines_with_a_reason(app, client, post_form):
    _issuer_id, invoice_id = _login_issuer(app, client, post_form)
    path = f"/utsteder/fakturaer/{invoice_id}/krediter"
    # no reason, too many, and not a number: the messages are at the fields, nothing is saved
    r = post_form(path, {"action": "partial", "quantity-0": "3", "quantity-1": "x", "reason": ""})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="quantity-1-error"' in html and "Skriv antallet som et tall" in html
    r = post_form(path, {"action": "partial", "quantity-0": "3", "quantity-1": "", "reason": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="quantity-0-error"' in html and "Høyst 2 kan krediteres på denne linjen." in html
    assert "Skriv hvorfor fakturaen krediteres" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1
    r = post_form(path, {"action": "partial", "quantity-0": "1", "quantity-1": "", "reason": "Returnert sykkel"})
    assert r.status_code == 302
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert inv.credited_ore == 500_000 and inv.amount_due_ore == 560_000
        [note] = credit_notes.credit_notes_of(db.session, inv)
        assert note.total_ore == -500_000 and note.vat_ore == -100_000 and note.credit_reason == "Returnert sykkel"
    page = client.get(f"/utsteder/fakturaer/{invoice_id}").get_data(as_text=True)
    assert "Returnert sykkel" in page and 'id="amount-due"' in page and "5\u00a0600,00\u00a0kr" in page
    # the rest of the line is what remains to credit
    r = post_form(path, {"action": "partial", "quantity-0": "2", "reason": "Feil"})
    assert r.status_code == 422 and "Høyst 1 kan krediteres på denne linjen." in r.get_data(as_text=True)


# --- the consumer's nettbank ---------------------------------------------------------------

def test_nettbank_shows_the_credit_note_with_the_invoice_and_asks_only_for_what_is_due(ctx):
    """A partial credit reduces what the nettbank asks to be paid; a full credit ends the asking."""
    client, kari = logged_in(ctx, KARI)
    _issuer, _person, _agreement, (inv,) = approved_issuer(kari, "Vannverket AS")  # 1 562,50 kr
    inv = db.session.get(Invoice, inv.id)
    assert inv.channel is Channel.NETTBANK and inv.state is InvoiceState.DELIVERED
    note = credit_notes.create_credit_note(db.session, inv, STAFF, lines=[credit_notes.CreditLine(0, Decimal("0.2"))],
                                           reason="Rabatt")
    db.session.commit()
    run_worker()
    note = db.session.get(Invoice, note.id)
    assert note.state is InvoiceState.DELIVERED and note.channel is Channel.NETTBANK
    assert doc_for(note).consumer_id == kari.id  # beside the invoice, in the same nettbank
    html = client.get("/nettbank").get_data(as_text=True)
    assert "Kreditnota" in html and f"Kreditnota {note.number} retter faktura {inv.number}" in html
    assert "-312,50\u00a0kr" in html and "Betal 1\u00a0250,00\u00a0kr" in html
    credit_notes.create_credit_note(db.session, db.session.get(Invoice, inv.id), STAFF)
    db.session.commit()
    run_worker()
    html = client.get("/nettbank").get_data(as_text=True)
    assert "Kreditert – ingenting å betale" in html
    assert f'action="/nettbank/{doc_for(inv).id}/betal"' not in html
    # paying anyway (an old page) changes nothing
    r = client.post(f"/nettbank/{doc_for(inv).id}/betal", data={"csrf_token": csrf_from(html)}, follow_redirects=True)
    assert "ingenting å betale" in r.get_data(as_text=True)
    assert doc_for(inv).paid_at is None


# --- Sent documents, CSV and the dashboard -------------------------------------------------

def test_sent_documents_show_credit_notes_distinctly_with_a_type_filter_and_signed_csv(app, client, post_form):
    _issuer_id, invoice_id = _login_issuer(app, client, post_form)
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        credit_notes.create_credit_note(db.session, inv, STAFF, lines=[credit_notes.CreditLine(1, Decimal(1))],
                                        reason="Returnert bok")
        db.session.commit()
    html = client.get("/utsteder/sendte").get_data(as_text=True)
    assert 'class="badge badge-credit">Kreditnota</span>' in html and "for 5001" in html
    only_notes = client.get("/utsteder/sendte?type=kreditnota").get_data(as_text=True)
    assert only_notes.count('<th scope="row">') == 1 and ">5002<" in only_notes
    only_invoices = client.get("/utsteder/sendte?type=faktura").get_data(as_text=True)
    assert only_invoices.count('<th scope="row">') == 1 and ">5001<" in only_invoices
    assert "Ukjent dokumenttype" in client.get("/utsteder/sendte?type=x").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get("/utsteder/sendte.csv").get_data(as_text=True).lstrip("\ufeff")),
                           delimiter=";"))
    assert rows[0][-2:] == ["Dokumenttype", "Krediterer faktura"]
    by_number = {r[0]: r for r in rows[1:]}
    assert by_number["5002"][3] == "-200,00" and by_number["5002"][-2:] == ["Kreditnota", "5001"]
    assert by_number["5001"][3] == "10600,00" and by_number["5001"][-2:] == ["Faktura", ""]
    # the dashboard counts the invoice as one delivered invoice, and the credit note on its own
    board = client.get("/utsteder/").get_data(as_text=True)
    delivered = re.search(r'id="count-delivered"><a href="([^"]+)">(\d+)</a>', board)
    assert delivered and delivered.group(2) == "1"  # delivered in the last 30 days
    # the card's link lists those invoices: delivered, invoices only, issued within the 30 days
    listed = client.get(delivered.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "fra=" in delivered.group(1) and listed.count('<th scope="row">') == 1 and ">5001<" in listed
    assert 'id="count-credit-notes"' in board and "Kreditert til sammen 200,00\u00a0kr" in board


# --- the API --------------------------------------------------------------------------------

def _api_with_delivered_invoice(app):
    a = api_issuer(app)
    with app.app_context():
        inv = delivered_invoice(db.session.get(Issuer, a.issuer_id))
        return a, inv.id


def test_api_credit_note_full_partial_idempotent_and_refusals(app, client):
    a, invoice_id = _api_with_delivered_invoice(app)
    url = f"/api/v1/invoices/{invoice_id}/credit-notes"
    # a partial credit without a reason, and with more than the line has: problem details at the fields
    r = client.post(url, headers=a.headers(), json={"lines": [{"position": 1, "quantity": "1"}]})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert [e["field"] for e in r.get_json()["errors"]] == ["reason"]
    r = client.post(url, headers=a.headers(), json={"lines": [{"position": 1, "quantity": "5"}], "reason": "Retur"})
    assert r.status_code == 422 and r.get_json()["type"].endswith("#problem-too-much")
    assert r.get_json()["errors"][0]["field"] == "lines.0.quantity"
    r = client.post(url, headers=a.headers(), json={"lines": [{"position": 9, "quantity": "1"}], "reason": "Retur"})
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "lines.0.position"
    # partial, with an Idempotency-Key: a replay answers the same credit note, nothing new is made
    h = a.headers(**{"Idempotency-Key": "credit-1"})
    body = {"lines": [{"position": 2, "quantity": "1"}], "reason": "Returnert bok"}
    first = client.post(url, headers=h, json=body)
    assert first.status_code == 201, first.get_json()
    note = first.get_json()
    assert note["kind"] == "credit_note" and note["credits_invoice_id"] == invoice_id
    assert note["total_ore"] == -20000 and note["credit_reason"] == "Returnert bok"
    assert first.headers["Location"] == f"/api/v1/invoices/{note['id']}"
    again = client.post(url, headers=h, json=body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == note["id"]
    inv = client.get(f"/api/v1/invoices/{invoice_id}", headers=a.headers()).get_json()
    assert inv["kind"] == "invoice" and inv["credited_ore"] == 20000 and inv["amount_due_ore"] == 1_040_000
    assert any(h["action"] == "credit" and h["data"]["credit_note_id"] == note["id"] for h in inv["history"])
    # the rest, in full
    full = client.post(url, headers=a.headers(), json={})
    assert full.status_code == 201 and full.get_json()["total_ore"] == -1_040_000
    r = client.post(url, headers=a.headers(), json={})
    assert r.status_code == 409 and r.get_json()["type"].endswith("#problem-already-credited")
    # a credit note itself cannot be credited
    r = client.post(f"/api/v1/invoices/{note['id']}/credit-notes", headers=a.headers(), json={})
    assert r.status_code == 409 and r.get_json()["type"].endswith("#problem-not-creditable")
    # the listing tells the types apart
    listed = client.get("/api/v1/invoices?kind=credit_note", headers=a.headers()).get_json()["items"]
    assert {i["number"] for i in listed} == {"5002", "5003"}
    assert all(i["credits_invoice_id"] == invoice_id for i in listed)


def test_api_refuses_to_credit_an_invoice_that_has_not_reached_the_customer(app, client):
    a = api_issuer(app)
    draft = client.post("/api/v1/invoices", headers=a.headers(), json=invoice_body(a.contact_id)).get_json()
    r = client.post(f"/api/v1/invoices/{draft['id']}/credit-notes", headers=a.headers(), json={})
    assert r.status_code == 409 and r.get_json()["type"].endswith("#problem-not-creditable")
    assert "utkast" in r.get_json()["detail"].lower()


def test_credit_note_becomes_an_invoice_credited_webhook(app_ctx):
    inv = delivered_invoice()
    webhooks.add_endpoint(db.session, inv.issuer_id, "http://127.0.0.1:9/hook", ["invoice.credited"], STAFF)
    note = credit_notes.create_credit_note(db.session, inv, STAFF)
    db.session.commit()
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.event_type == "invoice.credited"
    data = delivery.payload["data"]
    assert data["invoice_id"] == note.id and data["kind"] == "credit_note" and data["credits_invoice_id"] == inv.id
    assert data["total_ore"] == -1_060_000 and data["amount_due_ore"] == 0 and data["credited_invoice_number"] == "5001"


# --- support ----------------------------------------------------------------------------------

def test_support_sees_credit_notes_in_search_and_with_the_invoice(app, client, post_form):
    with app.app_context():
        inv = delivered_invoice()
        note = credit_notes.create_credit_note(db.session, inv, STAFF, lines=[credit_notes.CreditLine(0, Decimal(1))],
                                               reason="Feil pris")
        make_support_user()
        db.session.commit()
        invoice_id, note_id = inv.id, note.id
    assert support_login(client, post_form).status_code == 302
    found = post_form("/kundestotte/", {"q": "5002"}, page="/kundestotte/").get_data(as_text=True)
    assert f"/kundestotte/fakturaer/{note_id}" in found and 'class="badge badge-credit">Kreditnota<' in found
    html = client.get(f"/kundestotte/fakturaer/{invoice_id}").get_data(as_text=True)
    assert 'id="credit-notes"' in html and f"/kundestotte/fakturaer/{note_id}" in html and "Kreditnota 5002" in html
    assert "Kreditert med kreditnota" in html  # in the invoice's history
    html = client.get(f"/kundestotte/fakturaer/{note_id}").get_data(as_text=True)
    assert "Kreditnota 5002" in html and f"/kundestotte/fakturaer/{invoice_id}" in html and "Feil pris" in html


# --- never more than the invoice: the database guards it -------------------------------------

def test_the_database_refuses_a_credited_amount_above_the_total(app_ctx):
    inv = delivered_invoice()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Invoice).where(Invoice.id == inv.id).values(credited_ore=inv.total_ore + 1))
    db.session.rollback()


def test_a_stale_copy_of_the_invoice_cannot_credit_it_again(app):
    """Two requests read the invoice before either credited it: the second one's version check fails."""
    with app.app_context():
        invoice_id = delivered_invoice().id
    with app.app_context():
        first = db.session.get(Invoice, invoice_id)
        other = sessionmaker(bind=db.get_engine())()
        try:
            stale = other.get(Invoice, invoice_id)
            assert stale.version == first.version
            credit_notes.create_credit_note(db.session, first, STAFF)
            db.session.commit()
            stale.credited_ore += 1  # as a second credit note computed from the old row would
            with pytest.raises(StaleDataError):
                other.flush()
        finally:
            other.rollback()
            other.close()


def test_two_credit_notes_at_once_never_over_credit(postgres_only, app):
    """PostgreSQL: two full credits of one invoice at the same moment; one wins, the other waits for
    the row lock, then sees the invoice fully credited and is refused."""
    with app.app_context():
        invoice_id = delivered_invoice().id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def credit():
        with app.app_context():
            inv = db.session.get(Invoice, invoice_id)
            barrier.wait()
            try:
                credit_notes.create_credit_note(db.session, inv, STAFF)
                time.sleep(0.2)  # hold the lock a moment, so the other one really waits
                db.session.commit()
                outcomes.append("made")
            except credit_notes.NotCreditable as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            except (StaleDataError, IntegrityError):
                db.session.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=credit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["fully_credited", "made"]
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        assert inv.credited_ore == inv.total_ore
        assert db.session.scalar(select(func.sum(Invoice.total_ore)).where(Invoice.credits_invoice_id == invoice_id)) \
            == -inv.total_ore


# --- delivery: e-mail with the PDF, and post --------------------------------------------------

@pytest.fixture
def smtp_server():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    app = make_app(**smtp_server.settings())
    with app.app_context():
        yield app


def test_credit_note_email_arrives_with_a_pdf_that_says_kreditnota(smtp_app, smtp_server):
    inv = delivered_invoice()
    assert len(smtp_server.messages) == 1  # the invoice
    note = credit_notes.create_credit_note(db.session, inv, STAFF, lines=[credit_notes.CreditLine(0, Decimal(1))],
                                           reason="Returnert sykkel")
    db.session.commit()
    assert run_once().done == 1
    msg = smtp_server.messages[-1]
    assert msg["Subject"] == "Kreditnota 5002 fra Sykkelbutikken AS (krediterer faktura 5001)"
    text = text_of(msg)
    assert "Her er en kreditnota" in text and "Returnert sykkel" in text and "5\u00a0000,00\u00a0kr" in text
    assert "Du skal ikke betale noe for en kreditnota" in text and "Igjen å betale på faktura 5001" in text
    assert "KID" not in text
    [(name, data)] = pdf_attachments(msg)
    assert name == "kreditnota-5002.pdf"
    pdf = pdf_text(data)
    assert "KREDITNOTA" in pdf and "Krediterer faktura nr. 5001 av" in pdf and "Årsak: Returnert sykkel" in pdf
    assert "MVA 25 % av -4 000,00 kr" in pdf and "-1 000,00 kr" in pdf and "Ingenting å betale" in pdf
    assert "KID" not in pdf and "Beløp å betale" not in pdf
    db.session.expire_all()
    assert db.session.get(Invoice, note.id).state is InvoiceState.DELIVERED


def test_credit_note_goes_by_post_when_the_invoice_did(app_ctx):
    inv = delivered_invoice(via="post")
    assert inv.channel is Channel.POST
    note = credit_notes.create_credit_note(db.session, inv, STAFF)
    db.session.commit()
    run_once()
    db.session.expire_all()
    note = db.session.get(Invoice, note.id)
    assert (note.state, note.channel) == (InvoiceState.DELIVERED, Channel.POST)
    job = db.session.scalars(select(PrintJob).where(PrintJob.invoice_id == note.id)).one()
    batch = pdf_text(batch_pdf(db.session, note.issuer_id, job.batch_date))
    assert "Vedlagt: faktura 5001" in batch and "Vedlagt: kreditnota 5002" in batch and "KREDITNOTA" in batch


def test_credit_note_pdf_in_english(app_ctx):
    inv = delivered_invoice(language="en")
    note = credit_notes.create_credit_note(db.session, inv, STAFF)
    db.session.commit()
    pdf = pdf_text(invoice_pdf(note))
    assert "CREDIT NOTE" in pdf and "Credits invoice no. 5001 of" in pdf and "Nothing to pay" in pdf


def test_held_sending_and_failed_invoices_explain_why_they_cannot_be_credited(app_ctx):
    issuer = make_issuer(name="Sykkelbutikken AS")
    held = make_invoice(issuer, make_contact(issuer))  # an eligible contact: held while asked
    db.session.commit()
    assert held.state is InvoiceState.HELD
    refused = credit_notes.refusal(held)
    assert refused.code == "not_delivered" and "levert" in str(refused.message)
    with pytest.raises(credit_notes.NotCreditable):
        credit_notes.create_credit_note(db.session, held, STAFF)
    draft = make_invoice(issuer, make_contact(issuer), issue=False)
    assert credit_notes.refusal(draft).code == "draft"


# --- an amount per VAT rate (a price reduction) ---------------------------------------------

def test_amount_per_vat_rate_from_the_credit_page_then_the_rest_exactly(app, client, post_form):
    """A price reduction of 1 250 kr at 25 % (1 000 kr + 250 kr VAT), checked against what is left
    at that rate; later a full credit takes exactly the rest, per rate."""
    _issuer_id, invoice_id = _login_issuer(app, client, post_form)
    path = f"/utsteder/fakturaer/{invoice_id}/krediter"
    page = client.get(path).get_data(as_text=True)
    assert 'id="amount-25"' in page and 'id="amount-0"' in page
    r = post_form(path, {"action": "partial", "amount-25": "20 000", "reason": "Prisavslag"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="amount-25-error"' in html and "Høyst 10\u00a0000,00\u00a0kr kan krediteres med 25 % mva." in html
    client.get(path + "?lang=en")  # an English reader gets the amount written the English way
    r = post_form(path, {"action": "partial", "amount-25": "20 000", "reason": "Prisavslag"})
    assert "At most NOK\u00a010,000.00 can be credited at 25 % VAT." in r.get_data(as_text=True)
    client.get(path + "?lang=nb")
    r = post_form(path, {"action": "partial", "amount-25": "1 250", "reason": "Prisavslag"})
    assert r.status_code == 302
    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        [note] = credit_notes.credit_notes_of(db.session, inv)
        assert (note.net_ore, note.vat_ore, note.total_ore) == (-100_000, -25_000, -125_000)
        assert [(ln.description, ln.vat_rate_percent, ln.credits_line_id) for ln in note.lines] == \
            [("Prisavslag", 25, None)]
        assert credit_notes.remaining_by_rate(db.session, inv)[25].total_ore == 875_000
        pdf = pdf_text(invoice_pdf(note))
        assert "Prisavslag" in pdf and "MVA 25 % av -1 000,00 kr" in pdf
        rest = credit_notes.create_credit_note(db.session, inv, STAFF)
        db.session.commit()
        assert rest.total_ore == -935_000 and inv.credited_ore == inv.total_ore
        assert sorted((ln.vat_rate_percent, ln.line_net_ore, ln.line_vat_ore) for ln in rest.lines) == \
            [(0, -60_000, 0), (25, -700_000, -175_000)]


def test_lines_and_amounts_together_never_take_more_than_is_left_at_a_rate(app_ctx):
    inv = delivered_invoice()  # 25 %: 10 000 kr incl. VAT; 0 %: 600 kr
    with pytest.raises(credit_notes.CreditInputError) as refused:
        credit_notes.create_credit_note(db.session, inv, STAFF, lines=[credit_notes.CreditLine(0, Decimal(2))],
                                        amounts={25: 100}, reason="Dobbelt")
    assert refused.value.code == "too_much"
    with pytest.raises(credit_notes.CreditInputError) as refused:
        credit_notes.create_credit_note(db.session, inv, STAFF, amounts={15: 100}, reason="Feil sats")
    assert "amounts.15" in refused.value.errors
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Invoice)) == 1


def test_api_credits_an_amount_per_vat_rate(app, client):
    a, invoice_id = _api_with_delivered_invoice(app)
    url = f"/api/v1/invoices/{invoice_id}/credit-notes"
    r = client.post(url, headers=a.headers(), json={"amounts": [{"vat_rate_percent": 0, "amount_ore": 70_000}],
                                                    "reason": "Rabatt"})
    assert r.status_code == 422 and r.get_json()["type"].endswith("#problem-too-much")
    assert r.get_json()["errors"][0]["field"] == "amounts.0.amount_ore"
    r = client.post(url, headers=a.headers(), json={"amounts": [{"vat_rate_percent": 0, "amount_ore": 10_000}],
                                                    "reason": "Rabatt"})
    assert r.status_code == 201 and r.get_json()["total_ore"] == -10_000
