"""Keyset pagination with one opaque cursor format, for every list in the product.

A cursor names the last row of a page by its id only (plus, for lists newest first, its time),
encoded so that it means nothing to a reader: no names, e-mails or numbers travel in URLs or
logs. The next page is the rows after that one in the list's order, compared as one row value
(``(sort key, id) < (…, …)``), which the database answers from the index that matches the
order. A cursor that does not decode is treated as no cursor (the first page), and the caller
may tell the reader so.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_ID = 2**31 - 1  # the id columns are 32-bit integers on PostgreSQL
_PLAIN = re.compile(r"(\d{1,18})\.(\d{1,10})")


@dataclass(frozen=True)
class Cursor:
    row_id: int
    at: dt.datetime | None = None  # the row's time, for lists ordered newest first


@dataclass
class Page:
    rows: list
    next_cursor: str | None


def encode(row_id: int, at: dt.datetime | None = None) -> str:
    micros = (at - _EPOCH) // dt.timedelta(microseconds=1) if at is not None else 0
    return base64.urlsafe_b64encode(f"{micros}.{row_id}".encode()).decode().rstrip("=")


def decode(raw: str | None) -> Cursor | None:
    """The cursor, or None for anything that is not one of ours."""
    if not raw or len(raw) > 48:
        return None
    try:
        plain = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    match = _PLAIN.fullmatch(plain)
    if not match:
        return None
    row_id = int(match.group(2))
    if not 0 < row_id <= _MAX_ID:
        return None
    micros = int(match.group(1))
    try:
        at = _EPOCH + dt.timedelta(microseconds=micros) if micros else None
    except OverflowError:
        return None
    return Cursor(row_id, at)


def newest_first(sess: Session, stmt: Select, model: Any, *, cursor: str | None, size: int,
                 time_column: str = "created_at", scalars: bool = True) -> Page:
    """One page of ``stmt`` ordered by (time, id) descending; each row's first entity is ``model``
    when ``scalars`` is False (a select of several entities)."""
    when_col, id_col = getattr(model, time_column), model.id
    after = decode(cursor)
    if after is not None and after.at is not None:
        stmt = stmt.where(tuple_(when_col, id_col) < tuple_(after.at, after.row_id))
    stmt = stmt.order_by(when_col.desc(), id_col.desc()).limit(size + 1)
    rows = list(sess.scalars(stmt).unique()) if scalars else [tuple(r) for r in sess.execute(stmt)]
    more = len(rows) > size
    rows = rows[:size]
    if not more:
        return Page(rows, None)
    last = rows[-1] if scalars else rows[-1][0]
    return Page(rows, encode(last.id, getattr(last, time_column)))


def newest_first_by(sess: Session, stmt: Select, model: Any, lead_column: Any, *, cursor: str | None,
                    size: int, time_column: str = "created_at") -> Page:
    """One page of ``stmt`` ordered by (``lead_column``, time, id) descending, e.g. newest issue
    date first, for a list filtered on a range of ``lead_column`` and served by the index
    (…, lead, time, id). The cursor is the usual (time, id); the lead value of the cursor's row is
    read from the database, so the URL carries no more than for :func:`newest_first`."""
    when_col, id_col = getattr(model, time_column), model.id
    after = decode(cursor)
    if after is not None and after.at is not None:
        lead = select(lead_column).where(id_col == after.row_id).scalar_subquery()
        stmt = stmt.where(tuple_(lead_column, when_col, id_col) < tuple_(lead, after.at, after.row_id))
    stmt = stmt.order_by(lead_column.desc(), when_col.desc(), id_col.desc()).limit(size + 1)
    rows = list(sess.scalars(stmt).unique())
    more = len(rows) > size
    rows = rows[:size]
    if not more:
        return Page(rows, None)
    last = rows[-1]
    return Page(rows, encode(last.id, getattr(last, time_column)))


def ascending_by(sess: Session, stmt: Select, model: Any, sort_column: Any, *, cursor: str | None,
                 size: int, scalars: bool = True) -> Page:
    """One page of ``stmt`` ordered by (``sort_column``, id) ascending. The cursor carries only the
    last row's id; its sort key is read from the database, so no value of it is in the URL."""
    after = decode(cursor)
    if after is not None:
        key = select(sort_column).where(model.id == after.row_id).scalar_subquery()
        stmt = stmt.where(tuple_(sort_column, model.id) > tuple_(key, after.row_id))
    stmt = stmt.order_by(sort_column, model.id).limit(size + 1)
    rows = list(sess.scalars(stmt).unique()) if scalars else [tuple(r) for r in sess.execute(stmt)]
    more = len(rows) > size
    rows = rows[:size]
    if not more:
        return Page(rows, None)
    last = rows[-1] if scalars else rows[-1][0]
    return Page(rows, encode(last.id))
