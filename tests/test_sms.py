"""SMS through an HTTP gateway (a small local HTTP server): request shape, retries, permanent errors."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from portal.core import db
from portal.core.outbox import OutboxKind, OutboxMessage, OutboxStatus, enqueue
from portal.delivery.models import MailboxMessage
from portal.delivery.worker import run_once


class Gateway:
    def __init__(self):
        self.requests: list[dict] = []
        self.status = 202
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gateway.requests.append({"auth": self.headers.get("Authorization"), "json": json.loads(body)})
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": "invalid recipient"}' if gateway.status >= 400 else b'{"id": "1"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    gw = Gateway()
    yield gw
    gw.close()


@pytest.fixture
def sms_app(make_app, gateway):
    app = make_app(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TOKEN="tok-123", SMS_SENDER="Testfirma")
    with app.app_context():
        yield app


def queue_sms(to="+4791234567", key="test:sms:1"):
    enqueue(db.session, OutboxKind.SMS, key, {"to": to, "text": "Hei fra oss", "purpose": "test"})
    db.session.commit()


def sms_row() -> OutboxMessage:
    return db.session.scalars(select(OutboxMessage).execution_options(populate_existing=True)).one()


def test_gateway_receives_the_sms_with_reference(sms_app, gateway):
    """The gateway gets to/from/text and the idempotency key as reference, with the bearer token."""
    queue_sms()
    assert run_once().done == 1
    [req] = gateway.requests
    assert req["auth"] == "Bearer tok-123"
    key = sms_row().idempotency_key
    assert key.endswith(":test:sms:1") and len(key) == len("test:sms:1") + 33  # the installation's id first
    assert req["json"] == {"to": "+4791234567", "from": "Testfirma", "text": "Hei fra oss",
                           "reference": key}
    assert db.session.scalar(select(MailboxMessage.id)) is None


def test_gateway_server_error_is_retried(sms_app, gateway):
    """A 5xx from the gateway leaves the SMS for a later attempt."""
    gateway.status = 503
    queue_sms()
    assert run_once().retried == 1
    row = sms_row()
    assert row.status is OutboxStatus.PENDING and "503" in row.last_error


def test_gateway_client_error_is_permanent(sms_app, gateway):
    """A 4xx from the gateway ends the SMS dead with the gateway's answer."""
    gateway.status = 400
    queue_sms()
    assert run_once().dead == 1
    row = sms_row()
    assert row.status is OutboxStatus.DEAD and "400" in row.last_error and "invalid recipient" in row.last_error


def test_unreachable_gateway_is_retried(make_app):
    """A gateway nobody answers at is a temporary problem, not a crash."""
    from tests.helpers.smtp import free_port

    app = make_app(SMS_GATEWAY_URL=f"http://127.0.0.1:{free_port()}/sms", SMS_GATEWAY_TOKEN="x")
    with app.app_context():
        queue_sms()
        assert run_once().retried == 1
        assert "unreachable" in sms_row().last_error


def test_invalid_mobile_never_reaches_the_gateway(sms_app, gateway):
    """A number that is not +47 and eight digits is dead with a reason and never sent."""
    queue_sms(to="+47 912 34 567")
    assert run_once().dead == 1
    assert gateway.requests == []
    assert "+47" in sms_row().last_error


def test_embedded_default_keeps_sms_in_mailbox(db_session):
    """Without a gateway the SMS is kept for the development mailbox, once."""
    queue_sms()
    run_once()
    msg = db_session.scalars(select(MailboxMessage)).one()
    assert (msg.channel, msg.recipient, msg.body_text) == ("sms", "+4791234567", "Hei fra oss")
