"""Log output: one JSON object per line in production, plain lines otherwise; every handler
passes its records through :class:`portal.core.redact.RequestRedactionFilter` first.

``logging_config`` is used by the app (``create_app``) and by gunicorn (``logconfig_dict`` in
``gunicorn.conf.py``), so the web server's access and error logs look like the app's own.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import logging.config

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the
    traceback as ``exc`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        return json.dumps(entry, ensure_ascii=False)


def logging_config(*, json_lines: bool, level: str = "INFO") -> dict:
    """A ``logging.config.dictConfig`` dictionary: the root logger, gunicorn's error and access
    loggers and werkzeug's, all to standard error through the redaction filter."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json" if json_lines else "plain",
        "filters": ["redact"],
        "stream": "ext://sys.stderr",
    }
    quiet = {"level": level, "handlers": ["default"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "portal.core.redact.RequestRedactionFilter"}},
        "formatters": {
            "json": {"()": "portal.core.logs.JsonFormatter"},
            "plain": {"format": PLAIN_FORMAT},
        },
        "handlers": {"default": handler},
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            "gunicorn.error": dict(quiet),
            "gunicorn.access": dict(quiet),
            "werkzeug": dict(quiet),
        },
    }


def configure(*, json_lines: bool) -> None:
    """Set up logging for a process that gunicorn did not set up (the worker, the CLI, ``flask
    run``); leaves a root logger that already has handlers alone."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config(json_lines=json_lines))
