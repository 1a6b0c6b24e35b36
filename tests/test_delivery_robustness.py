"""The worker as a real process: killed mid-batch, several at once, stopped cleanly."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from portal.agreements import services as agreements
from portal.agreements.models import Consumer
from portal.core import db
from portal.core.db import utcnow
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.delivery.models import MailboxMessage, NettbankDocument
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceState
from tests.conftest import TEST_PG, TEST_SETTINGS
from tests.factories import make_contact, make_invoice, make_issuer

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        if TEST_PG:
            pytest.fail("PostgreSQL was asked for but the test database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set PORTAL_TEST_DATABASE_URL)")


@pytest.fixture
def start_worker(database_url, tmp_path):
    """Start `flask --app wsgi worker` as a real process on the test database."""
    procs: list[subprocess.Popen] = []

    def start(lease: int = 2, **extra) -> subprocess.Popen:
        env = dict(os.environ)
        env.update({f"PORTAL_{k}": str(v) for k, v in TEST_SETTINGS.items() if v is not None})
        env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_WORKER_LEASE_SECONDS": str(lease),
                    "PORTAL_WORKER_POLL_SECONDS": "0.1", "PORTAL_DEV_TOOLS": "1"})
        env.update({f"PORTAL_{k}": str(v) for k, v in extra.items()})
        log = open(tmp_path / f"worker-{len(procs)}.log", "w")  # noqa: SIM115 - the process writes to it
        proc = subprocess.Popen([FLASK, "--app", "wsgi", "worker"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        proc.log_path = tmp_path / f"worker-{len(procs)}.log"
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def queue_sms(n: int) -> None:
    now = utcnow()
    db.session.execute(insert(OutboxMessage), [
        {"kind": OutboxKind.SMS, "status": OutboxStatus.PENDING, "idempotency_key": f"load:sms:{i}",
         "payload": {"to": "+4791234567", "text": f"Melding {i}"}, "attempts": 0, "max_attempts": 6,
         "available_at": now, "created_at": now} for i in range(n)])
    db.session.commit()


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def wait_for(predicate, timeout: float, procs=()) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"worker exited early:\n{Path(p.log_path).read_text()}")
        time.sleep(0.2)
    pytest.fail("timed out waiting for the worker")


def pending() -> int:
    return count(OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING)


@pytest.mark.postgres
def test_killed_worker_loses_nothing_and_sends_nothing_twice(postgres_only, db_session, start_worker):
    """kill -9 in the middle of a batch, then start again: every row delivered once, none twice."""
    issuer = make_issuer()
    contact = make_contact(issuer)
    make_invoice(issuer, contact)
    consumer = Consumer(sub="sub-kill", name="Åse Øvrebø", birth_date=dt.date(1980, 1, 1))
    db_session.add(consumer)
    db_session.flush()
    agreements.approve(db_session, agreements.agreement_for(db_session, contact), consumer, channel="sms",
                       acr=None, shown_text="tekst", language="nb")
    for _ in range(9):
        make_invoice(issuer, contact)
    db_session.commit()
    queue_sms(250)
    total = count(OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING)

    first = start_worker(lease=2)
    wait_for(lambda: count(OutboxMessage, OutboxMessage.status == OutboxStatus.DONE) >= 60, 30, [first])
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert pending() > 0, "the worker finished before it could be killed"

    second = start_worker(lease=2)
    wait_for(lambda: pending() == 0, 60, [second])
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.DONE) == total
    assert count(MailboxMessage, MailboxMessage.idempotency_key.like("load:%")) == 250
    assert count(NettbankDocument) == 10
    assert count(Invoice, Invoice.state == InvoiceState.DELIVERED) == 10


@pytest.mark.postgres
def test_two_workers_share_the_work_without_doubles(postgres_only, db_session, start_worker):
    """Two workers over 2000 SMS: every one delivered exactly once, both workers took part."""
    queue_sms(2000)
    procs = [start_worker(lease=30), start_worker(lease=30)]
    wait_for(lambda: pending() == 0, 120, procs)
    assert count(MailboxMessage) == 2000
    assert count(OutboxMessage, OutboxMessage.status == OutboxStatus.DONE) == 2000
    workers = db_session.scalars(select(OutboxMessage.locked_by).distinct()).all()
    assert len(set(workers)) == 2


def test_sigterm_stops_the_worker_cleanly(db_session, start_worker):
    """SIGTERM: the worker finishes the row in hand, prints its summary and exits 0."""
    queue_sms(30)
    proc = start_worker(lease=30)
    wait_for(lambda: pending() == 0, 30, [proc])
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0
    assert "30 done" in Path(proc.log_path).read_text()
    assert count(MailboxMessage) == 30
