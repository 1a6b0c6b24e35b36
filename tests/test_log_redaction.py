"""Logs without secrets: link tokens, personal data in query strings and national identity
numbers never reach a log line, and production lines are JSON."""
from __future__ import annotations

import json
import logging

import pytest

from portal.core.logs import JsonFormatter
from portal.core.redact import RequestRedactionFilter, redact, redact_request


@pytest.mark.parametrize("written", [
    "15058521431", "150585 21431", "150585-21431", "15.05.85 21431", "15.05.85-21431",
    "150585%2021431", "150585+21431",
])
def test_national_id_spellings_are_redacted(written):
    """A national identity number is hidden however it is written."""
    assert redact(f"login for {written} failed") == "login for [fnr] failed"


@pytest.mark.parametrize("harmless", [
    "2026-11-28 14:49:18,123", "account 1234.56.78903", "127.0.0.1:5000", "amount 1 562,50",
    "invoice F-2026-000123",
])
def test_ordinary_numbers_stay_readable(harmless):
    """Dates, times, account numbers and addresses in log lines are left as they are."""
    assert redact_request(harmless) == harmless


@pytest.mark.parametrize("line,expected", [
    ('"GET /samtykke/eyJhIjoxfQ.sig-1_x HTTP/1.1" 200', '"GET /samtykke/[token] HTTP/1.1" 200'),
    ("POST /samtykke/eyJhIjoxfQ.sig/svar?lang=en", "POST /samtykke/[token]/svar?lang=en"),
    ("GET /utstederavtale/eyJhIjoxfQ.sig", "GET /utstederavtale/[token]"),
    ("GET /login/3f9a8b7c6d5e", "GET /login/[token]"),
    ('"POST /utsteder/nytt-passord/eyJ1IjoxfQ.aBc-1_x HTTP/1.1" 302',
     '"POST /utsteder/nytt-passord/[token] HTTP/1.1" 302'),
    ('127.0.0.1 "GET /s/Xk3p9QaZ HTTP/1.1" 302', '127.0.0.1 "GET /s/[token] HTTP/1.1" 302'),
    ('"GET /utsteder/sendte?status=held HTTP/1.1" 200', '"GET /utsteder/sendte?status=held HTTP/1.1" 200'),
    ("GET /utsteder/bekreft-epost/eyJ1IjoxfQ.sig?lang=en", "GET /utsteder/bekreft-epost/[token]?lang=en"),
    ("GET /utsteder/kontakter/?q=ola%40example.no&page=2", "GET /utsteder/kontakter/?q=[redacted]&page=2"),
    ("GET /kundestotte/?q=%2B4791234567", "GET /kundestotte/?q=[redacted]"),
    ("GET /x?epost2=kari%40example.no&mob=%2B47+912+34+567", "GET /x?epost2=[e-mail]&mob=[phone]"),
    ("GET /bankid/callback?code=abc&state=def", "GET /bankid/callback?code=[redacted]&state=[redacted]"),
    ("GET /bankid/login?next=/samtykke/eyJhIjoxfQ.sig/svar", "GET /bankid/login?next=/samtykke/[token]/svar"),
    ("GET /utsteder/logg-inn?next=/utsteder/kontakter/?q%3Dola%2540example.no",
     "GET /utsteder/logg-inn?next=/utsteder/kontakter/?q=[redacted]"),
])
def test_request_lines_lose_tokens_and_personal_data(line, expected):
    """Access-log request lines keep their shape with secrets replaced by placeholders."""
    assert redact_request(line) == expected


def test_filter_rewrites_gunicorn_style_records():
    """A gunicorn access record (a format with a dict of atoms) comes out redacted."""
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %(s)s',
                               None, None)
    record.args = {"h": "127.0.0.1", "r": "GET /samtykke/eyJhIjoxfQ.sig?q=x%40y.no HTTP/1.1", "s": "200"}
    assert RequestRedactionFilter().filter(record) is True
    assert record.getMessage() == '127.0.0.1 "GET /samtykke/[token]?q=[redacted] HTTP/1.1" 200'


def test_werkzeug_access_log_is_redacted(app, caplog):
    """The development server's access log (werkzeug) is redacted too."""
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1",
                                           "GET /samtykke/eyJhIjoxfQ.sig HTTP/1.1", "200")
    assert caplog.messages == ['127.0.0.1 - - "GET /samtykke/[token] HTTP/1.1" 200']


def test_json_lines_carry_time_level_logger_and_traceback():
    """A production log line is one JSON object with the traceback inside it."""
    try:
        raise ValueError("boom")
    except ValueError as exc:
        record = logging.LogRecord("portal.x", logging.ERROR, __file__, 1, "failed %s", ("once",),
                                   (type(exc), exc, exc.__traceback__))
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == ("ERROR", "portal.x", "failed once")
    assert "ValueError: boom" in entry["exc"] and entry["time"].endswith("+00:00")
