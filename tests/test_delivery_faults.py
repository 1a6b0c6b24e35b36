"""The worker under faults, as real processes on PostgreSQL: killed at random moments, its
database connections cut during sends, a mail server slower than the lease, and one that
answers after the client gave up. Nothing is lost; nothing is sent twice where it can be avoided.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from portal.core import db
from portal.core.db import utcnow
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.invoices.models import Invoice
from portal.invoices.states import Channel, InvoiceState
from tests.conftest import TEST_PG, TEST_SETTINGS
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.smtp import SmtpSink, pdf_attachments

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
APP_NAME = "efaktura-fault-worker"

pytestmark = pytest.mark.postgres




class Workers:
    """Worker processes (`flask --app wsgi worker`) on the test database."""

    def __init__(self, database_url: str, tmp_path: Path, settings: dict):
        self.database_url, self.tmp_path, self.settings = database_url, tmp_path, settings
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        env = dict(os.environ)
        env.update({f"PORTAL_{k}": str(v) for k, v in TEST_SETTINGS.items() if v is not None})
        env.update({"PORTAL_DATABASE_URL": self.database_url, "PORTAL_WORKER_POLL_SECONDS": "0.1",
                    "PORTAL_DEV_TOOLS": "1", "PGAPPNAME": APP_NAME})
        env.update({f"PORTAL_{k}": str(v) for k, v in self.settings.items()})
        path = self.tmp_path / f"worker-{len(self.procs)}.log"
        log = open(path, "w")  # noqa: SIM115 - the process writes to it
        proc = subprocess.Popen([FLASK, "--app", "wsgi", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        proc.log_path = path
        self.procs.append(proc)
        return proc

    def running(self) -> list[subprocess.Popen]:
        return [p for p in self.procs if p.poll() is None]

    def logs(self) -> str:
        return "\n".join(Path(p.log_path).read_text() for p in self.procs)

    def stop_all(self) -> None:
        for p in self.running():
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)


@pytest.fixture
def workers(database_url, tmp_path):
    made: list[Workers] = []

    def make(**settings) -> Workers:
        w = Workers(database_url, tmp_path, settings)
        made.append(w)
        return w

    yield make
    for w in made:
        for p in w.procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed worker's connection breaks mid-answer: expected here


class DedupGateway:
    """An SMS gateway that deduplicates on the reference: it keeps each message once and counts
    every request, so a repeat shows."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if gateway.delay:
                    time.sleep(gateway.delay)
                with gateway.lock:
                    gateway.calls[body["reference"]] += 1
                answer = b'{"status": "queued"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args):
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def repeats(self) -> int:
        return sum(n - 1 for n in self.calls.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dedup_gateway():
    gw = DedupGateway()
    yield gw
    gw.close()


def queue_sms(n: int, max_attempts: int = 6) -> set[str]:
    now = utcnow()
    keys = [f"fault:sms:{i}" for i in range(n)]
    db.session.execute(insert(OutboxMessage), [
        {"kind": OutboxKind.SMS, "status": OutboxStatus.PENDING, "idempotency_key": key,
         "payload": {"to": "+4791234567", "text": f"Melding {i}"}, "attempts": 0, "max_attempts": max_attempts,
         "available_at": now, "created_at": now} for i, key in enumerate(keys)])
    db.session.commit()
    return set(keys)


def count(*where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*where))


def wait_for(predicate, timeout: float, what: str, w: Workers | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}" + (f"\n{w.logs()[-4000:]}" if w else ""))


def not_finished() -> int:
    return count(OutboxMessage.status == OutboxStatus.PENDING)


def email_invoices(n: int) -> list[Invoice]:
    issuer = make_issuer()
    invs = [make_invoice(issuer, make_contact(issuer, access_point=None)) for _ in range(n)]
    db.session.commit()
    return invs


def assert_delivered_once(invs: list[Invoice]) -> None:
    db.session.rollback()
    for inv in invs:
        db.session.refresh(inv)
        assert (inv.state, inv.channel) == (InvoiceState.DELIVERED, Channel.EMAIL)
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.INVOICE_EMAIL)).all()
    assert len(rows) == len(invs) and all(r.status is OutboxStatus.DONE for r in rows)


# --- kill -9 -----------------------------------------------------------------------------

def test_kill_9_at_random_moments_loses_nothing(postgres_only, db_session, workers, dedup_gateway):
    """Two workers, one of them killed with SIGKILL at random moments and started again, eight
    times: every SMS reaches the gateway, the gateway never keeps one twice, and a repeat happens
    only for a message that was sent just before a kill and not yet recorded."""
    keys = queue_sms(1200, max_attempts=20)
    w = workers(SMS_GATEWAY_URL=dedup_gateway.url, SMS_GATEWAY_TOKEN="t", WORKER_LEASE_SECONDS=2,
                WORKER_BATCH_SIZE=20, WORKER_SMS_CONCURRENCY=4, WORKER_CONCURRENCY=4)
    dedup_gateway.delay = 0.05  # about 80 messages a second per worker
    steady = w.start()
    rng = random.Random(14)
    kills = 0
    while not_finished() and kills < 8:
        victim = w.start()
        # Killed at a random moment once it has rows in hand.
        wait_for(lambda v=victim: count(OutboxMessage.locked_by.like(f"%:{v.pid}:%")) > 0 or not not_finished(),
                 30, "the new worker to claim", w)
        time.sleep(rng.uniform(0.0, 0.8))
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        kills += 1
    assert kills >= 3, "the work finished before the workers could be killed"
    wait_for(lambda: not_finished() == 0, 60, "the outbox to drain", w)
    assert steady.poll() is None
    assert count(OutboxMessage.status == OutboxStatus.DONE) == len(keys)
    assert set(dedup_gateway.calls) == set(_row_keys())  # 0 lost
    assert all(n >= 1 for n in dedup_gateway.calls.values())
    # The gateway deduplicates: each key once. Repeats come only from sends cut off by a kill
    # (at most the rows one worker holds, sent and not yet recorded, per kill).
    print(f"{kills} kills, {dedup_gateway.repeats} repeated requests")
    assert dedup_gateway.repeats <= kills * 8
    w.stop_all()


def _row_keys() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage.idempotency_key)))


# --- connections terminated --------------------------------------------------------------

def test_connections_terminated_during_sends_send_nothing_twice(postgres_only, db_session, database_url,
                                                                workers):
    """While two workers send, their database connections are terminated again and again
    (pg_terminate_backend): no SMS is lost and none is sent twice — only the bookkeeping is
    repeated, never the send."""
    gateway = DedupGateway(delay=0.1)
    try:
        keys = queue_sms(500, max_attempts=50)
        w = workers(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TOKEN="t", WORKER_LEASE_SECONDS=5,
                    WORKER_BATCH_SIZE=20, WORKER_SMS_CONCURRENCY=8, WORKER_CONCURRENCY=8)
        w.start()
        w.start()
        wait_for(lambda: count(OutboxMessage.status == OutboxStatus.DONE) > 0, 30, "the first send", w)
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        terminated = 0
        try:
            end = time.monotonic() + 90
            while not_finished() and time.monotonic() < end:
                time.sleep(0.2)
                with admin.connect() as conn:
                    terminated += conn.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :app AND pid <> pg_backend_pid()"), {"app": APP_NAME}).scalar()
        finally:
            admin.dispose()
        wait_for(lambda: not_finished() == 0, 60, "the outbox to drain", w)
        assert terminated >= 5, "no connection was cut while the workers were sending"
        assert all(p.poll() is None for p in w.procs), w.logs()[-4000:]
        assert count(OutboxMessage.status == OutboxStatus.DONE) == len(keys)
        assert set(gateway.calls) == set(_row_keys())  # 0 lost
        print(f"{terminated} connections terminated")
        assert gateway.repeats == 0, [k for k, n in gateway.calls.items() if n > 1]
        w.stop_all()
    finally:
        gateway.close()


# --- slow SMTP ---------------------------------------------------------------------------

class SlowSink(SmtpSink):
    """An SMTP server that takes ``delay`` seconds before it answers DATA; ``late`` makes it
    accept a message only after ``late`` seconds, the first time it sees that Message-ID."""

    def __init__(self, delay: float = 0.0, late: float = 0.0):
        super().__init__()
        self.delay, self.late = delay, late
        self.seen: set[str] = set()
        self.late_ids: set[str] = set()

    async def handle_DATA(self, server, session, envelope):
        mid = "unknown"
        for line in (envelope.original_content or envelope.content).split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                mid = line.split(b":", 1)[1].strip().decode()
                break
        wait = self.delay
        if self.late and mid not in self.seen:
            self.seen.add(mid)
            self.late_ids.add(mid)
            wait = self.late
        if wait:
            await asyncio.sleep(wait)
        return await super().handle_DATA(server, session, envelope)


def test_smtp_slower_than_the_lease_sends_each_invoice_once(postgres_only, db_session, workers):
    """The mail server takes 3 s per message, the lease is 2 s, two workers: the lease is renewed
    while a message is being sent, so no invoice e-mail goes out twice."""
    sink = SlowSink(delay=3.0).start()
    try:
        invs = email_invoices(6)
        w = workers(**{**sink.settings(), "SMTP_TIMEOUT": 10}, WORKER_LEASE_SECONDS=2, WORKER_EMAIL_CONCURRENCY=2)
        w.start()
        w.start()
        wait_for(lambda: not_finished() == 0, 60, "the e-mails to be sent", w)
        ids = Counter(str(m["Message-ID"]) for m in sink.messages)
        assert len(ids) == len(invs) and set(ids.values()) == {1}, ids
        assert all(len(pdf_attachments(m)) == 1 for m in sink.messages)
        assert_delivered_once(invs)
        assert "lost to another worker" not in w.logs()
        w.stop_all()
    finally:
        sink.stop()


def test_smtp_answering_after_the_client_gave_up(postgres_only, db_session, workers):
    """The mail server accepts each message only after the client's time-out: the worker tries
    again later, so the message arrives twice — the one duplicate a sender cannot avoid — and
    both copies carry the same Message-ID. Nothing is lost, nothing arrives a third time."""
    sink = SlowSink(late=2.0).start()
    try:
        invs = email_invoices(3)
        w = workers(**{**sink.settings(), "SMTP_TIMEOUT": 1}, WORKER_LEASE_SECONDS=3, WORKER_BACKOFF_BASE_SECONDS=1)
        w.start()
        wait_for(lambda: not_finished() == 0, 60, "the e-mails to be sent", w)
        time.sleep(1.5)  # the late acceptances finish
        ids = Counter(str(m["Message-ID"]) for m in sink.messages)
        assert len(ids) == len(invs)  # 0 lost
        for mid, n in ids.items():
            assert n <= 2 and (n == 1 or mid in sink.late_ids), ids
        assert_delivered_once(invs)
        w.stop_all()
    finally:
        sink.stop()


# --- the benchmark runs ------------------------------------------------------------------

def test_throughput_benchmark_smoke(postgres_only):
    """bench/worker_throughput.py completes on a few hundred rows and prints its figures."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "worker_throughput.py"), "--rows", "300",
                          "--workers", "1", "--rounds", "1", "--database-url", TEST_PG],
                         cwd=ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "A worker" in out.stdout and "B raw loop" in out.stdout and "A/B" in out.stdout
    assert "load" in out.stdout and "peak RSS" in out.stdout
