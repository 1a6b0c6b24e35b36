"""Hostile input, generated (Hypothesis): every form and route parameter, as each kind of user,
never gives a server error, and a refused submission writes nothing.

Examples are few by default (about a minute for the file); ``HYPOTHESIS_PROFILE=ci`` (set in
.ci/run) runs more."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wtforms.fields.core import UnboundField

from portal.core import db
from portal.core.forms import PortalForm
from portal.models import Base
from tests.conftest import csrf_from
from tests.helpers.clients import consumer_client, staff_client

_COMMON = {"deadline": None, "derandomize": False,
           "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.filter_too_much]}
settings.register_profile("dev", max_examples=12, **_COMMON)
settings.register_profile("ci", max_examples=60, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")

# Tables a refused request may legitimately write: the audit of refused actions and log-in
# bookkeeping (counted failures, ended sessions).
AUDIT_TABLES = {"events", "support_audit", "login_failures", "web_sessions"}

NASTY = st.sampled_from([
    "", " ", "\x00", "a\x00b", "Firma AS\r\nBcc: x@example.no", "\t", "\x7f", "\u2028", "'; DROP TABLE invoices;--",
    "<script>alert(1)</script>", "9" * 40, "-1", "-1e999", "NaN", "1e308", "0", "2026-02-30", "../../etc/passwd",
    "%00", "ø" * 400, "+4791234567", "12345678903", "923609016", "x@example.no", "approve", "reject", "person",
])
TEXT = NASTY | st.text(max_size=60)
INT_ARG = st.one_of(st.integers(min_value=0, max_value=2**31 - 1), st.just(1))
STR_ARG = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"),
                            min_size=1, max_size=40), NASTY.filter(lambda s: s and "/" not in s and "?" not in s))


def _form_field_names() -> list[str]:
    names: set[str] = set()

    def walk(cls):
        for sub in cls.__subclasses__():
            for name, value in vars(sub).items():
                if isinstance(value, UnboundField):
                    names.add(name)
            walk(sub)

    import importlib
    import pkgutil

    import portal.areas

    for info in pkgutil.walk_packages(portal.areas.__path__, "portal.areas."):
        importlib.import_module(info.name)
    walk(PortalForm)
    names.update(f"lines-{i}-{f}" for i in range(2) for f in ("description", "quantity", "unit_price", "vat"))
    names.discard("csrf_token")
    return sorted(names)


FIELDS = _form_field_names()
FORM_DATA = st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=12)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {t.name: db.session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name not in AUDIT_TABLES}


def _rules(app, method):
    return sorted((r for r in app.url_map.iter_rules()
                   if method in r.methods and r.endpoint != "static"
                   and "logg-ut" not in r.rule and "logout" not in r.rule),
                  key=lambda r: r.rule)


def _url(rule, data) -> str:
    values = {}
    for name, conv in rule._converters.items():
        kind = conv.__class__.__name__.replace("Converter", "").lower()
        values[name] = data.draw(INT_ARG if kind in ("integer", "boundedint") else STR_ARG, label=name)
    return rule.build(values, append_unknown=False)[1]


def _as(who, app, client, post_form):
    if who in ("issuer", "support"):
        staff_client(app, post_form, client, who)
    elif who == "consumer":
        consumer_client(app, client)
    return client


WHO = ["anonymous", "issuer", "support", "consumer"]


@pytest.mark.parametrize("who", WHO)
def test_generated_get_requests_never_fail(app, client, post_form, who):
    _as(who, app, client, post_form)
    rules = _rules(app, "GET")

    @settings(settings.get_profile(PROFILE))
    @given(data=st.data())
    def run(data):
        rule = data.draw(st.sampled_from(rules), label="route")
        url = _url(rule, data)
        query = data.draw(st.dictionaries(st.sampled_from(["page", "q", "etter", "status", "kanal", "fra", "til",
                                                           "kontakt", "next", "lang", "contact", "type"]),
                                          TEXT, max_size=4), label="query")
        resp = client.get(url, query_string=query)
        assert resp.status_code < 500, f"GET {url} {query!r} as {who}: {resp.status_code}"

    run()


@pytest.mark.parametrize("who", WHO)
def test_generated_form_posts_never_fail_nor_write_half(app, client, post_form, who):
    _as(who, app, client, post_form)
    rules = _rules(app, "POST")
    home = client.get("/utsteder/logg-inn").get_data(as_text=True)
    token = csrf_from(home)

    @settings(settings.get_profile(PROFILE))
    @given(data=st.data())
    def run(data):
        rule = data.draw(st.sampled_from(rules), label="route")
        url = _url(rule, data)
        form = data.draw(FORM_DATA, label="form")
        with_token = data.draw(st.booleans(), label="csrf")
        payload = dict(form, csrf_token=token) if with_token else form
        before = _counts(app)
        resp = client.post(url, data=payload)
        assert resp.status_code < 500, f"POST {url} {form!r} as {who}: {resp.status_code}"
        if resp.status_code >= 400:
            assert _counts(app) == before, f"POST {url} {form!r} as {who} was refused but wrote"

    run()
