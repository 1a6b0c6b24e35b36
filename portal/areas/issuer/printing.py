"""Issuer area: the print batches of invoices that go by post."""
from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user

from portal.core import db
from portal.core.auth import issuer_login_required
from portal.invoices import printing

bp = Blueprint("printing", __name__)


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.get("/utsteder/utskrift")
@issuer_login_required
def print_batches():
    rows, more = printing.batches(db.session, current_user.issuer_id, _parse_date(request.args.get("eldre")))
    return render_template("delivery/print_batches.html", batches=rows,
                           next_cursor=more.isoformat() if more else None)


@bp.get("/utsteder/utskrift/<batch>.pdf")
@issuer_login_required
def print_batch_pdf(batch: str):
    day = _parse_date(batch) or abort(404)
    pdf = printing.batch_pdf(db.session, current_user.issuer_id, day)
    if pdf is None:
        abort(404)
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"utskrift-{day.isoformat()}.pdf")
