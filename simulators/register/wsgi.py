"""The simulated business register for a WSGI server: ``gunicorn simulators.register.wsgi:app``.

With ``PORTAL_ENV=production`` it stops with one line, not a traceback.
"""
import sys

from simulators.register.app import RegisterRefused, create_register_app

try:
    app = create_register_app()
except RegisterRefused as exc:
    sys.stderr.write(f"Error: {exc}\n")
    sys.exit(2)
