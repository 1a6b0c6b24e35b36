"""The key of the keyed hash (HMAC) of national identity numbers.

It is its own setting, ``PORTAL_IDENTITY_KEY``, so that the Flask secret key (sessions, signed
links) can be rotated without losing every stored hash; outside production it falls back to
the secret key, and production refuses to start without it (see ``load_config``).
"""
from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def identity_key(cfg: dict | None = None) -> bytes:
    """The HMAC key for national identity numbers, from ``cfg`` or the current app's settings."""
    if cfg is None:
        cfg = current_app.config["PORTAL"]
    key = cfg.get("IDENTITY_KEY") or cfg["SECRET_KEY"]
    return ("nnin:" + str(key)).encode()


def national_id_hmac(national_id: str, cfg: dict | None = None) -> str:
    """The hex HMAC-SHA256 of an 11-digit national identity number under :func:`identity_key`."""
    return hmac.new(identity_key(cfg), national_id.encode(), hashlib.sha256).hexdigest()
