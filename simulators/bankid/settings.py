"""Settings of the simulated BankID provider.

The provider reads the portal's settings through :func:`portal.core.config.load_config` (so the
registered client, its secret and the portal's callback URL agree) and adds a few of its own.
Each of its own settings can come from the explicit overrides or from the environment with
the ``PORTAL_`` prefix, like the portal's.
"""
from __future__ import annotations

import os
from pathlib import Path

from portal.core.config import ConfigError, instance_path, load_config, read_settings

# name -> (default, parser)
PROVIDER_DEFAULTS: dict[str, tuple[object, object]] = {
    # Lifetimes in seconds.
    "BANKID_CODE_LIFETIME": (60, int),
    "BANKID_ACCESS_TOKEN_LIFETIME": (300, int),
    "BANKID_ID_TOKEN_LIFETIME": (300, int),
    "BANKID_SESSION_LIFETIME": (30 * 60, int),  # the provider's own single sign-on session
    "BANKID_LOGIN_LIFETIME": (10 * 60, int),  # one login on the provider's pages
    "BANKID_MAX_ATTEMPTS": (3, int),
    # Signing keys, the subject secret and the session secret live here.
    "BANKID_KEY_DIR": (None, str),
    "BANKID_KEEP_KEYS": (3, int),  # keys published in the JWKS after rotations
    "BANKID_SUB_SECRET": (None, str),
    "BANKID_PROVIDER_SECRET_KEY": (None, str),
}

PRODUCTION_REFUSAL = (
    "The simulated BankID provider cannot run with PORTAL_ENV=production; "
    "point PORTAL_BANKID_ISSUER at a real BankID broker instead"
)


def _requested_env(overrides: dict) -> str:
    return str(overrides.get("ENV") or os.environ.get("PORTAL_ENV") or "development")


def load_provider_config(overrides: dict | None = None) -> dict:
    """The portal's settings plus the provider's own; refuses production (ConfigError)."""
    overrides = dict(overrides or {})
    if _requested_env(overrides) == "production":
        raise ConfigError(PRODUCTION_REFUSAL)
    own = read_settings(PROVIDER_DEFAULTS, overrides)
    cfg = load_config(overrides)
    if cfg["ENV"] == "production":
        raise ConfigError(PRODUCTION_REFUSAL)
    cfg.update(own)
    for name in (
        "BANKID_CODE_LIFETIME",
        "BANKID_ACCESS_TOKEN_LIFETIME",
        "BANKID_ID_TOKEN_LIFETIME",
        "BANKID_SESSION_LIFETIME",
        "BANKID_LOGIN_LIFETIME",
        "BANKID_MAX_ATTEMPTS",
        "BANKID_KEEP_KEYS",
    ):
        if int(cfg[name]) < 1:  # type: ignore[call-overload]
            raise ConfigError(f"PORTAL_{name} must be a positive number")
    if cfg["BANKID_KEY_DIR"] is None:
        cfg["BANKID_KEY_DIR"] = str(instance_path() / "bankid")
    cfg["BANKID_KEY_DIR"] = str(Path(str(cfg["BANKID_KEY_DIR"])))
    cfg.setdefault("BANKID_EXTRA_CLIENTS", [])
    return cfg
