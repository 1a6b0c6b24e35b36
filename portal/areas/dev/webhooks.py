"""A development receiver for the issuer's webhooks: it checks each delivery's signature the way a
receiver should (with the ``standardwebhooks`` library and the endpoint's secret) and keeps it in
the development mailbox, so a new user sees the events arrive. Only with the development tools."""
from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.core import db
from portal.delivery.models import MailboxMessage
from portal.integrations.models import WebhookEndpoint

bp = Blueprint("dev_webhooks", __name__)
CSRF_EXEMPT = True  # a machine posts here, signed, with no cookie
RECEIVER_PATH = "/dev/webhook-mottak"


@bp.post(RECEIVER_PATH)
def receive():
    if not current_app.config["PORTAL"]["DEV_TOOLS"]:
        abort(404)
    body = request.get_data(cache=False)[:100_000]
    url = current_app.config["PORTAL"]["BASE_URL"] + RECEIVER_PATH
    verified_by = None
    for endpoint in db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.url == url)):
        try:
            Webhook(endpoint.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            continue
        verified_by = endpoint
        break
    if verified_by is None:
        return {"error": "signature not valid for any endpoint at this address"}, 400
    try:
        event = json.loads(body)
    except ValueError:
        return {"error": "body is not JSON"}, 400
    message_id = request.headers.get("webhook-id", "")[:100]
    if db.session.scalar(select(MailboxMessage.id).where(MailboxMessage.idempotency_key == "webhook:" + message_id)):
        return {"status": "already received"}, 200
    db.session.add(MailboxMessage(
        channel="webhook", idempotency_key="webhook:" + message_id, recipient=url,
        sender=f"issuer {verified_by.issuer_id}", subject=str(event.get("type", ""))[:300],
        body_text="Signature verified (Standard Webhooks).\n\n" + json.dumps(event, ensure_ascii=False, indent=2)))
    return {"status": "received"}, 200
