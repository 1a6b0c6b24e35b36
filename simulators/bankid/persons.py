"""Test persons of the simulated BankID provider.

Every number below is made up for this simulator and has valid control digits. The login
page lists them in a quick-pick when ``DEV_TOOLS`` is on.

=====================  ===========  ==========  ================  ===============  =========
Name                   Number       Born        Kind              One-time code    Password
=====================  ===========  ==========  ================  ===============  =========
Kari Nordmann          15058521431  1985-05-15  fødselsnummer     123456           qwer1234
Ola Nordmann           03115237771  1952-11-03  fødselsnummer     123456           qwer1234
Jonas Berg             09099945769  1999-09-09  fødselsnummer     123456           qwer1234
Emma Hansen            20010752265  2007-01-20  fødselsnummer     123456           qwer1234
Nora Lie (under 18)    01061060266  2010-06-01  fødselsnummer     123456           qwer1234
Ali Hassan             52079026751  1990-07-12  D-nummer          123456           qwer1234
Synne Syntetisk        28827814433  1978-02-28  syntetisk, Tenor  123456           qwer1234
=====================  ===========  ==========  ================  ===============  =========

Any other valid fødselsnummer or D-number (and any synthetic Tenor/NAV test number) also
logs in, with the same one-time code and password, as "Test Testperson" born on the date
the number carries. The *BankID-app med biometri* choice needs no code or password: the
simulated app confirms at once, at the substantial level of assurance.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_OTP = "123456"
DEFAULT_PASSWORD = "qwer1234"


@dataclass(frozen=True)
class TestPerson:
    national_id: str
    given_name: str
    family_name: str
    birthdate: dt.date
    kind: str  # "fødselsnummer" | "D-nummer" | "syntetisk"
    otp: str = DEFAULT_OTP
    password: str = DEFAULT_PASSWORD

    __test__ = False  # not a pytest test class

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age(self, today: dt.date | None = None) -> int:
        today = today or dt.date.today()
        born = self.birthdate
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


PERSONS: tuple[TestPerson, ...] = (
    TestPerson("15058521431", "Kari", "Nordmann", dt.date(1985, 5, 15), "fødselsnummer"),
    TestPerson("03115237771", "Ola", "Nordmann", dt.date(1952, 11, 3), "fødselsnummer"),
    TestPerson("09099945769", "Jonas", "Berg", dt.date(1999, 9, 9), "fødselsnummer"),
    TestPerson("20010752265", "Emma", "Hansen", dt.date(2007, 1, 20), "fødselsnummer"),
    TestPerson("01061060266", "Nora", "Lie", dt.date(2010, 6, 1), "fødselsnummer"),
    TestPerson("52079026751", "Ali", "Hassan", dt.date(1990, 7, 12), "D-nummer"),
    TestPerson("28827814433", "Synne", "Syntetisk", dt.date(1978, 2, 28), "syntetisk"),
)

_BY_NUMBER = {p.national_id: p for p in PERSONS}

#: Short names for tests and documentation.
KARI, OLA, JONAS, EMMA, NORA, ALI, SYNNE = PERSONS


def find_person(national_id: str, birthdate: dt.date) -> TestPerson:
    """The test person with this (already validated) number, or a generic one."""
    known = _BY_NUMBER.get(national_id)
    if known is not None:
        return known
    return TestPerson(national_id, "Test", "Testperson", birthdate, "fødselsnummer")
