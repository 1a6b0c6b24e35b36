"""Database plumbing: the declarative base, one engine per app, one session per app context."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response, current_app, g
from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use portal.core.db.utcnow()")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime()}


# Connections are replaced after this many seconds, before a server or a firewall drops them.
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str) -> Engine:
    """The engine. On PostgreSQL there is no ping before each checkout (a round trip on every
    request): connections are recycled after ``POOL_RECYCLE_SECONDS``, and a connection found
    dead by a statement invalidates the whole pool, so that request fails once (503, see
    :func:`init_request_transactions`) and the next ones get fresh connections."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
        kwargs["pool_use_lifo"] = True  # idle connections age out instead of all staying warm
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


def init_app(app: Flask, engine: Engine | None = None) -> None:
    engine = engine or make_engine(app.config["PORTAL"]["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        sess = g.pop("db_session", None)
        if sess is not None:
            sess.close()


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def get_engine() -> Engine:
    return current_app.extensions["db_engine"]


session: Session = LocalProxy(get_session)  # type: ignore[assignment]


def value_enum(cls, name):
    """An enum column stored by value (a short string), not by member name."""
    return Enum(cls, name=name, values_callable=lambda e: [m.value for m in e],
                native_enum=False, length=20, validate_strings=True)


# --- one transaction per request ---------------------------------------------------------

def keep_changes_on_error() -> None:
    """Commit this request's changes even though it answers with an error status (a refused
    log-in that must still count, an audit record of a refused action)."""
    g.db_keep_on_error = True


def init_request_transactions(app: Flask) -> None:
    """Every request commits once, by construction: after a successful response (status below
    400, or when the view asked with :func:`keep_changes_on_error`) the session commits;
    otherwise, and whenever the view raised, everything it wrote is rolled back. Views and
    services never call ``commit()`` themselves; they ``flush()`` where they need ids or want a
    conflict to surface."""

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        """A connection that died under a statement (database restarted, idle connection cut):
        the pool has been invalidated, so a retry gets a new connection. Anything else is a
        server error as before."""
        sess = g.pop("db_session", None)
        if sess is not None:
            sess.close()
        if exc.connection_invalidated:
            return Response("Database connection lost; try again.", status=503,
                            headers={"Retry-After": "1"}, mimetype="text/plain")
        raise exc

    @app.after_request
    def _finish_transaction(response):
        sess = g.get("db_session")
        if sess is None:
            return response
        if response.status_code < 400 or g.pop("db_keep_on_error", False):
            sess.commit()
        else:
            sess.rollback()
        return response
