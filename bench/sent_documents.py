"""Sent documents stays fast as an issuer's invoices grow.

Builds one SQLite (or PORTAL_DATABASE_URL) database with a small issuer and a large one,
then times the Sent documents page (first page, a page deep in the list by keyset cursor,
and a status filter) for both. The result is the ratio large/small measured in the same run;
with keyset pagination and the issuer indexes it stays near 1 however many invoices there are.

    .venv/bin/python bench/sent_documents.py [--large 200000] [--small 1000] [--max-ratio 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(url: str, small: int, large: int):
    from sqlalchemy import insert

    from portal import create_app
    from portal.contacts.models import Contact, ContactKind
    from portal.core import db
    from portal.core.auth import hash_password
    from portal.core.migrate import upgrade
    from portal.invoices.models import Invoice
    from portal.invoices.states import Channel, InvoiceState
    from portal.issuers.models import Issuer, IssuerUser

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "ENV": "testing", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        sess = db.session
        users = {}
        for name, org, count in (("Liten AS", "923609016", small), ("Stor AS", "974760673", large)):
            issuer = Issuer(name=name, org_number=org, account_number="12345678903")
            sess.add(issuer)
            sess.flush()
            contacts = []
            for i in range(50):
                c = Contact(issuer_id=issuer.id, customer_number=str(i), kind=ContactKind.PERSON, name=f"Kunde {i}",
                            mobile="+4791234567", email=f"k{i}@example.no", access_point="B2CNO",
                            receive_edocuments=True)
                sess.add(c)
                contacts.append(c)
            user = IssuerUser(issuer_id=issuer.id, email=f"{org}@example.no",
                              password_hash=hash_password("benchmark-password"))
            sess.add(user)
            sess.flush()
            users[name] = user.email
            start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
            states = [(InvoiceState.DELIVERED, Channel.NETTBANK), (InvoiceState.DELIVERED, Channel.EMAIL),
                      (InvoiceState.HELD, None), (InvoiceState.FAILED, Channel.POST)]
            batch = []
            for n in range(count):
                state, channel = states[n % len(states)]
                batch.append({"issuer_id": issuer.id, "contact_id": contacts[n % 50].id, "number": str(n + 1),
                                  "issue_date": dt.date(2025, 1, 1), "due_date": dt.date(2025, 1, 15), "kid": "0000000000018",
                                  "account_number": "12345678903", "net_ore": 10000, "vat_ore": 2500, "total_ore": 12500,
                                  "state": state, "channel": channel, "created_at": start + dt.timedelta(seconds=n),
                                  "created_by": "bench", "version": 1})
                if len(batch) == 5000:
                    sess.execute(insert(Invoice), batch)
                    batch.clear()
            if batch:
                sess.execute(insert(Invoice), batch)
        sess.commit()
    return app, users


def timed(client, url: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(url)
        samples.append(time.perf_counter() - t)
        assert resp.status_code == 200, (url, resp.status_code)
    return statistics.median(samples)


def measure(app, email: str, repeat: int) -> dict[str, float]:
    client = app.test_client()
    client.post("/utsteder/logg-inn", data={"email": email, "password": "benchmark-password"})
    first = client.get("/utsteder/sendte").get_data(as_text=True)
    assert "/utsteder/fakturaer/" in first, "not logged in or no invoices"
    # Walk ten pages deep by cursor, then time that page.
    url = "/utsteder/sendte"
    for _ in range(10):
        html = client.get(url).get_data(as_text=True)
        match = re.search(r'href="(/utsteder/sendte\?[^"]*etter=[^"]+)"', html)
        if not match:
            break
        url = match.group(1).replace("&amp;", "&")
    return {
        "first page": timed(client, "/utsteder/sendte", repeat),
        "10 pages deep": timed(client, url, repeat),
        "status filter": timed(client, "/utsteder/sendte?status=failed", repeat),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--max-ratio", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("PORTAL_INSTANCE_PATH", tmp)
        url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        t = time.perf_counter()
        app, users = build(url, args.small, args.large)
        print(f"built {args.small} + {args.large} invoices in {time.perf_counter() - t:.1f}s")
        small = measure(app, users["Liten AS"], args.repeat)
        large = measure(app, users["Stor AS"], args.repeat)
    worst = 0.0
    for key in small:
        ratio = large[key] / small[key]
        worst = max(worst, ratio)
        print(f"{key:<15} {args.small:>8}: {small[key]*1000:7.1f} ms   {args.large:>8}: {large[key]*1000:7.1f} ms"
              f"   ratio {ratio:.2f}")
    ok = worst <= args.max_ratio
    print(f"worst ratio {worst:.2f} (limit {args.max_ratio}): {'ok' if ok else 'TOO SLOW'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
