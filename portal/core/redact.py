"""Keep national identity numbers out of the logs.

A request line such as ``GET /authorize?login_hint=BID:15058521431`` would otherwise be
written by the web server's access log; the filter replaces every run of 11 digits.
"""
from __future__ import annotations

import logging
import re

_ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{6}(?:%20|\+| )?[0-9]{5}(?![0-9])")
REDACTED = "[fnr]"


def redact(text: str) -> str:
    return _ELEVEN_DIGITS.sub(REDACTED, text)


class NationalIdFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with every 11-digit number replaced."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is left to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            # Format the traceback now so its text can be cleaned too.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def install(
    logger_names: tuple[str, ...] = ("werkzeug", "simulators.bankid.provider", "portal.bankid.client"),
) -> None:
    """Attach the filter once to each named logger."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, NationalIdFilter) for f in logger.filters):
            logger.addFilter(NationalIdFilter())
