"""One opaque cursor format for every list."""
from __future__ import annotations

import base64
import datetime as dt

import pytest

from portal.core import pagination


def test_cursor_round_trip():
    """A cursor gives back the row and time it was made from."""
    at = dt.datetime(2026, 11, 28, 12, 30, 1, 123456, tzinfo=dt.UTC)
    assert pagination.decode(pagination.encode(42, at)) == pagination.Cursor(42, at)
    assert pagination.decode(pagination.encode(7)) == pagination.Cursor(7, None)


@pytest.mark.parametrize("raw", [
    "", "abc", "1.2", "!!!", "x" * 49,
    base64.urlsafe_b64encode(b"0.0").decode(),  # id 0
    base64.urlsafe_b64encode(b"0.2147483648").decode(),  # beyond a 32-bit id
    base64.urlsafe_b64encode(b"999999999999999999.5").decode(),  # a time past year 9999
    base64.urlsafe_b64encode(b"0.5 Kari").decode(),
])
def test_junk_cursor_means_the_first_page(raw):
    """Anything that is not one of our cursors decodes to nothing, never an error."""
    assert pagination.decode(raw) is None


def test_cursor_carries_no_name():
    """The cursor names a row by id only: nothing a reader could recognise."""
    token = pagination.encode(1234, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert "1234" not in token and token.isascii()
