"""Only the right person can accept eFaktura (flow I): the BankID identity must be the contact
(name, and birth date where registered) and an adult; anyone else changes nothing, and the
issuer and support see that someone else answered."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from portal.agreements import services as agreements
from portal.agreements.models import ConsentReceipt
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.core import db
from portal.core.auth import hash_password
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.delivery.models import NettbankDocument
from portal.invoices.states import InvoiceState
from portal.support.models import SupportUser
from simulators.bankid.persons import KARI, NORA, OLA
from tests.conftest import csrf_from
from tests.factories import PASSWORD, make_contact, make_invoice, make_issuer, make_issuer_user
from tests.helpers.consent import (
    approved_issuer,
    link_path,
    logged_in,
    login,
    run_worker,
)

ISSUER = "Strømselskapet AS"
MISMATCH = "Denne invitasjonen var ment for en annen"
OTHER_ANSWERED = "Besvart av en annen person"


def held_invoice(contact_name: str, **contact):
    """An issuer and a held invoice to one contact: the consent SMS and e-mail are in the outbox."""
    issuer = make_issuer(name=ISSUER)
    person = make_contact(issuer, name=contact_name, **contact)
    inv = make_invoice(issuer, person)
    db.session.commit()
    return issuer, person, inv


def open_confirm(ctx, person, path: str):
    """Log in with BankID as the test person from the consent link, and open the choice."""
    client = ctx.test_client()
    login(client, person.national_id, next=path + "/svar?choice=approve")
    return client, client.get(path + "/svar?choice=approve")


def approve(client, path: str, page_html: str):
    digest = page_html.split('name="digest" value="')[1].split('"')[0]
    return client.post(path + "/svar", data={"csrf_token": csrf_from(page_html), "digest": digest,
                                             "decision": "approve"})


def nothing_changed(contact: Contact, inv) -> None:
    """No agreement made or bound, no receipt, the invoice still held."""
    db.session.expire_all()
    agreement = agreements.agreement_for(db.session, contact)
    assert agreement.state is AgreementState.REQUESTED and agreement.consumer_id is None
    assert db.session.get(Contact, contact.id).consumer_id is None
    assert db.session.get(type(inv), inv.id).state is InvoiceState.HELD
    assert db.session.scalar(select(func.count()).select_from(ConsentReceipt)) == 0
    assert db.session.scalar(select(func.count()).select_from(NettbankDocument)) == 0


def staff_client(ctx, issuer):
    """The issuer's staff, logged in."""
    user = make_issuer_user(issuer)
    db.session.commit()
    client = ctx.test_client()
    page = client.get("/utsteder/logg-inn").get_data(as_text=True)
    response = client.post("/utsteder/logg-inn", data={"csrf_token": csrf_from(page), "email": user.email,
                                                       "password": PASSWORD})
    assert response.status_code == 302
    return client


def support_client(ctx):
    """A support user, logged in."""
    db.session.add(SupportUser(email="stotte@example.no", name="Siri Støtte", password_hash=hash_password(PASSWORD)))
    db.session.commit()
    client = ctx.test_client()
    page = client.get("/kundestotte/logg-inn").get_data(as_text=True)
    response = client.post("/kundestotte/logg-inn", data={"csrf_token": csrf_from(page),
                                                         "email": "stotte@example.no", "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_the_contact_themselves_approves(ctx):
    """The person the contact names logs in with BankID, approves, and gets the invoice in nettbank."""
    _issuer, contact, inv = held_invoice(KARI.name, birth_date=KARI.birthdate)
    path = link_path()
    client, page = open_confirm(ctx, KARI, path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Dette godtar du" in html
    done = approve(client, path, html)
    assert done.status_code == 302
    db.session.expire_all()
    assert agreements.agreement_for(db.session, contact).state is AgreementState.ACTIVE
    run_worker()
    assert inv.number in client.get("/nettbank").get_data(as_text=True)


def test_someone_else_sees_the_mismatch_page_and_nothing_changes(ctx):
    """Another person gets "meant for someone else" instead of the choice; nothing is saved, even when posting."""
    _issuer, contact, inv = held_invoice("Åse Øvrebø")
    path = link_path()
    client, page = open_confirm(ctx, KARI, path)
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert MISMATCH in html and "Ingenting er lagret." in html and ISSUER in html
    assert "spørre bedriften" in html
    assert 'name="decision"' not in html and "Åse Øvrebø" not in html  # the contact is not revealed
    landing = client.get(path).get_data(as_text=True)  # a real form token from a page of the flow
    posted = client.post(path + "/svar", data={"csrf_token": csrf_from(landing), "digest": "x" * 32,
                                               "decision": "approve"})
    assert posted.status_code == 403 and MISMATCH in posted.get_data(as_text=True)
    nothing_changed(contact, inv)
    assert client.get(path).status_code == 200  # the link still works for the right person


def test_issuer_and_support_see_that_someone_else_answered(ctx):
    """After someone else tried, the issuer's contact page and support's timeline say so in words."""
    issuer, contact, _inv = held_invoice("Åse Øvrebø")
    path = link_path()
    open_confirm(ctx, KARI, path)
    open_confirm(ctx, KARI, path)  # a reload is noted once
    db.session.expire_all()
    [event] = db.session.scalars(select(Event).where(Event.action == "answered_by_other")).all()
    kari_id = db.session.scalar(select(func.max(Event.actor_id)).where(Event.action == "answered_by_other"))
    assert event.contact_id == contact.id and event.data == {"consumer_id": kari_id, "channel": "sms"}
    assert KARI.national_id not in str(event.data) and not event.actor_label

    page = staff_client(ctx, issuer).get(f"/utsteder/kontakter/{contact.id}").get_data(as_text=True)
    assert OTHER_ANSWERED in page and "ingenting ble endret" in page

    timeline = support_client(ctx).get(f"/kundestotte/kontakter/{contact.id}").get_data(as_text=True)
    assert "Besvart av en annen person – ingenting ble endret" in timeline


def test_wrong_birth_date_is_someone_else(ctx):
    """A contact with a registered birth date is not answered by a namesake born on another day."""
    _issuer, contact, inv = held_invoice(KARI.name, birth_date=dt.date(1985, 5, 16))
    _client, page = open_confirm(ctx, KARI, link_path())
    assert page.status_code == 403 and MISMATCH in page.get_data(as_text=True)
    nothing_changed(contact, inv)


def test_under_18_is_refused_kindly(ctx):
    """A 16-year-old, even the contact, is told an adult must accept; nothing is saved."""
    _issuer, contact, inv = held_invoice(NORA.name)
    _client, page = open_confirm(ctx, NORA, link_path())
    html = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "Du må være 18 år for å godta eFaktura" in html and "En voksen må gjøre det." in html
    assert 'name="decision"' not in html
    nothing_changed(contact, inv)
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.action == "answered_by_other")) == 0


def test_a_child_opening_a_parents_link_is_noted_as_someone_else(ctx):
    """A child answering a parent's link sees the under-18 page, and the issuer sees someone else answered."""
    _issuer, contact, inv = held_invoice(KARI.name)
    _client, page = open_confirm(ctx, NORA, link_path())
    assert page.status_code == 403 and "Du må være 18 år" in page.get_data(as_text=True)
    nothing_changed(contact, inv)
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.action == "answered_by_other")) == 1


def test_a_left_out_middle_name_still_matches(ctx):
    """A contact registered as "Kari Marie Nordmann" is approved by BankID's "Kari Nordmann"."""
    _issuer, contact, _inv = held_invoice("Kari Marie Nordmann")
    path = link_path()
    client, page = open_confirm(ctx, KARI, path)
    assert page.status_code == 200
    assert approve(client, path, page.get_data(as_text=True)).status_code == 302
    db.session.expire_all()
    assert agreements.agreement_for(db.session, contact).state is AgreementState.ACTIVE


def test_another_person_sees_none_of_ola_s_invoices_or_agreements(ctx):
    """Kari's nettbank and My agreements show nothing of Ola's approved agreement and delivered invoice."""
    _c, ola = logged_in(ctx, OLA)
    _issuer, _contact, olas_agreement, (olas_invoice,) = approved_issuer(ola, "Vannverket AS")
    ola_page = _c.get("/nettbank").get_data(as_text=True)
    assert olas_invoice.number in ola_page  # it is there, for Ola
    client, _kari = logged_in(ctx, KARI)
    assert olas_invoice.number not in client.get("/nettbank").get_data(as_text=True)
    mine = client.get("/min-side/avtaler").get_data(as_text=True)
    assert "Vannverket AS" not in mine
    assert client.get(f"/min-side/avtaler/{olas_agreement.id}/godta").status_code == 404


def test_a_contact_that_is_not_you_cannot_be_approved_in_my_agreements(ctx):
    """An open question to a contact bound to Kari but named someone else has no approve button and is refused."""
    client, kari = logged_in(ctx, KARI, next="/min-side/avtaler")
    issuer = make_issuer(name="Avisa AS")
    contact = make_contact(issuer, name="Ola Nordmann")
    inv = make_invoice(issuer, contact)
    contact.consumer_id = kari.id  # bound in the past, before names were checked
    db.session.commit()
    agreement = agreements.agreement_for(db.session, contact)
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    assert f"/min-side/avtaler/{agreement.id}/godta" not in html
    page = client.get(f"/min-side/avtaler/{agreement.id}/godta")
    assert page.status_code == 403 and MISMATCH in page.get_data(as_text=True)
    db.session.expire_all()
    assert agreements.agreement_for(db.session, contact).state is AgreementState.REQUESTED
    assert db.session.get(type(inv), inv.id).state is InvoiceState.HELD


def test_consent_page_and_email_name_the_issuer_with_its_organisation_number(ctx):
    """The consent page and the e-mail show who is asking: the issuer's name and organisation number."""
    issuer, _contact, _inv = held_invoice(KARI.name)
    spaced = f"{issuer.org_number[:3]} {issuer.org_number[3:6]} {issuer.org_number[6:]}"
    html = ctx.test_client().get(link_path()).get_data(as_text=True)
    assert f"Avsender: {ISSUER}, organisasjonsnummer {spaced}." in html
    email = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.EMAIL)).one()
    assert spaced in email.payload["text"] and spaced in email.payload["html"]
    assert ISSUER in email.payload["subject"] or ISSUER in email.payload["text"]
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS)).one()
    assert ISSUER in sms.payload["text"]
