"""Performance that must not regress: fixed query counts whatever the data size, Sent documents
served by an index in the page's order at any depth (EXPLAIN on PostgreSQL), and a smoke run of
the benchmark suite (`make bench`)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import flash
from sqlalchemy import event, text

from portal.core import db, pagination
from portal.invoices import queries
from portal.invoices.models import Invoice
from portal.issuers.models import Issuer
from tests.conftest import TEST_PG
from tests.factories import make_contact, make_invoice
from tests.helpers.consent import held_invoice, link_path
from tests.helpers.issuer import login, staff

ROOT = Path(__file__).resolve().parent.parent


class Statements:
    def __init__(self, engine):
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._add)
        return self.seen

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._add)

    def _add(self, _conn, _cursor, statement, *_args):
        self.seen.append(statement)


def test_consent_page_is_one_query_and_writes_nothing(ctx, engine):
    """Opening the SMS link: one SELECT for everything on the page, however much the contact has."""
    _issuer, person, _inv = held_invoice()
    path = link_path()
    client = ctx.test_client()
    counts = []
    for _ in range(2):
        with Statements(engine) as seen:
            resp = client.get(path)
        assert resp.status_code == 200
        counts.append(len(seen))
        assert not [s for s in seen if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")], seen
        issuer = db.session.get(Issuer, person.issuer_id)
        for _ in range(15):  # more invoices for the same contact
            make_invoice(issuer, person)
        db.session.commit()
    assert counts == [1, 1], counts


def _cursor_half_way(issuer_id: int, filters: queries.SentFilter) -> str:
    rows = queries.sent_documents(db.session, issuer_id, filters, cursor=None, size=100_000).rows
    row = rows[len(rows) // 2]
    return pagination.encode(row.id, row.created_at)


FILTERS = {
    "all": "",
    "status": "status=held",
    "channel": "kanal=email",
    "dates": "fra=2020-01-01&til=2100-01-01",
}


def test_sent_documents_query_count_does_not_grow_with_data(app, client, post_form, engine):
    """First page and a deep page, for every filter: the same statements for 6 and for 60 invoices."""
    issuer, user = staff(app)
    login(client, post_form, user.email)
    counts: dict[tuple[str, int], int] = {}
    with app.app_context():
        iss = db.session.get(Issuer, issuer.id)
        contacts = [make_contact(iss, name=f"K{i}", mobile=None) for i in range(3)]
        db.session.commit()
        contact_ids = [c.id for c in contacts]
    for total in (6, 60):
        with app.app_context():
            iss = db.session.get(Issuer, issuer.id)
            have = db.session.query(Invoice).filter(Invoice.issuer_id == iss.id).count()
            for i in range(have, total):
                make_invoice(iss, db.session.get(type(contacts[0]), contact_ids[i % 3]))
            db.session.commit()
            cursor = _cursor_half_way(iss.id, queries.SentFilter())
        for name, query in {**FILTERS, "contact": f"kontakt={contact_ids[1]}"}.items():
            for deep in (False, True):
                url = f"/utsteder/sendte?antall=2&{query}" + (f"&etter={cursor}" if deep else "")
                with Statements(engine) as seen:
                    resp = client.get(url)
                assert resp.status_code == 200, url
                counts[(f"{name}{' deep' if deep else ''}", total)] = len(seen)
    for key in {k for k, _ in counts}:
        assert counts[(key, 6)] == counts[(key, 60)], (key, counts)
    # The session with its account and company, then the page with each row's customer and
    # nettbank receipt: two statements (the contact filter reads that contact too).
    assert counts[("all", 60)] == counts[("all deep", 60)] == counts[("dates deep", 60)] == 2, counts
    assert counts[("contact", 60)] == 3, counts


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        if TEST_PG:
            pytest.fail("PostgreSQL was asked for but the test database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set PORTAL_TEST_DATABASE_URL)")


@pytest.mark.postgres
def test_sent_documents_every_filter_and_depth_is_an_index_scan(postgres_only, app_ctx, engine):
    """EXPLAIN ANALYZE of the page's own statement at 40,000 invoices: the invoices are read by an
    index scan in the page's order (no sort of the issuer's history), at the top and half-way
    down, and hardly a row is read and thrown away."""
    issuer = Issuer(name="Stor AS", org_number="974760673", account_number="12345678903")
    db.session.add(issuer)
    db.session.flush()
    contacts = [make_contact(issuer, name=f"K{i}") for i in range(20)]
    db.session.flush()
    db.session.execute(text("""
        INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, account_number, net_ore,
            vat_ore, total_ore, state, channel, created_at, created_by, version)
        SELECT :i, (:ids)[1 + g % 20], 'N' || g, (ts)::date, (ts)::date + 14, '0000000000018', '12345678903',
            1, 1, 2, (ARRAY['delivered','failed','sending','delivered'])[1 + g % 4],
            (ARRAY['nettbank','email','post','email'])[1 + g % 4], ts, 'test', 1
        FROM (SELECT g, timestamptz '2024-01-01' + g * interval '20 minutes' AS ts
              FROM generate_series(1, 40000) AS g) AS s"""), {"i": issuer.id, "ids": [c.id for c in contacts]})
    db.session.commit()
    db.session.execute(text("ANALYZE invoices"))
    cases = {
        "all": queries.SentFilter(),
        "status": queries.SentFilter(state=queries.InvoiceState.FAILED),
        "channel": queries.SentFilter(channel=queries.Channel.POST),
        "type": queries.SentFilter(kind=queries.DocumentKind.INVOICE),
        "contact": queries.SentFilter(contact_id=contacts[3].id),
        "month": queries.SentFilter(issued_from=dt.date(2024, 3, 1), issued_to=dt.date(2024, 3, 31)),
    }
    for name, filters in cases.items():
        for cursor in (None, _cursor_half_way(issuer.id, filters)):
            captured = []

            def grab(conn, _cursor, statement, parameters, *_a, captured=captured):
                captured.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", grab)
            try:
                page = queries.sent_documents(db.session, issuer.id, filters, cursor=cursor, size=25)
            finally:
                event.remove(engine, "before_cursor_execute", grab)
            assert len(page.rows) == 25, name
            statement, params = captured[-1]
            raw = db.session.connection().connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
                plan = cur.fetchone()[0][0]["Plan"]
            nodes = list(_plan_nodes(plan))
            where = f"{name}{' deep' if cursor else ''}: {json.dumps(plan)[:1500]}"
            # the page's scan of invoices (a cursor's own row, read by primary key, is an InitPlan; a
            # credit note's invoice, joined by primary key, is another alias of the table)
            scans = [n for n in nodes if n.get("Relation Name") == "invoices" and n.get("Alias") == "invoices"
                     and n.get("Parent Relationship") != "InitPlan"]
            assert scans and all(n["Node Type"] in ("Index Scan", "Index Only Scan") for n in scans), where
            assert all(n.get("Index Name", "").startswith("ix_invoices_issuer") for n in scans), where
            assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], where
            removed = sum(n.get("Rows Removed by Filter", 0) for n in scans)
            assert removed <= 50, where
            db.session.rollback()


@pytest.mark.postgres
def test_dashboard_counts_cost_what_they_count_not_the_history(postgres_only, app_ctx, engine):
    """EXPLAIN ANALYZE of every statement of the issuer dashboard at 30,000 old delivered invoices
    (and a few recent ones): no statement reads the issuer's history of invoices or consent
    requests; each reads about what it counts."""
    issuer = Issuer(name="Mange Fakturaer AS", org_number="974760673", account_number="12345678903",
                    b2c_active_since=db.utcnow())
    db.session.add(issuer)
    db.session.flush()
    contacts = [make_contact(issuer, name=f"K{i}") for i in range(10)]
    db.session.flush()
    db.session.execute(text("""
        INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, account_number, net_ore,
            vat_ore, total_ore, state, channel, kind, created_at, delivered_at, created_by, version)
        SELECT :i, (:ids)[1 + g % 10], 'H' || g, (ts)::date, (ts)::date + 14, '0000000000018', '12345678903',
            1, 1, 2, 'delivered', (ARRAY['nettbank','email','post'])[1 + g % 3], 'invoice',
            ts, ts, 'test', 1
        FROM (SELECT g, CASE WHEN g <= 30000 THEN timestamptz '2023-01-01' + g * interval '20 minutes'
                             ELSE now() - g % 20 * interval '1 day' END AS ts
              FROM generate_series(1, 30040) AS g) AS s"""), {"i": issuer.id, "ids": [c.id for c in contacts]})
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    captured = []

    def grab(_conn, _cursor, statement, parameters, *_a):
        captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        counts = queries.invoice_counts(db.session, issuer.id)
        board = queries.dashboard(db.session, issuer.id, db.utcnow())
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert board.delivered == 40 and counts.get("delivered") is None
    raw = db.session.connection().connection.dbapi_connection
    for statement, params in captured:
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            plan = cur.fetchone()[0][0]["Plan"]
        nodes = list(_plan_nodes(plan))
        read = sum(n.get("Actual Rows", 0) * n.get("Actual Loops", 1) + n.get("Rows Removed by Filter", 0)
                   + n.get("Heap Fetches", 0) for n in nodes
                   if n.get("Relation Name") in ("invoices", "consent_requests"))
        assert read <= 500, f"{' '.join(statement.split())[:200]}: {read} rows; {json.dumps(plan)[:1200]}"
    db.session.rollback()


@pytest.mark.postgres
def test_benchmark_suite_smoke(postgres_only, tmp_path):
    """`make bench` in miniature: tiny data, a second per measure; every figure has its baseline."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "PORTAL_BENCH_DATABASE_URL": TEST_PG}
    env.pop("BENCH_BEFORE", None)
    proc = subprocess.run([sys.executable, "-m", "bench.suite", "--smoke", "--seconds", "1", "--out", str(out)],
                          check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    record = json.loads(out.read_text())
    names = {m["name"]: m for m in record["measures"]}
    for name in ("hello", "one-query", "home", "log-in page", "consent landing", "sent first", "sent deep",
                 "sent month deep", "sweep (release_due)", "issue (issue_invoice)", "pdf stored (delivery, download)",
                 "import CSV (parse, check, save)"):
        assert name in names and names[name]["rps"] > 0, (name, proc.stdout[-2000:])
    assert names["consent landing"]["ratio"] is not None
    # Every answer was the page itself: no 429 from the rate limits, no errors.
    assert not [(m["name"], s["errors"]) for m in record["measures"] for s in m["samples"] if s["errors"]]
    for line in ("consent landing", "sent deep", "sweep (release_due)"):
        assert line in proc.stdout


def test_dead_connection_answers_503_and_the_next_request_works(make_app):
    """No ping before each request: a connection that died under a statement answers that one
    request with 503 and Retry-After (the pool is invalidated), and the next request is served."""
    from sqlalchemy.exc import DBAPIError

    app = make_app()
    calls = []

    @app.get("/_dead")
    def dead():
        calls.append(1)
        if len(calls) == 1:
            raise DBAPIError("SELECT 1", {}, ConnectionError("server closed the connection"),
                             connection_invalidated=True)
        return str(db.session.execute(text("SELECT 1")).scalar())

    client = app.test_client()
    first = client.get("/_dead")
    assert first.status_code == 503 and first.headers["Retry-After"] == "1"
    second = client.get("/_dead")
    assert second.status_code == 200 and second.get_data(as_text=True) == "1"


def test_home_page_is_rendered_once_per_language_for_anonymous_visitors(app, client):
    """The home page comes from memory for anonymous visitors, per language; a visitor with a
    message waiting gets it rendered (so the message shows), and a query string is never cached."""

    @app.get("/_test_flash")
    def _flash():
        flash("En melding bare for deg.", "info")
        return "ok"

    rendered = []
    views = app.view_functions["web.home"].__wrapped__.__globals__
    original = views["render_template"]
    views["render_template"] = lambda *a, **kw: rendered.append(a[0]) or original(*a, **kw)
    try:
        first, second = client.get("/"), client.get("/")
        assert first.status_code == second.status_code == 200
        assert first.get_data() == second.get_data() and 'lang="nb"' in first.get_data(as_text=True)
        assert rendered == ["home.html"]
        english = client.get("/?lang=en")  # a query string is never served from the cache
        again = client.get("/")  # the language is remembered: the English page, rendered once
        assert 'lang="en"' in english.get_data(as_text=True) and 'lang="en"' in again.get_data(as_text=True)
        assert client.get("/").get_data() == again.get_data()
        assert rendered == ["home.html"] * 3
        assert again.headers.get("Content-Security-Policy") == first.headers.get("Content-Security-Policy")
        client.get("/_test_flash")
        assert "En melding bare for deg." in client.get("/").get_data(as_text=True)
        assert "En melding bare for deg." not in client.get("/").get_data(as_text=True)
        assert rendered == ["home.html"] * 4
    finally:
        views["render_template"] = original
