"""The units of the simulated register and who holds roles in them.

Names and birth dates of the role holders are those of the BankID test persons in
``simulators/bankid/persons.py``, so that a test person can log in and be found as a signatory.
See docs/register.md for the table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ROLE_TEXT = {
    "DAGL": "Daglig leder/ adm.direktør",
    "LEDE": "Styrets leder",
    "NEST": "Nestleder",
    "MEDL": "Styremedlem",
    "SIGN": "Signatur",
    "PROK": "Prokura",
    "REVI": "Revisor",
}
GROUP_OF = {"DAGL": "DAGL", "LEDE": "STYR", "NEST": "STYR", "MEDL": "STYR", "SIGN": "SIGN", "PROK": "PROK",
            "REVI": "REVI"}
GROUP_TEXT = {"DAGL": "Daglig leder/ adm.direktør", "STYR": "Styre", "SIGN": "Signatur", "PROK": "Prokura",
              "REVI": "Revisor"}


@dataclass(frozen=True)
class Role:
    code: str
    given: str
    family: str
    born: str  # ISO date
    middle: str | None = None
    resigned: bool = False


@dataclass(frozen=True)
class Unit:
    org: str
    name: str
    street: str
    postal_code: str
    city: str
    form: tuple[str, str] = ("AS", "Aksjeselskap")
    bankrupt: bool = False
    liquidating: bool = False
    deleted: str | None = None  # slettedato
    roles: tuple[Role, ...] = field(default_factory=tuple)


KARI = ("Kari", "Nordmann", "1985-05-15")
OLA = ("Ola", "Nordmann", "1952-11-03")
JONAS = ("Jonas", "Berg", "1999-09-09")
ALI = ("Ali", "Hassan", "1990-07-12")
SYNNE = ("Synne", "Syntetisk", "1978-02-28")


def _r(code: str, person: tuple[str, str, str], **kw) -> Role:
    return Role(code, person[0], person[1], person[2], **kw)


UNITS: dict[str, Unit] = {u.org: u for u in (
    # The two demo issuers (portal/demo.py): same names and addresses.
    Unit("923609016", "Fjordlys Energi AS", "Kaigata 4", "5015", "Bergen",
         roles=(_r("DAGL", KARI), _r("LEDE", OLA), _r("MEDL", JONAS))),
    Unit("974760673", "Snekker Hansen AS", "Verkstedveien 12", "7010", "Trondheim",
         roles=(_r("DAGL", ALI), _r("LEDE", SYNNE), _r("MEDL", JONAS))),
    # Another active company, signed by signatur and prokura.
    Unit("971526920", "Byggmester Berg AS", "Sagveien 7", "0459", "Oslo",
         roles=(_r("DAGL", OLA, resigned=True), _r("SIGN", JONAS), _r("PROK", KARI), _r("MEDL", ALI))),
    # Units that cannot sign up.
    Unit("983887457", "Gamle Handel AS", "Torget 1", "3015", "Drammen", deleted="2024-03-01",
         roles=(_r("DAGL", KARI),)),
    Unit("889640782", "Konkursbo Bygg AS", "Industriveien 3", "4020", "Stavanger", bankrupt=True,
         roles=(_r("DAGL", OLA),)),
    Unit("995568217", "Avvikling Eiendom AS", "Strandgata 9", "9008", "Tromsø", liquidating=True,
         roles=(_r("DAGL", JONAS),)),
    # A one-person business (enkeltpersonforetak), active.
    Unit("914778271", "Hassan Rørlegger", "Grønlandsleiret 20", "0190", "Oslo",
         form=("ENK", "Enkeltpersonforetak"), roles=(_r("DAGL", ALI),)),
)}
