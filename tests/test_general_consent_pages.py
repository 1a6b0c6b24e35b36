"""eFaktura 2.0 where people see it: the nettbank settings, the issuer's contact page and consumer
register, Sent documents, support's consumer page and timeline, and the demo data."""
from __future__ import annotations

import itertools

from sqlalchemy import select

from portal.agreements import general
from portal.agreements.general_models import GeneralConsentReceipt
from portal.agreements.models import Consumer
from portal.core import db
from portal.core.events import Event
from portal.issuers.models import Issuer
from simulators.bankid.persons import KARI
from tests.conftest import csrf_from
from tests.factories import make_contact, make_invoice, make_issuer, make_support_user
from tests.helpers.consent import (
    logged_in,
    run_worker,
)
from tests.helpers.issuer import login as issuer_login
from tests.helpers.issuer import staff as issuer_staff
from tests.helpers.support import login as support_login

BANK = general.Login(acr="urn:bankid:bid;LOA=4", language="nb")
_subs = itertools.count(1)


def person(name="Åse Øvrebø", *, mobile=None, email=None, consent=True) -> Consumer:
    consumer = Consumer(sub=f"page-sub-{next(_subs)}", name=name)
    db.session.add(consumer)
    db.session.flush()
    if mobile:
        general.add_address(db.session, consumer, "mobile", mobile, BANK)
    if email:
        general.add_address(db.session, consumer, "email", email, BANK)
    if consent:
        general.set_general_consent(db.session, consumer, True, BANK)
    return consumer


# --- the nettbank -------------------------------------------------------------------------

def test_nettbank_general_consent_on_and_off(ctx):
    """The consumer turns "yes to all" on and off; each answer shows a receipt number."""
    client, kari = logged_in(ctx, KARI, next="/nettbank/efaktura")
    page = client.get("/nettbank/efaktura").get_data(as_text=True)
    assert "Ja til eFaktura fra alle" in page and "Av" in page
    done = client.post("/nettbank/efaktura/samtykke", data={"csrf_token": csrf_from(page), "answer": "on"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Du har sagt ja til eFaktura fra alle bedrifter. Kvittering nr." in done
    assert "Trekk tilbake ja til alle" in done
    off = client.post("/nettbank/efaktura/samtykke", data={"csrf_token": csrf_from(done), "answer": "off"},
                      follow_redirects=True).get_data(as_text=True)
    assert "Du har trukket tilbake ja til eFaktura fra alle" in off
    db.session.expire_all()
    decisions = [r.decision for r in db.session.scalars(select(GeneralConsentReceipt).order_by(GeneralConsentReceipt.id))]
    assert decisions == ["consent_on", "consent_off"]


def test_nettbank_changes_need_csrf_and_bankid(ctx):
    """Without the form's token nothing changes; without BankID the page asks for a log-in."""
    assert ctx.test_client().get("/nettbank/efaktura").status_code == 302
    client, kari = logged_in(ctx, KARI)
    assert client.post("/nettbank/efaktura/samtykke", data={"answer": "on"}).status_code == 400
    assert not general.has_general_consent(db.session, kari.id)


def test_nettbank_profile_refuses_bad_mobile_and_keeps_good_one(ctx):
    """A mobile with spaces is refused with the expected form shown; +47 and eight digits is kept, and can be removed."""
    client, kari = logged_in(ctx, KARI)
    page = client.get("/nettbank/efaktura").get_data(as_text=True)
    bad = client.post("/nettbank/efaktura/profil", data={"csrf_token": csrf_from(page), "kind": "mobile",
                                                         "value": "912 34 567"})
    assert bad.status_code == 422
    assert "+4791234567" in bad.get_data(as_text=True) and "Noe må rettes" in bad.get_data(as_text=True)
    good = client.post("/nettbank/efaktura/profil", data={"csrf_token": csrf_from(page), "kind": "mobile",
                                                          "value": "+4791234567"}, follow_redirects=True)
    assert "+47 912 34 567" in good.get_data(as_text=True)
    db.session.expire_all()
    (address,) = general.addresses_of(db.session, kari.id)
    gone = client.post(f"/nettbank/efaktura/profil/{address.id}/fjern", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Fjernet fra profilen din" in gone and "+47 912 34 567" not in gone


def test_nettbank_lists_senders_and_blocks_one(ctx):
    """Issuers that sent eFaktura are listed; blocking one says so and its next invoice goes by e-mail."""
    client, kari = logged_in(ctx, KARI)
    general.add_address(db.session, kari, "mobile", "+4791234567", BANK)
    general.set_general_consent(db.session, kari, True, BANK)
    issuer = make_issuer(name="Vannverket AS")
    contact = make_contact(issuer, name="Kari Nordmann", mobile="+4791234567", email="kari@example.no")
    make_invoice(issuer, contact)
    db.session.commit()
    run_worker()
    page = client.get("/nettbank/efaktura").get_data(as_text=True)
    assert "Vannverket AS" in page and "1 eFaktura" in page
    done = client.post(f"/nettbank/efaktura/bedrift/{issuer.id}/sperr", data={"csrf_token": csrf_from(page)},
                       follow_redirects=True).get_data(as_text=True)
    assert "Du får ikke lenger eFaktura fra Vannverket AS" in done and "Sperret" in done
    db.session.expire_all()
    issuer = db.session.get(Issuer, issuer.id)
    nxt = make_invoice(issuer, db.session.get(type(contact), contact.id))
    assert nxt.channel.value == "email"


# --- the issuer's pages -------------------------------------------------------------------

def _issuer_world(app):
    issuer, user = issuer_staff(app, name="Fjordlys Energi AS")
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        reached = make_contact(iss, name="Jonas Berg", mobile="+4794567890", email="jonas@example.no")
        blocked = make_contact(iss, name="Ola Nordmann", mobile="+4741234567", email="ola@example.no")
        asked = make_contact(iss, name="Kari Nordmann", mobile="+4791234567", email="kari@example.no")
        person("Jonas Berg", mobile="+4794567890")
        ola = person("Ola Nordmann", mobile="+4741234567")
        general.block(db.session, ola, iss, BANK)
        inv = make_invoice(iss, reached)
        db.session.commit()
        return user, reached.id, blocked.id, asked.id, inv.number


def test_issuer_contact_page_explains_route_and_check_now(app, client, post_form):
    """The contact page says in words how the customer is reached; "check now" records a look-up."""
    user, reached_id, blocked_id, asked_id, _ = _issuer_world(app)
    issuer_login(client, post_form, user.email)
    page = client.get(f"/utsteder/kontakter/{reached_id}").get_data(as_text=True)
    assert "generelt samtykke i nettbanken" in page and "funnet ved navn og mobilnummer" in page
    assert "neste faktura går rett til nettbanken uten SMS" in page
    blocked = client.get(f"/utsteder/kontakter/{blocked_id}").get_data(as_text=True)
    assert "Kunden mottar ikke eFaktura fra dere" in blocked and "sperr" not in blocked.lower()
    asked = client.get(f"/utsteder/kontakter/{asked_id}").get_data(as_text=True)
    assert "Vi fant ikke noe generelt samtykke" in asked
    checked = post_form(f"/utsteder/kontakter/{blocked_id}/sjekk", {}, page=f"/utsteder/kontakter/{blocked_id}",
                        follow_redirects=True).get_data(as_text=True)
    assert "Sjekket nå: ingen eFaktura. Kunden mottar ikke eFaktura fra dere" in checked
    with app.app_context():
        ev = db.session.scalars(select(Event).where(Event.action == "reachability_check")).one()
        assert ev.contact_id == blocked_id and ev.data["reason"] == "not_receiving"


def test_issuer_consumer_register_shows_route_per_customer(app, client, post_form):
    """The consumer register shows each customer's route and reason, with a check-now button."""
    user, *_ = _issuer_world(app)
    issuer_login(client, post_form, user.email)
    page = client.get("/utsteder/forbrukere").get_data(as_text=True)
    assert "Hvordan kunden nås" in page
    assert page.count(">Sjekk nå<") == 3
    assert "funnet ved navn og mobilnummer" in page and "Kunden mottar ikke eFaktura fra dere" in page


def test_sent_documents_show_the_route(app, client, post_form):
    """Sent documents and the invoice page say which route the eFaktura took."""
    user, _reached, _blocked, _asked, number = _issuer_world(app)
    issuer_login(client, post_form, user.email)
    sent = client.get("/utsteder/sendte").get_data(as_text=True)
    assert "Vei" in sent and "generelt samtykke i nettbanken" in sent
    with app.app_context():
        from portal.invoices.models import Invoice
        inv_id = db.session.scalar(select(Invoice.id).where(Invoice.number == number))
    shown = client.get(f"/utsteder/fakturaer/{inv_id}").get_data(as_text=True)
    assert "generelt samtykke i nettbanken" in shown and "funnet ved navn og mobilnummer" in shown


# --- support ------------------------------------------------------------------------------

def test_support_sees_general_consent_blocks_and_lookups(client, db_session, post_form):
    """Support's consumer page shows the general consent, the blocks, the profile and the look-ups in the timeline."""
    make_support_user()
    issuer = make_issuer(name="Fjordlys Energi AS")
    other = make_issuer(name="Vannverket AS")
    ola = person("Ola Nordmann", mobile="+4741234567")
    general.block(db_session, ola, issuer, BANK)
    make_invoice(issuer, make_contact(issuer, name="Ola Nordmann", mobile="+4741234567"))
    contact = make_contact(other, name="Ola Nordmann", mobile="+4741234567")
    make_invoice(other, contact)
    db_session.commit()
    assert support_login(client, post_form).status_code == 302
    html = client.get(f"/kundestotte/forbrukere/{ola.id}").get_data(as_text=True)
    assert "På, siden" in html and "Fjordlys Energi AS" in html and "+47 ••• •• 567" in html
    assert "Sa ja til eFaktura fra alle i nettbanken" in html
    assert "Sperret eFaktura fra en bedrift – Fjordlys Energi AS" in html
    assert "Personen har sperret eFaktura fra denne bedriften i nettbanken" in html
    assert "funnet ved navn og mobilnummer" in html and "Tidslinje" in html
    contact_page = client.get(f"/kundestotte/kontakter/{contact.id}").get_data(as_text=True)
    assert "Mottakeroppslag nå" in contact_page and "generelt samtykke i nettbanken" in contact_page


# --- demo ---------------------------------------------------------------------------------

def test_demo_shows_the_three_cases(db_session):
    """Demo: Jonas (yes to all) is reached without SMS, Ola (blocked) gets e-mail at once, Kari is asked."""
    from portal.core.outbox import OutboxKind, OutboxMessage
    from portal.demo import load_demo
    from portal.invoices.models import Invoice

    assert load_demo() is True
    by_number = {inv.number: inv for inv in db_session.scalars(select(Invoice))}
    assert by_number["2026-0004"].route == "general_consent" and by_number["2026-0004"].channel.value == "nettbank"
    assert by_number["2026-0005"].route == "not_receiving" and by_number["2026-0005"].channel.value == "email"
    assert by_number["2026-0001"].state.value == "held"
    sms_to = {m.payload["to"] for m in db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.SMS))}
    assert sms_to == {"+4791234567", "+4792345678"}  # Kari and Åse; not Jonas, not Ola
