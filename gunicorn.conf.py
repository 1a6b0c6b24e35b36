"""gunicorn settings for the portal (``wsgi:app``) and the simulated BankID
(``simulators.bankid.wsgi:app``), from the same ``PORTAL_`` environment as the app.

    PORTAL_WEB_WORKERS   processes (default 2)
    PORTAL_WEB_THREADS   threads per process (default 4; 1 means sync workers)
    PORTAL_WEB_TIMEOUT   seconds before a stuck request's process is replaced (default 30)
    PORTAL_BIND          address to listen on (default 127.0.0.1:$PORTAL_PORT, port 5000)

Logs go to standard error through the app's redaction filter, as JSON lines in production.
The ``Server`` response header is left out: it would name gunicorn and its version.
"""
import os
import sys

from gunicorn.http import wsgi as _gunicorn_wsgi

from portal.core.config import DEFAULTS, ConfigError, read_settings
from portal.core.logs import logging_config

try:
    _settings = read_settings(
        {name: DEFAULTS[name] for name in ("ENV", "WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT", "LOG_JSON")},
        {},
    )
except ConfigError as exc:
    sys.stderr.write(f"Error: {exc}\n")
    sys.exit(2)
for _name in ("WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT"):
    if _settings[_name] < 1:
        sys.stderr.write(f"Error: PORTAL_{_name} must be a positive number\n")
        sys.exit(2)

bind = os.environ.get("PORTAL_BIND") or f"127.0.0.1:{os.environ.get('PORTAL_PORT', '5000')}"
workers = _settings["WEB_WORKERS"]
threads = _settings["WEB_THREADS"]
worker_class = "gthread" if threads > 1 else "sync"
timeout = _settings["WEB_TIMEOUT"]
graceful_timeout = timeout
# The app is built once, before the processes fork: a bad setting ends the start with the
# app's own one-line message (wsgi.py), not with workers failing one after another.
preload_app = True
_json = _settings["LOG_JSON"] if _settings["LOG_JSON"] is not None else _settings["ENV"] == "production"
logconfig_dict = logging_config(json_lines=bool(_json))
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
# Addresses in X-Forwarded-* are the app's business (PORTAL_TRUSTED_PROXIES, ProxyFix).
forwarded_allow_ips = "127.0.0.1"


def post_fork(server, worker):
    """Each process opens its own database connections (none are shared across the fork)."""
    engine = getattr(server.app.wsgi(), "extensions", {}).get("db_engine")
    if engine is not None:
        engine.dispose(close=False)


_default_headers = _gunicorn_wsgi.Response.default_headers


def _headers_without_server(self):
    return [h for h in _default_headers(self) if not h.lower().startswith("server:")]


_gunicorn_wsgi.Response.default_headers = _headers_without_server

# No control socket (gunicorn 25+): two servers on one machine would share its default path.
control_socket_disable = True
