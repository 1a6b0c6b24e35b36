"""My agreements: the consumer's issuers and their state, stopping and approving again,
the consent receipts, log-out, and nobody else's agreements."""
from __future__ import annotations

from sqlalchemy import select

from portal.agreements import services as agreements
from portal.agreements.consent import receipts_for_agreement
from portal.agreements.models import ConsentReceipt
from portal.agreements.states import AgreementState
from portal.core import db
from portal.invoices.states import Channel
from simulators.bankid.persons import KARI, OLA
from tests.conftest import csrf_from
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.consent import (
    approved_issuer,
)
from tests.helpers.consent import logged_in as helpers_logged_in


def logged_in(ctx, person):
    return helpers_logged_in(ctx, person, next="/min-side/avtaler")


def confirm(client, url):
    """Open a confirm page and press its main button."""
    html = client.get(url).get_data(as_text=True)
    digest = html.split('name="digest" value="')[1].split('"')[0]
    return client.post(url, data={"csrf_token": csrf_from(html), "digest": digest})


def state_of(agreement):
    db.session.expire_all()
    return db.session.get(type(agreement), agreement.id).state


def test_lists_each_issuer_with_state(ctx):
    """Every issuer with an agreement is listed with its state in words."""
    client, kari = logged_in(ctx, KARI)
    approved_issuer(kari, "Vannverket AS")
    other = make_issuer(name="Avisa AS")
    person = make_contact(other, name=KARI.name)
    make_invoice(other, person)
    person.consumer_id = kari.id  # known from an earlier answer: the open question is shown
    db.session.commit()
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    assert "Vannverket AS" in html and "Aktiv – fakturaer kommer i nettbanken" in html
    assert "Avisa AS" in html and "Venter på svaret ditt" in html
    assert "Logg ut" in html and 'action="/bankid/logout"' in html


def test_stop_needs_confirmation_and_later_invoices_go_by_email(ctx):
    """Stopping asks first; afterwards the agreement is stopped and the next invoice is e-mailed."""
    client, kari = logged_in(ctx, KARI)
    issuer, person, agreement, _ = approved_issuer(kari, "Vannverket AS")
    page = client.get(f"/min-side/avtaler/{agreement.id}/stopp").get_data(as_text=True)
    assert "Stoppe eFaktura fra Vannverket AS?" in page and "Ja, stopp eFaktura" in page
    assert state_of(agreement) is AgreementState.ACTIVE  # looking changes nothing
    done = confirm(client, f"/min-side/avtaler/{agreement.id}/stopp")
    assert done.status_code == 302
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    assert "er stoppet" in html and "Stoppet – fakturaer kommer på e-post eller i posten" in html
    assert state_of(agreement) is AgreementState.STOPPED
    assert make_invoice(issuer, person).channel is Channel.EMAIL
    stop_receipt = receipts_for_agreement(db.session, agreement.id)[0]
    assert (stop_receipt.decision, stop_receipt.channel) == ("stop", "portal")
    assert "Jeg stopper eFaktura fra Vannverket AS" in stop_receipt.shown_text


def test_approve_again_after_declining(ctx):
    """An issuer declined earlier can be approved in My agreements; the next invoice goes to nettbank."""
    client, kari = logged_in(ctx, KARI)
    issuer = make_issuer(name="Avisa AS")
    person = make_contact(issuer, name=KARI.name)
    make_invoice(issuer, person)
    agreement = agreements.agreement_for(db.session, person)
    agreements.decline(db.session, agreement, kari, channel="sms", acr=None, shown_text="t", language="nb")
    db.session.commit()
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    assert "Avslått" in html and f"/min-side/avtaler/{agreement.id}/godta" in html
    page = client.get(f"/min-side/avtaler/{agreement.id}/godta").get_data(as_text=True)
    assert "Dette godtar du" in page and "Avisa AS" in page
    assert confirm(client, f"/min-side/avtaler/{agreement.id}/godta").status_code == 302
    assert state_of(agreement) is AgreementState.ACTIVE
    assert make_invoice(issuer, person).channel is Channel.NETTBANK
    db.session.commit()
    assert [r.decision for r in receipts_for_agreement(db.session, agreement.id)] == ["approve", "decline"]


def test_receipt_page_and_download(ctx):
    """The consumer sees what they were shown and can download it as a text file."""
    client, kari = logged_in(ctx, KARI)
    _, _, agreement, _ = approved_issuer(kari, "Vannverket AS")
    html = client.get(f"/min-side/avtaler/{agreement.id}/kvittering").get_data(as_text=True)
    assert "Kvittering for eFaktura fra Vannverket AS" in html and "Jeg godtar eFaktura." in html
    assert "BankID, høyt sikkerhetsnivå (nivå 4)" in html and "urn:bankid" not in html
    assert agreements.CONSENT_TEXT_VERSION in html
    receipt = db.session.scalars(select(ConsentReceipt)).one()
    response = client.get(f"/min-side/avtaler/{agreement.id}/kvittering/{receipt.id}.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "samtykkekvittering" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert "Vannverket AS" in text and kari.sub in text and "Jeg godtar eFaktura." in text


def test_another_consumers_agreement_is_404(ctx):
    """Guessing someone else's agreement or receipt id gives 404 and changes nothing."""
    _, ola = logged_in(ctx, OLA)
    _, _, olas, _ = approved_issuer(ola, "Vannverket AS", mobile="+4798765432", email="ola@example.no")
    receipt = db.session.scalars(select(ConsentReceipt)).one()
    client, _kari = logged_in(ctx, KARI)
    assert "Vannverket AS" not in client.get("/min-side/avtaler").get_data(as_text=True)
    for url in (f"/min-side/avtaler/{olas.id}/stopp", f"/min-side/avtaler/{olas.id}/godta",
                f"/min-side/avtaler/{olas.id}/kvittering",
                f"/min-side/avtaler/{olas.id}/kvittering/{receipt.id}.txt", "/min-side/avtaler/99999/stopp"):
        assert client.get(url).status_code == 404, url
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    response = client.post(f"/min-side/avtaler/{olas.id}/stopp", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 404
    assert state_of(olas) is AgreementState.ACTIVE


def test_stop_twice_is_calm(ctx):
    """Stopping an agreement that is already stopped just says so."""
    client, kari = logged_in(ctx, KARI)
    _, _, agreement, _ = approved_issuer(kari, "Vannverket AS")
    url = f"/min-side/avtaler/{agreement.id}/stopp"
    html = client.get(url).get_data(as_text=True)
    digest = html.split('name="digest" value="')[1].split('"')[0]
    form = {"csrf_token": csrf_from(html), "digest": digest}
    assert client.post(url, data=form).status_code == 302
    again = client.post(url, data=form, follow_redirects=True)
    assert again.status_code == 200 and "ingenting å stoppe" in again.get_data(as_text=True)
    assert [r.decision for r in receipts_for_agreement(db.session, agreement.id)] == ["stop", "approve"]


def test_logout_ends_the_consumer_session(ctx):
    """The log-out button ends the BankID session; My agreements then asks for BankID again."""
    client, _ = logged_in(ctx, KARI)
    html = client.get("/min-side/avtaler").get_data(as_text=True)
    assert client.post("/bankid/logout", data={"csrf_token": csrf_from(html)}).status_code == 302
    response = client.get("/min-side/avtaler")
    assert response.status_code == 302 and response.headers["Location"].startswith("/bankid/login")
