"""The baselines every page is measured against, served by gunicorn with the portal's settings:

- ``/hello``: a bare Flask view (the framework's ceiling);
- ``/one-query``: a minimal Flask view doing one indexed SELECT through the portal's engine, pool
  and per-request session and transaction (the ceiling of a page that reads the database).

    PORTAL_DATABASE_URL=postgresql://… gunicorn -c gunicorn.conf.py bench.baseline_app:app
"""
from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import text

from portal.core import db
from portal.core.config import normalize_database_url

app = Flask(__name__)
app.config["PORTAL"] = {"DATABASE_URL": normalize_database_url(os.environ["PORTAL_DATABASE_URL"])}
db.init_app(app)
db.init_request_transactions(app)


@app.get("/hello")
def hello():
    return "Hello, world!"


@app.get("/one-query")
def one_query():
    name = db.session.execute(text("SELECT name FROM issuers WHERE id = :id"), {"id": 1}).scalar()
    return f"Hello, {name}!"
