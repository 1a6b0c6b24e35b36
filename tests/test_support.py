"""Support area: staff accounts, search, status pages, masking, actions and the audit log."""
from __future__ import annotations

import datetime as dt
import importlib.util

import pytest
import time_machine
from flask import g
from sqlalchemy import func, select
from stdnum.no import orgnr

from portal.agreements import services as agreements
from portal.agreements.models import ConsentRequest
from portal.agreements.states import AgreementState
from portal.core import db
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.invoices import services as invoices
from portal.invoices.states import InvoiceState
from portal.support.models import SupportAudit, SupportUser
from tests.factories import (
    PASSWORD,
    make_contact,
    make_invoice,
    make_issuer,
    make_issuer_user,
    make_support_user,
)
from tests.helpers.nnin import synthetic_nnin
from tests.helpers.support import login

LOGIN = "/kundestotte/logg-inn"
SEARCH = "/kundestotte/"


def org_numbers(count: int) -> list[str]:
    """Valid, distinct organisation numbers (MOD11)."""
    found = []
    for n in range(910000000, 910010000):
        if orgnr.is_valid(str(n)):
            found.append(str(n))
        if len(found) == count:
            return found
    raise AssertionError("not enough numbers")


def search(post_form, q, **extra):
    return post_form(SEARCH, {"q": q, **extra}, page=SEARCH)


def audits(action=None):
    db.session.expire_all()
    stmt = select(SupportAudit).order_by(SupportAudit.id)
    if action:
        stmt = stmt.where(SupportAudit.action == action)
    return list(db.session.scalars(stmt))


@pytest.fixture
def staff(client, db_session, post_form):
    """A logged-in support user."""
    user = make_support_user()
    db_session.commit()
    assert login(client, post_form).status_code == 302
    return user


@pytest.fixture
def world(db_session):
    """An active issuer with one eligible contact that has a held invoice (consent requested)."""
    issuer = make_issuer(name="Fjordkraft Test AS", org_number="923609016")
    contact = make_contact(issuer, name="Åse Øvrebø")
    inv = make_invoice(issuer, contact, number="F-2026-001")
    db_session.commit()
    return issuer, contact, inv


# --- accounts, log-in, separation --------------------------------------------------------

def test_cli_creates_support_user_and_refuses_bad_input(app, db_session):
    """create-support-user makes an account; duplicates, short passwords and bad e-mail exit 2 with one line."""
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["create-support-user", "--email", "Per@Example.no", "--name", "Per Støtte",
                             "--password", PASSWORD])
    assert ok.exit_code == 0, ok.output
    assert "per@example.no" in ok.output
    user = db_session.scalar(select(SupportUser))
    assert user.email == "per@example.no" and user.name == "Per Støtte"
    for args, fragment in [
        (["--email", "per@example.no", "--name", "X", "--password", PASSWORD], "already exists"),
        (["--email", "ny@example.no", "--name", "X", "--password", "kort"], "at least 12"),
        (["--email", "ikke-epost", "--name", "X", "--password", PASSWORD], "not valid"),
        (["--email", "ny@example.no", "--name", "  ", "--password", PASSWORD], "name is missing"),
    ]:
        res = runner.invoke(args=["create-support-user", *args])
        assert res.exit_code == 2, res.output
        assert fragment in res.output and res.output.count("\n") == 1
    assert db_session.scalar(select(func.count(SupportUser.id))) == 1


def test_login_rotates_session_and_logout(client, db_session, post_form):
    """A support user logs in with password, lands on search, and can log out again."""
    make_support_user()
    db_session.commit()
    with client.session_transaction() as sess:
        sess["stale"] = "from before"
    resp = login(client, post_form)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(SEARCH)
    with client.session_transaction() as sess:
        assert "stale" not in sess
    assert "Søk" in client.get(SEARCH).get_data(as_text=True)
    resp = post_form("/kundestotte/logg-ut", {}, page=SEARCH)
    assert resp.status_code == 302
    assert client.get(SEARCH).status_code == 302


def test_wrong_password_is_refused(client, db_session, post_form):
    """A wrong password re-renders the form with a clear message and status 422."""
    make_support_user()
    db_session.commit()
    resp = login(client, post_form, password="feil-passord-123")
    assert resp.status_code == 422
    assert "E-postadressen eller passordet er feil" in resp.get_data(as_text=True)


@pytest.mark.parametrize(("next_", "expected"), [
    ("/kundestotte/logg", "/kundestotte/logg"),
    ("https://evil.example/", SEARCH),
    ("//evil.example/x", SEARCH),
    ("/\\evil.example", SEARCH),
])
def test_login_next_accepts_only_local_paths(client, db_session, post_form, next_, expected):
    """After log-in only a local `next` is followed; anything with a host goes to search."""
    make_support_user()
    db_session.commit()
    resp = login(client, post_form, next_=next_)
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected


def test_anonymous_is_sent_to_support_login(client):
    """Opening a support page without a session redirects to the support log-in with `next`."""
    resp = client.get("/kundestotte/kontakter/1")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith(LOGIN) and "next=" in resp.headers["Location"]


def test_support_user_cannot_use_issuer_area(client, staff):
    """A logged-in support user gets 403 in the issuer area."""
    assert client.get("/utsteder/").status_code == 403


def test_issuer_user_cannot_use_support_area(client, db_session, post_form):
    """A logged-in issuer user gets 403 in the support area, and support log-in does not accept them."""
    issuer = make_issuer()
    user = make_issuer_user(issuer, email="ansatt@example.no")
    db_session.commit()
    assert login(client, post_form, email=user.email).status_code == 422
    resp = post_form("/utsteder/logg-inn", {"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert client.get("/utsteder/").status_code == 200
    assert client.get(SEARCH).status_code == 403
    assert client.get("/kundestotte/logg").status_code == 403


def test_idle_session_expires(client, db_session, post_form):
    """After SUPPORT_IDLE_MINUTES without a request the support user is logged out with a message."""
    make_support_user()
    db_session.commit()
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        login(client, post_form)
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(SEARCH).status_code == 200  # activity keeps it alive
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(SEARCH).status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        resp = client.get("/kundestotte/logg")
        assert resp.status_code == 302 and resp.headers["Location"].startswith(LOGIN)
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
        assert "logget ut fordi du ikke hadde gjort noe" in page
        assert client.get(SEARCH).status_code == 302


# --- search ------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["912 34 567", "0047 91234567", "+47 912 34 567", "tlf. 91234567"])
def test_search_by_mobile_in_any_writing(client, staff, world, post_form, query):
    """A mobile written in any common way finds the contact; the number is masked in the result."""
    _, contact, _ = world
    html = search(post_form, query).get_data(as_text=True)
    assert f"/kundestotte/kontakter/{contact.id}" in html
    assert "+47 ••• •• 567" in html and "912 34 567" not in html.replace(query, "")


def test_search_by_email(client, staff, world, post_form):
    """An e-mail address (any case) finds the contact."""
    _, contact, _ = world
    html = search(post_form, "ASE@Example.no").get_data(as_text=True)
    assert f"/kundestotte/kontakter/{contact.id}" in html


def test_search_by_invoice_number(client, staff, world, post_form):
    """An invoice number finds the invoice, with its issuer and status."""
    _, _, inv = world
    html = search(post_form, "F-2026-001").get_data(as_text=True)
    assert f"/kundestotte/fakturaer/{inv.id}" in html and "venter på samtykke" in html


@pytest.mark.parametrize("query", ["fjordkraft", "923 609 016", "923609016"])
def test_search_by_issuer_name_or_org_number(client, staff, world, post_form, query):
    """Part of an issuer's name or its organisation number finds the issuer."""
    issuer, _, _ = world
    html = search(post_form, query).get_data(as_text=True)
    assert f"/kundestotte/utstedere/{issuer.id}" in html


def test_search_by_national_id_of_verified_consumer(client, staff, db_session, post_form):
    """A BankID-verified consumer is found by national id; the full number is never shown or stored."""
    nnin = synthetic_nnin()
    consumer = agreements.upsert_consumer(db_session, sub="sub-42", national_id=nnin, name="Test Testesen",
                                          birth_date=None)
    db_session.commit()
    resp = search(post_form, nnin[:6] + " " + nnin[6:])
    html = resp.get_data(as_text=True)
    assert f"/kundestotte/forbrukere/{consumer.id}" in html
    assert nnin[:6] + " *****" in html
    assert nnin not in html.replace(nnin[:6] + " " + nnin[6:], "")  # only the typed query echoes back
    row = audits("search")[-1]
    assert nnin not in row.detail and nnin[6:] not in row.detail


def test_search_with_invalid_national_id_explains(client, staff, post_form):
    """Eleven digits that are not a valid national id get a calm explanation, not a 500."""
    html = search(post_form, "12345678901").get_data(as_text=True)
    assert "kontrollsifrene" in html or "fødselsdato" in html


@pytest.mark.parametrize("query", ["", "   ", "%%%", "x"])
def test_empty_or_unintelligible_query_gives_calm_message(client, staff, world, post_form, query):
    """An empty or meaningless query answers with a message, never an error."""
    resp = search(post_form, query)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Skriv noe i søkefeltet" in html or "Vi fant ingen treff" in html


def test_search_groups_are_paginated(client, staff, db_session, post_form):
    """Each group shows a limited number of hits and a button for more; the next page continues."""
    for n, number in enumerate(org_numbers(12)):
        make_issuer(name=f"Kraftlag {n:02d} AS", org_number=number)
    db_session.commit()
    html = search(post_form, "Kraftlag").get_data(as_text=True)
    assert html.count("/kundestotte/utstedere/") == 10 and "Vis flere" in html
    import re

    cursor = re.search(r'name="after" value="([^"]+)"', html).group(1)
    html2 = search(post_form, "Kraftlag", kind="issuers", after=cursor).get_data(as_text=True)
    assert html2.count("/kundestotte/utstedere/") == 2 and "Vis flere" not in html2
    assert "Kraftlag 00 AS" in html2 and "Kraftlag 00 AS" not in html


def test_malformed_paging_input_is_ignored(client, staff, world, post_form):
    """Unknown group names and broken cursors are ignored."""
    resp = search(post_form, "fjordkraft", kind="bogus", after="abc")
    assert resp.status_code == 200 and "Fjordkraft Test AS" in resp.get_data(as_text=True)
    resp = search(post_form, "fjordkraft", kind="issuers", after="9999999999999999999999.1")
    assert resp.status_code == 200
    assert client.get("/kundestotte/logg?before=zzz").status_code == 200


def test_search_without_csrf_is_refused(client, staff):
    """A search POST without the CSRF token is refused."""
    assert client.post(SEARCH, data={"q": "x"}).status_code == 400


# --- status pages ------------------------------------------------------------------------

def test_contact_status_page(client, staff, world, db_session):
    """The contact page shows issuer, eligibility, agreement, consent request and its messages, invoices, timeline."""
    issuer, contact, inv = world
    html = client.get(f"/kundestotte/kontakter/{contact.id}").get_data(as_text=True)
    assert issuer.name in html
    assert "Ja. Kontakten oppfyller kravene" in html
    assert "forespurt" in html  # agreement state
    assert "Samtykkeforespørsler" in html and "SMS" in html and "i kø" in html
    assert f"/kundestotte/fakturaer/{inv.id}" in html
    assert "Tidslinje" in html and "Holdt tilbake mens kunden blir spurt" in html
    assert "→" not in html and f"Faktura {inv.number}:" in html and f"Faktura #{inv.id}" not in html
    assert audits("view")[-1].target_type == "contact"


def test_contact_page_explains_why_not_eligible(client, staff, db_session):
    """A contact that cannot receive eFaktura shows each reason."""
    issuer = make_issuer()
    contact = make_contact(issuer, access_point=None, receive_edocuments=False)
    db_session.commit()
    html = client.get(f"/kundestotte/kontakter/{contact.id}").get_data(as_text=True)
    assert "Aksesspunktet er ikke satt til B2CNO" in html
    assert "eDokumenter" in html and "slått av" in html


def test_contact_page_shows_receipt_and_decline(client, staff, world, db_session):
    """After the consumer declines, the page shows the receipt and that no more requests are sent."""
    _, contact, _ = world
    consumer = agreements.upsert_consumer(db_session, sub="sub-d", national_id=None, name="Åse Øvrebø",
                                          birth_date=dt.date(1980, 1, 1))
    agreements.decline(db_session, agreements.agreement_for(db_session, contact), consumer, channel="sms",
                       acr="urn:bankid:bid;LOA=4", shown_text="tekst", language="nb")
    db_session.commit()
    html = client.get(f"/kundestotte/kontakter/{contact.id}").get_data(as_text=True)
    assert "Kvitteringer for samtykke" in html and "decline" in html
    assert "takket nei" in html


def test_invoice_status_page(client, staff, world):
    """The invoice page shows route, outbox rows and every event."""
    _, _, inv = world
    html = client.get(f"/kundestotte/fakturaer/{inv.id}").get_data(as_text=True)
    assert "F-2026-001" in html and "Rute" in html and "hold" in html
    assert "tredagersfrist" in html  # the deadline row
    assert "Opprettet" in html  # first event in the timeline, in words


def test_issuer_status_page(client, staff, world, db_session):
    """The issuer page shows activation, the issuer agreement, counts by status and dead rows."""
    issuer, _, _ = world
    html = client.get(f"/kundestotte/utstedere/{issuer.id}").get_data(as_text=True)
    assert "Kari Godkjenner" in html and "godkjent" in html
    assert "Fakturaer etter status" in html
    assert "Ingen. Alt er sendt" in html


def test_consumer_status_page(client, staff, world, db_session):
    """The consumer page shows the masked national id and the bound agreements."""
    _, contact, _ = world
    nnin = synthetic_nnin()
    consumer = agreements.upsert_consumer(db_session, sub="sub-c", national_id=nnin, name="Åse Øvrebø",
                                          birth_date=dt.date(1980, 1, 1))
    agreements.approve(db_session, agreements.agreement_for(db_session, contact), consumer, channel="sms",
                       acr="urn:bankid:bid;LOA=4", shown_text="tekst", language="nb")
    db_session.commit()
    html = client.get(f"/kundestotte/forbrukere/{consumer.id}").get_data(as_text=True)
    assert nnin[:6] + " *****" in html and nnin not in html
    assert f"/kundestotte/kontakter/{contact.id}" in html and "aktiv" in html
    assert "+47 ••• •• 567" in html


def test_unknown_ids_are_404(client, staff):
    """A status page for an id that does not exist is a 404."""
    for url in ("/kundestotte/kontakter/999", "/kundestotte/fakturaer/999", "/kundestotte/utstedere/999",
                "/kundestotte/forbrukere/999"):
        assert client.get(url).status_code == 404


# --- masking and reveal ------------------------------------------------------------------

def test_mobile_masked_until_revealed_and_reveal_is_recorded(client, staff, world, post_form):
    """The full mobile is absent until the support user reveals it; the reveal is written to the audit log."""
    _, contact, _ = world
    page = f"/kundestotte/kontakter/{contact.id}"
    html = client.get(page).get_data(as_text=True)
    assert "+47 ••• •• 567" in html
    assert "912 34 567" not in html and "91234567" not in html
    assert audits("reveal") == []
    resp = post_form(f"{page}/vis-mobil", {}, page=page)
    assert resp.status_code == 200
    assert "+47 912 34 567" in resp.get_data(as_text=True)
    rows = audits("reveal")
    assert len(rows) == 1 and rows[0].target_id == contact.id and rows[0].support_user_id == staff.id
    # The next ordinary view is masked again.
    assert "912 34 567" not in client.get(page).get_data(as_text=True)


# --- resend a consent request ------------------------------------------------------------

def resend(post_form, contact_id):
    page = f"/kundestotte/kontakter/{contact_id}"
    return post_form(f"{page}/send-samtykke", {}, page=page, follow_redirects=True)


def test_resend_allowed_for_an_eligible_contact(client, staff, db_session, post_form):
    """With no recent request, support resends: a new request, one SMS and one e-mail, event and audit."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    db_session.commit()
    html = resend(post_form, contact.id).get_data(as_text=True)
    assert "sendt på nytt" in html
    db_session.expire_all()
    req = db_session.scalar(select(ConsentRequest).where(ConsentRequest.contact_id == contact.id))
    assert req.trigger == "support" and req.requested_by == "Siri Støtte"
    kinds = sorted(m.kind.value for m in db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.consent_request_id == req.id)))
    assert kinds == ["consent_expiry", "email", "sms"]
    assert db_session.scalar(select(Event).where(Event.action == "support_resend_consent")) is not None
    assert audits("resend")[0].target_id == contact.id


def test_resend_after_expiry_is_allowed(client, staff, db_session, post_form):
    """An expired request more than a day old may be sent again; the agreement is requested again."""
    with time_machine.travel(dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        issuer = make_issuer()
        contact = make_contact(issuer)
        make_invoice(issuer, contact)
        req = db_session.scalar(select(ConsentRequest))
        agreements.expire_request(db_session, req)
        db_session.commit()
        clock.shift(dt.timedelta(days=2))
        login(client, post_form)
        resend(post_form, contact.id)
        db_session.expire_all()
        assert agreements.agreement_for(db_session, contact).state is AgreementState.REQUESTED
        assert db_session.scalar(select(func.count(ConsentRequest.id))) == 2


def test_resend_refused_when_still_fresh(client, staff, world, db_session, post_form):
    """A request sent less than 24 hours ago is still fresh: nothing is sent."""
    _, contact, _ = world
    html = resend(post_form, contact.id).get_data(as_text=True)
    assert "ikke sendt på nytt" in html and "fersk" in html
    assert db_session.scalar(select(func.count(ConsentRequest.id))) == 1
    assert audits("resend") == [] and len(audits("resend_refused")) == 1


def test_resend_refused_when_declined_or_stopped(client, staff, db_session, post_form):
    """A consumer who declined or stopped is not asked again."""
    issuer = make_issuer()
    declined, stopped = make_contact(issuer), make_contact(issuer, mobile="+4791234568")
    consumer_a = agreements.upsert_consumer(db_session, sub="a", national_id=None, name="Åse Øvrebø",
                                            birth_date=dt.date(1980, 1, 1))
    consumer_b = agreements.upsert_consumer(db_session, sub="b", national_id=None, name="Åse Øvrebø",
                                            birth_date=dt.date(1981, 1, 1))
    with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=10)):
        for c in (declined, stopped):
            agreements.request_consent(db_session, c, agreements.events.SYSTEM)
    opts = {"channel": "sms", "acr": None, "shown_text": "t", "language": "nb"}
    agreements.decline(db_session, agreements.agreement_for(db_session, declined), consumer_a, **opts)
    agr = agreements.agreement_for(db_session, stopped)
    agreements.approve(db_session, agr, consumer_b, **opts)
    agreements.stop(db_session, agr, consumer_b, acr=None, shown_text="t", language="nb")
    db_session.commit()
    assert "takket nei" in resend(post_form, declined.id).get_data(as_text=True)
    assert "stoppet avtalen" in resend(post_form, stopped.id).get_data(as_text=True)
    assert db_session.scalar(select(func.count(ConsentRequest.id))) == 2


def test_resend_refused_when_issuer_not_active(client, staff, db_session, post_form):
    """An issuer whose agreement is not approved cannot send consent requests."""
    issuer = make_issuer(active=False)
    contact = make_contact(issuer)
    db_session.commit()
    html = resend(post_form, contact.id).get_data(as_text=True)
    assert "ikke aktivert for eFaktura" in html
    assert db_session.scalar(select(func.count(ConsentRequest.id))) == 0


def test_resend_rate_limited_to_three_per_week(client, db_session, post_form):
    """At most three support resends per contact in seven days."""
    make_support_user()
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        issuer = make_issuer()
        contact = make_contact(issuer)
        db_session.commit()
        for _ in range(3):
            login(client, post_form)
            assert "sendt på nytt på SMS" in resend(post_form, contact.id).get_data(as_text=True)
            clock.shift(dt.timedelta(hours=25))
            g.pop("csrf_token", None)  # the test shares one app context; a real request starts fresh
        login(client, post_form)
        html = resend(post_form, contact.id).get_data(as_text=True)
        assert "3 ganger de siste sju dagene" in html
        assert db_session.scalar(select(func.count(ConsentRequest.id))) == 3
        clock.shift(dt.timedelta(days=5))
        g.pop("csrf_token", None)
        login(client, post_form)
        assert "sendt på nytt på SMS" in resend(post_form, contact.id).get_data(as_text=True)


# --- retry a dead outbox row -------------------------------------------------------------

def _dead_invoice_email(db_session):
    issuer = make_issuer()
    contact = make_contact(issuer, access_point=None)  # not eligible: the invoice goes by e-mail
    inv = make_invoice(issuer, contact)
    row = db_session.scalar(select(OutboxMessage).where(OutboxMessage.invoice_id == inv.id))
    row.status, row.attempts, row.last_error = OutboxStatus.DEAD, 6, "SMTP 550 mailbox unavailable"
    invoices.mark_failed(db_session, inv, "SMTP 550 mailbox unavailable")
    db_session.commit()
    return issuer, inv, row


def test_retry_dead_invoice_delivery(client, staff, db_session, post_form):
    """A dead invoice e-mail is retried: the invoice is sending again on a new row and then delivered."""
    issuer, inv, row = _dead_invoice_email(db_session)
    page = f"/kundestotte/utstedere/{issuer.id}"
    assert "Prøv igjen" in client.get(page).get_data(as_text=True)
    resp = post_form(f"/kundestotte/utboks/{row.id}/prov-igjen", {"next": page}, page=page)
    assert resp.status_code == 302 and resp.headers["Location"] == page
    db_session.expire_all()
    assert db_session.get(OutboxMessage, row.id).status is OutboxStatus.CANCELLED
    assert db_session.get(type(inv), inv.id).state is InvoiceState.SENDING
    fresh = db_session.scalar(select(OutboxMessage).where(OutboxMessage.invoice_id == inv.id,
                                                          OutboxMessage.status == OutboxStatus.PENDING))
    assert fresh is not None and fresh.id != row.id
    assert audits("retry")[0].target_id == row.id
    if importlib.util.find_spec("portal.delivery.worker") is not None:
        from portal.delivery.worker import run_once

        run_once()
        db_session.expire_all()
        assert db_session.get(type(inv), inv.id).state is InvoiceState.DELIVERED
    # A second click has nothing left to retry.
    resp = post_form(f"/kundestotte/utboks/{row.id}/prov-igjen", {"next": page}, page=page, follow_redirects=True)
    assert "har ikke gitt opp" in resp.get_data(as_text=True)


def test_retry_dead_consent_sms_goes_back_to_pending(client, staff, world, db_session, post_form):
    """A dead consent SMS goes back to pending with attempts reset, and is then sent."""
    _, contact, _ = world
    row = db_session.scalar(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS))
    row.status, row.attempts, row.last_error = OutboxStatus.DEAD, 6, "gateway down"
    db_session.commit()
    page = f"/kundestotte/kontakter/{contact.id}"
    assert "ga opp" in client.get(page).get_data(as_text=True)
    post_form(f"/kundestotte/utboks/{row.id}/prov-igjen", {"next": page}, page=page)
    db_session.expire_all()
    row = db_session.get(OutboxMessage, row.id)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0
    if importlib.util.find_spec("portal.delivery.worker") is not None:
        from portal.delivery.worker import run_once

        run_once()
        db_session.expire_all()
        assert db_session.get(OutboxMessage, row.id).status is OutboxStatus.DONE


def test_retry_unknown_row_is_404(client, staff, post_form):
    """Retrying an outbox row that does not exist is a 404."""
    assert post_form("/kundestotte/utboks/999/prov-igjen", {}, page=SEARCH).status_code == 404


# --- accountability ----------------------------------------------------------------------

def test_every_search_and_page_is_audited_and_listed(client, staff, world, post_form):
    """Searches and page views are recorded with who and what, and listed newest first on the audit page."""
    issuer, contact, inv = world
    search(post_form, "fjordkraft")
    client.get(f"/kundestotte/kontakter/{contact.id}")
    client.get(f"/kundestotte/fakturaer/{inv.id}")
    client.get(f"/kundestotte/utstedere/{issuer.id}")
    rows = audits()
    assert [r.action for r in rows[-4:]] == ["search", "view", "view", "view"]
    assert all(r.support_user_id == staff.id for r in rows)
    assert "fjordkraft" in rows[-4].detail
    html = client.get("/kundestotte/logg").get_data(as_text=True)
    assert "Siri Støtte" in html
    assert html.index(f"Bedrift {issuer.id}") < html.index(f"Kontakt {contact.id}")  # newest first
    assert "issuer #" not in html and "contact #" not in html  # words, not codes
    assert audits()[-1].target_type == "audit"


def test_audit_page_is_paginated(client, staff, db_session):
    """The audit log shows 50 rows a page with a link to older ones."""
    for n in range(60):
        db_session.add(SupportAudit(support_user_id=staff.id, action="search", detail=f"q{n:02d}"))
    db_session.commit()
    html = client.get("/kundestotte/logg").get_data(as_text=True)
    assert "Eldre" in html and "q59" in html and "q05" not in html
    import re

    older = re.search(r'href="(/kundestotte/logg\?before=[^"]+)"', html).group(1).replace("&amp;", "&")
    html2 = client.get(older).get_data(as_text=True)
    assert "q05" in html2 and "q59" not in html2
