"""Clean single-line text: the one rule for names, numbers, search boxes, CSV cells and API
strings. Control characters (NUL, CR/LF, tab, DEL, C1 controls, Unicode line and paragraph
separators) are refused with a message, never stored: a NUL is an error in PostgreSQL and a
line break in a name would split the header of every e-mail that carries it."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line text (a message, an address block) may keep line breaks and tabs.
CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

MSG_CONTROL = _l("Feltet kan ikke inneholde linjeskift eller andre kontrolltegn. Skriv teksten på én linje.")


def has_control(value: object, *, multiline: bool = False) -> bool:
    """Whether ``value`` is text with a character that a single line (or, with ``multiline``,
    any text) must not have."""
    if not isinstance(value, str):
        return False
    return bool((CONTROL_MULTILINE if multiline else CONTROL).search(value))


def control_fields(data: object, prefix: str = "") -> list[str]:
    """Dotted paths of every string in a JSON-like structure that has a control character."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += control_fields(value, f"{prefix}{key}.")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += control_fields(value, f"{prefix}{i}.")
    elif has_control(data):
        found.append(prefix.rstrip("."))
    return found
