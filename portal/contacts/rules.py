"""Whether a contact can receive eFaktura, and if not, why."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.contacts.models import ACCESS_POINT_B2C, Contact, ContactKind
from portal.core.identifiers import is_valid_mobile
from portal.issuers.models import Issuer


@dataclass(frozen=True)
class Blocker:
    code: str
    message: object  # lazy, translated when shown


BLOCKERS = {
    "issuer_inactive": _l("Utstederavtalen er ikke godkjent ennå, så bedriften kan ikke sende eFaktura."),
    "not_person": _l("Kontakten er ikke registrert som privatperson."),
    "access_point": _l("Aksesspunktet er ikke satt til B2CNO."),
    "edocuments_off": _l("«Motta eDokumenter» er slått av."),
    "no_mobile": _l("Kontakten mangler et gyldig mobilnummer (+47 og åtte sifre), så samtykke kan ikke sendes på SMS."),
}


def efaktura_blockers(contact: Contact, issuer: Issuer) -> list[Blocker]:
    """Every reason the contact cannot be offered eFaktura (empty when it can)."""
    codes = []
    if not issuer.is_active:
        codes.append("issuer_inactive")
    if contact.kind is not ContactKind.PERSON:
        codes.append("not_person")
    if contact.access_point != ACCESS_POINT_B2C:
        codes.append("access_point")
    if not contact.receive_edocuments:
        codes.append("edocuments_off")
    if not (contact.mobile and is_valid_mobile(contact.mobile)):
        codes.append("no_mobile")
    return [Blocker(c, BLOCKERS[c]) for c in codes]


def can_receive_efaktura(contact: Contact, issuer: Issuer) -> bool:
    return not efaktura_blockers(contact, issuer)
