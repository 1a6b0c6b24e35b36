"""The portal as an operator runs it: gunicorn with the project's settings, its logs, its
refusals, and `make run`'s launcher stopping on Ctrl+C."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from portal.core.migrate import upgrade
from tests.helpers.production import PRODUCTION_ENV

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "eyJjb250YWN0IjoxN30.ZmFrZS1zaWduYXR1cmU"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_INSTANCE_PATH=str(tmp_path), **extra)
    return env


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server ended early: {proc.communicate()}")
        with contextlib.suppress(requests.ConnectionError):
            requests.get(url, timeout=2)
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def gunicorn(app: str, port: int, env: dict, *args: str) -> list[str]:
    return [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", *args, app]


@pytest.fixture
def production_server(tmp_path):
    """The portal under gunicorn with production settings on a free port; yields (base URL,
    a function returning what it has logged so far after stopping it)."""
    database = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    upgrade(database)
    env = clean_env(tmp_path, **{**PRODUCTION_ENV, "PORTAL_DATABASE_URL": database})
    port = free_port()
    proc = subprocess.Popen(gunicorn("wsgi:app", port, env), cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", proc)

        def stop() -> str:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            return out + err

        yield base, stop
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_gunicorn_names_no_server(production_server):
    """Responses from gunicorn carry no Server header naming the software or its version."""
    base, _stop = production_server
    response = requests.get(base + "/", timeout=5)
    assert response.status_code == 200
    assert "Server" not in response.headers
    assert "gunicorn" not in str(response.headers).lower()


def test_access_log_is_json_without_tokens_or_personal_data(production_server):
    """In production every log line is a JSON object, and the access log shows no link token,
    e-mail address or mobile number from a URL."""
    base, stop = production_server
    requests.get(f"{base}/samtykke/{TOKEN}?lang=en", timeout=5)
    requests.get(f"{base}/utstederavtale/{TOKEN}", timeout=5)
    requests.get(f"{base}/utsteder/kontakter/?q=ola.nordmann%40example.no", timeout=5)
    requests.get(f"{base}/utsteder/kontakter/?q=%2B4791234567", timeout=5)
    requests.get(f"{base}/finnes-ikke?hvem=15058521431&epost=kari@example.no", timeout=5)
    output = stop()
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses
    access = [e["message"] for e in entries if e["logger"] == "gunicorn.access"]
    assert len(access) >= 5
    for secret in (TOKEN, "ola.nordmann", "4791234567", "15058521431", "kari@example.no"):
        assert secret not in output
    assert any("/samtykke/[token]?lang=en" in line for line in access)
    assert any("/utstederavtale/[token]" in line for line in access)


def test_gunicorn_refuses_bad_production_settings_in_one_line(tmp_path):
    """A production start with a short secret key ends with one clear line, no traceback."""
    env = clean_env(tmp_path, **{**PRODUCTION_ENV, "PORTAL_SECRET_KEY": "kort"})
    proc = subprocess.run(gunicorn("wsgi:app", free_port(), env), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "Error: PORTAL_SECRET_KEY must be at least 32 bytes in production"


def test_bankid_simulator_refuses_production_in_one_line(tmp_path):
    """The simulated BankID started as in the Procfile refuses production with one line."""
    env = clean_env(tmp_path, **PRODUCTION_ENV)
    proc = subprocess.run(gunicorn("simulators.bankid.wsgi:app", free_port(), env), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "Error: The simulated BankID provider cannot run with PORTAL_ENV=production; "
        "point PORTAL_BANKID_ISSUER at a real BankID broker instead"
    ]


def test_run_prints_urls_and_stops_cleanly_on_ctrl_c(tmp_path):
    """`make run`'s launcher prints the URLs, serves, and on Ctrl+C stops everything with
    exit status 0 (so make reports no error)."""
    web, bankid = free_port(), free_port()
    env = clean_env(tmp_path, PORTAL_PORT=str(web), PORTAL_BANKID_PORT=str(bankid),
                    PORTAL_BASE_URL=f"http://127.0.0.1:{web}", PORTAL_BANKID_ISSUER=f"http://127.0.0.1:{bankid}")
    upgrade(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    proc = subprocess.Popen([sys.executable, "-m", "portal.run"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(f"http://127.0.0.1:{web}/", proc, seconds=60)
        wait_for(f"http://127.0.0.1:{bankid}/.well-known/openid-configuration", proc, seconds=60)
        assert "Server" not in requests.get(f"http://127.0.0.1:{web}/", timeout=5).headers
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl+C in a terminal does
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{web}/utsteder/" in out
    assert "eFaktura B2C stopped." in out
