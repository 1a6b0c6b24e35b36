"""Signed links: purpose-bound, expiring, single use; each failure is told apart."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from portal.core import db
from portal.core.auth import safe_next
from portal.core.tokens import LinkError, LinkProblem, Purpose, make_token, mark_used, read_token


def test_valid_link_reads_back_its_payload(db_session):
    """A fresh link gives back what was signed into it."""
    token = make_token(Purpose.CONSENT, {"cr": 7})
    link = read_token(db_session, Purpose.CONSENT, token)
    assert link.payload["cr"] == 7 and link.jti


def test_link_for_another_purpose_is_invalid(db_session):
    """An approver link cannot be used as a consent link."""
    token = make_token(Purpose.APPROVER, {"ia": 1})
    with pytest.raises(LinkError) as err:
        read_token(db_session, Purpose.CONSENT, token)
    assert err.value.problem is LinkProblem.INVALID


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
                                    lambda t: t[:10], lambda t: "x" + t, lambda t: ""])
def test_tampered_link_is_invalid(db_session, mangle):
    """Any change to the link makes it invalid."""
    token = make_token(Purpose.CONSENT, {"cr": 1})
    with pytest.raises(LinkError) as err:
        read_token(db_session, Purpose.CONSENT, mangle(token))
    assert err.value.problem is LinkProblem.INVALID


def test_expired_link_says_expired_and_keeps_payload(db_session):
    """After its max age a link is expired, and the payload is still known to offer a new one."""
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        token = make_token(Purpose.APPROVER, {"ia": 42})
    with (time_machine.travel(dt.datetime(2026, 1, 8, 12, 0, 1, tzinfo=dt.UTC), tick=False),
          pytest.raises(LinkError) as err):
        read_token(db_session, Purpose.APPROVER, token)
    assert err.value.problem is LinkProblem.EXPIRED
    assert err.value.payload["ia"] == 42
    with time_machine.travel(dt.datetime(2026, 1, 8, 11, 59, tzinfo=dt.UTC), tick=False):
        assert read_token(db_session, Purpose.APPROVER, token).payload["ia"] == 42


def test_used_link_is_refused_the_second_time(db_session):
    """A link marked used is refused afterwards, and marking it twice fails."""
    token = make_token(Purpose.APPROVER, {"ia": 3})
    link = read_token(db_session, Purpose.APPROVER, token)
    mark_used(db_session, Purpose.APPROVER, link)
    db.session.commit()
    with pytest.raises(LinkError) as err:
        read_token(db_session, Purpose.APPROVER, token)
    assert err.value.problem is LinkProblem.USED
    with pytest.raises(LinkError):
        mark_used(db_session, Purpose.APPROVER, link)


@pytest.mark.parametrize("target,expected", [
    ("/utsteder/kontakter", "/utsteder/kontakter"),
    ("/utsteder/?page=2", "/utsteder/?page=2"),
    ("https://evil.example/", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
    ("", "/"),
    (None, "/"),
])
def test_next_accepts_only_local_paths(target, expected):
    """A `next` target with a host or scheme is replaced by the default."""
    assert safe_next(target, "/") == expected
