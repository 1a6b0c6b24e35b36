"""The written rule for "is this BankID person the one named here", as a table."""
from __future__ import annotations

import datetime as dt

import pytest

from portal.core.names import age_on, is_adult, names_match, same_person


@pytest.mark.parametrize("record, bankid, expected", [
    ("Kari Nordmann", "Kari Nordmann", True),
    ("kari nordmann", "KARI NORDMANN", True),  # case
    ("Kari Marie Nordmann", "Kari Nordmann", True),  # a middle name left out on one side
    ("Kari Nordmann", "Kari Marie Nordmann", True),
    ("Kari Anne Nordmann", "Kari Marie Nordmann", False),  # a different middle name
    ("Åse Øvrebø", "Ase Ovrebo", True),  # accents and Norwegian letters
    ("Aase Ævensen", "Aase Aevensen", True),
    ("José Müller", "Jose Muller", True),
    ("Anne-Lise Berg", "Anne Lise Berg", True),  # hyphens
    ("Nordmann, Kari", "Kari Nordmann", True),  # family name first, with a comma
    ("Kari Nordmann", "Ola Nordmann", False),  # another person in the family
    ("Kari Nordmann", "Kari Hansen", False),
    ("Nordmann Kari", "Kari Nordmann", False),  # swapped without a comma: not guessed
    ("Kari", "Kari Nordmann", False),  # a first name alone is not enough
    ("", "Kari Nordmann", False),
    (None, "Kari Nordmann", False),
    ("Kari  O'Neill", "Kari ONeill", False),  # an apostrophe separates names
    ("Kari O'Neill", "Kari O Neill", True),
])
def test_name_rule(record, bankid, expected):
    """Each row of the rule: case, accents, hyphens, order, and a missing middle name."""
    assert names_match(record, bankid) is expected
    assert names_match(bankid, record) is expected


def test_birth_date_must_match_where_the_record_has_one():
    """A matching name with another birth date is another person; no birth date on record is fine."""
    born = dt.date(1985, 5, 15)
    assert same_person(record_name="Kari Nordmann", record_birth_date=born,
                       bankid_name="Kari Nordmann", bankid_birth_date=born)
    assert not same_person(record_name="Kari Nordmann", record_birth_date=born,
                           bankid_name="Kari Nordmann", bankid_birth_date=dt.date(1985, 5, 16))
    assert same_person(record_name="Kari Nordmann", record_birth_date=None,
                       bankid_name="Kari Nordmann", bankid_birth_date=born)
    assert not same_person(record_name="Kari Nordmann", record_birth_date=None,
                           bankid_name="Ola Nordmann", bankid_birth_date=born)


@pytest.mark.parametrize("birth, day, adult", [
    (dt.date(2008, 11, 28), dt.date(2026, 11, 28), True),  # the 18th birthday
    (dt.date(2008, 11, 29), dt.date(2026, 11, 28), False),  # the day before
    (dt.date(2010, 1, 1), dt.date(2026, 11, 28), False),
    (None, dt.date(2026, 11, 28), False),
])
def test_adults_only(birth, day, adult):
    """A person answers for themselves from the day they turn 18."""
    assert is_adult(birth, day) is adult


def test_age_counts_whole_years():
    """Age is whole years, counted on the birthday."""
    assert age_on(dt.date(2000, 2, 29), dt.date(2018, 2, 28)) == 17
    assert age_on(dt.date(2000, 2, 29), dt.date(2018, 3, 1)) == 18
