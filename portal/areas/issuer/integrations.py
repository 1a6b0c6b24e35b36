"""Issuer area: API keys and webhooks for the issuer's accounting system (/utsteder/api)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.areas.issuer.account_forms import ActionForm
from portal.areas.issuer.integration_forms import CredentialForm, WebhookForm
from portal.core import db
from portal.core.auth import issuer_login_required
from portal.integrations import credentials, webhooks
from portal.integrations.models import ApiCredential, WebhookDelivery, WebhookEndpoint
from portal.issuers.services import scoped_get, staff_actor

bp = Blueprint("integrations", __name__)


def _page(status: int = 200, *, key_form=None, hook_form=None, new_key=None, new_secret=None):
    issuer_id = current_user.issuer_id
    return render_template(
        "issuers/api.html", creds=credentials.for_issuer(db.session, issuer_id),
        endpoints=webhooks.endpoints_for(db.session, issuer_id),
        deliveries=webhooks.recent_deliveries(db.session, issuer_id),
        key_form=key_form or CredentialForm(formdata=None), hook_form=hook_form or WebhookForm(formdata=None),
        action=ActionForm(), new_key=new_key, new_secret=new_secret, event_types=webhooks.EVENT_TYPES), status


@bp.get("/utsteder/api")
@issuer_login_required
def index():
    return _page()


@bp.post("/utsteder/api/nokler")
@issuer_login_required
def create_key():
    form = CredentialForm()
    if not form.validate_on_submit():
        return _page(422, key_form=form)
    scopes = ["read", "write"] if form.write.data else ["read"]
    cred, key = credentials.create_credential(db.session, current_user.issuer_id, form.name.data, scopes,
                                              staff_actor(current_user))
    return _page(new_key=(cred, key))


@bp.post("/utsteder/api/nokler/<int:credential_id>/trekk-tilbake")
@issuer_login_required
def revoke_key(credential_id: int):
    cred = scoped_get(db.session, ApiCredential, credential_id, current_user.issuer_id)
    if cred is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    credentials.revoke(db.session, cred, staff_actor(current_user))
    flash(_("Nøkkelen %(prefix)s er trukket tilbake og virker ikke lenger.", prefix=cred.prefix), "success")
    return redirect(url_for("integrations.index"))


@bp.post("/utsteder/api/webhooks")
@issuer_login_required
def add_webhook():
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(422, hook_form=form)
    try:
        endpoint = webhooks.add_endpoint(db.session, current_user.issuer_id, form.url.data, form.events.data,
                                         staff_actor(current_user))
    except webhooks.WebhookUrlError as exc:
        db.session.rollback()
        form.url.errors = [str(exc.message)]
        return _page(422, hook_form=form)
    return _page(new_secret=endpoint)


@bp.post("/utsteder/api/webhooks/<int:endpoint_id>/fjern")
@issuer_login_required
def remove_webhook(endpoint_id: int):
    endpoint = scoped_get(db.session, WebhookEndpoint, endpoint_id, current_user.issuer_id)
    if endpoint is None or endpoint.disabled_at is not None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    webhooks.remove_endpoint(db.session, endpoint, staff_actor(current_user))
    flash(_("Adressen er fjernet; den får ingen flere hendelser."), "success")
    return redirect(url_for("integrations.index"))


@bp.post("/utsteder/api/leveranser/<int:delivery_id>/send-igjen")
@issuer_login_required
def redeliver(delivery_id: int):
    delivery = scoped_get(db.session, WebhookDelivery, delivery_id, current_user.issuer_id)
    if delivery is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    webhooks.redeliver(db.session, delivery, staff_actor(current_user))
    flash(_("Hendelsen sendes på nytt."), "success")
    return redirect(url_for("integrations.index"))
