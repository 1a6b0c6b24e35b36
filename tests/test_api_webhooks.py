"""Webhooks: chosen events are POSTed through the outbox, signed the Standard Webhooks way, retried,
shown with each attempt, redeliverable by hand; private addresses are refused in production."""
from __future__ import annotations

import datetime as dt
import http.server
import re
import socket
import threading

import pytest
import time_machine
from sqlalchemy import select, text
from standardwebhooks.webhooks import Webhook

from portal.agreements import signals
from portal.core import db
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus
from portal.delivery.worker import run_once
from portal.integrations import webhooks
from portal.integrations.models import WebhookDelivery, WebhookEndpoint
from portal.issuers.models import Issuer
from tests.conftest import csrf_from
from tests.factories import STAFF, make_contact, make_invoice
from tests.helpers.issuer import login, staff


class Receiver:
    """A webhook receiver on loopback that answers with ``status`` and keeps what it got."""

    def __init__(self):
        self.status = 200
        self.received: list[tuple[dict, bytes]] = []
        self.on_post = None  # called while the POST is in progress, before the answer
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if outer.on_post:
                    outer.on_post()
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _endpoint_and_delivered_invoice(app, url: str, events=("invoice.delivered",)):
    with app.app_context():
        issuer, user = staff(app)
        issuer = db.session.get(Issuer, issuer.id)
        endpoint = webhooks.add_endpoint(db.session, issuer.id, url, list(events), STAFF)
        contact = make_contact(issuer, access_point=None)  # e-mail: delivered by the worker at once
        inv = make_invoice(issuer, contact)
        db.session.commit()
        run_once()  # delivers the invoice, which writes the webhook row
        return issuer.id, user, endpoint.id, endpoint.secret, inv.id


def test_delivered_invoice_is_posted_and_signature_verifies(app, receiver):
    """The receiver gets invoice.delivered with the channel, and the library verifies the signature."""
    _issuer_id, _user, _eid, secret, inv_id = _endpoint_and_delivered_invoice(app, receiver.url)
    with app.app_context():
        run_once()
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "invoice.delivered"
    assert payload["data"]["invoice_id"] == inv_id and payload["data"]["channel"] == "email"
    with pytest.raises(Exception):  # noqa: B017 - any verification error will do
        Webhook(secret).verify(body.replace(b"email", b"post!"), headers)
    with app.app_context():
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.status == "delivered" and [a.status_code for a in delivery.attempts] == [200]


def test_no_database_transaction_is_open_while_the_receiver_answers(postgres_only, app, engine, receiver):
    """A slow receiver holds no transaction (and no lock) open: the POST happens between the
    transaction that reads the delivery and the one that records the answer."""
    seen: list[int] = []

    def count_open_transactions():
        with engine.connect() as conn:
            seen.append(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar())

    receiver.on_post = count_open_transactions
    _endpoint_and_delivered_invoice(app, receiver.url)
    with app.app_context():
        run_once()
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.status == "delivered" and [a.status_code for a in delivery.attempts] == [200]
    assert seen == [0]


def test_unchosen_events_are_not_sent(app, receiver):
    """An endpoint that chose only consent events gets nothing for a delivered invoice."""
    _endpoint_and_delivered_invoice(app, receiver.url, events=("consent.approved",))
    with app.app_context():
        run_once()
        assert db.session.scalar(select(WebhookDelivery)) is None
    assert receiver.received == []


def test_failure_is_retried_and_every_attempt_shown(app, client, post_form, receiver):
    """A 500 from the receiver is retried later; the issuer's page lists both attempts; it ends delivered."""
    receiver.status = 500
    _iid, user, _eid, _secret, _inv = _endpoint_and_delivered_invoice(app, receiver.url)
    with app.app_context():
        run_once()
        assert db.session.scalar(select(WebhookDelivery)).status == "pending"
    assert len(receiver.received) == 1
    receiver.status = 204
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), tick=True), app.app_context():
        run_once()
    assert len(receiver.received) == 2
    login(client, post_form, user.email)
    page = client.get("/utsteder/api").get_data(as_text=True)
    assert "HTTP 500" in page and "204" in page and "levert" in page


def test_redelivery_by_hand_sends_the_same_message_again(app, client, post_form, receiver):
    """'Send igjen' on the page posts the event once more with the same webhook-id."""
    _iid, user, _eid, _secret, _inv = _endpoint_and_delivered_invoice(app, receiver.url)
    with app.app_context():
        run_once()
        delivery_id = db.session.scalar(select(WebhookDelivery.id))
    login(client, post_form, user.email)
    resp = post_form(f"/utsteder/api/leveranser/{delivery_id}/send-igjen", {}, page="/utsteder/api")
    assert resp.status_code == 302
    with app.app_context():
        run_once()
    assert len(receiver.received) == 2
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]


def test_agreement_signals_become_webhook_rows(app):
    """Each agreement signal (approved, declined, stopped) writes one delivery and one outbox row."""
    with app.app_context():
        issuer, _user = staff(app)
        webhooks.add_endpoint(db.session, issuer.id, "http://127.0.0.1:9/hook",
                              ["consent.approved", "consent.declined", "consent.stopped"], STAFF)
        contact = make_contact(db.session.get(Issuer, issuer.id))

        class Agreement:
            id, issuer_id, contact_id = 1, issuer.id, contact.id

        Agreement.contact = contact
        for sig, state in ((signals.agreement_approved, "active"), (signals.agreement_declined, "declined"),
                           (signals.agreement_stopped, "stopped")):
            Agreement.state = type("S", (), {"value": state})()
            sig.send(Agreement(), sess=db.session, actor=STAFF)
        kinds = [d.event_type for d in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
        assert kinds == ["consent.approved", "consent.declined", "consent.stopped"]
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.WEBHOOK)).all()
        assert len(rows) == 3 and all(r.status is OutboxStatus.PENDING for r in rows)


# --- SSRF -----------------------------------------------------------------------------------

def _resolver(*addresses):
    def resolve(host, port, type=0):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]

    return resolve


@pytest.mark.parametrize("addresses", [("127.0.0.1",), ("10.0.0.5",), ("192.168.1.1",), ("169.254.169.254",),
                                       ("::1",), ("fd00::1",), ("::ffff:127.0.0.1",), ("93.184.215.14", "10.1.2.3")])
def test_private_and_loopback_addresses_are_refused_in_production(make_app, addresses):
    """In production every resolved address must be public; one private address is enough to refuse."""
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False)
    with app.test_request_context():
        app.config["PORTAL"]["PRODUCTION"] = True
        with pytest.raises(webhooks.WebhookUrlError):
            webhooks.check_url("https://hooks.example.no/x", resolve=_resolver(*addresses))
        assert webhooks.check_url("https://hooks.example.no/x", resolve=_resolver("93.184.215.14"))


def test_production_requires_https_and_no_credentials_in_url(make_app):
    """http:// and user:password@ addresses are refused in production, with the reason."""
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False)
    with app.test_request_context():
        app.config["PORTAL"]["PRODUCTION"] = True
        public = _resolver("93.184.215.14")
        with pytest.raises(webhooks.WebhookUrlError, match="https"):
            webhooks.check_url("http://hooks.example.no/x", resolve=public)
        with pytest.raises(webhooks.WebhookUrlError):
            webhooks.check_url("https://u:p@hooks.example.no/x", resolve=public)


def test_issuer_page_refuses_private_address(make_app):
    """Adding a loopback endpoint on the page (private addresses not allowed) shows the reason and saves nothing."""
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False)
    client = app.test_client()
    _issuer, user = staff(app)

    def post_form(url, data, page=None):
        token = csrf_from(client.get(page or url).get_data(as_text=True))
        return client.post(url, data=dict(data, csrf_token=token))

    login(client, post_form, user.email)
    resp = post_form("/utsteder/api/webhooks", {"url": "http://127.0.0.1:8080/x", "events": ["invoice.delivered"]},
                     page="/utsteder/api")
    assert resp.status_code == 422 and "privat" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(WebhookEndpoint)) is None


def test_secret_shown_once_when_endpoint_added(app, client, post_form, receiver):
    """Adding an endpoint shows its whsec_ secret once; the list afterwards does not."""
    _issuer, user = staff(app)
    login(client, post_form, user.email)
    page = post_form("/utsteder/api/webhooks", {"url": receiver.url, "events": ["invoice.delivered", "invoice.failed"]},
                     page="/utsteder/api").get_data(as_text=True)
    secret = re.search(r'id="webhook-secret">([^<]+)<', page).group(1)
    assert secret.startswith("whsec_")
    assert secret not in client.get("/utsteder/api").get_data(as_text=True)
