"""The approver signs with BankID (flow H): only a role holder with signing authority in the
register may approve or decline, each answer is recorded with who, role, when and text
version, and the issuer sees every outcome."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from portal.core.events import Event
from portal.issuers.models import Issuer, IssuerAgreement
from portal.issuers.states import IssuerAgreementState
from simulators.bankid.persons import ALI, JONAS, KARI, OLA
from tests.helpers.activation import (
    activate,
    answer,
    approver_client,
    approver_mails,
    link_of,
    staff,
)
from tests.helpers.issuer import login, query


@pytest.fixture
def app(bankid_app):
    """The portal logs approvers in on the simulated BankID provider."""
    return bankid_app



def requested(app, client, post_form, org=None, name="Kari Nordmann"):
    """An inactive issuer whose staff asked ``name`` to approve; returns (issuer, link path)."""
    issuer, user = staff(app, active=False) if org is None else _staff_with(app, org)
    login(client, post_form, user.email)
    assert activate(client, post_form, name=name, email="leder@firma.no").status_code == 302
    return issuer, link_of(approver_mails(app)[-1])


def _staff_with(app, org):
    from tests.helpers.issuer import staff as base

    return base(app, active=False, org_number=org)


def agreement(app, issuer_id):
    return query(app, lambda s: s.scalars(select(IssuerAgreement).where(IssuerAgreement.issuer_id == issuer_id)
                                          .order_by(IssuerAgreement.id.desc())).first())


def test_signatory_approves_and_receipt_is_kept(app, client, post_form):
    """Kari (daglig leder) logs in with BankID, approves; the receipt names her, her role, the time and text version."""
    issuer, path = requested(app, client, post_form)
    c = approver_client(app, path, KARI.national_id)
    page = c.get(path).get_data(as_text=True)
    assert "Daglig leder/ adm.direktør" in page and "Godkjenn utstederavtalen" in page and "Avslå" in page
    done = answer(c, path, "approve")
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Utstederavtalen er godkjent" in text and "Kari Nordmann" in text
    agr = agreement(app, issuer.id)
    assert agr.state is IssuerAgreementState.APPROVED
    assert (agr.signer_name, agr.signer_role, agr.text_version) == ("Kari Nordmann", "DAGL", "2026-11")
    assert agr.signer_sub and agr.signer_acr and agr.answered_at and len(agr.text_digest) == 64
    assert query(app, lambda s: s.get(Issuer, issuer.id).is_active)
    b2c = client.get("/utsteder/b2c").get_data(as_text=True)
    assert "Godkjent av Kari Nordmann (Daglig leder/ adm.direktør)" in b2c


def test_chair_of_the_board_may_also_sign(app, client, post_form):
    """Ola (styreleder) may approve a request that named someone else; the receipt says who really signed."""
    issuer, path = requested(app, client, post_form, name="Kari Nordmann")
    assert answer(approver_client(app, path, OLA.national_id), path, "approve").status_code == 200
    agr = agreement(app, issuer.id)
    assert (agr.signer_name, agr.signer_role_text) == ("Ola Nordmann", "Styrets leder")


def test_signatory_declines_and_issuer_can_name_someone_else(app, client, post_form):
    """A decline is recorded, the issuer stays inactive and sees who declined, and can send a new request."""
    issuer, path = requested(app, client, post_form)
    done = answer(approver_client(app, path, KARI.national_id), path, "decline")
    assert done.status_code == 200 and "Utstederavtalen er avslått" in done.get_data(as_text=True)
    agr = agreement(app, issuer.id)
    assert agr.state is IssuerAgreementState.DECLINED and agr.signer_name == "Kari Nordmann"
    assert not query(app, lambda s: s.get(Issuer, issuer.id).is_active)
    b2c = client.get("/utsteder/b2c").get_data(as_text=True)
    assert "Avslått av Kari Nordmann" in b2c
    assert activate(client, post_form, name="Ola Nordmann", email="ola@firma.no").status_code == 302
    assert agreement(app, issuer.id).state is IssuerAgreementState.PENDING
    again = app.test_client().get(path)
    assert again.status_code == 409 and 'data-problem="declined"' in again.get_data(as_text=True)


def test_board_member_cannot_sign_and_issuer_sees_it(app, client, post_form):
    """Jonas (plain board member) sees who can sign; nothing changes; the issuer sees he could not sign."""
    issuer, path = requested(app, client, post_form, name="Jonas Berg")
    c = app.test_client()
    from tests.helpers.bankid import login_consumer

    login_consumer(c, JONAS.national_id, next=path)
    page = c.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 403 and "Du kan ikke signere for" in text
    assert "Kari Nordmann – Daglig leder/ adm.direktør" in text and "Ola Nordmann – Styrets leder" in text
    assert "Jonas Berg –" not in text and "Godkjenn utstederavtalen" not in text
    assert agreement(app, issuer.id).state is IssuerAgreementState.PENDING
    assert not query(app, lambda s: s.get(Issuer, issuer.id).is_active)
    b2c = client.get("/utsteder/b2c").get_data(as_text=True)
    assert "Jonas Berg åpnet lenken" in b2c and "kan ikke signere" in b2c
    assert query(app, lambda s: s.scalar(select(Event.id).where(Event.action == "signer_not_found")))


def test_stranger_cannot_answer_by_posting(app, client, post_form):
    """A person with no role in the company who posts an answer directly changes nothing."""
    issuer, path = requested(app, client, post_form)
    kari = approver_client(app, path, KARI.national_id)
    html = kari.get(path).get_data(as_text=True)
    from tests.conftest import csrf_from
    from tests.helpers.bankid import login_consumer

    digest = html.split('name="digest" type="hidden" value="')[1].split('"')[0]
    stranger = app.test_client()
    login_consumer(stranger, ALI.national_id, next=path)
    page = stranger.get("/bankid/logout")  # any page of the stranger's session with a form
    resp = stranger.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)), "digest": digest,
                                     "decision": "approve"})
    assert resp.status_code == 403 and "Du kan ikke signere for" in resp.get_data(as_text=True)
    assert agreement(app, issuer.id).state is IssuerAgreementState.PENDING


def test_answer_needs_bankid_first(app, client, post_form):
    """Without a BankID log-in the link page shows the text and a BankID button, and has no answer buttons."""
    _issuer, path = requested(app, client, post_form)
    page = app.test_client().get(path).get_data(as_text=True)
    assert "Logg inn med BankID" in page and 'value="approve"' not in page


def test_replayed_link_shows_used_page(app, client, post_form):
    """After an approval, the same link (even logged in) says it was already used or approved; nothing changes."""
    issuer, path = requested(app, client, post_form)
    c = approver_client(app, path, KARI.national_id)
    assert answer(c, path, "approve").status_code == 200
    again = app.test_client().get(path)
    assert 'data-problem="used"' in again.get_data(as_text=True)
    assert agreement(app, issuer.id).state is IssuerAgreementState.APPROVED


def test_expired_link_shows_expired_page(app, client, post_form):
    """An approver link older than seven days says it expired and how to get a new one."""
    _issuer, path = requested(app, client, post_form)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        resp = app.test_client().get(path)
    assert resp.status_code == 410 and "Be bedriften sende en ny lenke" in resp.get_data(as_text=True)


def test_register_down_at_approval_changes_nothing(make_app, bankid_provider, post_form):
    """If the register cannot be asked when the approver arrives, the page says so and nothing is approved."""
    from tests.helpers.register import closed_port_url

    good = make_app(**bankid_provider.portal_settings())
    client = good.test_client()
    issuer, user = _staff_with(good, "923609016")
    from tests.conftest import csrf_from

    html = client.get("/utsteder/logg-inn").get_data(as_text=True)
    client.post("/utsteder/logg-inn", data={"csrf_token": csrf_from(html), "email": user.email,
                                            "password": "riktig-hest-batteri-42"})
    html = client.get("/utsteder/b2c").get_data(as_text=True)
    client.post("/utsteder/b2c/bekreft", data={"csrf_token": csrf_from(html), "approver_name": "Kari Nordmann",
                                                "approver_email": "k@firma.no", "confirm": "y"})
    path = link_of(approver_mails(good)[-1])
    down = make_app(**bankid_provider.portal_settings(), REGISTER_URL=closed_port_url(), REGISTER_TIMEOUT=1.0)
    from portal.issuers import register

    register.clear_cache()
    c = down.test_client()
    from tests.helpers.bankid import login_consumer

    login_consumer(c, KARI.national_id, next=path)
    resp = c.get(path)
    assert resp.status_code == 503 and "registeret svarer ikke" in resp.get_data(as_text=True)
    assert agreement(good, issuer.id).state is IssuerAgreementState.PENDING
