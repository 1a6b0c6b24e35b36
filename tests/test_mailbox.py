"""The development mailbox and the issuer's print batches."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.core import db
from portal.delivery.models import MailboxMessage, PrintJob
from portal.delivery.worker import run_once
from tests.factories import ORG_NUMBERS, make_contact, make_invoice, make_issuer, make_issuer_user
from tests.helpers.sessions import StaffLoginClient


def keep(channel="email", recipient="ase@example.no", key=None, **kw):
    msg = MailboxMessage(channel=channel, idempotency_key=key or f"k-{recipient}-{kw.get('subject', '')}-{channel}",
                         recipient=recipient, sender="eFaktura", subject=kw.get("subject", ""),
                         body_text=kw.get("body_text", "Hei"), attachment_name=kw.get("attachment_name"),
                         attachment=kw.get("attachment"))
    db.session.add(msg)
    db.session.commit()
    return msg


def test_mailbox_lists_messages_newest_first(client, db_session):
    """The mailbox shows e-mails and SMS, the newest first."""
    keep(subject="Eldste melding")
    keep(subject="Nyeste melding", recipient="bo@example.no")
    keep(channel="sms", recipient="+4791234567", body_text="Godta eFaktura her")
    html = client.get("/dev/postkasse").get_data(as_text=True)
    assert html.index("Nyeste melding") < html.index("Eldste melding")
    assert "Godta eFaktura her" in html


def test_mailbox_filters_by_recipient(client, db_session):
    """Filtering by recipient shows only that person's messages."""
    keep(subject="Til Åse")
    keep(subject="Til Bo", recipient="bo@example.no")
    html = client.get("/dev/postkasse?til=bo@example.no").get_data(as_text=True)
    assert "Til Bo" in html and "Til Åse" not in html


def test_mailbox_ignores_bad_query_parameters(client, db_session):
    """Malformed filter and page parameters are ignored, never a server error."""
    keep(subject="Hei")
    for query in ("?eldre=abc", "?type=fax", "?eldre=99999999999999999999", "?til=" + "x" * 600):
        assert client.get("/dev/postkasse" + query).status_code == 200


def test_message_links_are_clickable_and_escaped(client, db_session):
    """URLs in a message become links; markup in the text is shown as text, not run."""
    msg = keep(subject="Samtykke", body_text="Svar her: http://localhost/samtykke/abc.\n<script>alert(1)</script>")
    html = client.get(f"/dev/postkasse/{msg.id}").get_data(as_text=True)
    assert '<a href="http://localhost/samtykke/abc">http://localhost/samtykke/abc</a>' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_attachment_downloads(client, db_session):
    """An e-mail's PDF attachment can be downloaded from the mailbox."""
    msg = keep(subject="Faktura", attachment_name="faktura-1.pdf", attachment=b"%PDF-1.4 test")
    resp = client.get(f"/dev/postkasse/{msg.id}/vedlegg")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data == b"%PDF-1.4 test"
    assert "faktura-1.pdf" in resp.headers["Content-Disposition"]
    assert client.get(f"/dev/postkasse/{msg.id + 100}/vedlegg").status_code == 404


def test_mailbox_is_hidden_without_dev_tools(make_app):
    """Without DEV_TOOLS the mailbox does not exist (404)."""
    client = make_app(DEV_TOOLS=False).test_client()
    assert client.get("/dev/postkasse").status_code == 404
    assert client.get("/dev/postkasse/1").status_code == 404


def test_consent_sms_from_worker_is_readable(client, db_session):
    """After the worker runs, the consent SMS is in the mailbox with a clickable consent link."""
    issuer = make_issuer()
    make_invoice(issuer, make_contact(issuer))
    db_session.commit()
    run_once()
    sms = db_session.scalars(select(MailboxMessage).where(MailboxMessage.channel == "sms")).one()
    html = client.get(f"/dev/postkasse/{sms.id}").get_data(as_text=True)
    assert '<a href="http://localhost/s/' in html


@pytest.fixture
def staff_client(app, monkeypatch):
    from portal.core.auth import login_manager

    monkeypatch.setattr(login_manager, "session_protection", None)
    app.test_client_class = StaffLoginClient

    def login(user):
        return app.test_client(user=user)

    return login


def test_print_batches_list_and_download(staff_client, db_session):
    """Issuer staff see today's print batch with its count and download it as one PDF."""
    issuer = make_issuer(org_number=ORG_NUMBERS[0])
    user = make_issuer_user(issuer)
    invs = [make_invoice(issuer, make_contact(issuer, email=None, access_point=None)) for _ in range(2)]
    other = make_issuer(org_number=ORG_NUMBERS[1])
    make_invoice(other, make_contact(other, email=None, access_point=None))
    db_session.commit()
    run_once()
    day = db_session.scalars(select(PrintJob.batch_date)).first()
    client = staff_client(user)
    html = client.get("/utsteder/utskrift").get_data(as_text=True)
    assert day.strftime("%d.%m.%Y") in html and "<td>2</td>" in html
    resp = client.get(f"/utsteder/utskrift/{day.isoformat()}.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    assert all(inv.number in text for inv in invs)
    assert "Bakkeveien 2" in text


def test_print_batch_of_another_issuer_is_404(staff_client, db_session):
    """A day without this issuer's post, or a malformed date, is a 404."""
    issuer = make_issuer(org_number=ORG_NUMBERS[0])
    user = make_issuer_user(issuer)
    other = make_issuer(org_number=ORG_NUMBERS[1])
    make_invoice(other, make_contact(other, email=None, access_point=None))
    db_session.commit()
    run_once()
    client = staff_client(user)
    today = (dt.datetime.now(dt.UTC)).date()
    assert client.get(f"/utsteder/utskrift/{today.isoformat()}.pdf").status_code == 404
    assert client.get("/utsteder/utskrift/not-a-date.pdf").status_code == 404
    assert "Ingen fakturaer" in client.get("/utsteder/utskrift?eldre=zzz").get_data(as_text=True)
