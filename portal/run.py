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


def banner(cfg: dict) -> str:
    base = cfg["BASE_URL"]

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
        "  Demo logins:",
    ]
    lines += [f"    {role:<22}{who}" for role, who in DEMO_LOGINS]
    lines += ["", "  BankID test persons are listed in docs/bankid.md and on the BankID login page.",
              "  Stop with Ctrl+C.", ""]
    return "\n".join(lines)


def main() -> int:
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
