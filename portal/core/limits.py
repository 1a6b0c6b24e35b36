"""Rate limits that hold across web processes: counted with the ``limits`` library in Redis when
``PORTAL_REDIS_URL`` is set (in memory for the embedded default, where one process serves).

A view is marked with :func:`limited` and the name of its limit; the limit itself is a setting
(``PORTAL_RATE_LIMIT_<NAME>``, e.g. ``"30/minute"``). Counting is per client address, or per
any key a feature passes to :func:`hit` (the JSON API counts per credential). Past the limit
the request ends with 429 and a ``Retry-After``: a page in the reader's language, or a problem
document under /api/.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from portal.core.config import DEFAULT_RATE_LIMITS

log = logging.getLogger(__name__)
KEY_PREFIX = "portal"


class ProcessMemoryStorage(MemoryStorage):
    """The embedded default's store (one process): limits' memory store, whose clean-up of
    expired counts runs inside a request at most once a second, instead of on a timer thread that
    the store starts again up to a hundred times a second (starting it cost more than the count).
    Expired counts are ignored on reading either way; the clean-up only frees their memory."""

    STORAGE_SCHEME = ["portal-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the timer thread of the base class
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


def limited(name: str, methods: Iterable[str] | None = None):
    """Mark a view as counted against the limit ``name`` (only for ``methods``, if given)."""
    if name not in DEFAULT_RATE_LIMITS:
        raise ValueError(f"unknown rate limit {name!r}")

    def mark(view):
        view.rate_limit = (name, frozenset(methods) if methods else None)
        return view

    return mark


def _limiter() -> FixedWindowRateLimiter:
    return current_app.extensions["portal_limiter"]


def hit(name: str, key: str, limit: str, *, stats_when_allowed: bool = True) -> Verdict:
    """Count one request of ``key`` against ``limit`` (e.g. "120/minute") under ``name``.

    Without ``stats_when_allowed`` an allowed request costs one round trip to the store, not two:
    its ``remaining`` and ``reset_seconds`` are then only estimates (the limit and its period)."""
    item = parse(limit)
    strategy = _limiter()
    try:
        allowed = strategy.hit(item, KEY_PREFIX, name, key)
        if allowed and not stats_when_allowed:
            return Verdict(True, item.amount, item.amount, item.get_expiry())
        stats = strategy.get_window_stats(item, KEY_PREFIX, name, key)
    except Exception as exc:  # noqa: BLE001 - a store that is down must not stop the service
        log.warning("rate limit store unavailable (%s): %s not counted", type(exc).__name__, name)
        return Verdict(True, item.amount, item.amount, item.get_expiry())
    reset = max(1, int(stats.reset_time - time.time()))
    return Verdict(allowed, item.amount, stats.remaining, reset)


def _check() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    mark = getattr(view, "rate_limit", None)
    if mark is None:
        return
    name, methods = mark
    if methods and request.method not in methods:
        return
    limit = str(current_app.config["PORTAL"][f"RATE_LIMIT_{name}"])
    verdict = hit(name, request.remote_addr or "unknown", limit, stats_when_allowed=False)
    if not verdict.allowed:
        raise TooManyRequests(retry_after=verdict.reset_seconds)


def reset() -> None:
    """Forget every count (tests)."""
    _limiter().storage.reset()


def init_app(app: Flask) -> None:
    """One counter store per app, checked before each request of a marked view (no other hooks)."""
    cfg = app.config["PORTAL"]
    store = storage_from_string(str(cfg["REDIS_URL"] or "portal-memory://"))
    app.extensions["portal_limiter"] = FixedWindowRateLimiter(store)
    app.before_request(_check)
