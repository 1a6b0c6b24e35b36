"""The business register client against the simulated register (a real HTTP server): units,
their status, who may sign, and a register that is down or answers garbage."""
from __future__ import annotations

import datetime as dt

import pytest

from portal.issuers import register
from tests.helpers.register import closed_port_url, running_wsgi, text_app


def test_active_unit_has_name_and_address(app_ctx):
    """Fjordlys Energi AS comes back with the demo's name and address, and is active."""
    unit = register.lookup_unit("923609016")
    assert unit.name == "Fjordlys Energi AS"
    assert (unit.address_line, unit.postal_code, unit.city) == ("Kaigata 4", "5015", "Bergen")
    assert unit.status is register.UnitStatus.ACTIVE


@pytest.mark.parametrize(("org", "status"), [
    ("983887457", register.UnitStatus.DELETED),
    ("889640782", register.UnitStatus.BANKRUPT),
    ("995568217", register.UnitStatus.LIQUIDATING),
])
def test_unit_status_is_read(app_ctx, org, status):
    """Deleted (410 Gone), bankrupt and liquidating units are told apart."""
    assert register.lookup_unit(org).status is status


def test_unknown_unit_is_not_found(app_ctx):
    """An organisation number the register does not know raises UnitNotFound."""
    with pytest.raises(register.UnitNotFound):
        register.lookup_unit("914778263")


def test_signing_roles_leave_out_board_members_and_resigned(app_ctx):
    """Only daglig leder, styreleder, signatur and prokura may sign; a board member or a resigned leader may not."""
    fjordlys = {(h.name, h.code) for h in register.signing_roles("923609016")}
    assert fjordlys == {("Kari Nordmann", "DAGL"), ("Ola Nordmann", "LEDE")}
    berg = register.signing_roles("971526920")
    assert {(h.name, h.code, h.description) for h in berg} == {
        ("Jonas Berg", "SIGN", "Signatur"), ("Kari Nordmann", "PROK", "Prokura")}
    assert next(h for h in berg if h.code == "SIGN").birth_date == dt.date(1999, 9, 9)
    snekker = register.signing_roles("974760673")
    assert ("Ali Hassan", "DAGL") in {(h.name, h.code) for h in snekker}


def test_register_down_raises_unavailable(make_app):
    """A register that refuses the connection is RegisterUnavailable, never a guess."""
    app = make_app(REGISTER_URL=closed_port_url(), REGISTER_TIMEOUT=1.0)
    with app.app_context(), pytest.raises(register.RegisterUnavailable):
        register.lookup_unit("923609016")


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b"[1, 2]", b'{"navn": 5}',
                                  b'{"rollegrupper": "x"}'])
def test_register_garbage_raises_unavailable(make_app, body):
    """Answers that are not the register's JSON shape are RegisterUnavailable, for units and roles."""
    with running_wsgi(text_app(body)) as base:
        app = make_app(REGISTER_URL=base + "/api")
        with app.app_context():
            with pytest.raises(register.RegisterUnavailable):
                register.lookup_unit("923609016")
            with pytest.raises(register.RegisterUnavailable):
                register.signing_roles("923609016")


def test_server_error_raises_unavailable(make_app):
    """A 500 from the register is RegisterUnavailable."""
    with running_wsgi(text_app(b"oops", "500 Internal Server Error", "text/plain")) as base:
        app = make_app(REGISTER_URL=base + "/api")
        with app.app_context(), pytest.raises(register.RegisterUnavailable):
            register.lookup_unit("923609016")


def test_answers_are_cached(make_app, register_url):
    """A second look-up within the cache time does not ask the register again."""
    calls = []

    def counting(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"organisasjonsnummer": "923609016", "navn": "Cache AS", "forretningsadresse": '
                b'{"adresse": ["Vei 1"], "postnummer": "0150", "poststed": "OSLO"}}']

    with running_wsgi(counting) as base:
        app = make_app(REGISTER_URL=base + "/api")
        with app.app_context():
            assert register.lookup_unit("923609016").city == "Oslo"
            assert register.lookup_unit("923609016").name == "Cache AS"
    assert len(calls) == 1


def test_simulator_refuses_production(monkeypatch):
    """The simulated register will not start with PORTAL_ENV=production."""
    from simulators.register.app import RegisterRefused, create_register_app

    monkeypatch.setenv("PORTAL_ENV", "production")
    with pytest.raises(RegisterRefused, match="PORTAL_ENV=production"):
        create_register_app()


def test_demo_issuers_match_the_register(app_ctx):
    """The two demo issuers have the register's names and addresses, and their named approvers may sign."""
    from sqlalchemy import select

    from portal.core import db
    from portal.core.names import same_person
    from portal.demo import ACTIVE_ORG, PENDING_ORG, load_demo
    from portal.issuers.models import Issuer

    load_demo()
    db.session.flush()
    for org in (ACTIVE_ORG, PENDING_ORG):
        issuer = db.session.scalars(select(Issuer).where(Issuer.org_number == org)).one()
        unit = register.lookup_unit(org)
        assert (issuer.name, issuer.address_line, issuer.postal_code, issuer.city) == (
            unit.name, unit.address_line, unit.postal_code, unit.city)
        approver = issuer.agreements[-1].approver_name
        assert any(same_person(record_name=h.name, record_birth_date=None, bankid_name=approver,
                               bankid_birth_date=None) for h in register.signing_roles(org))
    db.session.rollback()
