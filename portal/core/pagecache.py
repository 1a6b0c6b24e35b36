"""Pages that read the same for every anonymous visitor in a language (the home page) are
rendered once per language and process, then served from memory.

Only a plain ``GET`` without a query string, from a visitor who is not logged in and has no
message waiting in the session, is answered from the cache; anything else renders as usual (and
does not fill the cache). The cache belongs to the app, so a test's app with other settings never
sees another app's page. Headers, cookies and the security headers are added per response as for
any page: only the body is kept.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, request, session
from flask_babel import get_locale

_LOGGED_IN_KEYS = ("_user_id", "consumer_id", "_flashes")


def same_for_every_visitor(view: Callable[..., str]) -> Callable[..., str]:
    """Cache the body ``view`` returns per (endpoint, language) for anonymous visitors."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method != "GET" or request.query_string or any(k in session for k in _LOGGED_IN_KEYS):
            return view(*args, **kwargs)
        pages: dict = current_app.extensions.setdefault("portal_page_cache", {})
        key = (request.endpoint, str(get_locale()))
        body = pages.get(key)
        if body is None:
            body = pages[key] = view(*args, **kwargs)
        return body

    return wrapped
