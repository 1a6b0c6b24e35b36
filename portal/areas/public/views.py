"""Public pages: the home page that points each kind of user to their area."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from sqlalchemy import text

from portal.core import db
from portal.core.pagecache import same_for_every_visitor

bp = Blueprint("web", __name__)


@bp.get("/")
@same_for_every_visitor
def home():
    return render_template("home.html", cfg=current_app.config["PORTAL"])


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
