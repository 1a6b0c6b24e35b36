"""One place for how numbers and dates look: money in øre, account and organisation numbers,
dates in Europe/Oslo. The pure functions serve the PDFs; the template filters wrap them."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale, gettext

from portal.core import labels
from portal.core.identifiers import (
    format_account_number,
    format_mobile,
    format_org_number,
    mask_mobile,
)

OSLO = ZoneInfo("Europe/Oslo")
NBSP = "\u00a0"

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def oslo_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Norway (birthdays and ages are counted in Norwegian days)."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(OSLO).date()


def _group_digits(digits: str, sep: str) -> str:
    """Group a string of digits in threes from the right: '1234567' -> '1<sep>234<sep>567'."""
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return sep.join(groups)


def format_money(ore: int, language: str = "nb") -> str:
    """Format an amount in øre: 123450 -> '1 234,50 kr' (nb, nn) or 'NOK 1,234.50' (en).

    The spaces in the bokmål form are no-break spaces so the amount never wraps. Negative
    amounts (credits) carry a leading minus sign: '-1 234,50 kr' / '-NOK 1,234.50'.
    """
    if isinstance(ore, bool) or not isinstance(ore, int):
        raise TypeError(f"amount must be an int number of øre, not {type(ore).__name__}")
    if language not in ("nb", "nn", "en"):
        raise ValueError(f"unsupported language {language!r}; use 'nb', 'nn' or 'en'")
    sign = "-" if ore < 0 else ""
    kroner, rest = divmod(abs(ore), 100)
    if language != "en":
        return f"{sign}{_group_digits(str(kroner), NBSP)},{rest:02d}{NBSP}kr"
    return f"{sign}NOK{NBSP}{_group_digits(str(kroner), ',')}.{rest:02d}"


def format_date(d: dt.date, language: str) -> str:
    """'05.03.2026' in Norwegian (bokmål and nynorsk write dates alike), '5 March 2026' in English."""
    if language != "en":
        return f"{d.day:02d}.{d.month:02d}.{d.year}"
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def format_quantity(q: Decimal, language: str) -> str:
    """Quantity without trailing zeros: Decimal('2.500') -> '2,5' (nb, nn) / '2.5' (en)."""
    q = Decimal(q)
    text = format(q.normalize(), "f") if q != 0 else "0"
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    whole, _, frac = text.partition(".")
    if language != "en":
        out = _group_digits(whole, NBSP) + ("," + frac if frac else "")
    else:
        out = _group_digits(whole, ",") + ("." + frac if frac else "")
    return sign + out



def money(ore: int | None) -> str:
    if ore is None:
        return ""
    return format_money(int(ore), "en" if str(get_locale() or "nb") == "en" else "nb")


def quantity(q: Decimal | None) -> str:
    """A quantity in the reader's language (templates)."""
    if q is None:
        return ""
    return format_quantity(q, "en" if str(get_locale() or "nb") == "en" else "nb")


def local_time(value: dt.datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(OSLO).strftime(fmt)


def local_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return local_time(value, "%d.%m.%Y")
    return value.strftime("%d.%m.%Y")


def translated(text: str | None) -> str:
    """A stored text in the reader's language when the catalogue knows it (see labels.N_)."""
    return gettext(text) if text else ""


def init_app(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(quantity, "quantity")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(translated, "translated")

    # Globals (not context) so that imported macros see them too.
    app.add_template_global(labels.event_summary, "event_summary")
    app.add_template_global(labels.actor_label, "event_actor")
    app.add_template_global(labels.state_label, "label_for_state")
    app.add_template_global(labels.action_label, "action_label")
    app.add_template_global(labels.subject_label, "event_subject")
    app.add_template_global(labels.channel_label, "channel_word")
    app.add_template_global(labels.route_label, "route_label")
    app.add_template_global(labels.lookup_reason, "lookup_reason")
    app.add_template_global(labels.match_label, "match_label")
    app.add_template_global(labels.invoice_route, "invoice_route")
    app.add_template_global(labels.bankid_level, "bankid_level")

    @app.context_processor
    def _globals():
        return {
            "event_summary": labels.event_summary,
            "event_actor": labels.actor_label,
            "label_for_state": labels.state_label,
            "current_locale": str(get_locale() or "nb"),
            "format_account_number": format_account_number,
            "format_mobile": format_mobile,
            "format_org_number": format_org_number,
            "mask_mobile": mask_mobile,
            "dev_tools": app.config["PORTAL"]["DEV_TOOLS"],
            "url_map_endpoints": app.view_functions.keys(),
        }
