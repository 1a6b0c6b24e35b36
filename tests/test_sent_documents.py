"""Sent documents (flow F): status in words, filters, keyset pagination, fixed query count, history."""
from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import event, select

from portal.agreements.models import Consumer
from portal.contacts.models import Contact, ContactKind
from portal.core import db
from portal.delivery.models import NettbankDocument
from portal.invoices.states import Channel, InvoiceState
from portal.issuers.models import Issuer, IssuerUser
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.issuer import login, staff


def seed(app, n_held=3, n_email=2):
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        person = make_contact(iss, name="Holdt Hansen")
        company = make_contact(iss, name="Firma Fru", kind=ContactKind.COMPANY, access_point=None,
                               org_number="923609016")
        numbers = []
        for _ in range(n_held):
            numbers.append(make_invoice(iss, person).number)
        for _ in range(n_email):
            numbers.append(make_invoice(iss, company).number)
        other = make_issuer()
        make_invoice(other, make_contact(other, name="Fremmed Kunde"))
        db.session.commit()
        ids = (person.id, company.id)
    return user, numbers, ids


def test_list_shows_status_words_and_filters(app, client, post_form):
    """Every invoice of the issuer is listed with its status in words; filters narrow it; bad values are noted."""
    user, numbers, (_person_id, company_id) = seed(app)
    login(client, post_form, user.email)
    page = client.get("/utsteder/sendte").get_data(as_text=True)
    assert page.count("Holdt tilbake mens kunden blir spurt om samtykke") == 3
    assert page.count("Sendes på e-post") == 2
    assert "Fremmed Kunde" not in page
    held = client.get("/utsteder/sendte?status=held").get_data(as_text=True)
    assert "Firma Fru" not in held and "Holdt Hansen" in held
    email = client.get("/utsteder/sendte?kanal=email").get_data(as_text=True)
    assert "Holdt Hansen" not in email and "Firma Fru" in email
    by_contact = client.get(f"/utsteder/sendte?kontakt={company_id}").get_data(as_text=True)
    assert "Holdt Hansen</td>" not in by_contact
    one = client.get(f"/utsteder/sendte?q={numbers[0]}").get_data(as_text=True)
    assert one.count('<th scope="row">') == 1
    future = client.get("/utsteder/sendte?fra=2999-01-01").get_data(as_text=True)
    assert "Ingen fakturaer passer filteret" in future
    bad = client.get("/utsteder/sendte?status=zzz&kanal=fax&fra=igår&antall=abc&etter=x_y&kontakt=abc")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and text.count("filter-notice") == 6
    assert text.count("Holdt tilbake mens") == 3


def test_keyset_pagination_newest_first(app, client, post_form):
    """Pages of two walk every invoice once, newest first, following the 'older' link."""
    user, numbers, _ids = seed(app)
    login(client, post_form, user.email)
    seen = []
    url = "/utsteder/sendte?antall=2"
    import re

    while url:
        page = client.get(url).get_data(as_text=True)
        seen += re.findall(r'<th scope="row"><a href="/utsteder/fakturaer/\d+">([^<]+)</a>', page)
        nxt = re.search(r'rel="next" href="([^"]+)"', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == list(reversed(numbers))


def test_query_count_does_not_grow_with_page_size(app, client, post_form, engine):
    """The page issues the same number of SQL queries for 5 and for 50 rows."""
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        contacts = [make_contact(iss, name=f"K{i}", mobile=None) for i in range(10)]
        for i in range(60):
            make_invoice(iss, contacts[i % 10])
        db.session.commit()
    login(client, post_form, user.email)
    counts = {}
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for size in (5, 50):
            statements.clear()
            resp = client.get(f"/utsteder/sendte?antall={size}")
            assert resp.get_data(as_text=True).count('<th scope="row">') == size
            counts[size] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert counts[5] == counts[50], counts


def test_invoice_history_page(app, client, post_form):
    """The invoice page shows its history with local time, actor and from→to, and offers the PDF."""
    user, _numbers, _ids = seed(app, n_held=1, n_email=0)
    login(client, post_form, user.email)
    import re

    page = client.get("/utsteder/sendte").get_data(as_text=True)
    inv_url = re.search(r'href="(/utsteder/fakturaer/\d+)"', page).group(1)
    detail = client.get(inv_url).get_data(as_text=True)
    assert "Historikk" in detail
    assert "Holdt tilbake mens kunden blir spurt" in detail and "av bedriften (test)" in detail
    assert "→" not in detail  # what happened in words, not state arrows
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d</time>", detail)
    assert f"{inv_url}/pdf" in detail


def test_search_finds_customer_name_and_number(app, client, post_form):
    """The search box finds invoices by the customer's name (any part) or customer number, not only the invoice number."""
    user, _numbers, _ids = seed(app)
    login(client, post_form, user.email)
    by_name = client.get("/utsteder/sendte?q=firma").get_data(as_text=True)
    assert by_name.count('<th scope="row">') == 2 and "Holdt Hansen</td>" not in by_name
    with app.app_context():
        number = db.session.scalar(select(Contact.customer_number).where(Contact.name == "Holdt Hansen"))
    by_number = client.get(f"/utsteder/sendte?q={number}").get_data(as_text=True)
    assert by_number.count('<th scope="row">') == 3
    other = client.get("/utsteder/sendte?q=Fremmed").get_data(as_text=True)
    assert "Ingen fakturaer passer filteret" in other  # another issuer's customer is never found
    wildcard = client.get("/utsteder/sendte?q=%25").get_data(as_text=True)
    assert "Ingen fakturaer passer filteret" in wildcard  # a % is a character, not "everything"


def test_dates_the_wrong_way_round_are_swapped_and_said(app, client, post_form):
    """From after to does not silently show nothing: the dates are swapped and the page says so."""
    user, _numbers, _ids = seed(app)
    login(client, post_form, user.email)
    today = dt.date.today()
    text = client.get(f"/utsteder/sendte?fra={today + dt.timedelta(days=3)}&til={today - dt.timedelta(days=3)}"
                      ).get_data(as_text=True)
    assert "datoene er byttet om" in text and text.count('<th scope="row">') == 5


def test_csv_export_of_the_filtered_list_is_safe_in_a_spreadsheet(app, client, post_form):
    """The filtered list downloads as CSV; a cell that would start a formula is kept as text."""
    user, _numbers, _ids = seed(app)
    with app.app_context():
        iss = db.session.scalar(select(Issuer).where(Issuer.id == db.session.get(IssuerUser, user.id).issuer_id))
        make_invoice(iss, make_contact(iss, name='=HYPERLINK("http://x.example","klikk")', access_point=None))
        db.session.commit()
    login(client, post_form, user.email)
    resp = client.get("/utsteder/sendte.csv?kanal=email")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Fakturanummer" and len(rows) == 1 + 3
    names = {r[2] for r in rows[1:]}
    assert "'=HYPERLINK(\"http://x.example\",\"klikk\")" in names and "Firma Fru" in names
    assert "Fremmed Kunde" not in resp.get_data(as_text=True)
    assert "Holdt Hansen" not in names  # the channel filter applies to the file too


def test_each_row_says_whether_that_invoice_is_paid(app, client, post_form):
    """Two eFakturas delivered to the nettbank, only the newer one paid: each row tells its own
    status (the page words each distinct status once, so paid and unpaid must differ in that key)."""
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        person = make_contact(iss, name="Betaler Berg")
        consumer = Consumer(sub="sent-docs-paid")
        db.session.add(consumer)
        older, newer = make_invoice(iss, person, number="P-1"), make_invoice(iss, person, number="P-2")
        db.session.flush()
        for inv in (older, newer):
            inv.state, inv.channel = InvoiceState.DELIVERED, Channel.NETTBANK
            db.session.add(NettbankDocument(consumer_id=consumer.id, invoice_id=inv.id,
                                            paid_at=db.utcnow() if inv is newer else None))
        db.session.commit()
    login(client, post_form, user.email)
    page = client.get("/utsteder/sendte").get_data(as_text=True)
    rows = {n: page.split(f">{n}</a>")[1].split("</tr>")[0] for n in ("P-1", "P-2")}
    assert "Betalt i nettbanken" in rows["P-2"] and "Levert i nettbank" not in rows["P-2"]
    assert "Levert i nettbank" in rows["P-1"] and "Betalt" not in rows["P-1"]
