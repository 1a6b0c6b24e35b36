"""Settings of a production-like app for tests."""
from __future__ import annotations

STRONG = "s" * 40


PRODUCTION = {
    "ENV": "production",
    "SECRET_KEY": STRONG,
    "IDENTITY_KEY": "i" * 40,
    "BASE_URL": "https://efaktura.example.no",
    "BANKID_ISSUER": "https://bankid.example.no",
    "BANKID_CLIENT_SECRET": "client-secret",
    "SMTP_HOST": "smtp.example.no",
    "DATABASE_URL": "sqlite://",
    "DEV_TOOLS": False,
    "PASSWORD_HASH_METHOD": "scrypt",
}


PRODUCTION_ENV = {"PORTAL_" + k: str(v) for k, v in PRODUCTION.items() if k != "DEV_TOOLS"}
