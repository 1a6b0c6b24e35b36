"""Creating and issuing invoices from the issuer area (flow D from the issuer's side)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from portal.core.outbox import OutboxKind, OutboxMessage
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from tests.helpers.issuer import form_data, login, query, setup


def test_issue_to_new_consumer_is_held_and_asks_consent(app, client, post_form):
    """Issuing to a new consumer holds the invoice, writes SMS + e-mail rows, and says what happens next."""
    _i, user, contact = setup(app)
    login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact.id}"
    form = client.get(url).get_data(as_text=True)
    assert 'value="1"' in form  # next free number
    resp = post_form(url, form_data(number="1"))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    inv = query(app, lambda s: s.scalar(select(Invoice)))
    assert inv.state is InvoiceState.HELD
    assert inv.total_ore == 308625  # 2 × 1234,50 + 25 %
    assert inv.kid.isdigit()
    kinds = query(app, lambda s: sorted(m.kind.value for m in s.scalars(select(OutboxMessage))))
    assert kinds == ["consent_deadline", "consent_expiry", "email", "sms"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Holdt tilbake mens {contact.name} blir spurt om samtykke" in page
    assert "sendes den på e-post" in page
    pdf = client.get(f"/utsteder/fakturaer/{inv.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_inactive_issuer_form_warns_and_sends_by_email(app, client, post_form):
    """Before approval the form says eFaktura is unavailable, and the invoice goes by e-mail."""
    _i, user, contact = setup(app, active=False)
    login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact.id}"
    assert "eFaktura er ikke tilgjengelig før utstederavtalen er godkjent" in client.get(url).get_data(as_text=True)
    resp = post_form(url, form_data(number="77", total="500", total_vat="0", **{"lines-0-description": "",
                                                                  "lines-0-quantity": "", "lines-0-unit_price": ""}))
    assert resp.status_code == 302
    inv = query(app, lambda s: s.scalar(select(Invoice)))
    assert (inv.state, inv.channel, inv.total_ore) == (InvoiceState.SENDING, Channel.EMAIL, 50000)
    assert query(app, lambda s: s.scalar(select(OutboxMessage.kind).where(OutboxMessage.invoice_id == inv.id))) \
        is OutboxKind.INVOICE_EMAIL


def test_invoice_form_errors(app, client, post_form):
    """Due date before issue date, a bad KID or account, a bad amount and a taken number are refused."""
    _i, user, contact = setup(app)
    login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact.id}"
    today = dt.date.today()
    resp = post_form(url, form_data(number="5", due_date=(today - dt.timedelta(days=1)).isoformat(),
                                    kid="12345", account_number="12345678900", **{"lines-0-unit_price": "abc"}))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Forfallsdatoen kan ikke være før fakturadatoen" in page
    assert "KID-nummeret er ikke gyldig" in page
    assert "Kontonummeret er ikke gyldig" in page
    assert "Skriv beløpet i kroner" in page
    assert post_form(url, form_data(number="5", action="save")).status_code == 302
    taken = post_form(url, form_data(number="5"))
    assert taken.status_code == 422 and "Neste ledige er 6" in taken.get_data(as_text=True)
    inv = query(app, lambda s: s.scalar(select(Invoice)))
    assert inv.state is InvoiceState.DRAFT
    sent = post_form(f"/utsteder/fakturaer/{inv.id}/send", {}, page=f"/utsteder/fakturaer/{inv.id}")
    assert sent.status_code == 302
    assert query(app, lambda s: s.get(Invoice, inv.id).state) is InvoiceState.HELD
