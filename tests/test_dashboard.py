"""The issuer's dashboard: the consent funnel, deliveries by channel, and what needs attention."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from portal.agreements import services as agreements
from portal.agreements.models import ConsentRequest
from portal.core import db
from portal.delivery.worker import run_once
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceState
from portal.issuers.models import Issuer
from tests.factories import make_contact, make_invoice
from tests.helpers.issuer import login, staff


def _table(page: str, caption: str) -> dict[str, str]:
    """The numbers of one chart, read from its table (what a screen reader reads)."""
    block = page.split(caption, 2)[2].split("</table>", 1)[0]
    return dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', block))


def test_dashboard_shows_funnel_channels_and_attention(app, client, post_form):
    """Asked, declined and unanswered consents, e-mail deliveries, failures and unreachable customers show with numbers."""
    issuer, user = staff(app)
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        asked = [make_contact(iss, name=n, mobile=m, email=e) for n, m, e in (
            ("Kari Nordmann", "+4791234567", "kari@example.no"), ("Ola Nordmann", "+4791234568", "ola@example.no"))]
        for c in asked:
            make_invoice(iss, c)
        nobody = make_contact(iss, name="Uten Adresse", mobile=None, email=None, access_point=None,
                              address=False)
        make_invoice(iss, nobody)  # goes by post, fails: no address
        by_mail = make_contact(iss, name="Epost Kunde", mobile=None, access_point=None)
        make_invoice(iss, by_mail)
        consumer = agreements.upsert_consumer(db.session, sub="sub-ola", national_id=None, name="Ola Nordmann",
                                              birth_date=dt.date(1952, 11, 3))
        req = db.session.scalar(select(ConsentRequest).where(ConsentRequest.contact_id == asked[1].id))
        agreements.decline(db.session, req.agreement, consumer, channel="sms", acr=None, shown_text="tekst",
                           language="nb", consent_request=req)
        db.session.commit()
        run_once()
        assert db.session.scalar(select(Invoice).where(Invoice.contact_id == nobody.id)).state is InvoiceState.FAILED
    login(client, post_form, user.email)
    page = client.get("/utsteder/").get_data(as_text=True)
    funnel = _table(page, "Samtykke de siste 30 dagene")
    assert funnel == {"Spurt": "2", "Godtok": "0", "Takket nei": "1", "Ikke svart ennå": "1", "Utløpt uten svar": "0"}
    channels = _table(page, "Leverte fakturaer de siste 30 dagene")
    assert channels["E-post"] == "2" and channels["Nettbank"] == "0"  # the declined one went by e-mail too
    assert "1 faktura kom ikke fram" in page
    assert "1 privatkunde mangler både e-post og full postadresse" in page
    assert re.search(r"Ola Nordmann</a> –\s+takket nei", page)
    assert '<svg class="chart-svg"' in page and 'aria-hidden="true"' in page


def test_quiet_dashboard_has_no_attention_box(app, client, post_form):
    """With nothing wrong, the attention box is absent and the charts show zeros."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    page = client.get("/utsteder/").get_data(as_text=True)
    assert "Trenger oppmerksomhet" not in page
    assert _table(page, "Samtykke de siste 30 dagene")["Spurt"] == "0"
