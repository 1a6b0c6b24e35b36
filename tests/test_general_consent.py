"""eFaktura 2.0 beside the per-issuer consent (flow J): the recipient look-up, the route each
invoice takes, and what the consumer's changes in the bank do to invoices on their way."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import event, select

from portal.agreements import general, reachability
from portal.agreements import services as agreements
from portal.agreements.general_models import GeneralConsentReceipt
from portal.agreements.models import Consumer
from portal.agreements.reachability import Route
from portal.core import db
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.delivery.models import MailboxMessage, NettbankDocument, PrintJob
from portal.invoices import services as invoices
from portal.invoices.states import Channel, InvoiceState
from tests.factories import STAFF, make_contact, make_invoice, make_issuer

BANK = general.Login(acr="urn:bankid:bid;LOA=4", language="nb")
_subs = itertools.count(1)


def person(name: str = "Åse Øvrebø", *, mobile: str | None = None, email: str | None = None,
           consent: bool = True, born: dt.date | None = dt.date(1980, 1, 1)) -> Consumer:
    """A BankID-verified consumer with the given profile and general consent."""
    consumer = Consumer(sub=f"test-sub-{next(_subs)}", name=name, birth_date=born)
    db.session.add(consumer)
    db.session.flush()
    if mobile:
        general.add_address(db.session, consumer, "mobile", mobile, BANK)
    if email:
        general.add_address(db.session, consumer, "email", email, BANK)
    if consent:
        general.set_general_consent(db.session, consumer, True, BANK)
    return consumer


def consent_requests(contact_id: int) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.contact_id == contact_id, OutboxMessage.kind.in_((OutboxKind.SMS, OutboxKind.EMAIL)))))


def invoice_events(inv, action: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.invoice_id == inv.id, Event.action == action)))


def run_worker():
    from portal.delivery.worker import run_once

    db.session.commit()
    db.session.expire_all()
    run_once()
    db.session.expire_all()


# --- the look-up, route by route ----------------------------------------------------------

def test_agreement_route_keeps_working(db_session):
    """With an active per-issuer agreement the next invoice goes to that person's nettbank, route "agreement"."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    first = make_invoice(issuer, contact)
    kari = person(consent=False)
    agreements.approve(db_session, agreements.agreement_for(db_session, contact), kari, channel="sms",
                       acr=BANK.acr, shown_text="Ja.", language="nb")
    found = reachability.lookup(db_session, contact)
    assert (found.route, found.reason, found.consumer_id) == (Route.AGREEMENT, "agreement", kari.id)
    second = make_invoice(issuer, contact)
    assert second.channel is Channel.NETTBANK and second.route == "agreement" and second.consumer_id == kari.id
    assert invoice_events(second, "issue")[0].data["route"] == "agreement"
    assert first.route == "agreement"  # released to the nettbank on the approval


def test_general_consent_found_by_name_and_mobile_no_sms(db_session):
    """A person who said yes to all, found by name and mobile, gets the first invoice in the nettbank and no SMS."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567")
    contact = make_contact(issuer, mobile="+4791234567", email="ase@example.no")
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.SENDING and inv.channel is Channel.NETTBANK
    assert inv.route == "general_consent" and inv.consumer_id == ase.id
    assert consent_requests(contact.id) == []
    issued = invoice_events(inv, "issue")[0]
    assert issued.data == {"route": "general_consent", "match": "name_mobile", "channel": "nettbank"}
    run_worker()
    doc = db_session.scalar(select(NettbankDocument).where(NettbankDocument.invoice_id == inv.id))
    assert doc is not None and doc.consumer_id == ase.id
    assert db_session.scalar(select(MailboxMessage.id)) is None  # no SMS, no e-mail at all


def test_general_consent_found_by_name_and_email(db_session):
    """Found by name and e-mail address (the contact's mobile is unknown to the bank)."""
    issuer = make_issuer()
    ase = person(email="Ase@Example.no")
    contact = make_contact(issuer, mobile="+4799999999", email="ase@example.no")
    found = reachability.lookup(db_session, contact)
    assert (found.route, found.reason, found.consumer_id) == (Route.GENERAL_CONSENT, "name_email", ase.id)
    inv = make_invoice(issuer, contact)
    assert inv.channel is Channel.NETTBANK and consent_requests(contact.id) == []


def test_general_consent_found_by_verified_identity(db_session):
    """A contact bound to a person by an earlier BankID answer is found by that identity, not by name."""
    issuer, other_issuer = make_issuer(), make_issuer()
    ase = person()  # nothing in the profile
    earlier = make_contact(other_issuer)
    make_invoice(other_issuer, earlier)
    agreements.decline(db_session, agreements.agreement_for(db_session, earlier), ase, channel="sms",
                       acr=BANK.acr, shown_text="Nei.", language="nb")
    contact = make_contact(issuer, name="Åse Marie Øvrebø")
    contact.consumer_id = ase.id
    found = reachability.lookup(db_session, contact)
    assert (found.route, found.reason, found.consumer_id) == (Route.GENERAL_CONSENT, "verified_identity", ase.id)


def test_name_must_match_the_profile(db_session):
    """The mobile alone is not enough: another name is no match, and the per-issuer request is sent as before."""
    issuer = make_issuer()
    person(name="Ola Nordmann", mobile="+4791234567")
    contact = make_contact(issuer, name="Åse Øvrebø", mobile="+4791234567")
    assert reachability.lookup(db_session, contact).reason == "no_match"
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.HELD and inv.route == "consent_request"
    assert {m.kind for m in consent_requests(contact.id)} == {OutboxKind.SMS, OutboxKind.EMAIL}


def test_ambiguous_match_is_never_guessed(db_session):
    """Two people with the contact's name share its mobile and e-mail: no guess, the consumer is asked instead."""
    issuer = make_issuer()
    first = person(mobile="+4791234567")
    second = person(email="ase@example.no", born=dt.date(1955, 3, 3))
    contact = make_contact(issuer, mobile="+4791234567", email="ase@example.no")
    found = reachability.lookup(db_session, contact)
    assert found.route is Route.NONE and found.reason == "ambiguous" and found.consumer_id is None
    assert set(found.candidates) == {first.id, second.id}
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.HELD and inv.consumer_id is None
    assert invoice_events(inv, "hold")[0].data["lookup"] == "ambiguous"
    looked = db_session.scalars(select(Event).where(Event.subject_type == "consumer", Event.action == "lookup")).all()
    assert {e.subject_id for e in looked} == {first.id, second.id}
    assert {e.data["reason"] for e in looked} == {"ambiguous"}


def test_birth_date_where_known_separates_namesakes(db_session):
    """Where the contact carries a birth date, a namesake born on another day does not match."""
    issuer = make_issuer()
    person(mobile="+4791234567", born=dt.date(1955, 3, 3))
    contact = make_contact(issuer, mobile="+4791234567")
    contact.birth_date = dt.date(1980, 1, 1)
    assert reachability.lookup(db_session, contact).reason == "no_match"
    contact.birth_date = dt.date(1955, 3, 3)
    assert reachability.lookup(db_session, contact).route.value == "general_consent"


def test_blocked_issuer_sends_no_request_and_uses_email(db_session):
    """A blocked issuer's invoice goes by e-mail at once; no SMS or e-mail asks for consent."""
    issuer = make_issuer(name="Fjordlys Energi AS")
    ase = person(mobile="+4791234567")
    general.block(db_session, ase, issuer, BANK)
    contact = make_contact(issuer, mobile="+4791234567", email="ase@example.no")
    found = reachability.lookup(db_session, contact)
    assert (found.reason, found.issuer_reason) == ("blocked", "not_receiving")
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.SENDING and inv.channel is Channel.EMAIL and inv.route == "not_receiving"
    assert consent_requests(contact.id) == []
    assert agreements.agreement_for(db_session, contact) is None
    assert invoice_events(inv, "issue")[0].data["route"] == "not_receiving"


def test_blocked_without_general_consent_still_stops_requests(db_session):
    """A block works on its own: even without "yes to all" the person is not asked; post without e-mail."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567", consent=False)
    general.block(db_session, ase, issuer, BANK)
    contact = make_contact(issuer, mobile="+4791234567", email=None)
    inv = make_invoice(issuer, contact)
    assert inv.channel is Channel.POST and consent_requests(contact.id) == []


def test_block_beats_agreement(db_session):
    """A person who blocks an issuer they once approved gets its next invoice by e-mail."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    ase = person(consent=False)
    agreements.approve(db_session, agreements.agreement_for(db_session, contact), ase, channel="sms",
                       acr=BANK.acr, shown_text="Ja.", language="nb")
    general.block(db_session, ase, issuer, BANK)
    assert make_invoice(issuer, contact).channel is Channel.EMAIL


def test_declined_issuer_is_not_overruled_by_general_consent(db_session):
    """A specific no to one issuer stands even after a general yes."""
    issuer = make_issuer()
    contact = make_contact(issuer, mobile="+4791234567")
    make_invoice(issuer, contact)
    ase = person(mobile="+4791234567", consent=False)
    agreements.decline(db_session, agreements.agreement_for(db_session, contact), ase, channel="sms",
                       acr=BANK.acr, shown_text="Nei.", language="nb")
    general.set_general_consent(db_session, ase, True, BANK)
    assert reachability.lookup(db_session, contact).reason == "declined"
    assert make_invoice(issuer, contact).channel is Channel.EMAIL


def test_company_contact_is_not_eligible(db_session):
    """A contact that cannot have eFaktura is not looked up at all."""
    from portal.contacts.models import ContactKind

    issuer = make_issuer()
    person(name="Berg Bygg AS", email="post@berg.no")
    contact = make_contact(issuer, name="Berg Bygg AS", kind=ContactKind.COMPANY, access_point=None,
                           email="post@berg.no", org_number="923609016")
    assert reachability.lookup(db_session, contact).reason == "not_eligible"


# --- changes in the bank and the invoices they touch ----------------------------------------

def test_withdrawn_while_invoice_on_its_way_goes_by_email(db_session):
    """Withdrawing "yes to all" before the worker delivers: the eFaktura is e-mailed instead, never both."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567")
    contact = make_contact(issuer, mobile="+4791234567", email="ase@example.no")
    inv = make_invoice(issuer, contact)
    general.set_general_consent(db_session, ase, False, BANK)
    assert inv.channel is Channel.EMAIL and inv.consumer_id is None
    reroute = invoice_events(inv, "reroute")[0]
    assert reroute.data["reason"] == "general_consent_withdrawn"
    run_worker()
    inv = db_session.get(type(inv), inv.id)
    assert inv.state is InvoiceState.DELIVERED and inv.channel is Channel.EMAIL
    assert db_session.scalar(select(NettbankDocument.id).where(NettbankDocument.invoice_id == inv.id)) is None
    nettbank_rows = db_session.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == inv.id,
                                                                   OutboxMessage.kind == OutboxKind.NETTBANK)).all()
    assert [r.status for r in nettbank_rows] == [OutboxStatus.CANCELLED]
    assert reachability.lookup(db_session, contact).reason == "consent_off"


def test_withdrawn_while_invoice_held_follows_the_fallback(db_session):
    """An invoice held for a per-issuer answer stays held after a withdrawal and falls back to post at the deadline."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567", consent=False)
    contact = make_contact(issuer, mobile="+4791234567", email=None)
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.HELD
    general.set_general_consent(db_session, ase, True, BANK)  # released to the nettbank at once
    assert inv.state is InvoiceState.SENDING and inv.channel is Channel.NETTBANK and inv.consumer_id == ase.id
    assert invoice_events(inv, "release")[0].data["reason"] == "general_consent_given"
    held = make_invoice(issuer, make_contact(issuer, name="Kari Nordmann", mobile="+4790000000", email=None))
    general.set_general_consent(db_session, ase, False, BANK)
    assert inv.channel is Channel.POST  # the one on its way by general consent
    assert held.state is InvoiceState.HELD  # someone else's, still waiting for their answer
    assert invoices.deadline_passed(db_session, held.id) and held.channel is Channel.POST


def test_deadline_releases_to_nettbank_when_general_consent_came_meanwhile(db_session):
    """At the three-day deadline the look-up is asked again: a person now reachable gets the held invoice in the nettbank."""
    issuer = make_issuer()
    contact = make_contact(issuer, mobile="+4791234567")
    inv = make_invoice(issuer, contact)
    ase = Consumer(sub="late", name="Åse Øvrebø")
    db_session.add(ase)
    db_session.flush()
    general.set_general_consent(db_session, ase, True, BANK)
    db_session.add(general.ConsumerAddress(consumer_id=ase.id, kind="mobile", value="+4791234567"))
    db_session.flush()  # the profile grew without a signal: only the deadline sees it
    assert inv.state is InvoiceState.HELD
    assert invoices.deadline_passed(db_session, inv.id)
    assert inv.channel is Channel.NETTBANK and inv.route == "general_consent" and inv.consumer_id == ase.id


def test_blocking_releases_held_invoice_by_email(db_session):
    """Blocking an issuer that is waiting for an answer sends its held invoice by e-mail now."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567", consent=False)
    contact = make_contact(issuer, mobile="+4791234567", email="ase@example.no")
    inv = make_invoice(issuer, contact)
    assert inv.state is InvoiceState.HELD
    general.block(db_session, ase, issuer, BANK)
    assert inv.state is InvoiceState.SENDING and inv.channel is Channel.EMAIL
    assert invoice_events(inv, "release")[0].data["reason"] == "issuer_blocked"


def test_worker_checks_again_at_delivery(db_session):
    """A consent withdrawn behind routing's back is seen at delivery: the invoice goes by post, not to the nettbank."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567")
    contact = make_contact(issuer, mobile="+4791234567", email=None)
    inv = make_invoice(issuer, contact)
    general.consent_of(db_session, ase.id).active = False  # no signal
    run_worker()  # nettbank row: reroutes
    run_worker()  # post row
    inv = db_session.get(type(inv), inv.id)
    assert inv.state is InvoiceState.DELIVERED and inv.channel is Channel.POST
    assert db_session.scalar(select(PrintJob.id).where(PrintJob.invoice_id == inv.id)) is not None


# --- receipts and events ------------------------------------------------------------------

def test_every_change_leaves_event_and_receipt(db_session):
    """Consent on and off, block and unblock, adding and removing a mobile and an e-mail: each one event and one receipt."""
    issuer = make_issuer(name="Fjordlys Energi AS")
    ase = person(consent=False)
    general.set_general_consent(db_session, ase, True, BANK)
    assert general.set_general_consent(db_session, ase, True, BANK) is None  # same answer: nothing new
    general.block(db_session, ase, issuer, BANK)
    general.unblock(db_session, ase, issuer, BANK)
    general.add_address(db_session, ase, "mobile", "+4791234567", BANK)
    general.add_address(db_session, ase, "email", "ase@example.no", BANK)
    for address in general.addresses_of(db_session, ase.id):
        general.remove_address(db_session, ase, address.id, BANK)
    general.set_general_consent(db_session, ase, False, BANK)
    receipts = db_session.scalars(select(GeneralConsentReceipt).order_by(GeneralConsentReceipt.id)).all()
    assert [r.decision for r in receipts] == ["consent_on", "block", "unblock", "add_mobile", "add_email",
                                              "remove_email", "remove_mobile", "consent_off"]
    assert all(r.bankid_acr == BANK.acr and r.bankid_sub == ase.sub and r.shown_text for r in receipts)
    assert "Fjordlys Energi AS" in receipts[1].shown_text
    assert "+4791234567" not in receipts[3].shown_text and "567" in receipts[3].detail  # masked
    actions = [e.action for e in db_session.scalars(select(Event).where(Event.subject_type == "consumer")
                                                    .order_by(Event.id))]
    assert actions == ["general_consent_given", "issuer_blocked", "issuer_unblocked", "profile_mobile_added",
                       "profile_email_added", "profile_email_removed", "profile_mobile_removed",
                       "general_consent_withdrawn"]


@pytest.mark.parametrize("raw,problem", [("912 34 567", "+4791234567"), ("+4721234567", "mobil"),
                                         ("abc", "")])
def test_profile_mobile_must_be_plus47_and_eight_digits(db_session, raw, problem):
    """A mobile in another form is refused with a message that shows the expected form; nothing is saved."""
    ase = person(consent=False)
    with pytest.raises(general.GeneralConsentError) as err:
        general.add_address(db_session, ase, "mobile", raw, BANK)
    assert problem in str(err.value.message)
    assert general.addresses_of(db_session, ase.id) == []


def test_profile_email_must_be_valid(db_session):
    """An e-mail address that is not valid is refused."""
    ase = person(consent=False)
    with pytest.raises(general.GeneralConsentError):
        general.add_address(db_session, ase, "email", "ikke-en-adresse", BANK)


def test_withdrawal_keeps_an_invoice_the_person_also_approved(db_session):
    """Someone who also approved the issuer itself keeps getting its eFaktura after withdrawing the yes to all."""
    issuer = make_issuer()
    ase = person(mobile="+4791234567")
    contact = make_contact(issuer, mobile="+4791234567")
    inv = make_invoice(issuer, contact)
    assert inv.route == "general_consent"
    agreements.request_consent(db_session, contact, STAFF)
    agreements.approve(db_session, agreements.agreement_for(db_session, contact), ase, channel="sms",
                       acr=BANK.acr, shown_text="Ja.", language="nb")
    general.set_general_consent(db_session, ase, False, BANK)
    assert inv.channel is Channel.NETTBANK
    run_worker()
    assert db_session.scalar(select(NettbankDocument.consumer_id).where(NettbankDocument.invoice_id == inv.id)) == ase.id


def test_a_page_of_look_ups_answers_as_one_by_one_in_a_fixed_number_of_queries(db_session, engine):
    """The consumer register looks up a page of contacts at once: every answer equals the single
    look-up's, and the page costs the same few statements for 6 contacts as for 12."""
    issuer = make_issuer(name="Sidevis Kraft AS")
    other = make_issuer(name="Annen AS")
    contacts = []
    for i in range(6):  # every route and reason, twice
        n = 2 * i
        kari = person(f"Kari Nummer{n}", mobile=f"+479100{n:04d}", consent=True)
        contacts.append(make_contact(issuer, name=f"Kari Nummer{n}", mobile=f"+479100{n:04d}"))  # general, by mobile
        blocked = person(f"Ola Blokk{n}", email=f"ola{n}@example.no")
        general.block(db_session, blocked, issuer, BANK)
        general.block(db_session, kari, other, BANK)  # a block of another issuer changes nothing here
        contacts.append(make_contact(issuer, name=f"Ola Blokk{n}", mobile=None, email=f"ola{n}@example.no"))
        person(f"Per Uten{n}", mobile=f"+479200{n:04d}", consent=False)
        contacts.append(make_contact(issuer, name=f"Per Uten{n}", mobile=f"+479200{n:04d}"))  # consent off
        person(f"Tvilling To{n}", mobile=f"+479300{n:04d}")
        person(f"Tvilling To{n}", mobile=f"+479300{n:04d}", born=dt.date(1990, 2, 2))
        contacts.append(make_contact(issuer, name=f"Tvilling To{n}", mobile=f"+479300{n:04d}"))  # ambiguous
        contacts.append(make_contact(issuer, name=f"Ingen Treff{n}", mobile=f"+479400{n:04d}"))  # no match
        active = make_contact(issuer, name=f"Avtale Aktiv{n}", mobile=f"+479500{n:04d}")
        make_invoice(issuer, active)
        agreements.approve(db_session, agreements.agreement_for(db_session, active), person(f"Avtale Aktiv{n}", consent=False),
                           channel="sms", acr=BANK.acr, shown_text="Ja.", language="nb")
        contacts.append(active)
    db_session.flush()
    pairs = [(c, agreements.agreement_for(db_session, c)) for c in contacts]
    one_by_one = [reachability.lookup(db_session, c) for c in contacts]
    reasons = {r.reason for r in one_by_one}
    assert reasons >= {"name_mobile", "blocked", "consent_off", "ambiguous", "no_match", "agreement"}, reasons

    statements: list[str] = []

    def count(*_args):
        statements.append("x")

    counts = []
    for size in (6, 12):
        db_session.expire_all()
        page = [(c, a) for c, a in pairs[:size]]
        for c, a in page:  # the register's own query has read these already
            _ = (c.name, c.mobile, c.email, c.consumer_id, c.issuer.name, a and a.state)
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            answers = reachability.lookup_many(db_session, issuer.id, page)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts.append(len(statements))
        assert answers == one_by_one[:size]
    assert counts[0] == counts[1] <= 4, counts
