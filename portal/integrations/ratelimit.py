"""A fixed-window request counter per API credential, kept in this process's memory.

Simple on purpose: each process counts for itself, so with N web processes a credential may
make up to N times the limit. Flask-Limiter with a shared store is the step up when needed."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

_lock = threading.Lock()
_windows: dict[str, tuple[int, int]] = {}  # credential prefix -> (window start, count)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


def hit(credential: str, limit: int, window_seconds: int = 60, *, now: float | None = None) -> Verdict:
    """Count one request and say whether it is within the limit."""
    now = time.time() if now is None else now
    start = int(now // window_seconds) * window_seconds
    with _lock:
        old_start, count = _windows.get(credential, (start, 0))
        if old_start != start:
            count = 0
        count += 1
        _windows[credential] = (start, count)
        if len(_windows) > 10000:  # forget idle credentials
            for key in [k for k, (s, _c) in _windows.items() if s != start]:
                del _windows[key]
    reset = int(start + window_seconds - now) or 1
    return Verdict(count <= limit, limit, max(0, limit - count), reset)


def reset() -> None:
    with _lock:
        _windows.clear()
