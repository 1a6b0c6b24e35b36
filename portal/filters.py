"""Template filters: money in øre, dates in Europe/Oslo, masked numbers."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import get_locale

OSLO = ZoneInfo("Europe/Oslo")


def money(ore: int | None) -> str:
    if ore is None:
        return ""
    sign = "-" if ore < 0 else ""
    kroner, rest = divmod(abs(int(ore)), 100)
    if str(get_locale() or "nb") == "en":
        return f"{sign}NOK {kroner:,}.{rest:02d}"
    grouped = f"{kroner:,}".replace(",", "\u00a0")
    return f"{sign}{grouped},{rest:02d}\u00a0kr"


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
    from flask_babel import gettext

    return gettext(text) if text else ""


def init_app(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
    app.add_template_filter(translated, "translated")

    from portal import labels

    # Globals (not context) so that imported macros see them too.
    app.add_template_global(labels.event_summary, "event_summary")
    app.add_template_global(labels.actor_label, "event_actor")
    app.add_template_global(labels.state_label, "label_for_state")
    app.add_template_global(labels.action_label, "action_label")
    app.add_template_global(labels.subject_label, "event_subject")
    app.add_template_global(labels.channel_label, "channel_word")

    @app.context_processor
    def _globals():
        from portal import labels
        from portal.identifiers import (
            format_account_number,
            format_mobile,
            format_org_number,
            mask_mobile,
        )

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
