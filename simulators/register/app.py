"""The simulated business register: its own Flask app on its own port (``make run``).

It answers like Brønnøysundregistrene's open Enhetsregisteret API for the two paths the
portal uses:

* ``GET /enhetsregisteret/api/enheter/<orgnr>`` – the unit (404 unknown, 410 deleted);
* ``GET /enhetsregisteret/api/enheter/<orgnr>/roller`` – its role groups and role holders.

The units are in :mod:`simulators.register.units`; more can be added from a JSON file named by
``PORTAL_REGISTER_UNITS_FILE`` (a list of ``{"org", "name", "street", "postal_code", "city",
"roles": [{"code", "given", "family", "born"}]}``; the browser journeys use it). It refuses to start with
``PORTAL_ENV=production``: point ``PORTAL_REGISTER_URL`` at the real register there.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, jsonify

from simulators.register.units import GROUP_OF, GROUP_TEXT, ROLE_TEXT, UNITS, Role, Unit

PRODUCTION_REFUSAL = ("The simulated business register cannot run with PORTAL_ENV=production; "
                      "point PORTAL_REGISTER_URL at https://data.brreg.no/enhetsregisteret/api instead")
PREFIX = "/enhetsregisteret/api"


class RegisterRefused(SystemExit):
    pass


def _unit_json(unit: Unit) -> dict:
    return {
        "organisasjonsnummer": unit.org,
        "navn": unit.name,
        "organisasjonsform": {"kode": unit.form[0], "beskrivelse": unit.form[1]},
        "forretningsadresse": {"land": "Norge", "landkode": "NO", "postnummer": unit.postal_code,
                               "poststed": unit.city.upper(), "adresse": [unit.street],
                               "kommune": unit.city.upper()},
        "registrertIMvaregisteret": True,
        "konkurs": unit.bankrupt,
        "underAvvikling": unit.liquidating,
        "underTvangsavviklingEllerTvangsopplosning": False,
        "_links": {"self": {"href": f"{PREFIX}/enheter/{unit.org}"}},
    }


def _roles_json(unit: Unit) -> dict:
    groups: dict[str, list] = {}
    for role in unit.roles:
        groups.setdefault(GROUP_OF[role.code], []).append({
            "type": {"kode": role.code, "beskrivelse": ROLE_TEXT[role.code]},
            "person": {"fodselsdato": role.born,
                       "navn": {"fornavn": role.given, "mellomnavn": role.middle, "etternavn": role.family},
                       "erDoed": False},
            "fratraadt": role.resigned,
            "rekkefolge": len(groups.get(GROUP_OF[role.code], [])),
        })
    return {"rollegrupper": [
        {"type": {"kode": code, "beskrivelse": GROUP_TEXT[code]}, "sistEndret": "2025-01-01", "roller": roles}
        for code, roles in groups.items()]}


def _not_found(org: str):
    return jsonify({"timestamp": 0, "status": 404, "error": "Not Found",
                    "message": f"Ingen enhet med organisasjonsnummer {org} ble funnet",
                    "path": f"{PREFIX}/enheter/{org}"}), 404


def load_units(path: Path) -> list[Unit]:
    """Extra units from a JSON file (see the module's docstring)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [Unit(row["org"], row["name"], row["street"], row["postal_code"], row["city"],
                 roles=tuple(Role(r["code"], r["given"], r["family"], r["born"]) for r in row.get("roles", [])))
            for row in rows]


def create_register_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    env = str(config.get("ENV") or os.environ.get("PORTAL_ENV") or "development")
    if env == "production":
        raise RegisterRefused(PRODUCTION_REFUSAL)
    app = Flask(__name__)
    app.config.update(config)
    app.json.ensure_ascii = False
    units = dict(config.get("REGISTER_UNITS") or UNITS)
    extra = config.get("REGISTER_UNITS_FILE") or os.environ.get("PORTAL_REGISTER_UNITS_FILE")
    if extra:
        units.update({u.org: u for u in load_units(Path(extra))})

    @app.get(PREFIX + "/enheter/<org>")
    def unit(org: str):
        found = units.get(org)
        if found is None:
            return _not_found(org)
        if found.deleted:
            return jsonify({"organisasjonsnummer": org, "slettedato": found.deleted,
                            "_links": {"self": {"href": f"{PREFIX}/enheter/{org}"}}}), 410
        return jsonify(_unit_json(found))

    @app.get(PREFIX + "/enheter/<org>/roller")
    def roles(org: str):
        found = units.get(org)
        if found is None:
            return _not_found(org)
        return jsonify(_roles_json(found))

    return app
