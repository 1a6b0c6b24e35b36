"""eFaktura 2.0 in the consumer's bank: the general consent ("yes to eFaktura from all
issuers"), blocks of single issuers, and the mobile numbers and e-mail addresses the bank knows
for the consumer. Every change is an event and leaves a receipt; afterwards the signal
``general_consent_changed`` lets invoices react in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.agreements import signals
from portal.agreements.general_models import (
    ConsumerAddress,
    GeneralConsent,
    GeneralConsentReceipt,
    IssuerBlock,
)
from portal.agreements.models import Consumer
from portal.core import events
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.identifiers import InvalidIdentifier, mask_mobile, normalize_mobile
from portal.issuers.models import Issuer

# Bump when the wording of the general consent changes; receipts keep the version they saw.
GENERAL_TEXT_VERSION = "2026-11-general-v1"
MAX_ADDRESSES = 10  # of each kind, per consumer
KINDS = ("mobile", "email")


class GeneralConsentError(Exception):
    """A change that cannot be made; ``message`` is for the consumer."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Login:
    """How the consumer proved who they are for this change, and what they were shown."""

    acr: str | None
    language: str = "nb"


def _actor(consumer: Consumer) -> Actor:
    return Actor("consumer", consumer.id, consumer.name or "")


# --- reading -----------------------------------------------------------------------------

def consent_of(sess: Session, consumer_id: int) -> GeneralConsent | None:
    return sess.scalar(select(GeneralConsent).where(GeneralConsent.consumer_id == consumer_id))


def has_general_consent(sess: Session, consumer_id: int) -> bool:
    consent = consent_of(sess, consumer_id)
    return bool(consent and consent.active)


def is_blocked(sess: Session, consumer_id: int, issuer_id: int) -> bool:
    return sess.scalar(select(IssuerBlock.id).where(IssuerBlock.consumer_id == consumer_id,
                                                    IssuerBlock.issuer_id == issuer_id)) is not None


def blocks_of(sess: Session, consumer_id: int) -> list[IssuerBlock]:
    return list(sess.scalars(select(IssuerBlock).where(IssuerBlock.consumer_id == consumer_id)
                             .order_by(IssuerBlock.created_at, IssuerBlock.id)))


def addresses_of(sess: Session, consumer_id: int) -> list[ConsumerAddress]:
    return list(sess.scalars(select(ConsumerAddress).where(ConsumerAddress.consumer_id == consumer_id)
                             .order_by(ConsumerAddress.kind, ConsumerAddress.created_at, ConsumerAddress.id)))


def receipts_of(sess: Session, consumer_id: int, limit: int = 50) -> list[GeneralConsentReceipt]:
    return list(sess.scalars(select(GeneralConsentReceipt).where(GeneralConsentReceipt.consumer_id == consumer_id)
                             .order_by(GeneralConsentReceipt.decided_at.desc(), GeneralConsentReceipt.id.desc())
                             .limit(limit)))


def consumers_with_address(sess: Session, kind: str, value: str) -> list[int]:
    """Ids of every consumer whose profile holds this mobile or e-mail address."""
    return list(sess.scalars(select(ConsumerAddress.consumer_id).where(
        ConsumerAddress.kind == kind, ConsumerAddress.value == value).distinct()))


# --- what the consumer is shown ----------------------------------------------------------

def shown_text(decision: str, language: str, *, issuer_name: str = "", detail: str = "") -> str:
    """The exact words shown with a change; the same text goes on the page and the receipt."""
    with force_locale(language):
        return render_template("nettbank/_general_text.txt", decision=decision, issuer_name=issuer_name,
                               detail=detail).strip()


def _receipt(sess: Session, consumer: Consumer, decision: str, login: Login, *, issuer: Issuer | None = None,
             detail: str = "") -> GeneralConsentReceipt:
    text = shown_text(decision, login.language, issuer_name=issuer.name if issuer else "", detail=detail)
    receipt = GeneralConsentReceipt(consumer_id=consumer.id, decision=decision,
                                    issuer_id=issuer.id if issuer else None, detail=detail[:254],
                                    text_version=GENERAL_TEXT_VERSION, shown_text=text[:4000],
                                    language=login.language, bankid_sub=consumer.sub, bankid_acr=login.acr)
    sess.add(receipt)
    sess.flush()
    return receipt


def _changed(sess: Session, consumer: Consumer, actor: Actor) -> None:
    signals.general_consent_changed.send(consumer, sess=sess, actor=actor)
    sess.flush()


# --- the general consent -----------------------------------------------------------------

def set_general_consent(sess: Session, consumer: Consumer, on: bool, login: Login) -> GeneralConsentReceipt | None:
    """Turn "yes to eFaktura from all issuers" on or off. Returns the receipt, or None when the
    answer was already the same (nothing changes then)."""
    consent = consent_of(sess, consumer.id)
    if consent is not None and consent.active == on:
        return None
    if consent is None and not on:
        return None
    now = utcnow()
    before = "on" if consent is not None and consent.active else "off"
    if consent is None:
        consent = GeneralConsent(consumer_id=consumer.id, active=on)
        sess.add(consent)
    consent.active = on
    consent.changed_at = now
    if on:
        consent.given_at = now
    else:
        consent.withdrawn_at = now
    sess.flush()
    decision = "consent_on" if on else "consent_off"
    receipt = _receipt(sess, consumer, decision, login)
    actor = _actor(consumer)
    events.record(sess, actor, "consumer", consumer.id, "general_consent_given" if on else "general_consent_withdrawn",
                  from_state=before, to_state="on" if on else "off",
                  data={"receipt_id": receipt.id, "acr": login.acr})
    _changed(sess, consumer, actor)
    return receipt


# --- blocks ------------------------------------------------------------------------------

def block(sess: Session, consumer: Consumer, issuer: Issuer, login: Login) -> GeneralConsentReceipt | None:
    """No eFaktura (and no consent requests) from this issuer. None when already blocked."""
    if is_blocked(sess, consumer.id, issuer.id):
        return None
    sess.add(IssuerBlock(consumer_id=consumer.id, issuer_id=issuer.id))
    sess.flush()
    receipt = _receipt(sess, consumer, "block", login, issuer=issuer)
    actor = _actor(consumer)
    events.record(sess, actor, "consumer", consumer.id, "issuer_blocked", issuer_id=issuer.id,
                  data={"receipt_id": receipt.id, "issuer_name": issuer.name})
    _changed(sess, consumer, actor)
    return receipt


def unblock(sess: Session, consumer: Consumer, issuer: Issuer, login: Login) -> GeneralConsentReceipt | None:
    row = sess.scalar(select(IssuerBlock).where(IssuerBlock.consumer_id == consumer.id,
                                                IssuerBlock.issuer_id == issuer.id))
    if row is None:
        return None
    sess.delete(row)
    sess.flush()
    receipt = _receipt(sess, consumer, "unblock", login, issuer=issuer)
    actor = _actor(consumer)
    events.record(sess, actor, "consumer", consumer.id, "issuer_unblocked", issuer_id=issuer.id,
                  data={"receipt_id": receipt.id, "issuer_name": issuer.name})
    _changed(sess, consumer, actor)
    return receipt


# --- the profile: mobiles and e-mail addresses --------------------------------------------

def clean_address(kind: str, raw: str) -> str:
    """The stored form of a mobile (+47 and 8 digits) or an e-mail address (lower case).
    Raises GeneralConsentError with a message that shows the expected form."""
    raw = (raw or "").strip()
    if kind == "mobile":
        try:
            return normalize_mobile(raw)
        except InvalidIdentifier as exc:
            message = exc.message
            if exc.suggestion:
                message = _l("%(problem)s Mente du %(suggestion)s?", problem=exc.message, suggestion=exc.suggestion)
            raise GeneralConsentError("mobile", message) from None
    if kind == "email":
        if not raw or len(raw) > 254:
            raise GeneralConsentError("email", _l("E-postadressen er ikke gyldig. Skriv den som navn@domene.no."))
        try:
            return validate_email(raw, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            raise GeneralConsentError("email", _l("E-postadressen er ikke gyldig. Skriv den som navn@domene.no.")) from None
    raise GeneralConsentError("kind", _l("Velg mobilnummer eller e-postadresse."))


def masked(kind: str, value: str) -> str:
    """A profile value as it may stand in receipts and events."""
    if kind == "mobile":
        return mask_mobile(value)
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}"


def add_address(sess: Session, consumer: Consumer, kind: str, raw: str, login: Login) -> GeneralConsentReceipt:
    value = clean_address(kind, raw)
    existing = addresses_of(sess, consumer.id)
    if any(a.kind == kind and a.value == value for a in existing):
        raise GeneralConsentError("duplicate", _l("Denne står allerede i profilen din."))
    if sum(1 for a in existing if a.kind == kind) >= MAX_ADDRESSES:
        raise GeneralConsentError("too_many", _l("Du kan ha høyst %(n)s av hver slag. Fjern en først.",
                                                 n=MAX_ADDRESSES))
    sess.add(ConsumerAddress(consumer_id=consumer.id, kind=kind, value=value))
    sess.flush()
    shown = masked(kind, value)
    receipt = _receipt(sess, consumer, f"add_{kind}", login, detail=shown)
    actor = _actor(consumer)
    events.record(sess, actor, "consumer", consumer.id, f"profile_{kind}_added",
                  data={"receipt_id": receipt.id, "value": shown})
    _changed(sess, consumer, actor)
    return receipt


def remove_address(sess: Session, consumer: Consumer, address_id: int, login: Login) -> GeneralConsentReceipt | None:
    row = sess.get(ConsumerAddress, address_id)
    if row is None or row.consumer_id != consumer.id:
        return None
    kind, shown = row.kind, masked(row.kind, row.value)
    sess.delete(row)
    sess.flush()
    receipt = _receipt(sess, consumer, f"remove_{kind}", login, detail=shown)
    actor = _actor(consumer)
    events.record(sess, actor, "consumer", consumer.id, f"profile_{kind}_removed",
                  data={"receipt_id": receipt.id, "value": shown})
    _changed(sess, consumer, actor)
    return receipt
