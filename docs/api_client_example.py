"""A small client for the eFaktura portal API (v1): create a contact, an invoice, send it, poll.

    PORTAL_API_KEY=efk_… python docs/api_client_example.py [http://127.0.0.1:5000]
"""
from __future__ import annotations

import os
import sys
import time
import uuid

import requests


class PortalApi:
    def __init__(self, base_url: str, key: str, language: str = "nb"):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {key}", "Accept-Language": language})

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method == "POST" else {}
        for _attempt in range(5):
            resp = self.http.request(method, self.base + path, json=body, headers=headers, timeout=15)
            if resp.status_code in (409, 429):  # same key still in progress, or rate limited: wait, same key
                time.sleep(int(resp.headers.get("Retry-After", "1")))
                continue
            break
        if resp.status_code >= 400:
            problem = resp.json()
            fields = "; ".join(f"{e['field']}: {e['detail']}" for e in problem.get("errors") or [])
            raise RuntimeError(f"{problem['status']} {problem['title']}: {problem['detail']} {fields}".strip())
        return resp.json()

    def create_contact(self, **fields) -> dict:
        return self._call("POST", "/contacts", fields)

    def create_invoice(self, contact_id: int, due_date: str, lines: list[dict]) -> dict:
        return self._call("POST", "/invoices", {"contact_id": contact_id, "due_date": due_date, "lines": lines})

    def send(self, invoice_id: int) -> dict:
        return self._call("POST", f"/invoices/{invoice_id}/send")

    def invoice(self, invoice_id: int) -> dict:
        return self._call("GET", f"/invoices/{invoice_id}")


def main() -> None:
    api = PortalApi(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000", os.environ["PORTAL_API_KEY"])
    contact = api.create_contact(customer_number=f"X{int(time.time())}", kind="person", name="Kari Nordmann",
                                 mobile="+4791234567", email="kari@example.no", access_point="B2CNO",
                                 receive_edocuments=True, address_line="Storgata 1", postal_code="0155", city="Oslo")
    reach = api._call("GET", f"/contacts/{contact['id']}/reachability")
    print("route:", reach["route"], "-", reach["explanation"])
    inv = api.create_invoice(contact["id"], "2030-01-31",
                             [{"description": "Abonnement", "quantity": "1", "unit_price_ore": 19900}])
    inv = api.send(inv["id"])
    print(f"invoice {inv['number']}: {inv['state']} via {inv['channel'] or '(waiting for consent)'}")


if __name__ == "__main__":
    main()
