"""Every issuer-area URL with an id answers 404 for an id that belongs to another issuer."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

from portal.core import db
from portal.issuers.models import Issuer
from tests.conftest import csrf_from
from tests.factories import make_contact, make_invoice, make_issuer
from tests.helpers.issuer import login, staff

BLUEPRINTS = ("issuers", "contacts", "invoices")


def test_other_issuers_ids_are_404(app, client, post_form):
    """For every rule with an <int:...> id in the issuer blueprints, issuer A gets 404 for B's objects."""
    _a, user_a = staff(app)
    with app.app_context():
        b = make_issuer()
        contact = make_contact(b)
        inv = make_invoice(b, contact, issue=False)
        db.session.commit()
        ids = {"contact_id": contact.id, "invoice_id": inv.id}
    login(client, post_form, user_a.email)
    token = csrf_from(client.get("/utsteder/").get_data(as_text=True))
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in BLUEPRINTS:
            continue
        int_args = [name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)]
        if not int_args:
            continue
        assert set(int_args) <= set(ids), f"{rule.rule}: no foreign id for {int_args}"
        url = rule.build({name: ids[name] for name in int_args})[1]
        for method in ("GET", "POST"):
            if method not in rule.methods:
                continue
            resp = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert resp.status_code == 404, f"{method} {url} gave {resp.status_code}"
            checked += 1
    assert checked >= 5
    new_invoice = client.get(f"/utsteder/fakturaer/ny?contact={ids['contact_id']}")
    assert new_invoice.status_code == 404
    sent = client.get(f"/utsteder/sendte?kontakt={ids['contact_id']}").get_data(as_text=True)
    assert "finnes ikke og ble ignorert" in sent
    with app.app_context():
        assert db.session.get(Issuer, b.id).name not in client.get("/utsteder/sendte").get_data(as_text=True)
