"""Keep secrets and personal data out of the logs.

A request line such as ``GET /authorize?login_hint=BID:15058521431`` or
``GET /samtykke/<signed link token>`` would otherwise be written by the web server's access
log. The filters here rewrite every log record that passes through them:

* national identity numbers (11 digits, also written ``150585 21431``, ``150585-21431`` or
  ``15.05.85 21431``) become ``[fnr]``;
* the token in a link path (``/samtykke/…``, ``/utstederavtale/…``, the staff links
  ``/utsteder/bekreft-epost/…`` and ``/utsteder/nytt-passord/…``, the short consent link of the
  SMS ``/s/…``, the simulated BankID's ``/login/…``) becomes ``[token]``;
* in a query string, search terms (``q``), codes, states and hints become ``[redacted]``, and
  any other value that is an e-mail address or a phone number becomes ``[e-mail]``/``[phone]``.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[fnr]"
TOKEN = "[token]"

# Six digits of birth date (optionally as dd.mm.yy or dd-mm-yy), an optional separator, and
# five digits of individual number and check digits.
_NATIONAL_ID = re.compile(
    r"(?<![0-9])[0-9]{2}(?P<sep>[.\-]?)[0-9]{2}(?P=sep)[0-9]{2}"
    r"(?:%20|\+|[ .\-])?[0-9]{5}(?![0-9])"
)

# Paths whose last segment is a secret: the consent link, the issuer approver link, the staff
# e-mail confirmation and new-password links, and the simulated BankID's login transaction.
TOKEN_PATHS = ("samtykke", "utstederavtale", "bekreft-epost", "nytt-passord", "login", "s")
_TOKEN_PATH = re.compile(r"(/(?:" + "|".join(TOKEN_PATHS) + r")/)(?!\[token\])[^/?#\s\"']+")

# Query parameters whose value is always hidden.
SECRET_PARAMS = frozenset({
    "q", "code", "state", "nonce", "token", "login_hint", "id_token_hint", "email", "epost",
    "mobile", "mobil", "phone", "telefon", "nnin", "fnr", "national_id", "after", "before",
})
_QUERY = re.compile(r"\?[^\s\"'#]*")
_PARAM = re.compile(r"(^\?|&)([^=&]+)=([^&]*)")
_PHONE = re.compile(r"^\+?[0-9 \-]{8,}$")


def redact(text: str) -> str:
    """``text`` with national identity numbers replaced by ``[fnr]``."""
    return _NATIONAL_ID.sub(REDACTED, text)


def _clean_param(match: re.Match) -> str:
    lead, key, value = match.group(1), match.group(2), match.group(3)
    if not value:
        return match.group(0)
    plain = unquote_plus(unquote_plus(value))  # a URL inside a URL is encoded twice
    if key.lower() in SECRET_PARAMS:
        value = "[redacted]"
    elif "?" in plain or "/" in plain:  # a URL as a value (next=…): cleaned in turn
        cleaned = redact_request(plain)
        if cleaned != plain:
            value = cleaned
    elif "@" in plain:
        value = "[e-mail]"
    elif _PHONE.match(plain.strip()) and sum(c.isdigit() for c in plain) >= 8:
        value = "[phone]"
    return f"{lead}{key}={value}"


def _clean_query(match: re.Match) -> str:
    return _PARAM.sub(_clean_param, match.group(0))


def redact_request(text: str) -> str:
    """``text`` (a log line) without link tokens, personal data in query strings, or national
    identity numbers."""
    text = redact(_TOKEN_PATH.sub(lambda m: m.group(1) + TOKEN, text))
    return _QUERY.sub(_clean_query, text)


class NationalIdFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with every national identity number
    replaced."""

    clean = staticmethod(redact)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is left to the handler to report
            return True
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so its text can be cleaned too.
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
        return True


class RequestRedactionFilter(NationalIdFilter):
    """For access logs (gunicorn's, werkzeug's) and everything else: also hides link tokens and
    personal data in query strings."""

    clean = staticmethod(redact_request)


def install(
    logger_names: tuple[str, ...] = ("werkzeug", "gunicorn.access", "gunicorn.error",
                                     "simulators.bankid.provider", "portal.bankid.client"),
) -> None:
    """Attach the filter once to each named logger."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NationalIdFilter) for f in logger.filters):
            logger.addFilter(RequestRedactionFilter())
