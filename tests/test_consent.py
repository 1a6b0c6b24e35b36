"""The consent link, end to end: SMS link → BankID on the simulated provider → approve or
decline → the held invoice goes to nettbank (or e-mail), and every way the link can fail."""
from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import func, select

from portal.agreements import services as agreements
from portal.agreements.models import ConsentReceipt, Consumer
from portal.agreements.states import AgreementState
from portal.core import db
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.core.tokens import UsedToken
from portal.delivery.models import NettbankDocument
from portal.invoices import services as invoices
from portal.invoices.states import Channel, InvoiceState
from simulators.bankid.persons import KARI, OLA
from tests.conftest import csrf_from
from tests.factories import make_invoice
from tests.helpers.consent import (
    consumer_by_name,
    held_invoice,
    link_path,
    login,
    run_worker,
)


def answer(client, path, decision):
    """Open the confirm page and press a button, like a browser."""
    page = client.get(path + "/svar")
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    html = page.get_data(as_text=True)
    digest = html.split('name="digest" value="')[1].split('"')[0]
    return client.post(path + "/svar", data={"csrf_token": csrf_from(html), "digest": digest,
                                             "decision": decision})


def receipts():
    db.session.expire_all()
    return list(db.session.scalars(select(ConsentReceipt).order_by(ConsentReceipt.id)))


def test_link_shows_the_question_without_using_it_up(ctx):
    """Opening the SMS link names the issuer and explains the choice; opening it again still works."""
    _issuer, _person, _inv = held_invoice()
    client = ctx.test_client()
    path = link_path()
    for _ in range(2):  # an SMS preview, then the person
        page = client.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "Strømselskapet AS vil sende deg eFaktura" in html
        assert "KID" in html and "papirfaktura" in html
        assert "e-post eller i posten" in html
        assert "Ja, jeg vil ha eFaktura" in html and "Nei takk" in html
    assert db.session.scalar(select(func.count()).select_from(UsedToken)) == 0


def test_both_choices_need_bankid_first(ctx):
    """Choosing an answer without a BankID session sends the person to BankID and back."""
    held_invoice()
    client = ctx.test_client()
    path = link_path()
    response = client.get(path + "/svar?choice=approve")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/bankid/login?next=")
    assert "svar" in response.headers["Location"]


def test_approve_journey_delivers_held_and_next_invoice_to_nettbank(ctx):
    """SMS link → BankID → approve: the held invoice lands in nettbank, and so does the next one."""
    issuer, person, inv = held_invoice()
    client = ctx.test_client()
    path = link_path()
    response = login(client, KARI.national_id, next=path + "/svar?choice=approve")
    assert response.headers["Location"] == path + "/svar?choice=approve"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dette godtar du" in page and "Godta eFaktura" in page and "Avslå" in page

    done = answer(client, path, "approve")
    assert done.status_code == 302 and "/kvittering" in done.headers["Location"]
    receipt_page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "kommer nå i nettbanken" in receipt_page and "Godtatt" in receipt_page

    kari = consumer_by_name(KARI.name)
    agreement = agreements.agreement_for(db.session, person)
    assert agreement.state is AgreementState.ACTIVE and agreement.consumer_id == kari.id
    [receipt] = receipts()
    assert (receipt.decision, receipt.channel, receipt.bankid_sub) == ("approve", "sms", kari.sub)
    assert receipt.bankid_acr and "Strømselskapet AS" in receipt.shown_text
    assert receipt.text_version == agreements.CONSENT_TEXT_VERSION

    run_worker()
    nettbank = client.get("/nettbank").get_data(as_text=True)
    assert inv.number in nettbank and "1\u00a0562,50\u00a0kr" in nettbank

    nxt = make_invoice(issuer, person)
    db.session.commit()
    assert nxt.channel is Channel.NETTBANK
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == OutboxKind.SMS)) == 1
    run_worker()
    nettbank = client.get("/nettbank").get_data(as_text=True)
    assert nxt.number in nettbank
    assert nettbank.index(nxt.number) < nettbank.index(inv.number)  # newest first


def test_decline_sends_held_invoice_by_email(ctx):
    """Declining after BankID sends the held invoice by e-mail and records a receipt."""
    _issuer, person, inv = held_invoice(person=OLA)
    client = ctx.test_client()
    path = link_path(OutboxKind.EMAIL)
    login(client, OLA.national_id, next=path + "/svar")
    done = answer(client, path, "decline")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "e-post eller i posten" in page and "Avslått" in page
    db.session.expire_all()
    inv = db.session.get(type(inv), inv.id)
    assert (inv.state, inv.channel) == (InvoiceState.SENDING, Channel.EMAIL)
    assert agreements.agreement_for(db.session, person).state is AgreementState.DECLINED
    [receipt] = receipts()
    assert (receipt.decision, receipt.channel) == ("decline", "email")
    actions = set(db.session.scalars(select(Event.action).where(Event.actor_type == "consumer")))
    assert {"decline", "release"} <= actions
    run_worker()
    assert db.session.get(type(inv), inv.id).state is InvoiceState.DELIVERED
    assert db.session.scalar(select(func.count()).select_from(NettbankDocument)) == 0


def test_second_invoice_while_asking_sends_no_new_sms_and_approval_releases_both(ctx):
    """A second invoice while the question is open sends nothing new; one approval releases both."""
    issuer, person, first = held_invoice()
    second = make_invoice(issuer, person)
    db.session.commit()
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS)).all()
    assert len(sms) == 1
    client = ctx.test_client()
    path = link_path()
    login(client, KARI.national_id, next=path + "/svar")
    answer(client, path, "approve")
    run_worker()
    html = client.get("/nettbank").get_data(as_text=True)
    assert first.number in html and second.number in html


def test_expired_link_explains_what_to_do(ctx):
    """After 30 days the link shows that it has expired and how to still say yes."""
    held_invoice()
    path = link_path()
    client = ctx.test_client()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=31), tick=False):
        page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "Lenken er utløpt" in html and "Mine avtaler" in html and "neste faktura" in html


def test_tampered_link_is_refused_clearly(ctx):
    """A changed or cut-off link shows a clear page, never a server error."""
    held_invoice()
    path = link_path()
    client = ctx.test_client()
    for bad in (path[:-3] + "abc", path[:-12], "/samtykke/ikke-en-lenke", path + "x"):
        page = client.get(bad)
        assert page.status_code == 404, bad
        assert "Lenken virker ikke" in page.get_data(as_text=True)
        assert client.get(bad + "/svar").status_code in (302, 404)


def test_answered_link_says_when_it_was_answered(ctx):
    """After approving, the same link (or the e-mail's) says so with the date, and changes nothing."""
    held_invoice()
    sms_path, mail_path = link_path(), link_path(OutboxKind.EMAIL)
    client = ctx.test_client()
    login(client, KARI.national_id, next=sms_path + "/svar")
    answer(client, sms_path, "approve")
    for path in (sms_path, mail_path):
        html = ctx.test_client().get(path).get_data(as_text=True)
        assert "Du har allerede svart" in html and "Du godtok eFaktura fra Strømselskapet AS" in html
    assert client.get(mail_path + "/svar").status_code == 200  # the problem page, not a form
    assert "Du har allerede svart" in client.get(mail_path + "/svar").get_data(as_text=True)


def test_double_submit_gives_one_outcome(ctx):
    """Pressing the button twice (or in two tabs) records one answer and shows it calmly."""
    _issuer, _person, inv = held_invoice()
    sms_path, mail_path = link_path(), link_path(OutboxKind.EMAIL)
    client = ctx.test_client()
    login(client, KARI.national_id, next=sms_path + "/svar")
    html = client.get(sms_path + "/svar").get_data(as_text=True)
    mail_html = client.get(mail_path + "/svar").get_data(as_text=True)  # second tab
    digest = html.split('name="digest" value="')[1].split('"')[0]
    form = {"csrf_token": csrf_from(html), "digest": digest, "decision": "approve"}
    first = client.post(sms_path + "/svar", data=form)
    again = client.post(sms_path + "/svar", data=form)
    other_tab = client.post(mail_path + "/svar", data={**form, "csrf_token": csrf_from(mail_html),
                                                       "decision": "decline"})
    assert first.status_code == 302
    for late in (again, other_tab):
        assert late.status_code == 200
        assert "Du har allerede svart" in late.get_data(as_text=True)
    assert [r.decision for r in receipts()] == ["approve"]
    nettbank_rows = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.NETTBANK, OutboxMessage.invoice_id == inv.id)).all()
    assert len(nettbank_rows) == 1


def test_approval_after_deadline_keeps_email_and_next_goes_to_nettbank(ctx):
    """When the three-day deadline got there first, the invoice stays e-mailed; the next one is eFaktura."""
    issuer, person, inv = held_invoice()
    path = link_path()
    invoices.deadline_passed(db.session, inv.id)
    db.session.commit()
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    assert answer(client, path, "approve").status_code == 302
    db.session.expire_all()
    inv = db.session.get(type(inv), inv.id)
    assert inv.channel is Channel.EMAIL
    deliveries = db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.invoice_id == inv.id,
        OutboxMessage.kind.in_([OutboxKind.INVOICE_EMAIL, OutboxKind.NETTBANK, OutboxKind.POST]))).all()
    assert deliveries == [OutboxKind.INVOICE_EMAIL]
    assert make_invoice(issuer, person).channel is Channel.NETTBANK


def test_identity_conflict_changes_nothing(ctx):
    """A contact already bound to another BankID person gets an explanation, and nothing changes."""
    _issuer, person, inv = held_invoice()
    other = Consumer(sub="someone-else", name="Noen Andre")
    db.session.add(other)
    db.session.flush()
    person.consumer_id = other.id
    db.session.commit()
    path = link_path()
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    page = client.get(path + "/svar")
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "allerede knyttet til en annen BankID-bruker" in html
    assert 'name="decision"' not in html
    db.session.expire_all()
    assert agreements.agreement_for(db.session, person).state is AgreementState.REQUESTED
    assert db.session.get(type(inv), inv.id).state is InvoiceState.HELD
    assert receipts() == []


def test_closing_the_tab_midway_loses_nothing(ctx):
    """Logging in and leaving without answering keeps the link usable until it is answered."""
    held_invoice()
    path = link_path()
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    client.get(path + "/svar")  # ... and the tab is closed
    later = ctx.test_client()
    assert later.get(path).status_code == 200
    login(later, KARI.national_id, next=path + "/svar")
    assert answer(later, path, "approve").status_code == 302
    assert [r.decision for r in receipts()] == ["approve"]


def test_post_without_csrf_or_with_bad_answer_changes_nothing(ctx):
    """A forged or malformed answer is refused and the question stays open."""
    held_invoice()
    path = link_path()
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    assert client.post(path + "/svar", data={"decision": "approve"}).status_code == 400
    html = client.get(path + "/svar").get_data(as_text=True)
    bad = client.post(path + "/svar", data={"csrf_token": csrf_from(html), "digest": "x",
                                            "decision": "kanskje"})
    assert bad.status_code == 422
    changed = client.post(path + "/svar", data={"csrf_token": csrf_from(html), "digest": "feil",
                                                "decision": "approve"})
    assert changed.status_code == 422 and "oppdatert" in changed.get_data(as_text=True)
    assert receipts() == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.NETTBANK, OutboxMessage.status == OutboxStatus.PENDING)) == 0


def test_lost_race_is_retried_once_and_gives_one_outcome(ctx, monkeypatch):
    """When the worker touched the same invoice at the same moment, the answer is retried and saved once."""
    from sqlalchemy.orm.exc import StaleDataError

    from portal.agreements import consent as services

    held_invoice()
    path = link_path()
    real, calls = services.decide_from_link, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StaleDataError("the deadline moved the invoice meanwhile")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "decide_from_link", flaky)
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    assert answer(client, path, "approve").status_code == 302
    assert len(calls) == 2 and [r.decision for r in receipts()] == ["approve"]


def test_answer_that_became_impossible_shows_current_state(ctx, monkeypatch):
    """If the agreement changed between page and answer, nothing is saved and the page says how things stand."""
    from portal.agreements import consent as services
    from portal.core.states import InvalidTransition

    held_invoice()
    path = link_path()

    def refused(*args, **kwargs):
        raise InvalidTransition("efaktura_agreement", "active", "approve")

    monkeypatch.setattr(services, "decide_from_link", refused)
    client = ctx.test_client()
    login(client, KARI.national_id, next=path + "/svar")
    response = answer(client, path, "approve")
    assert response.status_code == 302 and response.headers["Location"].endswith("/svar")
    assert "Prøv igjen" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert receipts() == []
