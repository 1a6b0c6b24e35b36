# ruff: noqa: B023  (each timed closure is called at once, inside the loop that defines it)
"""The performance suite: every figure a ratio against a baseline measured in the same run.

    make bench                      # 1,000,000 invoices, 10 s per measure, 3 rounds
    .venv/bin/python -m bench.suite --smoke   # tiny data, a few seconds per measure

It creates its own PostgreSQL database (``--database-url`` names the server; default
``PORTAL_BENCH_DATABASE_URL`` or postgresql://postgres@127.0.0.1:5432/postgres), fills it with one
issuer's invoices by set-based inserts, serves the portal and the baselines (bench/baseline_app.py:
a bare hello-world and a one-query page through the portal's engine and pool) under the same
gunicorn settings, and loads each page with wrk (installed with apt-get when missing; a Python load
generator otherwise). Pages and their baselines are measured alternately, round after round, in
reversed order every other round, with the load average printed beside each figure. The write
paths (the three-day sweep, issuing, the PDF, a CSV import) run in this process against raw-SQL or
minimal equivalents, alternately too. The database is dropped at the end.

One line per measure: req/s (or items/s), p50, p95, p99, the ratio and its baseline, and the
issue's goal. A JSON record goes to bench/results/ (git-ignored; example.json is committed).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "benchmark-password-2026"


# --- figures -----------------------------------------------------------------------------

@dataclass
class Sample:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    load: float


@dataclass
class Measure:
    name: str
    baseline: str | None = None  # the measure this one is a ratio of
    ratio_of: str = "rps"  # rps: higher is better; p95: the ratio of p95 latencies, lower is better
    goal: float | None = None
    note: str = ""
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(s, attr) for s in self.samples) if self.samples else 0.0


def load_avg() -> float:
    return os.getloadavg()[0]


# --- the database ------------------------------------------------------------------------

def create_database(server_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                          "AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def make_app(url: str, secret: str):
    from portal import create_app

    app = create_app({"DATABASE_URL": url, "ENV": "development", "SECRET_KEY": secret,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "BASE_URL": "http://127.0.0.1"})
    return app


@dataclass
class Seeded:
    issuer_id: int
    email: str
    consent_path: str
    invoice_with_lines: int
    deep: dict[str, str]  # measure name -> URL path of its page


def seed(app, invoices: int) -> Seeded:
    """One issuer with 50 contacts and ``invoices`` invoices (1,000 a day back from 2023-01-01),
    inserted set-based; a held invoice whose consent link is the consent page; the cursors of
    pages half-way down each list."""
    from sqlalchemy import select, text

    from portal.agreements.models import ConsentRequest
    from portal.contacts.models import Contact, ContactKind
    from portal.core import db, pagination
    from portal.core.auth import hash_password
    from portal.core.events import SYSTEM
    from portal.core.tokens import Purpose, make_token
    from portal.invoices import services
    from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
    from portal.issuers.states import IssuerAgreementState

    with app.app_context():
        sess = db.session
        issuer = Issuer(name="Stor Kraft AS", org_number="923609016", account_number="12345678903",
                        address_line="Storgata 1", postal_code="0155", city="Oslo",
                        b2c_active_since=db.utcnow())
        sess.add(issuer)
        sess.flush()
        sess.add(IssuerAgreement(issuer_id=issuer.id, approver_name="Kari Godkjenner",
                                 approver_email="godkjenner@example.no", state=IssuerAgreementState.APPROVED,
                                 approved_at=db.utcnow()))
        contacts = [Contact(issuer_id=issuer.id, customer_number=f"{i:05d}", kind=ContactKind.PERSON,
                            name=f"Kunde Nummer {i}", mobile=f"+47912{i:05d}", email=f"kunde{i}@example.no",
                            address_line="Bakkeveien 2", postal_code="5003", city="Bergen", access_point="B2CNO",
                            receive_edocuments=True) for i in range(50)]
        sess.add_all(contacts)
        user = IssuerUser(issuer_id=issuer.id, email="bench@example.no", name="Bench",
                          password_hash=hash_password(PASSWORD), email_verified_at=db.utcnow())
        sess.add(user)
        sess.flush()
        ids = sorted(c.id for c in contacts)
        sess.execute(text("""
            INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, account_number,
                net_ore, vat_ore, total_ore, state, channel, route, created_at, issued_at, delivered_at,
                created_by, version)
            SELECT :issuer, (:ids)[1 + g % 50], 'B' || g, (ts)::date, (ts)::date + 14, '0000000000018',
                '12345678903', 10000, 2500, 12500,
                (ARRAY['delivered','delivered','failed','sending'])[1 + g % 4],
                (ARRAY['nettbank','email','post','email'])[1 + g % 4],
                'agreement', ts, ts, ts, 'bench', 1
            FROM (SELECT g, timestamptz '2023-01-01 08:00+00' + g * interval '86.4 seconds' AS ts
                  FROM generate_series(1, :n) AS g) AS s
        """), {"issuer": issuer.id, "ids": ids, "n": invoices})
        # A held invoice and its consent request: the consent page.
        person = contacts[0]
        draft = services.create_invoice(
            sess, issuer, person, number="C-1", issue_date=dt.date.today(),
            due_date=dt.date.today() + dt.timedelta(days=14), kid="0000000000018", account_number="12345678903",
            lines=[services.LineInput("Strøm", services.Decimal("1"), 80000, 25),
                   services.LineInput("Nettleie", services.Decimal("2.5"), 12000, 25)], actor=SYSTEM)
        services.issue_invoice(sess, draft, SYSTEM)
        req = sess.scalar(select(ConsentRequest).where(ConsentRequest.contact_id == person.id))
        token = make_token(Purpose.CONSENT, {"cr": req.id, "c": person.id, "i": issuer.id, "ch": "sms"})
        sess.commit()
        sess.execute(text("ANALYZE"))
        sess.commit()

        def cursor_at(where: str, order: str, offset: int, params: dict) -> str:
            row = sess.execute(text(f"SELECT id, created_at FROM invoices WHERE issuer_id = :i {where} "
                                    f"ORDER BY {order} OFFSET :o LIMIT 1"),
                               {"i": issuer.id, "o": offset, **params}).first()
            return pagination.encode(row.id, row.created_at)

        newest = "created_at DESC, id DESC"
        half = max(invoices // 2, 1)
        month = {"f": dt.date(2023, 6, 1), "t": dt.date(2023, 6, 30)} if invoices > 200_000 else \
            {"f": dt.date(2023, 1, 1), "t": dt.date(2023, 1, 31)}
        in_month = sess.scalar(text("SELECT count(*) FROM invoices WHERE issuer_id = :i AND issue_date "
                                    "BETWEEN :f AND :t"), {"i": issuer.id, **month})
        dates = f"fra={month['f'].isoformat()}&til={month['t'].isoformat()}"
        deep = {
            "sent deep": f"/utsteder/sendte?etter={cursor_at('', newest, half, {})}",
            "sent failed deep": "/utsteder/sendte?status=failed&etter="
                                + cursor_at("AND state = 'failed'", newest, invoices // 8, {}),
            "sent post deep": "/utsteder/sendte?kanal=post&etter="
                              + cursor_at("AND channel = 'post'", newest, invoices // 8, {}),
            "sent contact deep": f"/utsteder/sendte?kontakt={ids[7]}&etter="
                                 + cursor_at("AND contact_id = :c", newest, invoices // 100, {"c": ids[7]}),
            "sent month deep": f"/utsteder/sendte?{dates}&etter="
                               + cursor_at("AND issue_date BETWEEN :f AND :t", "issue_date DESC, " + newest,
                                           max(in_month // 2, 1), month),
            "sent month": f"/utsteder/sendte?{dates}",
            "sent contact": f"/utsteder/sendte?kontakt={ids[7]}",
        }
        return Seeded(issuer.id, user.email, f"/samtykke/{token}", draft.id, deep)


# --- serving and loading -------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def export_revision(rev: str, tmp: Path) -> Path:
    """The files of ``rev`` (``git archive``), with this checkout's compiled translations."""
    root = tmp / "before"
    root.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    subprocess.run([str(BIN / "pybabel"), "compile", "-d", str(root / "portal" / "translations")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return root


@contextlib.contextmanager
def gunicorn(target: str, env: dict, log: Path, workers: int, cwd: Path | None = None):
    port = free_port()
    full = {**os.environ, **env, "PORTAL_WEB_WORKERS": str(workers), "PORTAL_WEB_THREADS": "1",
            "PORTAL_BIND": f"127.0.0.1:{port}"}
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "--config", str((cwd or ROOT) / "gunicorn.conf.py"), target],
                                cwd=cwd or ROOT, env=full, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"{target} did not start; see {log}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install wrk)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, seconds: float, connections: int, threads: int, cookie: str | None) -> Sample:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(int(seconds), 1)}s", "--timeout", "10s",
           "-s", str(ROOT / "bench" / "report.lua")]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[6:])
    return Sample(data["requests"] / data["seconds"], data["p50_ms"], data["p95_ms"], data["p99_ms"],
                  data["errors"], load_avg())


def run_python_load(url: str, seconds: float, connections: int, cookie: str | None) -> Sample:
    """Fallback without wrk: ``connections`` threads, one request at a time each."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop():
        mine = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    start = time.monotonic()
    pool = [threading.Thread(target=loop) for _ in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - start
    ms = sorted(x * 1000 for x in latencies) or [0.0]

    def pct(p):
        return ms[min(int(len(ms) * p / 100), len(ms) - 1)]

    return Sample(len(latencies) / elapsed, pct(50), pct(95), pct(99), errors[0], load_avg())


def log_in(base: str) -> str:
    import requests

    s = requests.Session()
    html = s.get(base + "/utsteder/logg-inn", timeout=30).text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    resp = s.post(base + "/utsteder/logg-inn", data={"csrf_token": csrf, "email": "bench@example.no",
                                                     "password": PASSWORD}, timeout=30, allow_redirects=False)
    if resp.status_code not in (302, 303):
        raise RuntimeError(f"could not log in to the portal: {resp.status_code}")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


# --- write paths, in this process ------------------------------------------------------------

def timed_rate(fn, items: int) -> Sample:
    t = time.perf_counter()
    fn()
    secs = time.perf_counter() - t
    return Sample(items / secs, secs * 1000, secs * 1000, secs * 1000, 0, load_avg())


def held_set(app, tag: str, count: int, contacts: int) -> int:
    """An issuer with ``count`` held invoices past their deadline over ``contacts`` contacts (none
    reachable by eFaktura), each with its pending deadline row, as issuing leaves them."""
    from sqlalchemy import text

    from portal.contacts.models import Contact, ContactKind
    from portal.core import db
    from portal.issuers.models import Issuer

    with app.app_context():
        sess = db.session
        issuer = Issuer(name=f"Sweep {tag} AS", org_number=f"8{abs(hash(tag)) % 10**8:08d}",
                        account_number="12345678903")
        sess.add(issuer)
        sess.flush()
        sess.add_all([Contact(issuer_id=issuer.id, customer_number=f"{tag}{i}", kind=ContactKind.PERSON,
                              name=f"Sveip {tag} {i}", email=f"s{tag}{i}@example.no", receive_edocuments=False)
                      for i in range(contacts)])
        sess.flush()
        sess.execute(text("""
            WITH c AS (SELECT array_agg(id ORDER BY id) AS ids FROM contacts WHERE issuer_id = :i),
            inv AS (
              INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, account_number,
                  net_ore, vat_ore, total_ore, state, route, created_at, issued_at, held_until, created_by, version)
              SELECT :i, c.ids[1 + g % :nc], :tag || '-' || g, current_date, current_date + 14, '0000000000018',
                  '12345678903', 10000, 2500, 12500, 'held', 'consent_request', now() - interval '4 days',
                  now() - interval '4 days', now() - interval '1 hour' + g * interval '1 ms', 'bench', 2
              FROM c, generate_series(1, :n) AS g
              RETURNING id, contact_id, held_until)
            INSERT INTO outbox (kind, status, idempotency_key, payload, issuer_id, contact_id, invoice_id,
                attempts, max_attempts, available_at, created_at)
            SELECT 'consent_deadline', 'pending', 'invoice:' || id || '\\:deadline',
                json_build_object('invoice_id', id), :i, contact_id, id, 0, 6, held_until, now()
            FROM inv
        """), {"i": issuer.id, "n": count, "nc": contacts, "tag": tag})
        sess.commit()
        return issuer.id


RAW_RELEASE = """
WITH moved AS (
  UPDATE invoices SET state = 'sending', channel = 'email', route = 'no_consent', version = version + 1
  WHERE issuer_id = :i AND state = 'held' AND held_until <= now()
  RETURNING id, contact_id, version),
ev AS (
  INSERT INTO events (created_at, actor_type, actor_label, subject_type, subject_id, issuer_id, contact_id,
      invoice_id, action, from_state, to_state, data)
  SELECT now(), 'system', 'system', 'invoice', id, :i, contact_id, id, 'release', 'held', 'sending',
      json_build_object('reason', 'consent_deadline', 'route', 'no_consent', 'channel', 'email')
  FROM moved),
cancelled AS (
  UPDATE outbox SET status = 'cancelled', done_at = now()
  WHERE kind = 'consent_deadline' AND status = 'pending' AND invoice_id IN (SELECT id FROM moved))
INSERT INTO outbox (kind, status, idempotency_key, payload, issuer_id, contact_id, invoice_id, attempts,
    max_attempts, available_at, created_at)
SELECT 'invoice_email', 'pending', 'invoice:' || id || '\\:email:' || version, json_build_object('invoice_id', id),
    :i, contact_id, id, 0, 6, now(), now()
FROM moved
"""


def bench_sweep(app, rounds: int, count: int, contacts: int, measures: dict[str, Measure]) -> None:
    from sqlalchemy import text

    from portal.core import db
    from portal.invoices import services

    raw, ours, before = (measures["sweep raw release"], measures["sweep (release_due)"],
                         measures["sweep per row (before)"])
    for r in range(rounds):
        order = [raw, ours, before] if r % 2 == 0 else [before, ours, raw]
        for m in order:
            # the per-row path is slow: a smaller set gives its rate in reasonable time
            n = min(count, max(count // 20, 100)) if m is before else count
            issuer_id = held_set(app, f"{'r' if m is raw else 's' if m is ours else 'b'}{r}", n, contacts)
            with app.app_context():
                if m is raw:
                    def go():
                        db.session.execute(text(RAW_RELEASE), {"i": issuer_id})
                        db.session.commit()
                elif m is before:
                    def go():
                        # as the worker did it: one deadline row, one invoice, one transaction
                        for inv_id in db.session.scalars(text(
                                "SELECT id FROM invoices WHERE issuer_id = :i AND state = 'held' ORDER BY held_until"),
                                {"i": issuer_id}).all():
                            services.deadline_passed(db.session, inv_id)
                            db.session.commit()
                else:
                    def go():
                        while services.release_due(db.session):
                            db.session.commit()
                        db.session.commit()
                m.samples.append(timed_rate(go, n))
                left = db.session.scalar(text("SELECT count(*) FROM invoices WHERE issuer_id = :i AND "
                                              "state = 'held'"), {"i": issuer_id})
                assert left == 0, f"{m.name} left {left} held"


def bench_issue(app, rounds: int, count: int, issuer_id: int, measures: dict[str, Measure]) -> None:
    from sqlalchemy import event, select, text

    from portal.core import db
    from portal.core.events import SYSTEM
    from portal.invoices import services
    from portal.invoices.models import Invoice

    raw, ours = measures["issue raw insert"], measures["issue (issue_invoice)"]
    statements = [0]
    for r in range(rounds):
        order = [raw, ours] if r % 2 == 0 else [ours, raw]
        for m in order:
            tag = f"I{r}{'r' if m is raw else 's'}"
            with app.app_context():
                sess = db.session
                if m is raw:
                    def go():
                        for g in range(count):
                            sess.execute(text(
                                "INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, "
                                "account_number, net_ore, vat_ore, total_ore, state, channel, created_at, issued_at, "
                                "created_by, version) SELECT :i, min(id), :n, current_date, current_date + 14, "
                                "'0000000000018', '12345678903', 10000, 2500, 12500, 'sending', 'email', now(), "
                                "now(), 'bench', 1 FROM contacts WHERE issuer_id = :i"),
                                {"i": issuer_id, "n": f"{tag}-{g}"})
                            sess.commit()
                else:
                    sess.execute(text(
                        "INSERT INTO invoices (issuer_id, contact_id, number, issue_date, due_date, kid, "
                        "account_number, net_ore, vat_ore, total_ore, state, created_at, created_by, version) "
                        "SELECT :i, c.id, :tag || '-' || g, current_date, current_date + 14, '0000000000018', "
                        "'12345678903', 10000, 2500, 12500, 'draft', now(), 'bench', 1 "
                        "FROM generate_series(1, :n) AS g JOIN LATERAL (SELECT id FROM contacts WHERE issuer_id = :i "
                        "ORDER BY id OFFSET g % 50 LIMIT 1) AS c ON true"), {"i": issuer_id, "n": count, "tag": tag})
                    sess.commit()
                    drafts = list(sess.scalars(select(Invoice.id).where(Invoice.issuer_id == issuer_id,
                                                                         Invoice.number.like(f"{tag}-%"))))

                    def count_statement(*_a, **_k):
                        statements[0] += 1

                    def go():
                        engine = db.get_engine()
                        event.listen(engine, "before_cursor_execute", count_statement)
                        try:
                            for inv_id in drafts:
                                services.issue_invoice(sess, sess.get(Invoice, inv_id), SYSTEM)
                                sess.commit()
                                sess.expunge_all()
                        finally:
                            event.remove(engine, "before_cursor_execute", count_statement)
                m.samples.append(timed_rate(go, count))
    runs = len(ours.samples) or 1
    ours.note = f"{statements[0] / (runs * count):.1f} SQL statements per invoice (the transaction included)"


def bench_pdf(app, rounds: int, count: int, invoice_id: int, measures: dict[str, Measure]) -> None:
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from portal.core import db
    from portal.invoices import services
    from portal.invoices.models import Invoice

    minimal, render, stored = (measures["pdf minimal reportlab"], measures["pdf render"],
                               measures["pdf stored (delivery, download)"])

    def minimal_pdf():
        for _ in range(count):
            buf = io.BytesIO()
            c = canvas.Canvas(buf, pagesize=A4)
            c.drawString(72, 720, "Faktura 1")
            c.showPage()
            c.save()

    with app.app_context():
        inv = db.session.get(Invoice, invoice_id)
        data = services.print_data(inv)
        services.invoice_pdf(inv)  # stored once
        db.session.commit()

        def render_pdf():
            for _ in range(count):
                services.render_invoice_pdf(data)

        def stored_pdf():
            for _ in range(count):
                db.session.expunge_all()
                services.invoice_pdf(db.session.get(Invoice, invoice_id))
                db.session.rollback()

        for r in range(rounds):
            order = [(minimal, minimal_pdf), (render, render_pdf), (stored, stored_pdf)]
            for m, fn in (order if r % 2 == 0 else list(reversed(order))):
                m.samples.append(timed_rate(fn, count))


def contacts_csv(n: int, tag: str) -> bytes:
    from portal.contacts.services import CSV_HEADER

    lines = [";".join(CSV_HEADER)]
    for i in range(n):
        lines.append(f"{tag}{i:06d};privatperson;Kari Nordmann {i};;+4791{i % 1000000:06d};k{tag}{i}@example.no;"
                     f"Storgata {i % 200 + 1};0155;Oslo;nb;B2CNO;ja;")
    return ("\n".join(lines) + "\n").encode()


def bench_import(app, rounds: int, count: int, issuer_id: int, measures: dict[str, Measure]) -> None:
    from sqlalchemy import insert

    from portal.contacts import services as contacts
    from portal.contacts.models import Contact, ContactKind
    from portal.core import db
    from portal.core.events import SYSTEM

    raw, ours = measures["import raw insert"], measures["import CSV (parse, check, save)"]
    for r in range(rounds):
        order = [raw, ours] if r % 2 == 0 else [ours, raw]
        for m in order:
            tag = f"M{r}{'r' if m is raw else 's'}"
            with app.app_context():
                sess = db.session
                if m is raw:
                    def go():
                        sess.execute(insert(Contact), [
                            {"issuer_id": issuer_id, "customer_number": f"{tag}{i:06d}", "kind": ContactKind.PERSON,
                             "name": f"Kari Nordmann {i}", "mobile": f"+4791{i:06d}", "email": f"k{tag}{i}@example.no",
                             "address_line": "Storgata 1", "postal_code": "0155", "city": "Oslo", "language": "nb",
                             "access_point": "B2CNO", "receive_edocuments": True} for i in range(count)])
                        sess.commit()
                else:
                    data = contacts_csv(count, tag)

                    def go():
                        result = contacts.parse_csv(sess, issuer_id, data)
                        assert not result.problem and len(result.valid) == count, result.problem or result.invalid[:1]
                        saved, skipped = contacts.import_contacts(sess, issuer_id,
                                                                  contacts.serializable_rows(result), SYSTEM)
                        assert saved == count, (saved, skipped[:5])
                        sess.commit()
                m.samples.append(timed_rate(go, count))


# --- the run -----------------------------------------------------------------------------

PAGES = [
    # name, baseline, ratio of, goal
    ("hello", None, "rps", None),
    ("one-query", "hello", "rps", None),
    ("home", "hello", "rps", 0.6),
    ("log-in page", "hello", "rps", 0.6),
    ("consent landing", "one-query", "rps", 0.5),
    ("sent first", "one-query", "rps", 0.3),
    ("sent deep", "sent first", "p95", 1.3),
    ("sent failed", "one-query", "rps", 0.3),
    ("sent failed deep", "sent failed", "p95", 1.3),
    ("sent post", "one-query", "rps", 0.3),
    ("sent post deep", "sent post", "p95", 1.3),
    ("sent contact", "one-query", "rps", 0.3),
    ("sent contact deep", "sent contact", "p95", 1.3),
    ("sent month", "one-query", "rps", 0.3),
    ("sent month deep", "sent month", "p95", 1.3),
]
# Served a second time by the code of ``--before REV`` (same database, same baselines).
BEFORE = ["home", "log-in page", "consent landing", "sent first", "sent deep", "sent month", "sent month deep"]
PAGES += [(f"{n} (before)", (f"{b} (before)" if of == "p95" else b), of, None)
          for n, b, of, _goal in list(PAGES) if n in BEFORE]
WRITES = [
    ("sweep raw release", None, "rps", None),
    ("sweep per row (before)", "sweep raw release", "rps", None),
    ("sweep (release_due)", "sweep raw release", "rps", 0.25),
    ("issue raw insert", None, "rps", None),
    ("issue (issue_invoice)", "issue raw insert", "rps", 0.2),
    ("import raw insert", None, "rps", None),
    ("import CSV (parse, check, save)", "import raw insert", "rps", None),
    ("pdf minimal reportlab", None, "rps", None),
    ("pdf render", "pdf minimal reportlab", "rps", None),
    ("pdf stored (delivery, download)", "pdf minimal reportlab", "rps", None),
]


def ratio(m: Measure, measures: dict[str, Measure]) -> float | None:
    if not m.baseline or not measures[m.baseline].samples or not m.samples:
        return None
    base = measures[m.baseline]
    if m.ratio_of == "p95":
        return m.median("p95_ms") / base.median("p95_ms") if base.median("p95_ms") else None
    return m.median("rps") / base.median("rps") if base.median("rps") else None


def met(m: Measure, value: float | None) -> bool | None:
    if m.goal is None or value is None:
        return None
    if any(s.errors for s in m.samples):  # a figure of error answers says nothing of the page
        return False
    return value <= m.goal if m.ratio_of == "p95" else value >= m.goal


def line(m: Measure, measures: dict[str, Measure], unit: str) -> str:
    r = ratio(m, measures)
    if m.ratio_of == "p95":
        rtext = f"p95 ratio {r:5.2f} vs {m.baseline}" if r is not None else ""
    else:
        rtext = f"ratio {r:5.3f} vs {m.baseline}" if r is not None else "baseline"
    goal = ""
    if m.goal is not None:
        ok = met(m, r)
        goal = f"  goal {'≤' if m.ratio_of == 'p95' else '≥'}{m.goal} {'met' if ok else 'MISSED'}"
    loads = "/".join(f"{s.load:.1f}" for s in m.samples)
    p = (f"p50 {m.median('p50_ms'):8.1f} ms  p95 {m.median('p95_ms'):8.1f} ms  p99 {m.median('p99_ms'):8.1f} ms"
         if unit == "req/s" else f"{'':8}   total {m.median('p50_ms') / 1000:7.2f} s per run{'':24}")
    errors = sum(s.errors for s in m.samples)
    err = f"  ERRORS {errors}" if errors else ""
    note = f"  ({m.note})" if m.note else ""
    return f"{m.name:<32} {m.median('rps'):9.1f} {unit:<7} {p}  {rtext}{goal}  load {loads}{err}{note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Performance suite (see the module's text).")
    parser.add_argument("--smoke", action="store_true", help="tiny data, a few seconds per measure")
    parser.add_argument("--database-url", default=os.environ.get("PORTAL_BENCH_DATABASE_URL")
                        or os.environ.get("PORTAL_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--invoices", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per measure and round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers for each server")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated measure names (and their baselines)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-writes", action="store_true")
    parser.add_argument("--before", default=os.environ.get("BENCH_BEFORE") or None,
                        help="a git revision whose portal is measured beside this one (the before figures)")
    args = parser.parse_args(argv)
    smoke = args.smoke
    invoices = args.invoices or (3000 if smoke else 1_000_000)
    seconds = args.seconds or (2 if smoke else 10)
    rounds = args.rounds or (1 if smoke else 3)
    connections = min(args.connections, 8) if smoke else args.connections
    workers = 2 if smoke else args.workers

    measures = {name: Measure(name, base, of, goal) for name, base, of, goal in PAGES + WRITES}
    wrk = ensure_wrk()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    print(f"bench {'smoke ' if smoke else ''}{stamp}: {invoices:,} invoices, {rounds} rounds x {seconds:g} s, "
          f"gunicorn {workers} sync workers, {connections} connections, "
          f"load generator {'wrk' if wrk else 'python'}, cpus {os.cpu_count()}, load {load_avg():.2f}", flush=True)
    name, url = create_database(args.database_url)
    tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=RESULTS))
    os.environ["PORTAL_INSTANCE_PATH"] = str(tmp)
    secret = secrets.token_hex(32)
    try:
        from portal.core.migrate import upgrade

        upgrade(url)
        app = make_app(url, secret)
        t = time.perf_counter()
        seeded = seed(app, invoices)
        print(f"seeded {invoices:,} invoices in {time.perf_counter() - t:.1f} s", flush=True)
        env = {"PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": secret, "PORTAL_ENV": "development",
               "PORTAL_BASE_URL": "http://127.0.0.1", "PORTAL_INSTANCE_PATH": str(tmp),
               "PORTAL_LOG_JSON": "0",
               # wrk is one address asking thousands of times a minute: the per-address limits
               # stay switched on (their cost is measured) but high enough never to answer 429.
               **{f"PORTAL_RATE_LIMIT_{n}": "100000000/minute" for n in ("CONSENT", "BANKID", "APPROVER",
                                                                         "SUPPORT_SEARCH")}}
        only = {x.strip() for x in args.only.split(",") if x.strip()}
        before_root = None
        if args.before:
            try:
                before_root = export_revision(args.before, tmp)
            except (subprocess.CalledProcessError, OSError) as exc:
                print(f"no before figures: cannot export {args.before!r} ({exc})", flush=True)
        with contextlib.ExitStack() as stack:
            portal = stack.enter_context(gunicorn("wsgi:app", env, tmp / "portal.log", workers))
            base = stack.enter_context(gunicorn("bench.baseline_app:app", env, tmp / "baseline.log", workers))
            old = stack.enter_context(gunicorn("wsgi:app", {**env, "PYTHONPATH": str(before_root)},
                                               tmp / "before.log", workers, cwd=before_root)) if before_root else None
            cookie = log_in(portal)
            paths = {"hello": (base, "/hello", None), "one-query": (base, "/one-query", None),
                     "home": (portal, "/", None), "log-in page": (portal, "/utsteder/logg-inn", None),
                     "consent landing": (portal, seeded.consent_path, None),
                     "sent first": (portal, "/utsteder/sendte", cookie),
                     "sent failed": (portal, "/utsteder/sendte?status=failed", cookie),
                     "sent post": (portal, "/utsteder/sendte?kanal=post", cookie)}
            paths.update({k: (portal, v, cookie) for k, v in seeded.deep.items()})
            if old:
                paths.update({f"{n} (before)": (old, paths[n][1], paths[n][2]) for n in BEFORE})
            pages = [n for n, *_ in PAGES if (old or not n.endswith("(before)"))
                     and (not only or n in only or any(measures[o].baseline == n for o in only if o in measures))]
            for r in range(rounds):
                for n in (pages if r % 2 == 0 else list(reversed(pages))):
                    host, path, ck = paths[n]
                    sample = (run_wrk(wrk, host + path, seconds, connections, args.threads, ck) if wrk
                              else run_python_load(host + path, seconds, connections, ck))
                    measures[n].samples.append(sample)
                    print(f"  round {r + 1} {n:<20} {sample.rps:8.1f} req/s  p95 {sample.p95_ms:7.1f} ms  "
                          f"load {sample.load:.1f}", flush=True)
        write_names = {n for n, *_ in WRITES}
        if not args.no_writes and (not only or only & write_names):
            w_rounds = 1 if smoke else 2
            bench_sweep(app, w_rounds * 2, 300 if smoke else 20_000, 30 if smoke else 2_000, measures)
            bench_issue(app, w_rounds * 2, 30 if smoke else 200, seeded.issuer_id, measures)
            bench_import(app, w_rounds * 2, 300 if smoke else 10_000, seeded.issuer_id, measures)
            bench_pdf(app, w_rounds * 2, 5 if smoke else 100, seeded.invoice_with_lines, measures)
    finally:
        with contextlib.suppress(Exception):
            app_engine = app.extensions["db_engine"]  # type: ignore[possibly-undefined]
            app_engine.dispose()
        drop_database(args.database_url, name)
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n{'measure':<32} {'rate':>9} {'':7} latency (median of rounds)  ratio (same run)")
    for n, *_ in PAGES:
        if measures[n].samples:
            print(line(measures[n], measures, "req/s"))
    for n, *_ in WRITES:
        if measures[n].samples:
            print(line(measures[n], measures, "items/s"))
    record = {
        "started": stamp, "smoke": smoke, "invoices": invoices, "rounds": rounds, "seconds": seconds,
        "workers": workers, "connections": connections, "load_generator": "wrk" if wrk else "python",
        "before": args.before,
        "cpus": os.cpu_count(),
        "measures": [{**{k: v for k, v in asdict(m).items() if k != "samples"},
                      "rps": m.median("rps"), "p50_ms": m.median("p50_ms"), "p95_ms": m.median("p95_ms"),
                      "p99_ms": m.median("p99_ms"), "ratio": ratio(m, measures), "met": met(m, ratio(m, measures)),
                      "samples": [asdict(s) for s in m.samples]} for m in measures.values() if m.samples],
    }
    out = Path(args.out) if args.out else RESULTS / f"{stamp}{'-smoke' if smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"\nrecord: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
