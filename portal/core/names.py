"""Is this BankID identity plausibly the person named here? The written rule, in one place.

Used wherever a BankID log-in must be the person a record names: the consumer a consent link
was sent to, and the role holder who may sign the issuer agreement.

**The name rule.** Both names are first brought to a plain form: letters are compared without
case and without accents (é = e, å = a, ø = o, æ = ae, ü = u); hyphens, apostrophes, dots and
commas separate names like spaces; "Hansen, Kari" is read as "Kari Hansen". The names then
match when

1. the first given names are equal,
2. the family names (the last word) are equal, and
3. every name of the shorter form is found in the longer one, so that one side may leave out a
   middle name ("Kari Hansen" = "Kari Marie Hansen") but may not add a different one
   ("Kari Anne Hansen" ≠ "Kari Marie Hansen").

A single word never matches (we do not accept a first name alone). Nothing else is guessed:
no nicknames, no swapped first and family names, no spelling distance.

**The birth date rule.** Where the record has a birth date, it must equal the one from BankID.

**Adults only.** A person answers for themselves from the day they turn 18.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

ADULT_AGE = 18

_SPECIAL = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ð": "d", "þ": "th", "ł": "l"})
_SEPARATORS = re.compile(r"[\s\-‐‑–—'’`´.]+")


def name_tokens(name: str | None) -> list[str]:
    """The plain form of a name as a list of words (see the module's rule)."""
    text = (name or "").strip()
    if "," in text:
        family, _, given = text.partition(",")
        text = f"{given} {family}"
    text = text.casefold().translate(_SPECIAL)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return [tok for tok in _SEPARATORS.split(text.replace(",", " ")) if tok]


def names_match(a: str | None, b: str | None) -> bool:
    """Whether two written names can be the same person under the rule above."""
    ta, tb = name_tokens(a), name_tokens(b)
    if len(ta) < 2 or len(tb) < 2:
        return False
    if ta[0] != tb[0] or ta[-1] != tb[-1]:
        return False
    shorter, longer = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    rest = list(longer)
    for tok in shorter:
        if tok not in rest:
            return False
        rest.remove(tok)
    return True


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Whole years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_adult(birth_date: dt.date | None, day: dt.date) -> bool:
    """An adult on ``day``; an unknown birth date is not taken as adult."""
    return birth_date is not None and age_on(birth_date, day) >= ADULT_AGE


def same_person(*, record_name: str | None, record_birth_date: dt.date | None,
                bankid_name: str | None, bankid_birth_date: dt.date | None) -> bool:
    """The name rule, and the birth date rule where the record has a birth date."""
    if not names_match(record_name, bankid_name):
        return False
    return record_birth_date is None or record_birth_date == bankid_birth_date
