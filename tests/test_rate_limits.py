"""Rate limits are settings, answer 429 clearly, and hold across processes through Redis."""
from __future__ import annotations

import os
import uuid

import pytest

from tests.conftest import csrf_from

REDIS_URL = os.environ.get("PORTAL_REDIS_URL") or "redis://127.0.0.1:6379/15"

LIMITED = {
    "consumer.landing": "CONSENT", "consumer.confirm": "CONSENT",
    "bankid.login": "BANKID", "bankid.callback": "BANKID",
    "issuers.approver": "APPROVER", "issuers.approver_answer": "APPROVER",
    "issuers.signup": "SIGNUP", "issuers.login": "STAFF_LOGIN", "support.login": "STAFF_LOGIN",
    "support.search": "SUPPORT_SEARCH", "issuers.forgot_password": "PASSWORD_RESET",
    "issuers.change_password": "STAFF_LOGIN", "support.change_password": "STAFF_LOGIN",
}


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is needed in CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not running ({exc})")


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_the_named_pages_are_limited(app):
    marks = {ep: getattr(view, "rate_limit", (None,))[0] for ep, view in app.view_functions.items()}
    for endpoint, name in LIMITED.items():
        assert marks.get(endpoint) == name, endpoint


def test_consent_pages_answer_429_in_the_readers_language(make_app):
    app = make_app(RATE_LIMIT_CONSENT="3/minute")
    client = _client(app, "192.0.2.10")
    assert [client.get("/samtykke/ikke-et-token").status_code for _ in range(3)] == [404] * 3
    resp = client.get("/samtykke/ikke-et-token")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "For mange forsøk" in resp.get_data(as_text=True)
    resp = client.get("/samtykke/ikke-et-token?lang=en")
    assert resp.status_code == 429 and "For mange forsøk" not in resp.get_data(as_text=True)
    other = _client(app, "192.0.2.11")  # another address has its own count
    assert other.get("/samtykke/ikke-et-token").status_code == 404


def test_staff_login_attempts_per_address(make_app):
    app = make_app(RATE_LIMIT_STAFF_LOGIN="2/minute")
    client = _client(app, "192.0.2.20")
    token = csrf_from(client.get("/utsteder/logg-inn").get_data(as_text=True))
    data = {"email": "a@example.no", "password": "feil-passord-123", "csrf_token": token}
    statuses = [client.post("/utsteder/logg-inn", data=data).status_code for _ in range(3)]
    assert statuses[-1] == 429 and 429 not in statuses[:2]
    assert client.get("/utsteder/logg-inn").status_code == 200  # the page itself is not counted


def test_the_limit_holds_across_two_processes(make_app):
    """Two app instances (as two gunicorn workers) share one Redis: together they allow the
    limit, not the limit times two."""
    _redis_or_skip()
    first = make_app(REDIS_URL=REDIS_URL, RATE_LIMIT_BANKID="5/minute")
    second = make_app(REDIS_URL=REDIS_URL, RATE_LIMIT_BANKID="5/minute")
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    a, b = _client(first, address), _client(second, address)
    statuses = []
    for n in range(10):
        statuses.append((a if n % 2 else b).get("/bankid/callback?state=x").status_code)
    assert statuses.count(429) == 5, statuses
    assert 429 not in statuses[:5]


def test_the_embedded_store_counts_expires_and_starts_no_thread_per_request(monkeypatch):
    """The single-process store: the limit holds, a count is forgotten when its window ends, its
    memory is freed by the clean-up in a later request, and no timer thread is started per hit."""
    import threading
    import time as real_time

    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    from portal.core import limits as portal_limits

    store = portal_limits.ProcessMemoryStorage()
    strategy = FixedWindowRateLimiter(store)
    item = parse("3/second")
    threads_before = threading.active_count()
    assert [strategy.hit(item, "t", "a") for _ in range(4)] == [True, True, True, False]
    for i in range(200):
        strategy.hit(item, "t", f"other-{i}")
    assert threading.active_count() <= threads_before
    later_wall, later_mono = real_time.time() + 5, real_time.monotonic() + 5
    monkeypatch.setattr(real_time, "monotonic", lambda: later_mono)
    monkeypatch.setattr(real_time, "time", lambda: later_wall)
    assert strategy.hit(item, "t", "a")  # the window has passed: counted afresh
    assert len(store.storage) == 1  # the 200 expired counts were swept away
