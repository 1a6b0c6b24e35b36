"""The business register (Enhetsregisteret): look up a unit and who may sign for it.

One client for the open API of Brønnøysundregistrene (``PORTAL_REGISTER_URL``; the simulated
register in ``simulators/register`` by default, ``https://data.brreg.no/enhetsregisteret/api``
for the real one). Every call has a time-out (``PORTAL_REGISTER_TIMEOUT``) and answers are kept
in this process for ``PORTAL_REGISTER_CACHE_SECONDS``. A register that does not answer, or
answers something that is not the expected JSON, raises :class:`RegisterUnavailable`: the
caller refuses and saves nothing. We never fail open.

**Who may sign the issuer agreement (the product's rule).** A person with one of these roles,
not resigned (``fratraadt``) and not dead:

* ``DAGL`` daglig leder and ``LEDE`` styreleder: the usual signatories of a company, who in
  practice sign agreements of this kind for it;
* ``SIGN`` signatur (also ``SIFE``/``SIHV``, jointly or alone) and ``PROK`` prokura (also
  ``POFE``/``POHV``): in the register these are the categories that exist to say who may
  bind the company by signature.

A plain board member (``MEDL``), deputy, auditor and the like may not. Roles held by another
unit (an ``enhet`` rather than a ``person``) are not people who can log in, so they are left out.
"""
from __future__ import annotations

import datetime as dt
import enum
import threading
import time
from dataclasses import dataclass

import requests
from flask import current_app

SIGNING_CODES = ("DAGL", "LEDE", "SIGN", "SIFE", "SIHV", "PROK", "POFE", "POHV")


class RegisterError(Exception):
    pass


class UnitNotFound(RegisterError):
    """The register knows no unit with this number."""


class RegisterUnavailable(RegisterError):
    """The register did not answer, or answered something we cannot read."""


class UnitStatus(enum.Enum):
    ACTIVE = "active"
    DELETED = "deleted"
    BANKRUPT = "bankrupt"
    LIQUIDATING = "liquidating"


@dataclass(frozen=True)
class Unit:
    org_number: str
    name: str
    address_lines: tuple[str, ...]
    postal_code: str
    city: str
    status: UnitStatus
    form: str = ""
    vat_registered: bool = False  # registrertIMvaregisteret

    @property
    def address_line(self) -> str:
        return ", ".join(self.address_lines)


@dataclass(frozen=True)
class RoleHolder:
    name: str
    birth_date: dt.date | None
    code: str
    description: str

    @property
    def may_sign(self) -> bool:
        return self.code in SIGNING_CODES


_cache: dict[tuple[str, str], tuple[float, object]] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _settings() -> dict:
    return current_app.config["PORTAL"]


def _get(path: str) -> tuple[int, object]:
    """Status and JSON body of a GET; RegisterUnavailable when there is no usable answer."""
    url = str(_settings()["REGISTER_URL"]).rstrip("/") + path
    try:
        response = requests.get(url, timeout=float(_settings()["REGISTER_TIMEOUT"]),
                                headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise RegisterUnavailable(f"{type(exc).__name__}") from None
    if response.status_code in (404, 410):
        try:
            body = response.json()
        except ValueError:
            body = None
        return response.status_code, body
    if response.status_code != 200:
        raise RegisterUnavailable(f"status {response.status_code}")
    try:
        return 200, response.json()
    except ValueError:
        raise RegisterUnavailable("not JSON") from None


def _cached(kind: str, org: str, fetch):
    key = (str(_settings()["REGISTER_URL"]) + "|" + kind, org)
    ttl = int(_settings()["REGISTER_CACHE_SECONDS"])
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        value = hit[1]
    else:
        try:
            value = fetch()
        except UnitNotFound as exc:
            value = exc
        if ttl > 0:
            with _lock:
                _cache[key] = (now + ttl, value)
    if isinstance(value, UnitNotFound):
        raise value
    return value


def _str(value, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise RegisterUnavailable("unexpected shape")
    return value


def _parse_unit(org: str, status: int, body) -> Unit:
    if status == 404:
        raise UnitNotFound(org)
    if not isinstance(body, dict):
        raise RegisterUnavailable("unexpected shape")
    if status == 410 or body.get("slettedato"):
        return Unit(org, _str(body.get("navn")), (), "", "", UnitStatus.DELETED)
    name = _str(body.get("navn"))
    if not name or _str(body.get("organisasjonsnummer")) != org:
        raise RegisterUnavailable("unexpected shape")
    address = body.get("forretningsadresse") or body.get("postadresse") or {}
    if not isinstance(address, dict):
        raise RegisterUnavailable("unexpected shape")
    lines = address.get("adresse") or []
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise RegisterUnavailable("unexpected shape")
    form = body.get("organisasjonsform") or {}
    flags = {k: body.get(k, False) for k in ("konkurs", "underAvvikling", "underTvangsavviklingEllerTvangsopplosning")}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise RegisterUnavailable("unexpected shape")
    if flags["konkurs"]:
        state = UnitStatus.BANKRUPT
    elif flags["underAvvikling"] or flags["underTvangsavviklingEllerTvangsopplosning"]:
        state = UnitStatus.LIQUIDATING
    else:
        state = UnitStatus.ACTIVE
    city = _str(address.get("poststed"))
    return Unit(org, name, tuple(x for x in lines if x.strip()), _str(address.get("postnummer")),
                city.title() if city.isupper() else city, state,
                _str(form.get("kode")) if isinstance(form, dict) else "",
                body.get("registrertIMvaregisteret") is True)


def lookup_unit(org: str) -> Unit:
    """The unit with this organisation number (any status); UnitNotFound or RegisterUnavailable."""
    return _cached("unit", org, lambda: _parse_unit(org, *_get(f"/enheter/{org}")))


def _person_name(names: dict) -> str:
    parts = [names.get("fornavn"), names.get("mellomnavn"), names.get("etternavn")]
    if not all(p is None or isinstance(p, str) for p in parts):
        raise RegisterUnavailable("unexpected shape")
    return " ".join(p.strip() for p in parts if p and p.strip())


def _parse_roles(org: str, status: int, body) -> tuple[RoleHolder, ...]:
    if status in (404, 410):
        raise UnitNotFound(org)
    if not isinstance(body, dict) or not isinstance(body.get("rollegrupper"), list):
        raise RegisterUnavailable("unexpected shape")
    holders: list[RoleHolder] = []
    for group in body.get("rollegrupper", []):
        if not isinstance(group, dict) or not isinstance(group.get("roller", []), list):
            raise RegisterUnavailable("unexpected shape")
        for role in group.get("roller", []):
            if not isinstance(role, dict) or not isinstance(role.get("type"), dict):
                raise RegisterUnavailable("unexpected shape")
            person = role.get("person")
            if person is None:
                continue  # a role held by another unit
            if not isinstance(person, dict) or not isinstance(person.get("navn"), dict):
                raise RegisterUnavailable("unexpected shape")
            if role.get("fratraadt") is True or person.get("erDoed") is True:
                continue
            born = person.get("fodselsdato")
            try:
                birth_date = dt.date.fromisoformat(born) if isinstance(born, str) else None
            except ValueError:
                raise RegisterUnavailable("unexpected shape") from None
            holders.append(RoleHolder(_person_name(person["navn"]), birth_date, _str(role["type"].get("kode")),
                                      _str(role["type"].get("beskrivelse"))))
    return tuple(holders)


def role_holders(org: str) -> list[RoleHolder]:
    """Every current person with a role in the unit."""
    return list(_cached("roles", org, lambda: _parse_roles(org, *_get(f"/enheter/{org}/roller"))))


def signing_roles(org: str) -> list[RoleHolder]:
    """The people who may sign the issuer agreement for the unit (see the module's rule)."""
    return [h for h in role_holders(org) if h.may_sign]
