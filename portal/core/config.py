"""Settings: defaults, then the environment (``PORTAL_`` prefix), then explicit overrides.

Development keeps generated secrets under ``instance/``; production refuses to start
without them.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from limits import parse as parse_rate_limit
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INSTANCE_PATH = Path(os.environ.get("PORTAL_INSTANCE_PATH", PROJECT_ROOT / "instance"))


# Rate limits by name (see portal/core/limits.py), in the ``limits`` notation.
DEFAULT_RATE_LIMITS = {
    "CONSENT": "60/minute",  # consent link pages, per address
    "BANKID": "30/minute",  # BankID log-in starts and callbacks, per address
    "APPROVER": "30/minute",  # an issuer agreement's approver link, per address
    "SIGNUP": "10/hour",  # issuer sign-ups (each may send an e-mail), per address
    "STAFF_LOGIN": "20/minute",  # password attempts at the staff log-in pages, per address
    "SUPPORT_SEARCH": "60/minute",  # support searches, per address
    "PASSWORD_RESET": "5/hour",  # forgotten-password requests, per address and per e-mail address asked for
}

# Shortest secret key and identity key accepted in production.
MIN_KEY_BYTES = 32


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


def instance_path() -> Path:
    path = Path(os.environ.get("PORTAL_INSTANCE_PATH", INSTANCE_PATH))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dev_secret(name: str, nbytes: int = 32) -> str:
    """A secret generated once and kept in ``instance/<name>`` (development only)."""
    path = instance_path() / name
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(nbytes)
    path.write_text(value + "\n")
    with contextlib.suppress(OSError):
        path.chmod(0o600)
    return value


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    return value.strip().lower() in {"1", "true", "yes", "on"}


# name -> (default, parser)
DEFAULTS: dict[str, tuple[object, object]] = {
    "ENV": ("development", str),  # development | production | testing
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    # Key of the keyed hash of national identity numbers (the secret key outside production).
    "IDENTITY_KEY": (None, str),
    "BASE_URL": ("http://127.0.0.1:5000", str),
    # Outgoing e-mail: empty host means the development mailbox keeps the messages.
    "SMTP_HOST": ("", str),
    "SMTP_PORT": (25, int),
    "SMTP_SECURITY": ("none", str),  # none | starttls | ssl
    "SMTP_USERNAME": ("", str),
    "SMTP_PASSWORD": ("", str),
    "SMTP_TIMEOUT": (10.0, float),
    "MAIL_FROM": ("eFaktura <efaktura@example.no>", str),
    # SMS: empty URL means the development mailbox keeps the messages.
    "SMS_GATEWAY_URL": ("", str),
    "SMS_GATEWAY_TOKEN": ("", str),
    "SMS_SENDER": ("eFaktura", str),
    # BankID over OpenID Connect (the simulated provider by default).
    "BANKID_ISSUER": ("http://127.0.0.1:5001", str),
    "BANKID_CLIENT_ID": ("efaktura-portal", str),
    "BANKID_CLIENT_SECRET": (None, str),
    "BANKID_SCOPES": ("openid profile nnin_altsub", str),
    "BANKID_NNIN_CLAIM": ("nnin_altsub", str),
    "BANKID_ACCEPTED_ACR": ("urn:bankid:bid;LOA=4 urn:bankid:bis;LOA=3", str),
    "BANKID_ALLOWED_ALGS": ("RS256", str),
    # The business register (Enhetsregisteret): the simulated one by default; the real one is
    # https://data.brreg.no/enhetsregisteret/api.
    "REGISTER_URL": ("http://127.0.0.1:5002/enhetsregisteret/api", str),
    "REGISTER_TIMEOUT": (5.0, float),
    "REGISTER_CACHE_SECONDS": (600, int),
    # Time rules.
    "CONSENT_DEADLINE_SECONDS": (3 * 24 * 3600, int),
    "CONSENT_LINK_MAX_AGE": (30 * 24 * 3600, int),
    "APPROVER_LINK_MAX_AGE": (7 * 24 * 3600, int),
    "EMAIL_LINK_MAX_AGE": (2 * 24 * 3600, int),
    "PASSWORD_RESET_LINK_MAX_AGE": (3600, int),
    # Log-in sessions per realm: minutes without a request, and minutes at most in all.
    "ISSUER_IDLE_MINUTES": (60, int),
    "ISSUER_SESSION_MINUTES": (8 * 60, int),
    "SUPPORT_IDLE_MINUTES": (30, int),
    "SUPPORT_SESSION_MINUTES": (8 * 60, int),
    "CONSUMER_IDLE_MINUTES": (15, int),
    "CONSUMER_SESSION_MINUTES": (60, int),
    # Password hashing (werkzeug method string); scrypt unless a test run asks for a cheaper one.
    "PASSWORD_HASH_METHOD": ("scrypt", str),
    # Worker.
    "WORKER_POLL_SECONDS": (1.0, float),
    "WORKER_LEASE_SECONDS": (60, int),
    "WORKER_MAX_ATTEMPTS": (6, int),
    "WORKER_BACKOFF_BASE_SECONDS": (10, int),
    # Web server (gunicorn): processes, threads per process, seconds before a stuck request
    # is ended, and how many proxies in front of it set X-Forwarded-* (0: none trusted).
    "WEB_WORKERS": (2, int),
    "WEB_THREADS": (4, int),
    "WEB_TIMEOUT": (30, int),
    "TRUSTED_PROXIES": (0, int),
    # Log lines as JSON objects (default: in production) or as plain text.
    "LOG_JSON": (None, _bool),
    # How many rows one claim takes, and how many sends run at once in one worker process:
    # in all, and per channel (a slow mail server then holds e-mail slots, not SMS or nettbank).
    "WORKER_BATCH_SIZE": (100, int),
    "WORKER_CONCURRENCY": (16, int),
    "WORKER_EMAIL_CONCURRENCY": (4, int),
    "WORKER_SMS_CONCURRENCY": (16, int),
    "WORKER_WEBHOOK_CONCURRENCY": (4, int),  # POSTs to issuers' webhook endpoints at once
    "WORKER_LOCAL_CONCURRENCY": (1, int),  # in-database effects, one at a time, in order
    # Development conveniences (mailbox page, BankID quick-pick).
    "DEV_TOOLS": (None, _bool),
    "API_RATE_LIMIT": (120, int),  # API requests per credential per minute (all processes together)
    # Shared store of the rate limits (redis://host:port/db); empty: each process counts alone.
    "REDIS_URL": ("", str),
    **{f"RATE_LIMIT_{name}": (value, str) for name, value in DEFAULT_RATE_LIMITS.items()},
    "WEBHOOK_TIMEOUT_SECONDS": (5.0, float),
    "WEBHOOK_ALLOW_PRIVATE": (None, _bool),  # loopback/private webhook hosts; default: not in production
}


def read_settings(defaults: dict[str, tuple[object, object]], overrides: dict) -> dict:
    """Each named setting from ``overrides`` (taken out of it), else ``PORTAL_<NAME>`` parsed,
    else its default. A value that does not parse is a ConfigError naming the variable."""
    values: dict[str, object] = {}
    for name, (default, parse) in defaults.items():
        if name in overrides:
            values[name] = overrides.pop(name)
            continue
        raw = os.environ.get("PORTAL_" + name)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = parse(raw)  # type: ignore[operator]
        except ValueError as exc:
            raise ConfigError(f"PORTAL_{name} has an invalid value {raw!r}: {exc}") from None
    return values


def load_config(overrides: dict | None = None) -> dict:
    """Build the settings dict; raises ConfigError with a one-line message."""
    overrides = dict(overrides or {})
    cfg = read_settings(DEFAULTS, overrides)
    cfg.update(overrides)

    env = str(cfg["ENV"])
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"PORTAL_ENV must be development, production or testing, not {env!r}")
    production = env == "production"
    if cfg["DEV_TOOLS"] is None:
        cfg["DEV_TOOLS"] = not production
    if production and cfg["DEV_TOOLS"]:
        raise ConfigError("PORTAL_DEV_TOOLS cannot be switched on in production")

    if not cfg["SECRET_KEY"]:
        if production:
            raise ConfigError("PORTAL_SECRET_KEY must be set in production (a long random string)")
        cfg["SECRET_KEY"] = dev_secret("secret_key")
    if production and len(str(cfg["SECRET_KEY"]).encode()) < MIN_KEY_BYTES:
        raise ConfigError(f"PORTAL_SECRET_KEY must be at least {MIN_KEY_BYTES} bytes in production")
    if cfg["IDENTITY_KEY"]:
        if production and len(str(cfg["IDENTITY_KEY"]).encode()) < MIN_KEY_BYTES:
            raise ConfigError(f"PORTAL_IDENTITY_KEY must be at least {MIN_KEY_BYTES} bytes in production")
    elif production:
        raise ConfigError("PORTAL_IDENTITY_KEY must be set in production (a long random string, "
                          "not the secret key)")
    if not cfg["BANKID_CLIENT_SECRET"]:
        if production:
            raise ConfigError("PORTAL_BANKID_CLIENT_SECRET must be set in production")
        cfg["BANKID_CLIENT_SECRET"] = dev_secret("bankid_client_secret")

    if not cfg["DATABASE_URL"]:
        if production:
            raise ConfigError("PORTAL_DATABASE_URL must be set in production")
        cfg["DATABASE_URL"] = f"sqlite:///{instance_path() / 'portal.sqlite3'}"
    cfg["DATABASE_URL"] = normalize_database_url(str(cfg["DATABASE_URL"]))

    if cfg["SMTP_SECURITY"] not in {"none", "starttls", "ssl"}:
        raise ConfigError("PORTAL_SMTP_SECURITY must be none, starttls or ssl")
    if production and not cfg["SMTP_HOST"]:
        raise ConfigError("PORTAL_SMTP_HOST must be set in production")
    for key in ("BASE_URL", "BANKID_ISSUER", "REGISTER_URL"):
        cfg[key] = str(cfg[key]).rstrip("/")
        if not str(cfg[key]).startswith(("http://", "https://")):
            raise ConfigError(f"PORTAL_{key} must be an http(s) URL, not {cfg[key]!r}")
    if production and not str(cfg["BASE_URL"]).startswith("https://"):
        raise ConfigError(f"PORTAL_BASE_URL must be an https URL in production, not {cfg['BASE_URL']!r}")
    for name in ("WEB_WORKERS", "WEB_THREADS", "WEB_TIMEOUT"):
        if int(cfg[name]) < 1:  # type: ignore[call-overload]
            raise ConfigError(f"PORTAL_{name} must be a positive number")
    for realm in ("ISSUER", "SUPPORT", "CONSUMER"):
        for name in (f"{realm}_IDLE_MINUTES", f"{realm}_SESSION_MINUTES"):
            if int(cfg[name]) < 1:  # type: ignore[call-overload]
                raise ConfigError(f"PORTAL_{name} must be a positive number of minutes")
    for name in DEFAULT_RATE_LIMITS:
        try:
            parse_rate_limit(str(cfg[f"RATE_LIMIT_{name}"]))
        except ValueError:
            raise ConfigError(f"PORTAL_RATE_LIMIT_{name} must be a rate such as 30/minute, "
                              f"not {cfg[f'RATE_LIMIT_{name}']!r}") from None
    if cfg["REDIS_URL"] and not str(cfg["REDIS_URL"]).startswith(("redis://", "rediss://")):
        raise ConfigError("PORTAL_REDIS_URL must be a redis:// or rediss:// URL")
    if int(cfg["TRUSTED_PROXIES"]) < 0:  # type: ignore[call-overload]
        raise ConfigError("PORTAL_TRUSTED_PROXIES must be 0 or more")
    if cfg["LOG_JSON"] is None:
        cfg["LOG_JSON"] = production
    if production and not str(cfg["PASSWORD_HASH_METHOD"]).startswith("scrypt"):
        raise ConfigError("PORTAL_PASSWORD_HASH_METHOD must be scrypt in production")
    cfg["PRODUCTION"] = production
    return cfg


def normalize_database_url(url: str) -> str:
    """Validate the database URL; ``postgresql://`` is served by psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"PORTAL_DATABASE_URL is not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(f"PORTAL_DATABASE_URL must be sqlite or postgresql, not {backend!r}")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def flask_settings(cfg: dict) -> dict:
    """Translate our settings into Flask's own keys."""
    secure = str(cfg["BASE_URL"]).startswith("https://")
    return {
        "SECRET_KEY": cfg["SECRET_KEY"],
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
        "REMEMBER_COOKIE_DURATION": timedelta(days=1),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "BABEL_DEFAULT_LOCALE": "nb",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Oslo",
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        "TESTING": cfg["ENV"] == "testing",
    }
