"""An issuer with an API key, for the API tests."""
from __future__ import annotations

from dataclasses import dataclass

from portal.core import db
from portal.integrations import credentials, ratelimit
from tests.factories import STAFF, make_contact, make_issuer


@dataclass
class ApiIssuer:
    issuer_id: int
    contact_id: int
    key: str
    credential_id: int

    def headers(self, **extra) -> dict:
        return {"Authorization": f"Bearer {self.key}", **extra}


def api_issuer(app, *, scopes=("read", "write"), active: bool = True, **contact) -> ApiIssuer:
    ratelimit.reset()
    with app.app_context():
        issuer = make_issuer(active=active)
        c = make_contact(issuer, **contact)
        cred, key = credentials.create_credential(db.session, issuer.id, "Regnskap", list(scopes), STAFF)
        db.session.commit()
        return ApiIssuer(issuer.id, c.id, key, cred.id)


def invoice_body(contact_id: int, **extra) -> dict:
    body = {"contact_id": contact_id, "due_date": "2030-01-31",
            "lines": [{"description": "Abonnement", "quantity": "2", "unit_price_ore": 10000, "vat_rate_percent": 25}]}
    body.update(extra)
    return body
