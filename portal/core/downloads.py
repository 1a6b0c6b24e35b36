"""Content-Disposition headers built safely from names that may hold anything (an invoice
number is typed by an issuer): RFC 6266 with an ASCII ``filename`` and a UTF-8 ``filename*``."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._\- ]+")


def ascii_filename(name: str, fallback: str = "download") -> str:
    """``name`` reduced to letters, digits, dot, dash, underscore and space: no quotes,
    backslashes, slashes, control characters (CR, LF) or non-ASCII (accents are dropped,
    other characters, such as ``ø``, become ``_``)."""
    simple = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    simple = _UNSAFE_ASCII.sub("_", simple).strip(" .")
    return simple[:150] or fallback


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The header value: ``attachment`` (or ``inline``) with a safe ASCII ``filename`` and, when
    that differs from the real name, ``filename*=UTF-8''…`` carrying it percent-encoded."""
    kind = "inline" if inline else "attachment"
    # The real name without control characters, path separators or quotes.
    real = "".join(c for c in filename if unicodedata.category(c)[0] != "C" and c not in "/\\\"")
    fallback = ascii_filename(real)
    value = f'{kind}; filename="{fallback}"'
    if real and real != fallback:
        value += "; filename*=UTF-8''" + quote(real, safe="!#$&+-.^_`|~")
    return value
