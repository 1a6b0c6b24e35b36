"""Requests per API credential, counted in the shared rate-limit store (portal.core.limits):
with ``PORTAL_REDIS_URL`` set, every web process counts against the same limit."""
from __future__ import annotations

from flask import current_app, has_app_context

from portal.core import limits
from portal.core.limits import Verdict

__all__ = ["Verdict", "hit", "reset"]


def hit(credential: str, limit: int, window_seconds: int = 60) -> Verdict:
    """Count one request of ``credential`` (its key prefix) and say whether it is within the limit."""
    return limits.hit("API", credential, f"{int(limit)}/{int(window_seconds)} second")


def reset() -> None:
    """Forget every count (tests)."""
    if has_app_context() and "portal_limiter" in current_app.extensions:
        limits.reset()
