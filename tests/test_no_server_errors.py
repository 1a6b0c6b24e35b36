"""Bad input anywhere gets an answer, never a server error: every route, every kind of user."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.core import db
from portal.core.events import Event
from tests.conftest import csrf_from
from tests.helpers.clients import consumer_client, staff_client

JUNK_QUERY = {
    "page": "abc", "etter": "2026-13-45_x", "after": "%%%", "status": "\x00bogus", "kanal": "fax",
    "fra": "31.02.2026", "til": "i går", "kontakt": "-1", "q": "<script>alert(1)</script>" * 20,
    "antall": "99999999999999999999", "lang": "xx", "next": "//evil.example", "type": "??",
}
JUNK_VALUES = {"integer": 987654, "boundedint": 987654, "unicode": "ikke-et-token", "path": "x/y", "default": "ikke-gyldig"}
SKIP_ENDPOINTS = {"static"}


def _build(rule):
    values = {}
    for name, conv in rule._converters.items():
        kind = conv.__class__.__name__.replace("Converter", "").lower()
        if kind not in JUNK_VALUES:
            raise AssertionError(f"{rule.rule}: no junk value for a {kind} argument")
        values[name] = JUNK_VALUES[kind]
    return rule.build(values, append_unknown=False)[1]


def _routes(app, method):
    # Log-out handlers last, so that the rest is exercised while logged in.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: "logg-ut" in r.rule or "logout" in r.rule)
    for rule in rules:
        if rule.endpoint in SKIP_ENDPOINTS or method not in rule.methods:
            continue
        yield rule


@pytest.mark.parametrize("who", ["anonymous", "issuer", "support", "consumer"])
def test_every_get_route_survives_junk(app, client, post_form, who):
    """Every GET page answers junk ids and junk query parameters without a server error."""
    if who in ("issuer", "support"):
        staff_client(app, post_form, client, who)
    elif who == "consumer":
        consumer_client(app, client)
    checked = 0
    for rule in _routes(app, "GET"):
        url = _build(rule)
        for query in (None, JUNK_QUERY):
            resp = client.get(url, query_string=query)
            assert resp.status_code < 500, f"GET {url} as {who} gave {resp.status_code}"
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("who", ["anonymous", "issuer", "support", "consumer"])
def test_every_post_route_survives_empty_and_junk_forms(app, client, post_form, who):
    """Every form handler answers an empty or nonsensical submission without a server error,
    and without recording any change."""
    if who in ("issuer", "support"):
        staff_client(app, post_form, client, who)
    elif who == "consumer":
        consumer_client(app, client)
    home = client.get("/").get_data(as_text=True)
    token = csrf_from(home) if 'name="csrf_token"' in home else None
    if token is None:
        page = client.get("/utsteder/logg-inn").get_data(as_text=True)
        token = csrf_from(page)
    with app.app_context():
        events_before = db.session.scalar(select(func.count()).select_from(Event))
    checked = 0
    for rule in _routes(app, "POST"):
        url = _build(rule)
        junk = dict(JUNK_QUERY.items())
        junk.update({"csrf_token": token, "email": "ikke-epost", "mobile": "91234567", "amount": "-1e999"})
        for data in ({"csrf_token": token}, junk, {}):
            resp = client.post(url, data=data)
            assert resp.status_code < 500, f"POST {url} as {who} gave {resp.status_code}"
            checked += 1
    assert checked > 20
    with app.app_context():
        events_after = db.session.scalar(select(func.count()).select_from(Event))
    assert events_after == events_before, "a junk submission changed something"


def test_pages_carry_security_headers(client):
    """Every page forbids framing and sniffing, keeps consent links out of referrers, and is not cached."""
    resp = client.get("/samtykke/ikke-et-token")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
