"""The portal as a fleet: two web processes (gunicorn, free ports) and two workers sharing one
PostgreSQL database. A consumer opens the consent link on one web process, comes back from
BankID to the other, approves, and the two workers deliver the held invoice to the nettbank
exactly once."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import func, select

from portal.core import db
from portal.core.outbox import OutboxMessage, OutboxStatus
from portal.delivery.models import NettbankDocument
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceState
from simulators.bankid.persons import KARI
from tests.conftest import TEST_PG, TEST_SETTINGS
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.bankid import complete_bankid_login, provider_config, running_provider
from tests.helpers.consent import link_path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds: float, procs) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args} ended: see {proc.log_path.read_text()[-2000:]}"
        if check():
            return
        time.sleep(0.2)
    pytest.fail("the fleet did not get there in time")


def reachable(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code < 500
    except requests.RequestException:
        return False


@pytest.mark.postgres
def test_consent_journey_across_two_web_processes_and_two_workers(is_postgres, database_url, app_ctx, tmp_path):
    if not is_postgres:
        if TEST_PG:
            pytest.fail("PostgreSQL was asked for but the test database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set PORTAL_TEST_DATABASE_URL)")
    ports = [free_port(), free_port()]
    webs = [f"http://127.0.0.1:{p}" for p in ports]
    issuer = make_issuer(name="Flåte Energi AS")
    contact = make_contact(issuer, name=KARI.name)
    inv = make_invoice(issuer, contact)
    db.session.commit()
    path = link_path()
    procs: list[subprocess.Popen] = []
    with running_provider(provider_config(tmp_path / "bankid", BASE_URL=webs[0])) as provider:
        env = dict(os.environ)
        env.update({f"PORTAL_{k}": str(v) for k, v in TEST_SETTINGS.items() if v is not None})
        env.update({f"PORTAL_{k}": str(v) for k, v in provider.portal_settings().items()})
        env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_DEV_TOOLS": "1", "PORTAL_WEB_WORKERS": "2",
                    "PORTAL_WEB_THREADS": "1", "PORTAL_WORKER_POLL_SECONDS": "0.1",
                    "PORTAL_WORKER_LEASE_SECONDS": "5"})
        try:
            commands = [[str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{p}", "wsgi:app"]
                        for p in ports] + [[str(BIN / "flask"), "--app", "wsgi", "worker"]] * 2
            for n, cmd in enumerate(commands):
                log = tmp_path / f"fleet-{n}.log"
                proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
                proc.log_path = log
                procs.append(proc)
            wait_until(lambda: all(reachable(w + "/") for w in webs), 60, procs)

            http = requests.Session()
            landing = http.get(webs[1] + path, timeout=10)  # the SMS link opens on the second process
            assert landing.status_code == 200 and "Flåte Energi AS" in landing.text
            step = http.get(webs[1] + path + "/svar?choice=approve", allow_redirects=False, timeout=10)
            while step.is_redirect and not step.headers["Location"].startswith(provider.issuer):
                step = http.get(urljoin(step.url, step.headers["Location"]), allow_redirects=False, timeout=10)
            back = complete_bankid_login(http, step.headers["Location"], KARI.national_id)
            assert back.startswith(webs[0])  # BankID returns to the first process
            page = http.get(back, timeout=10)  # follows to the confirm page, on the first process
            assert page.status_code == 200, page.text[:500]
            csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
            digest = re.search(r'name="digest"[^>]*value="([^"]+)"', page.text).group(1)
            answer = http.post(urljoin(page.url, path + "/svar"), allow_redirects=False, timeout=10,
                               data={"csrf_token": csrf, "digest": digest, "decision": "approve"})
            assert answer.status_code == 302, answer.text[:500]

            def delivered() -> bool:
                db.session.expire_all()
                return db.session.get(Invoice, inv.id).state is InvoiceState.DELIVERED

            wait_until(delivered, 60, procs)
            wait_until(lambda: db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= func.now())) == 0,
                60, procs)
            assert db.session.scalar(select(func.count()).select_from(NettbankDocument)) == 1
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
