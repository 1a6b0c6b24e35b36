"""The simulated nettbank: the consumer's delivered eFaktura, the PDF, paying, and nobody
else's documents."""
from __future__ import annotations

from sqlalchemy import select

from portal.core import db
from portal.core.events import Event
from simulators.bankid.persons import KARI, OLA
from tests.conftest import csrf_from
from tests.helpers.consent import (
    approved_issuer,
    doc_for,
    logged_in,
    login,
)


def test_nettbank_needs_bankid(ctx):
    """Without a BankID session the nettbank sends the person to log in."""
    response = ctx.test_client().get("/nettbank")
    assert response.status_code == 302 and response.headers["Location"].startswith("/bankid/login")


def test_home_page_login_link_leads_to_nettbank(ctx):
    """The home page's "Logg inn med BankID" points at the nettbank, which asks for BankID."""
    client = ctx.test_client()
    html = client.get("/").get_data(as_text=True)
    assert 'href="/nettbank"' in html and "Logg inn med BankID" in html
    response = login(client, KARI.national_id, next="/nettbank")
    assert response.headers["Location"] == "/nettbank"
    assert "Du har ingen eFaktura ennå" in client.get("/nettbank").get_data(as_text=True)


def test_delivered_invoices_listed_newest_first_with_payment_details(ctx):
    """Each eFaktura shows issuer, amount, due date, KID, account and unpaid status, newest first."""
    client, kari = logged_in(ctx, KARI)
    _issuer, _person, _agreement, (first, second) = approved_issuer(kari, "Vannverket AS", invoices=2)
    html = client.get("/nettbank").get_data(as_text=True)
    assert "Vannverket AS" in html
    assert html.index(second.number) < html.index(first.number)
    assert first.kid in html and "1234.56.78903" in html
    assert first.due_date.strftime("%d.%m.%Y") in html
    assert "1\u00a0562,50\u00a0kr" in html and "Ikke betalt" in html


def test_open_pdf(ctx):
    """The PDF of a delivered eFaktura opens from the nettbank."""
    client, kari = logged_in(ctx, KARI)
    _, _, _, (inv,) = approved_issuer(kari, "Vannverket AS")
    response = client.get(f"/nettbank/{doc_for(inv).id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_mark_paid_writes_event(ctx):
    """Paying marks the eFaktura paid, records an event, and paying twice changes nothing."""
    client, kari = logged_in(ctx, KARI)
    _, _, _, (inv,) = approved_issuer(kari, "Vannverket AS")
    doc = doc_for(inv)
    html = client.get("/nettbank").get_data(as_text=True)
    response = client.post(f"/nettbank/{doc.id}/betal", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    page = client.get("/nettbank").get_data(as_text=True)
    assert f"Faktura {inv.number} er betalt" in page and "Betalt " in page
    client.post(f"/nettbank/{doc.id}/betal", data={"csrf_token": csrf_from(html)})
    db.session.expire_all()
    paid = db.session.scalars(select(Event).where(Event.action == "paid_in_nettbank")).all()
    assert [(e.invoice_id, e.actor_type) for e in paid] == [(inv.id, "consumer")]
    assert doc_for(inv).paid_at is not None


def test_another_consumers_documents_are_404(ctx):
    """Guessing the id of someone else's eFaktura gives 404 for the PDF and for paying."""
    _ola_client, ola = logged_in(ctx, OLA)
    _, _, _, (olas,) = approved_issuer(ola, "Vannverket AS", mobile="+4798765432", email="ola@example.no")
    client, _kari = logged_in(ctx, KARI)
    doc = doc_for(olas)
    html = client.get("/nettbank").get_data(as_text=True)
    assert olas.number not in html
    assert client.get(f"/nettbank/{doc.id}/pdf").status_code == 404
    assert client.post(f"/nettbank/{doc.id}/betal", data={"csrf_token": csrf_from(html)}).status_code == 404
    assert client.get("/nettbank/999999/pdf").status_code == 404
    assert doc_for(olas).paid_at is None


def test_malformed_page_cursor_is_ignored(ctx):
    """A broken ``after`` parameter shows the first page instead of an error."""
    client, kari = logged_in(ctx, KARI)
    _, _, _, (inv,) = approved_issuer(kari, "Vannverket AS")
    for bad in ("abc", "1.2.3", "9" * 40 + ".1", "-5.1", ""):
        response = client.get("/nettbank", query_string={"after": bad})
        assert response.status_code == 200 and inv.number in response.get_data(as_text=True)


def test_pages_of_older_invoices(ctx, monkeypatch):
    """With more eFaktura than fit on a page, "Eldre fakturaer" leads to the rest, none twice."""
    from portal.invoices import nettbank

    monkeypatch.setattr(nettbank, "PAGE_SIZE", 2)
    client, kari = logged_in(ctx, KARI)
    _, _, _, made = approved_issuer(kari, "Vannverket AS", invoices=5)
    seen, url = [], "/nettbank"
    while url:
        html = client.get(url).get_data(as_text=True)
        on_page = [inv.number for inv in made if f"<dd>{inv.number}</dd>" in html]
        seen += sorted(on_page, key=lambda n: html.index(f"<dd>{n}</dd>"))
        url = html.split('class="pagination"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&") \
            if 'class="pagination"' in html else None
    assert seen == [inv.number for inv in reversed(made)]
