"""The simulated BankID provider for a WSGI server: ``gunicorn simulators.bankid.wsgi:app``.

With ``PORTAL_ENV=production`` (or any bad setting) it stops with one line, not a traceback.
"""
import sys

from portal.core.config import ConfigError
from simulators.bankid.provider import create_provider_app

try:
    app = create_provider_app()
except ConfigError as exc:
    sys.stderr.write(f"Error: {exc}\n")
    sys.exit(2)
