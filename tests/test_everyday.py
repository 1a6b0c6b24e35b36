"""Issue 16, the everyday experience: no dead ends, a decline that says so, statuses that are
true, and words instead of codes."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from portal.agreements.models import ConsentReceipt, Consumer, EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.core import db, labels
from portal.core.events import Event
from portal.core.outbox import OutboxKind, OutboxMessage
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from portal.issuers.models import Issuer
from simulators.bankid.persons import OLA
from tests.conftest import csrf_from
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.consent import link_path, login
from tests.helpers.issuer import form_data, query, setup
from tests.helpers.issuer import login as staff_login


def test_unreachable_contact_is_warned_and_a_failed_invoice_can_be_sent_again(app, client, post_form):
    """A contact with neither e-mail nor postal address is warned about on its page and on the
    invoice form; once fixed, the issuer sends the failed invoice again from its page."""
    issuer, user, contact = setup(app, active=False, email=None, address=False)
    staff_login(client, post_form, user.email)
    assert 'id="unreachable"' in client.get(f"/utsteder/kontakter/{contact.id}").get_data(as_text=True)
    assert 'id="unreachable"' in client.get(f"/utsteder/fakturaer/ny?contact={contact.id}").get_data(as_text=True)
    with app.app_context():
        inv = make_invoice(db.session.get(Issuer, issuer.id), db.session.get(type(contact), contact.id))
        assert inv.channel is Channel.POST
        invoices.mark_failed(db.session, inv, "Kunden mangler postadresse")
        db.session.commit()
        inv_id = inv.id
    page = client.get(f"/utsteder/fakturaer/{inv_id}").get_data(as_text=True)
    assert "Legg inn en av dem" in page and "Send fakturaen på nytt" not in page
    with app.app_context():
        db.session.get(type(contact), contact.id).email = "ny@example.no"
        db.session.commit()
    page = client.get(f"/utsteder/fakturaer/{inv_id}").get_data(as_text=True)
    assert "Send fakturaen på nytt" in page
    resp = post_form(f"/utsteder/fakturaer/{inv_id}/send-igjen", {}, page=f"/utsteder/fakturaer/{inv_id}")
    assert resp.status_code == 302
    inv = query(app, lambda s: s.get(Invoice, inv_id))
    assert (inv.state, inv.channel) == (InvoiceState.SENDING, Channel.EMAIL)
    retry = query(app, lambda s: s.scalar(select(Event).where(Event.invoice_id == inv_id, Event.action == "retry")))
    assert retry is not None and retry.actor_type == "issuer_user"
    assert query(app, lambda s: s.scalar(select(OutboxMessage.kind).where(
        OutboxMessage.invoice_id == inv_id, OutboxMessage.kind == OutboxKind.INVOICE_EMAIL))) is not None
    assert "sendes på nytt på e-post" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_decline_page_says_decline_and_keeps_a_decline_receipt(ctx):
    """After "Nei takk" the page is about declining, the decline button comes first and is the
    primary one, and the receipt keeps the decline text (never "Jeg godtar")."""
    issuer = make_issuer(name="Strømselskapet AS")
    make_invoice(issuer, make_contact(issuer, name=OLA.name))
    db.session.commit()
    client = ctx.test_client()
    path = link_path()
    login(client, OLA.national_id, next=path + "/svar?choice=decline")
    html = client.get(path + "/svar?choice=decline").get_data(as_text=True)
    assert "Dette takker du nei til" in html and "Dette godtar du" not in html
    assert "Jeg takker nei til eFaktura fra Strømselskapet AS" in html
    first_button = html.split("<button type=\"submit\" name=\"decision\"", 2)[1]
    assert "Avslå eFaktura" in first_button and "button-secondary" not in first_button.split(">")[0]
    digest = html.split('name="digest" value="')[1].split('"')[0]
    done = client.post(path + "/svar", data={"csrf_token": csrf_from(html), "digest": digest,
                                             "decision": "decline", "choice": "decline"})
    assert done.status_code == 302
    db.session.expire_all()
    [receipt] = db.session.scalars(select(ConsentReceipt)).all()
    assert receipt.decision == "decline"
    assert receipt.shown_text.startswith("Jeg takker nei") and "Jeg godtar" not in receipt.shown_text


def test_held_invoice_flash_says_held_and_why(app, client, post_form):
    """Issuing an invoice that is held for consent does not claim it was sent."""
    _i, user, contact = setup(app)
    staff_login(client, post_form, user.email)
    resp = post_form(f"/utsteder/fakturaer/ny?contact={contact.id}", form_data(number="1"))
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Fakturaen er sendt." not in page
    assert f"Fakturaen holdes tilbake mens {contact.name} blir spurt om samtykke" in page


def test_statuses_say_what_really_happened(app):
    """Post in the print queue is not "Levert"; a paid eFaktura reads "Betalt i nettbanken";
    histories say what happened in words, without state arrows."""
    post = SimpleNamespace(action="deliver", data={"channel": "post"}, subject_type="invoice",
                           from_state="sending", to_state="delivered")
    hold = SimpleNamespace(action="hold", data={"route": "consent_request"}, subject_type="invoice",
                           from_state="draft", to_state="held")
    with app.test_request_context():
        assert labels.event_summary(post) == "Lagt i utskriftskø for post"
        assert "→" not in labels.event_summary(hold) and "Holdt tilbake" in labels.event_summary(hold)
        assert labels.bankid_level("urn:bankid:bid;LOA=4") == "BankID, høyt sikkerhetsnivå (nivå 4)"
        template = app.jinja_env.from_string(
            '{% from "invoices/_status.html" import status_text %}{{ status_text(inv) }}')
        paid = SimpleNamespace(state=InvoiceState.DELIVERED, channel=Channel.NETTBANK, paid_in_nettbank=True)
        queued = SimpleNamespace(state=InvoiceState.DELIVERED, channel=Channel.POST, paid_in_nettbank=False)
        assert template.render(inv=paid) == "Betalt i nettbanken"
        assert template.render(inv=queued) == "Lagt i utskriftskø"


def test_contact_with_active_agreement_is_not_told_its_first_invoice_is_held(app, client, post_form):
    """A contact whose customer said yes reads that invoices go to the nettbank."""
    _i, user, contact = setup(app)
    with app.app_context():
        consumer = Consumer(sub="sub-everyday", name=contact.name)
        db.session.add(consumer)
        db.session.flush()
        db.session.add(EFakturaAgreement(issuer_id=_i.id, contact_id=contact.id, consumer_id=consumer.id,
                                         state=AgreementState.ACTIVE))
        db.session.commit()
    staff_login(client, post_form, user.email)
    page = client.get(f"/utsteder/kontakter/{contact.id}").get_data(as_text=True)
    assert "Første faktura holdes tilbake" not in page
    assert "aktiv eFaktura-avtale med dere" in page


def test_demo_approver_email_is_queued_at_seeding(db_session):
    """The demo issuer awaiting approval has its approver e-mail in the outbox from the start."""
    from portal.demo import load_demo

    assert load_demo() is True
    to = [m.payload.get("to") for m in db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.EMAIL))]
    assert "ali@snekker-demo.no" in to


def test_one_port_setting_moves_the_system_and_the_banner_shows_the_deadline():
    """PORTAL_PORT derives the other ports and URLs (explicit ones are kept); the banner prints
    the consent deadline."""
    from portal.run import banner, derive_ports

    env = {"PORTAL_PORT": "6000", "PORTAL_REGISTER_URL": "http://register.example/api"}
    derive_ports(env)
    assert env["PORTAL_BASE_URL"] == "http://127.0.0.1:6000"
    assert env["PORTAL_BANKID_PORT"] == "6001" and env["PORTAL_BANKID_ISSUER"] == "http://127.0.0.1:6001"
    assert env["PORTAL_REGISTER_PORT"] == "6002" and env["PORTAL_REGISTER_URL"] == "http://register.example/api"
    text = banner({"BASE_URL": "http://127.0.0.1:6000", "BANKID_ISSUER": "http://127.0.0.1:6001",
                   "REGISTER_URL": "http://127.0.0.1:6002/enhetsregisteret/api", "CONSENT_DEADLINE_SECONDS": 60})
    assert "Consent deadline        60 seconds" in text


def test_wording_counts_and_csv_columns(app, client, post_form):
    """Counts agree with their number, CSV errors name their column, the awaiting-approval
    dashboard does not offer "Aktiver", and one menu entry is not named like the product."""
    import io

    _i, user, _c = setup(app)
    staff_login(client, post_form, user.email)
    csv_text = ("kundenummer;type;navn;organisasjonsnummer;mobil;epost;adresse;postnummer;poststed;sprak;"
                "aksesspunkt;motta_edokumenter;fodselsdato\n"
                "900;privat;Ola Test;;+4791234567;ola@example.no;Vei 1;5003;Bergen;nb;B2CNO;kanskje;\n")
    page = client.get("/utsteder/kontakter/import").get_data(as_text=True)
    resp = client.post("/utsteder/kontakter/import", data={"csrf_token": csrf_from(page),
                       "file": (io.BytesIO(csv_text.encode()), "k.csv")}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert "1 rad har feil." in html and "1 rader" not in html
    assert "Kolonnen «" in html
    nav = client.get("/utsteder/").get_data(as_text=True).split("<nav", 1)[1].split("</nav>", 1)[0]
    assert nav.count("eFaktura B2C") == 0


GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def test_consent_sms_fits_one_segment_with_a_short_link(ctx):
    """The consent SMS is one GSM-7 segment (160 characters) with a short link that leads to the
    signed link; an unknown code is refused. A very long company name is cut, never the link."""
    from portal.agreements.services import consent_sms_text
    from portal.core.tokens import ShortLink

    issuer = make_issuer(name="Strømselskapet AS")
    make_invoice(issuer, make_contact(issuer, name=OLA.name))
    db.session.commit()
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.SMS)).one()
    text = sms.payload["text"]
    assert len(text) <= 160 and set(text) <= GSM7, (len(text), set(text) - GSM7)
    code = text.split("/s/", 1)[1].split()[0]
    assert len(code) == 8
    client = ctx.test_client()
    resp = client.get(f"/s/{code}")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/samtykke/" + db.session.get(ShortLink, code).token
    assert client.get("/s/zzzzzzzz").status_code == 404
    long_name = "Vestlandets Forente Kraft- og Nettselskap for Fjord og Fjell AS"
    with ctx.test_request_context():
        long_text = consent_sms_text(long_name, "http://127.0.0.1:5000/s/AbCdEfGh")
    assert len(long_text) <= 160 and long_text.count("http://127.0.0.1:5000/s/AbCdEfGh") == 1


def test_fallback_email_links_to_my_agreements(ctx):
    """The invoice e-mail that invites the reader to choose eFaktura gives the way to do it."""
    from portal.invoices.delivery import render_invoice_mail

    issuer = make_issuer(name="Strømselskapet AS")
    contact = make_contact(issuer, name=OLA.name, mobile=None)
    inv = make_invoice(issuer, contact)
    db.session.commit()
    mail = render_invoice_mail(inv)
    assert "tilbyr eFaktura" in mail.text
    assert "http://localhost/min-side/avtaler" in mail.text and 'href="http://localhost/min-side/avtaler"' in mail.html


def test_vat_comes_from_the_register_and_a_single_amount_has_a_vat_rate(app, client, post_form):
    """The register's registrertIMvaregisteret becomes the issuer's VAT registration; a single
    amount defaults to 25 % for a VAT-registered issuer; every PDF of that issuer shows "MVA"
    after the organisation number, also one whose lines carry 0 %."""
    import io

    from pypdf import PdfReader

    from portal.issuers.register import _parse_unit

    body = {"organisasjonsnummer": "923609016", "navn": "Fjordlys Energi AS",
            "forretningsadresse": {"adresse": ["Kaigata 4"], "postnummer": "5015", "poststed": "BERGEN"},
            "registrertIMvaregisteret": True}
    assert _parse_unit("923609016", 200, body).vat_registered is True
    assert _parse_unit("923609016", 200, {**body, "registrertIMvaregisteret": False}).vat_registered is False

    issuer, user, contact = setup(app)
    with app.app_context():
        db.session.get(Issuer, issuer.id).vat_registered = True
        db.session.commit()
    staff_login(client, post_form, user.email)
    url = f"/utsteder/fakturaer/ny?contact={contact.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="total_vat"' in page and '<option selected value="25">' in page
    resp = post_form(url, form_data(number="5", total="1000", total_vat="25", **{
        "lines-0-description": "", "lines-0-quantity": "", "lines-0-unit_price": ""}))
    assert resp.status_code == 302
    inv = query(app, lambda s: s.scalar(select(Invoice).where(Invoice.number == "5")))
    assert (inv.net_ore, inv.vat_ore, inv.total_ore) == (100000, 25000, 125000)

    resp = post_form(url, form_data(number="6", total="1000", total_vat="0", **{
        "lines-0-description": "", "lines-0-quantity": "", "lines-0-unit_price": ""}))
    inv6 = query(app, lambda s: s.scalar(select(Invoice).where(Invoice.number == "6")))
    assert inv6.vat_ore == 0
    for number in (inv.id, inv6.id):
        pdf = client.get(f"/utsteder/fakturaer/{number}/pdf").data
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "MVA" in text.replace("\n", " ").split("Org")[1][:40], text[:300]


def test_company_settings_page(app, client, post_form):
    """A new issuer has a settings page: address and account number, VAT registration shown."""
    issuer, user, _c = setup(app)
    staff_login(client, post_form, user.email)
    page = client.get("/utsteder/bedrift").get_data(as_text=True)
    assert "Bedriftsinnstillinger" in page and "Ikke registrert i Merverdiavgiftsregisteret" in page
    resp = post_form("/utsteder/bedrift", {"address_line": "Nyveien 2", "postal_code": "5003", "city": "Bergen",
                                           "account_number": "1234.56.78903"})
    assert resp.status_code == 302
    saved = query(app, lambda s: s.get(Issuer, issuer.id))
    assert (saved.address_line, saved.postal_code, saved.city) == ("Nyveien 2", "5003", "Bergen")
    ev = query(app, lambda s: s.scalar(select(Event).where(Event.subject_type == "issuer", Event.action == "update")))
    assert ev is not None and "address_line" in ev.data["fields"]
    bad = post_form("/utsteder/bedrift", {"address_line": "", "postal_code": "50", "city": "", "account_number": "1"})
    assert bad.status_code == 422


def test_drafts_can_be_edited_and_deleted_with_events(app, client, post_form):
    """A draft can be changed (lines and totals recomputed) and deleted, each with an event;
    a sent invoice can be neither."""
    _i, user, contact = setup(app)
    staff_login(client, post_form, user.email)
    resp = post_form(f"/utsteder/fakturaer/ny?contact={contact.id}", form_data(number="40", action="save"))
    draft = query(app, lambda s: s.scalar(select(Invoice).where(Invoice.number == "40")))
    assert draft.state is InvoiceState.DRAFT
    page = client.get(f"/utsteder/fakturaer/{draft.id}").get_data(as_text=True)
    assert "Endre utkastet" in page and "Slett utkastet" in page
    form = client.get(f"/utsteder/fakturaer/{draft.id}/endre").get_data(as_text=True)
    assert 'value="Rørleggerarbeid"' in form
    resp = post_form(f"/utsteder/fakturaer/{draft.id}/endre", form_data(
        number="41", action="save", **{"lines-0-quantity": "1", "lines-0-unit_price": "100"}))
    assert resp.status_code == 302
    changed = query(app, lambda s: (lambda i: (i.number, i.total_ore, len(i.lines)))(s.get(Invoice, draft.id)))
    assert changed == ("41", 12500, 1)
    resp = post_form(f"/utsteder/fakturaer/{draft.id}/slett", {}, page=f"/utsteder/fakturaer/{draft.id}")
    assert resp.status_code == 302
    assert query(app, lambda s: s.get(Invoice, draft.id)) is None
    actions = query(app, lambda s: [e.action for e in s.scalars(select(Event).where(
        Event.subject_type == "invoice", Event.subject_id == draft.id).order_by(Event.id))])
    assert actions == ["create", "update", "delete"]

    post_form(f"/utsteder/fakturaer/ny?contact={contact.id}", form_data(number="42"))
    sent = query(app, lambda s: s.scalar(select(Invoice).where(Invoice.number == "42")))
    resp = post_form(f"/utsteder/fakturaer/{sent.id}/slett", {}, page=f"/utsteder/fakturaer/{sent.id}")
    assert query(app, lambda s: s.get(Invoice, sent.id)) is not None
    assert client.get(f"/utsteder/fakturaer/{sent.id}/endre").status_code == 302


def test_daily_digest_is_opt_in_and_sent_once_a_day(app, client, post_form):
    """An issuer that opts in on the company page gets one e-mail a day listing declines and
    stops (through the outbox, by `flask send-digests`); without opting in, none."""
    import datetime as dt

    from portal.agreements import digest
    from portal.core.db import utcnow

    issuer, user, contact = setup(app)
    with app.app_context():
        consumer = Consumer(sub="sub-digest", name=contact.name)
        db.session.add(consumer)
        db.session.flush()
        agreement = EFakturaAgreement(issuer_id=issuer.id, contact_id=contact.id, consumer_id=consumer.id,
                                      state=AgreementState.DECLINED)
        db.session.add(agreement)
        db.session.flush()
        db.session.add(ConsentReceipt(agreement_id=agreement.id, consumer_id=consumer.id, decision="decline",
                                      text_version="t", shown_text="Jeg takker nei", channel="sms",
                                      bankid_sub="sub-digest"))
        db.session.commit()
        assert digest.send_digests(db.session, utcnow(), "http://portal") == 0  # not opted in
    staff_login(client, post_form, user.email)
    page = client.get("/utsteder/bedrift").get_data(as_text=True)
    assert "daglig e-post" in page
    post_form("/utsteder/bedrift", {"address_line": "Storgata 1", "postal_code": "0155", "city": "Oslo",
                                    "account_number": "1234.56.78903", "digest_opt_in": "y"})
    with app.app_context():
        assert db.session.get(Issuer, issuer.id).digest_opt_in is True
        assert digest.send_digests(db.session, utcnow(), "http://portal") == 1
        assert digest.send_digests(db.session, utcnow(), "http://portal") == 0  # once a day
        db.session.commit()
        mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("%digest:%"))).one()
        assert mail.payload["to"] == user.email and contact.name in mail.payload["text"]
        assert "takket nei" in mail.payload["text"] and "1 kunde takket nei" in mail.payload["subject"]
        assert digest.send_digests(db.session, utcnow() + dt.timedelta(days=2), "http://portal") == 0  # old news


def test_worker_sees_an_invoice_sent_again_by_another_process(app):
    """The worker's session keeps the invoice it saw fail; when the issuer sends it again from
    the web (another session), the worker delivers it instead of finishing the row unseen."""
    from portal.core.events import Actor
    from portal.delivery.worker import run_once

    with app.app_context():
        issuer = make_issuer(active=False)
        contact = make_contact(issuer, email=None, address=False)
        inv = make_invoice(issuer, contact)
        db.session.commit()
        run_once()  # the post fails: no address
        db.session.expire_all()
        held = db.session.get(Invoice, inv.id)  # this session keeps the object from now on
        assert held.state is InvoiceState.FAILED
        other = app.extensions["db_sessionmaker"]()
        try:
            fresh = other.get(Invoice, inv.id)
            fresh.contact.email = "ny@example.no"
            invoices.send_again(other, fresh, Actor("issuer_user", None, "test"))
            other.commit()
        finally:
            other.close()
        run_once()
        db.session.expire_all()
        assert db.session.get(Invoice, inv.id).state is InvoiceState.DELIVERED
