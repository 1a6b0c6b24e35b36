"""B2C activation (flows A and B): preview counts, the approver e-mail and link, and every bad-link page.
The approver answers after logging in with BankID (the simulated provider) as a role holder of
the issuer in the simulated register (Fjordlys Energi AS: Kari Nordmann is daglig leder)."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from portal.agreements.models import EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.issuers.models import Issuer, IssuerAgreement
from portal.issuers.states import IssuerAgreementState
from tests.helpers.activation import (
    activate,
    answer,
    approver_client,
    approver_mails,
    link_of,
    seed_third_party,
    staff,
)
from tests.helpers.issuer import login, query


@pytest.fixture
def app(bankid_app):
    """The portal logs approvers in on the simulated BankID provider."""
    return bankid_app


def test_full_activation_journey(app, client, post_form):
    """Preview shows this issuer's counts; confirming e-mails the approver; the link approves; the banner goes."""
    issuer, user = staff(app, active=False)
    seed_third_party(app, issuer.id, 3)
    login(client, post_form, user.email)

    preview = post_form("/utsteder/b2c/forhandsvis", {"approver_name": "Kari Godkjenner",
                                                       "approver_email": "kari@firma.no"}, page="/utsteder/b2c")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "alle 3 eFaktura-avtalene" in page and "ikke bare én kundes" in page
    assert "3 kunder blir bedt om å samtykke på nytt" in page
    assert "AvtaleGiro" in page
    assert query(app, lambda s: s.scalar(select(IssuerAgreement.id))) is None  # nothing saved at preview

    resp = activate(client, post_form)
    assert resp.status_code == 302
    banner = client.get("/utsteder/").get_data(as_text=True)
    assert "Utstederavtalen venter på godkjenning" in banner and "kari@firma.no" in banner
    assert "sendes ingen fakturaer som eFaktura" in banner

    [mail] = approver_mails(app)
    assert mail.payload["to"] == "kari@firma.no" and mail.payload["purpose"] == "issuer_agreement"
    installation, _, cause = mail.idempotency_key.partition(":")
    assert len(installation) == 32 and cause.startswith("issuer-agreement:") and cause.endswith(":1")
    path = link_of(mail)
    assert path in mail.payload["html"]

    page = app.test_client().get(path).get_data(as_text=True)
    assert issuer.name in page and "3 eFaktura-avtale" in page and "Logg inn med BankID" in page
    done = answer(approver_client(app, path), path)
    assert done.status_code == 200 and "Utstederavtalen er godkjent" in done.get_data(as_text=True)

    assert query(app, lambda s: s.get(Issuer, issuer.id).b2c_active_since) is not None
    states = query(app, lambda s: list(s.scalars(select(EFakturaAgreement.state))))
    assert states == [AgreementState.TERMINATED] * 3
    after = client.get("/utsteder/").get_data(as_text=True)
    assert "agreement-banner" not in after


def test_preview_without_third_party_and_avtalegiro_choice(app, client, post_form):
    """With no earlier agreements the preview says none end; an AvtaleGiro issuer must tick to stop it."""
    issuer, user = staff(app, active=False, uses_avtalegiro=True)
    login(client, post_form, user.email)
    page = post_form("/utsteder/b2c/forhandsvis", {"approver_name": "K", "approver_email": "k@firma.no"},
                     page="/utsteder/b2c").get_data(as_text=True)
    assert "ingen eFaktura-avtaler fra en tidligere ordning" in page
    assert "AvtaleGiro stoppes" in page
    refused = activate(client, post_form, name="K", email="k@firma.no")
    assert refused.status_code == 422
    assert "kan ikke brukes sammen med AvtaleGiro" in refused.get_data(as_text=True)
    assert approver_mails(app) == []
    no_confirm = post_form("/utsteder/b2c/bekreft", {"approver_name": "K", "approver_email": "k@firma.no",
                                                      "stop_avtalegiro": "y"}, page="/utsteder/b2c")
    assert no_confirm.status_code == 422
    assert activate(client, post_form, name="K", email="k@firma.no", stop_avtalegiro="y").status_code == 302
    path = link_of(approver_mails(app)[0])
    answer(approver_client(app, path), path)
    assert query(app, lambda s: s.get(Issuer, issuer.id).uses_avtalegiro) is False


def _approve(app, path):
    return answer(approver_client(app, path), path)


def test_reused_link(app, client, post_form):
    """A link used once shows the 'already used' page the second time."""
    _issuer, user = staff(app, active=False)
    login(client, post_form, user.email)
    activate(client, post_form)
    path = link_of(approver_mails(app)[0])
    assert _approve(app, path).status_code == 200
    again = app.test_client().get(path)
    assert "data-problem=\"used\"" in again.get_data(as_text=True)


def test_expired_link_and_resend(app, client, post_form):
    """After seven days the link says it expired and to ask for a new one; a resent link works."""
    _issuer, user = staff(app, active=False)
    login(client, post_form, user.email)
    activate(client, post_form)
    path = link_of(approver_mails(app)[0])
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        resp = app.test_client().get(path)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 410 and 'data-problem="expired"' in page and "Be bedriften sende en ny lenke" in page
    resent = post_form("/utsteder/b2c/send-igjen", {}, page="/utsteder/b2c")
    assert resent.status_code == 302
    mails = approver_mails(app)
    assert len(mails) == 2 and mails[1].idempotency_key.endswith(":2")
    assert _approve(app, link_of(mails[1])).status_code == 200


def test_tampered_link(app, client, post_form):
    """A changed link says it is not valid, and nothing is approved."""
    issuer, user = staff(app, active=False)
    login(client, post_form, user.email)
    activate(client, post_form)
    path = link_of(approver_mails(app)[0])
    resp = app.test_client().get(path[:-3] + "abc")
    assert resp.status_code == 400 and 'data-problem="invalid"' in resp.get_data(as_text=True)
    assert query(app, lambda s: s.get(Issuer, issuer.id).b2c_active_since) is None


def test_withdrawn_link_after_changing_approver(app, client, post_form):
    """Changing the approver withdraws the old agreement: its link says so; the new one works."""
    issuer, user = staff(app, active=False)
    login(client, post_form, user.email)
    activate(client, post_form, name="Første", email="forste@firma.no")
    activate(client, post_form, name="Andre", email="andre@firma.no")
    first, second = approver_mails(app)
    assert second.payload["to"] == "andre@firma.no"
    old = app.test_client().get(link_of(first))
    assert 'data-problem="withdrawn"' in old.get_data(as_text=True)
    states = query(app, lambda s: [a.state for a in s.scalars(select(IssuerAgreement).order_by(IssuerAgreement.id))])
    assert states == [IssuerAgreementState.WITHDRAWN, IssuerAgreementState.PENDING]
    assert "andre@firma.no" in client.get("/utsteder/b2c").get_data(as_text=True)
    assert _approve(app, link_of(second)).status_code == 200
    assert query(app, lambda s: s.get(Issuer, issuer.id).is_active)
