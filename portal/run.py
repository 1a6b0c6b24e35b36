"""`make run`: start the portal, the simulated BankID and the worker, and say where they are."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from portal.core.config import ConfigError, load_config
from portal.demo import ACTIVE_ORG, DEMO_LOGINS

ROOT = Path(__file__).resolve().parent.parent


def derive_ports(env: dict) -> None:
    """One setting moves the whole system: ``PORTAL_PORT`` (default 5000) gives the portal's port,
    the simulated BankID the next one and the register the one after, and the URLs that must
    agree with them (``PORTAL_BASE_URL``, ``PORTAL_BANKID_ISSUER``, ``PORTAL_REGISTER_URL``).
    Any of them set explicitly is kept as it is."""
    port = int(env.get("PORTAL_PORT") or 5000)
    env.setdefault("PORTAL_PORT", str(port))
    bankid = int(env.setdefault("PORTAL_BANKID_PORT", str(port + 1)))
    register = int(env.setdefault("PORTAL_REGISTER_PORT", str(port + 2)))
    env.setdefault("PORTAL_BASE_URL", f"http://127.0.0.1:{port}")
    env.setdefault("PORTAL_BANKID_ISSUER", f"http://127.0.0.1:{bankid}")
    env.setdefault("PORTAL_REGISTER_URL", f"http://127.0.0.1:{register}/enhetsregisteret/api")


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds} seconds"


def banner(cfg: dict) -> str:
    base = cfg["BASE_URL"]
    deadline = int(cfg["CONSENT_DEADLINE_SECONDS"])

    lines = [
        "",
        "eFaktura B2C is starting (SQLite, development mailbox, simulated BankID and register, worker).",
        "",
        f"  Portal (home)           {base}/",
        f"  Issuer area             {base}/utsteder/",
        f"  Consumer nettbank       {base}/nettbank",
        f"  Support area            {base}/kundestotte/",
        f"  Development mailbox     {base}/dev/postkasse",
        f"  Simulated BankID        {cfg['BANKID_ISSUER']}/.well-known/openid-configuration",
        f"  Business register       {cfg['REGISTER_URL']}/enheter/{ACTIVE_ORG}",
        "",
        f"  Consent deadline        {_duration(deadline)} (PORTAL_CONSENT_DEADLINE_SECONDS); an invoice keeps",
        "                          the deadline it was issued with, so restart before issuing to test it",
        "",
        "  Demo logins:",
    ]
    lines += [f"    {role:<22}{who}" for role, who in DEMO_LOGINS]
    lines += ["", "  BankID test persons are listed in docs/bankid.md and on the BankID login page.",
              "  Stop with Ctrl+C.", ""]
    return "\n".join(lines)


def main() -> int:
    derive_ports(os.environ)
    try:
        cfg = load_config()
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    print(banner(cfg), flush=True)
    os.chdir(ROOT)
    honcho = ROOT / ".venv" / "bin" / "honcho"
    cmd = [str(honcho), "start", "-f", str(ROOT / "Procfile")]
    stopping = False

    def _stop(signum, _frame):
        # Ctrl+C reaches honcho (and through it the servers) from the terminal; a signal sent
        # to this launcher alone is passed on. Either way we wait for them to finish.
        nonlocal stopping
        stopping = True
        if signum != signal.SIGINT and child.poll() is None:
            child.send_signal(signal.SIGTERM)

    child = subprocess.Popen(cmd)
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:  # pragma: no cover - wait() retries on its own
            continue
    if stopping:
        print("eFaktura B2C stopped.", flush=True)
        return 0  # stopped on request: not an error for make
    return code


if __name__ == "__main__":
    sys.exit(main())
