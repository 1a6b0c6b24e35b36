"""Consent: asking the consumer, and recording their answer. The only code that changes
the state of an eFaktura agreement."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.agreements import signals
from portal.agreements.models import ConsentReceipt, ConsentRequest, Consumer, EFakturaAgreement
from portal.agreements.states import REQUESTABLE, AgreementAction, AgreementState, next_state
from portal.contacts.models import Contact
from portal.core import events, outbox
from portal.core.db import utcnow
from portal.core.events import Actor, Event
from portal.core.formatting import oslo_today
from portal.core.identifiers import (
    format_org_number,
    is_valid_mobile,
    mask_national_id,
    validate_national_id,
)
from portal.core.identity_key import national_id_hmac
from portal.core.names import is_adult, same_person
from portal.core.outbox import OutboxKind, OutboxMessage, cancel_pending, enqueue
from portal.core.tokens import SHORT_PATH, Purpose, make_token, shorten
from portal.issuers import signals as issuer_signals

# Bump when the wording the consumer agrees to changes; receipts keep the version they saw.
CONSENT_TEXT_VERSION = "2026-11-v1"


class ConsentError(Exception):
    """A decision that cannot be made; ``message`` is for the consumer."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


IDENTITY_CONFLICT = ConsentError(
    "identity_conflict",
    _l("Denne kunden hos bedriften er allerede knyttet til en annen BankID-bruker. "
       "Kontakt bedriften hvis du mener dette er feil."),
)

# The BankID identity is not the person the issuer registered (name, or birth date where known).
NOT_THE_PERSON = ConsentError(
    "answered_by_other",
    _l("Denne invitasjonen var ment for en annen person. Du kan ikke svare på den."),
)
# The person is under 18 and cannot enter an agreement themselves.
UNDERAGE = ConsentError(
    "underage",
    _l("Du må være 18 år for å godta eFaktura selv."),
)
ANSWERED_BY_OTHER = "answered_by_other"  # the event recorded when someone else answers


# --- consumers ---------------------------------------------------------------------------

def national_id_hash(national_id: str) -> str:
    """A keyed hash of the national identity number: lets support find a consumer by number
    without the number being stored."""
    return national_id_hmac(national_id)


def upsert_consumer(sess: Session, *, sub: str, national_id: str | None, name: str | None,
                    birth_date: dt.date | None) -> Consumer:
    """Find or create the consumer for a verified BankID login."""
    consumer = sess.scalar(select(Consumer).where(Consumer.sub == sub))
    nnin_hash = nnin_masked = None
    if national_id:
        compact = validate_national_id(national_id, allow_synthetic=True)
        nnin_hash = national_id_hash(compact)
        nnin_masked = mask_national_id(compact)
        if consumer is None:
            consumer = sess.scalar(select(Consumer).where(Consumer.nnin_hash == nnin_hash))
            if consumer is not None:
                consumer.sub = sub
    if consumer is None:
        consumer = Consumer(sub=sub)
        sess.add(consumer)
    if nnin_hash:
        consumer.nnin_hash = nnin_hash
        consumer.nnin_masked = nnin_masked
    if name:
        consumer.name = name
    if birth_date:
        consumer.birth_date = birth_date
    consumer.last_login_at = utcnow()
    sess.flush()
    return consumer


# --- agreements --------------------------------------------------------------------------

def agreement_for(sess: Session, contact: Contact) -> EFakturaAgreement | None:
    return sess.scalar(select(EFakturaAgreement).where(
        EFakturaAgreement.issuer_id == contact.issuer_id, EFakturaAgreement.contact_id == contact.id))


def _transition(sess: Session, agreement: EFakturaAgreement | None, action: AgreementAction,
                actor: Actor, *, contact: Contact, data: dict | None = None,
                source: str = "portal") -> EFakturaAgreement:
    before = agreement.state if agreement else None
    after = next_state(before, action)
    if agreement is None:
        agreement = EFakturaAgreement(issuer_id=contact.issuer_id, contact_id=contact.id,
                                      state=after, source=source)
        sess.add(agreement)
        sess.flush()
    else:
        agreement.state = after
    agreement.state_changed_at = utcnow()
    events.record(sess, actor, "agreement", agreement.id, action.value,
                  from_state=before.value if before else None, to_state=after.value,
                  issuer_id=contact.issuer_id, contact_id=contact.id, data=data)
    return agreement


def import_third_party(sess: Session, contact: Contact, actor: Actor) -> EFakturaAgreement:
    """An agreement the issuer had through an earlier third-party arrangement."""
    return _transition(sess, None, AgreementAction.IMPORT, actor, contact=contact, source="third_party")


def open_request(sess: Session, agreement: EFakturaAgreement) -> ConsentRequest | None:
    return sess.scalar(select(ConsentRequest).where(
        ConsentRequest.agreement_id == agreement.id, ConsentRequest.closed_at.is_(None))
        .order_by(ConsentRequest.id.desc()))


CONSENT_PATH = "/samtykke/"  # served by the consent blueprint


def consent_url(token: str) -> str:
    return current_app.config["PORTAL"]["BASE_URL"] + CONSENT_PATH + token


SMS_LIMIT = 160  # one GSM-7 segment


def short_consent_url(sess: Session, token: str) -> str:
    return current_app.config["PORTAL"]["BASE_URL"] + SHORT_PATH + shorten(sess, Purpose.CONSENT, token)


def consent_sms_text(issuer_name: str, url: str) -> str:
    """The consent SMS in one segment: a long company name is cut to fit, never the link."""
    name = issuer_name
    text = render_template("messages/consent_sms.txt", issuer_name=name, url=url).strip()
    while len(text) > SMS_LIMIT and len(name) > 8:
        name = name[:max(8, len(name) - (len(text) - SMS_LIMIT))].rstrip()
        text = render_template("messages/consent_sms.txt", issuer_name=name, url=url).strip()
    return text


_UNKNOWN = object()


def request_consent(sess: Session, contact: Contact, actor: Actor, *, trigger: str = "invoice",
                    agreement=_UNKNOWN) -> ConsentRequest:
    """Move the agreement to *requested* and send one SMS and one e-mail with a signed link.

    The caller has checked that the contact can receive eFaktura. ``agreement``: the contact's
    agreement (or None) when the caller has just read it."""
    if agreement is _UNKNOWN:
        agreement = agreement_for(sess, contact)
    state = agreement.state if agreement else None
    if state is AgreementState.REQUESTED:
        # Asking again while a request is open (support's resend): close the old round.
        old = open_request(sess, agreement)
        if old is not None:
            old.closed_at = utcnow()
            cancel_pending(sess, OutboxKind.CONSENT_EXPIRY, consent_request_id=old.id)
    else:
        agreement = _transition(sess, agreement, AgreementAction.REQUEST, actor, contact=contact,
                                data={"trigger": trigger})
    cfg = current_app.config["PORTAL"]
    now = utcnow()
    req = ConsentRequest(agreement_id=agreement.id, issuer_id=contact.issuer_id, contact_id=contact.id,
                         created_at=now,
                         expires_at=now + dt.timedelta(seconds=int(cfg["CONSENT_LINK_MAX_AGE"])),
                         trigger=trigger, requested_by=actor.label or actor.type)
    sess.add(req)
    sess.flush()
    events.record(sess, actor, "consent_request", req.id, "sent", issuer_id=contact.issuer_id,
                  contact_id=contact.id, data={"trigger": trigger, "sms": bool(contact.mobile),
                                               "email": bool(contact.email)})
    _send_consent_messages(sess, contact, req)
    enqueue(sess, OutboxKind.CONSENT_EXPIRY, f"consent-expiry:{req.id}", {"consent_request_id": req.id},
            issuer_id=contact.issuer_id, contact_id=contact.id, consent_request_id=req.id,
            available_at=req.expires_at)
    return req


def _send_consent_messages(sess: Session, contact: Contact, req: ConsentRequest) -> None:
    issuer = contact.issuer
    common = {"issuer_id": contact.issuer_id, "contact_id": contact.id, "consent_request_id": req.id}
    for channel in ("sms", "email"):
        token = make_token(Purpose.CONSENT, {"cr": req.id, "c": contact.id, "i": contact.issuer_id,
                                             "ch": channel})
        ctx = {"issuer_name": issuer.name, "issuer_org": format_org_number(issuer.org_number),
               "contact": contact, "url": consent_url(token),
               "expires_at": req.expires_at}
        with force_locale(contact.language or "nb"):
            if channel == "sms" and contact.mobile and is_valid_mobile(contact.mobile):
                ctx["url"] = short_consent_url(sess, token)
                text = consent_sms_text(issuer.name, ctx["url"])
                enqueue(sess, OutboxKind.SMS, f"consent:{req.id}:sms",
                        {"to": contact.mobile, "text": text, "purpose": "consent_request"}, **common)
            elif channel == "email" and contact.email:
                subject = render_template("messages/consent_email_subject.txt", **ctx).strip()
                enqueue(sess, OutboxKind.EMAIL, f"consent:{req.id}:email", {
                    "to": contact.email, "subject": subject,
                    "text": render_template("messages/consent_email.txt", **ctx),
                    "html": render_template("messages/consent_email.html", **ctx),
                    "purpose": "consent_request",
                }, **common)


def expire_request(sess: Session, req: ConsentRequest) -> bool:
    """The link ran out unanswered. Returns whether anything changed."""
    if req.closed_at is not None:
        return False
    req.closed_at = utcnow()
    agreement = req.agreement
    contact = sess.get(Contact, req.contact_id)
    events.record(sess, events.SYSTEM, "consent_request", req.id, "expired",
                  issuer_id=req.issuer_id, contact_id=req.contact_id)
    if agreement.state is AgreementState.REQUESTED:
        _transition(sess, agreement, AgreementAction.EXPIRE, events.SYSTEM, contact=contact)
    sess.flush()
    return True


def _close_requests(sess: Session, agreement: EFakturaAgreement, answered: bool) -> None:
    now = utcnow()
    for req in sess.scalars(select(ConsentRequest).where(
            ConsentRequest.agreement_id == agreement.id, ConsentRequest.closed_at.is_(None))):
        req.closed_at = now
        if answered:
            req.answered_at = now
        cancel_pending(sess, OutboxKind.CONSENT_EXPIRY, consent_request_id=req.id)


def _receipt(sess: Session, agreement: EFakturaAgreement, consumer: Consumer, decision: str, *,
             consent_request: ConsentRequest | None, channel: str, acr: str | None, shown_text: str,
             language: str) -> ConsentReceipt:
    receipt = ConsentReceipt(agreement_id=agreement.id,
                             consent_request_id=consent_request.id if consent_request else None,
                             consumer_id=consumer.id, decision=decision, text_version=CONSENT_TEXT_VERSION,
                             shown_text=shown_text[:4000], language=language, channel=channel,
                             bankid_sub=consumer.sub, bankid_acr=acr)
    sess.add(receipt)
    return receipt


def _bind_identity(contact: Contact, agreement: EFakturaAgreement, consumer: Consumer) -> None:
    check_identity(contact, consumer)
    if contact.consumer_id is not None and contact.consumer_id != consumer.id:
        raise IDENTITY_CONFLICT
    if agreement.consumer_id is not None and agreement.consumer_id != consumer.id:
        raise IDENTITY_CONFLICT
    contact.consumer_id = consumer.id
    agreement.consumer_id = consumer.id


def check_identity(contact: Contact, consumer: Consumer, today: dt.date | None = None) -> None:
    """Whether this BankID person may answer for the contact; raises before showing the choice
    and again when the answer is recorded.

    The person must be an adult (a child is told so first, whoever the link was for), plausibly
    be the contact (``portal.core.names.same_person``: the name, and the birth date where the
    issuer registered one), and the contact must not already belong to another BankID user."""
    if not is_adult(consumer.birth_date, today or oslo_today()):
        raise UNDERAGE
    if not is_the_contact(contact, consumer):
        raise NOT_THE_PERSON
    if contact.consumer_id is not None and contact.consumer_id != consumer.id:
        raise IDENTITY_CONFLICT


def is_the_contact(contact: Contact, consumer: Consumer) -> bool:
    """Whether the BankID person is plausibly the person the issuer registered."""
    return same_person(record_name=contact.name, record_birth_date=contact.birth_date,
                       bankid_name=consumer.name, bankid_birth_date=consumer.birth_date)


def record_answered_by_other(sess: Session, agreement: EFakturaAgreement, consumer: Consumer, *,
                             channel: str, since: dt.datetime | None = None) -> None:
    """Note on the agreement that someone other than the contact tried to answer. Nothing else
    changes. The event names the consumer only by id (no name, no identity number); the same
    person trying again in the same round is noted once."""
    stmt = select(Event.id).where(Event.subject_type == "agreement", Event.subject_id == agreement.id,
                                  Event.action == ANSWERED_BY_OTHER, Event.actor_id == consumer.id)
    if since is not None:
        stmt = stmt.where(Event.created_at >= since)
    if sess.scalar(stmt.limit(1)) is not None:
        return
    events.record(sess, Actor("consumer", consumer.id, ""), "agreement", agreement.id, ANSWERED_BY_OTHER,
                  issuer_id=agreement.issuer_id, contact_id=agreement.contact_id,
                  data={"consumer_id": consumer.id, "channel": channel})
    sess.flush()


def answered_by_others(sess: Session, agreement: EFakturaAgreement | None) -> list[Event]:
    """When someone other than the contact tried to answer, newest first (for issuer and support)."""
    if agreement is None:
        return []
    return list(sess.scalars(select(Event).where(
        Event.subject_type == "agreement", Event.subject_id == agreement.id, Event.action == ANSWERED_BY_OTHER)
        .order_by(Event.created_at.desc(), Event.id.desc())))


def approve(sess: Session, agreement: EFakturaAgreement, consumer: Consumer, *, channel: str,
            acr: str | None, shown_text: str, language: str,
            consent_request: ConsentRequest | None = None) -> ConsentReceipt:
    """The consumer says yes: the agreement becomes active and every held invoice of this
    issuer for them is released to nettbank, in this transaction."""
    contact = agreement.contact
    _bind_identity(contact, agreement, consumer)
    actor = Actor("consumer", consumer.id, consumer.name or "")
    _transition(sess, agreement, AgreementAction.APPROVE, actor, contact=contact,
                data={"channel": channel, "acr": acr})
    _close_requests(sess, agreement, answered=True)
    receipt = _receipt(sess, agreement, consumer, "approve", consent_request=consent_request,
                       channel=channel, acr=acr, shown_text=shown_text, language=language)
    signals.agreement_approved.send(agreement, sess=sess, actor=actor)
    sess.flush()
    return receipt


def decline(sess: Session, agreement: EFakturaAgreement, consumer: Consumer, *, channel: str,
            acr: str | None, shown_text: str, language: str,
            consent_request: ConsentRequest | None = None) -> ConsentReceipt:
    """The consumer says no: held invoices go by e-mail or post now; no more requests."""
    contact = agreement.contact
    _bind_identity(contact, agreement, consumer)
    actor = Actor("consumer", consumer.id, consumer.name or "")
    _transition(sess, agreement, AgreementAction.DECLINE, actor, contact=contact, data={"channel": channel})
    _close_requests(sess, agreement, answered=True)
    receipt = _receipt(sess, agreement, consumer, "decline", consent_request=consent_request,
                       channel=channel, acr=acr, shown_text=shown_text, language=language)
    signals.agreement_declined.send(agreement, sess=sess, actor=actor)
    sess.flush()
    return receipt


def stop(sess: Session, agreement: EFakturaAgreement, consumer: Consumer, *, acr: str | None,
         shown_text: str, language: str) -> ConsentReceipt:
    """The consumer ends an active agreement: later invoices go by e-mail or post."""
    if agreement.consumer_id != consumer.id:
        raise IDENTITY_CONFLICT
    actor = Actor("consumer", consumer.id, consumer.name or "")
    _transition(sess, agreement, AgreementAction.STOP, actor, contact=agreement.contact)
    receipt = _receipt(sess, agreement, consumer, "stop", consent_request=None, channel="portal",
                       acr=acr, shown_text=shown_text, language=language)
    sess.flush()
    signals.agreement_stopped.send(agreement, sess=sess, actor=actor)
    return receipt


def terminate_third_party(sess: Session, issuer_id: int, actor: Actor) -> int:
    """B2C activation ends agreements from an earlier third-party arrangement."""
    rows = list(sess.scalars(select(EFakturaAgreement).where(
        EFakturaAgreement.issuer_id == issuer_id, EFakturaAgreement.source == "third_party",
        EFakturaAgreement.state == AgreementState.ACTIVE)))
    for agreement in rows:
        _transition(sess, agreement, AgreementAction.TERMINATE, actor, contact=agreement.contact,
                    data={"reason": "b2c_activation"})
    sess.flush()
    return len(rows)


def can_request(agreement: EFakturaAgreement | None) -> bool:
    return (agreement.state if agreement else None) in REQUESTABLE


@dataclass(frozen=True)
class ActivationPreview:
    """What approving the issuer agreement will do to this issuer."""

    third_party_agreements: int  # active agreements from an earlier arrangement that end
    consumers_asked_again: int  # distinct contacts who must consent again
    uses_avtalegiro: bool


def activation_preview(sess: Session, issuer) -> ActivationPreview:
    where = (EFakturaAgreement.issuer_id == issuer.id, EFakturaAgreement.source == "third_party",
             EFakturaAgreement.state == AgreementState.ACTIVE)
    n_agreements = sess.scalar(select(func.count()).select_from(EFakturaAgreement).where(*where)) or 0
    n_contacts = sess.scalar(select(func.count(func.distinct(EFakturaAgreement.contact_id))).where(*where)) or 0
    return ActivationPreview(n_agreements, n_contacts, bool(issuer.uses_avtalegiro))


# --- start-up wiring ---------------------------------------------------------------------

def _expire_from_outbox(sess: Session, row: OutboxMessage) -> None:
    req = sess.get(ConsentRequest, int((row.payload or {}).get("consent_request_id") or row.consent_request_id))
    if req is not None:
        expire_request(sess, req)


def _end_third_party_on_activation(issuer, *, sess: Session, actor: Actor, **_extra) -> None:
    """B2C activation ends agreements from an earlier third-party arrangement."""
    ended = terminate_third_party(sess, issuer.id, actor)
    if ended:
        events.record(sess, actor, "issuer", issuer.id, "third_party_terminated", issuer_id=issuer.id,
                      data={"agreements": ended})


def register_handlers() -> None:
    outbox.register(OutboxKind.CONSENT_EXPIRY, _expire_from_outbox)
    issuer_signals.issuer_activated.connect(_end_third_party_on_activation)
