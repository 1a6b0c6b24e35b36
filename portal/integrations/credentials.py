"""API keys: shown once, stored as a SHA-256 hash, found by a short public prefix.

A key reads ``efk_<prefix>_<secret>``: the prefix (8 characters) is stored in clear to find the
row and to show the issuer which key is which; the secret (32 random bytes) is never stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import events
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.integrations.models import ApiCredential

SCOPES = ("read", "write")
KEY_PREFIX = "efk_"
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_credential(sess: Session, issuer_id: int, name: str, scopes: list[str],
                      actor: Actor) -> tuple[ApiCredential, str]:
    """A new key for the issuer. Returns the row and the key in clear (shown once)."""
    chosen = [s for s in SCOPES if s in scopes] or ["read"]
    if "write" in chosen and "read" not in chosen:
        chosen.insert(0, "read")
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    cred = ApiCredential(issuer_id=issuer_id, name=name.strip()[:100], prefix=prefix,
                         secret_hash=_hash(key), scopes=" ".join(chosen), created_by=actor.label[:200])
    sess.add(cred)
    sess.flush()
    events.record(sess, actor, "api_credential", cred.id, "create", issuer_id=issuer_id,
                  data={"prefix": prefix, "scopes": chosen})
    return cred, key


def authenticate(sess: Session, key: str) -> ApiCredential | None:
    """The active credential this key belongs to, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    prefix, _, secret = key[len(KEY_PREFIX):].partition("_")
    if not prefix or not secret:
        return None
    cred = sess.scalar(select(ApiCredential).where(ApiCredential.prefix == prefix))
    if cred is None or not hmac.compare_digest(cred.secret_hash, _hash(key)) or not cred.is_active:
        return None
    return cred


def for_issuer(sess: Session, issuer_id: int) -> list[ApiCredential]:
    return list(sess.scalars(select(ApiCredential).where(ApiCredential.issuer_id == issuer_id)
                             .order_by(ApiCredential.revoked_at.is_not(None), ApiCredential.created_at.desc(),
                                       ApiCredential.id.desc())))


def revoke(sess: Session, cred: ApiCredential, actor: Actor) -> bool:
    """Revoke a key (at once: the next request with it is refused). False if already revoked."""
    if cred.revoked_at is not None:
        return False
    cred.revoked_at = utcnow()
    events.record(sess, actor, "api_credential", cred.id, "revoke", issuer_id=cred.issuer_id,
                  data={"prefix": cred.prefix})
    sess.flush()
    return True


def ensure_known_key(sess: Session, issuer_id: int, name: str, key: str, scopes: list[str],
                     actor: Actor) -> ApiCredential:
    """Make sure ``key`` (of the ``efk_<prefix>_<secret>`` form) works for the issuer: for demo
    data, whose key is derived from the instance's secret so ``make run`` can print it."""
    prefix = key[len(KEY_PREFIX):].partition("_")[0]
    cred = sess.scalar(select(ApiCredential).where(ApiCredential.prefix == prefix))
    if cred is None:
        cred = ApiCredential(issuer_id=issuer_id, name=name, prefix=prefix, secret_hash=_hash(key),
                             scopes=" ".join(scopes), created_by=actor.label[:200])
        sess.add(cred)
        sess.flush()
        events.record(sess, actor, "api_credential", cred.id, "create", issuer_id=issuer_id,
                      data={"prefix": prefix, "scopes": scopes})
    elif cred.issuer_id == issuer_id and cred.revoked_at is None:
        cred.secret_hash = _hash(key)
    return cred
