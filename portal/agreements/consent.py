"""Consumer side: reading consent links, the consumer's nettbank and agreements, receipts.

Decisions themselves (approve, decline, stop) are made by ``portal.agreements.services``;
this module finds what the consumer may see and hands the decision over.
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from portal.agreements import services as agreements
from portal.agreements.models import ConsentReceipt, ConsentRequest, Consumer, EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.core.tokens import (
    Link,
    LinkError,
    LinkProblem,
    Purpose,
    UsedToken,
    mark_used,
    verify_token,
)
from portal.issuers.models import Issuer

# Agreement states in which a consent link can still be answered.
ANSWERABLE = frozenset({AgreementState.REQUESTED, AgreementState.EXPIRED})
# States from which the consumer can say yes in "My agreements".
APPROVABLE = frozenset({AgreementState.REQUESTED, AgreementState.EXPIRED, AgreementState.DECLINED,
                        AgreementState.STOPPED, AgreementState.TERMINATED})
CHANNELS = frozenset({"sms", "email"})


class LinkStatus(enum.Enum):
    OPEN = "open"  # can be answered now
    INVALID = "invalid"  # tampered, truncated, wrong purpose, or pointing at nothing
    EXPIRED = "expired"  # older than the link's lifetime, never answered
    ANSWERED = "answered"  # the consumer (or someone with this link) already decided
    REPLACED = "replaced"  # a newer request was sent; this round is closed
    CLOSED = "closed"  # the agreement is in a state where the link no longer applies


@dataclass
class ConsentLink:
    """What a consent link points at, and whether it can be answered."""

    status: LinkStatus
    link: Link | None = None
    request: ConsentRequest | None = None
    agreement: EFakturaAgreement | None = None
    contact: Contact | None = None
    issuer: Issuer | None = None
    channel: str = "sms"
    last_receipt: ConsentReceipt | None = None

    @property
    def is_open(self) -> bool:
        return self.status is LinkStatus.OPEN


def _payload_ids(payload: dict | None) -> tuple[int, int, int] | None:
    if not isinstance(payload, dict):
        return None
    ids = payload.get("cr"), payload.get("c"), payload.get("i")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
        return None
    return ids  # type: ignore[return-value]


def _landing_statement():
    """Everything the consent page shows, in one statement: the request, its agreement, contact
    and issuer, whether the link was used, and the id of the agreement's latest receipt. Built
    once; each request only binds its values."""
    latest = (select(ConsentReceipt.id).where(ConsentReceipt.agreement_id == EFakturaAgreement.id)
              .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc()).limit(1)
              .correlate(EFakturaAgreement).scalar_subquery())
    used = select(UsedToken.jti).where(UsedToken.jti == bindparam("jti")).exists()
    return (select(ConsentRequest, EFakturaAgreement, Contact, Issuer, used.label("used"), latest.label("receipt"))
            .join(EFakturaAgreement, EFakturaAgreement.id == ConsentRequest.agreement_id)
            .join(Contact, Contact.id == EFakturaAgreement.contact_id)
            .join(Issuer, Issuer.id == EFakturaAgreement.issuer_id)
            .where(ConsentRequest.id == bindparam("cr"), ConsentRequest.contact_id == bindparam("contact"),
                   ConsentRequest.issuer_id == bindparam("issuer")))


_LANDING = _landing_statement()


def _load(sess: Session, ids: tuple[int, int, int], jti: str | None):
    cr, contact_id, issuer_id = ids
    # No jti (an expired link is not asked about): "" is never a used token's id.
    return sess.execute(_LANDING, {"cr": cr, "contact": contact_id, "issuer": issuer_id, "jti": jti or ""}).first()


def read_link(sess: Session, token: str) -> ConsentLink:
    """Check a consent link without using it up (opening a link is not an answer).

    One query for an open link (the page the SMS leads to); the latest receipt and a newer
    request are read only for the pages that show them."""
    problem = None
    try:
        link = verify_token(Purpose.CONSENT, token)
        payload = link.payload
    except LinkError as exc:
        link, payload, problem = None, exc.payload, exc.problem
    if problem is LinkProblem.INVALID:
        return ConsentLink(LinkStatus.INVALID)
    ids = _payload_ids(payload)
    if ids is None:
        return ConsentLink(LinkStatus.INVALID)
    jti = payload.get("jti") if isinstance(payload.get("jti"), str) else None
    found = _load(sess, ids, jti if problem is None else None)
    if found is None:
        return ConsentLink(LinkStatus.INVALID)
    req, agreement, contact, issuer, used, receipt_id = found
    if used:
        problem = LinkProblem.USED
    channel = payload.get("ch") if payload.get("ch") in CHANNELS else "sms"
    view = ConsentLink(LinkStatus.OPEN, link=link, request=req, agreement=agreement,
                       contact=contact, issuer=issuer, channel=channel)
    if req.answered_at is not None or problem is LinkProblem.USED:
        view.status = LinkStatus.ANSWERED
    elif agreement.state not in ANSWERABLE:
        view.status = LinkStatus.ANSWERED if receipt_id is not None else LinkStatus.CLOSED
    elif problem is LinkProblem.EXPIRED:
        view.status = LinkStatus.EXPIRED
    elif req.closed_at is not None:
        newer = agreements.open_request(sess, agreement)
        view.status = LinkStatus.REPLACED if newer is not None else LinkStatus.EXPIRED
    if receipt_id is not None and not view.is_open:
        view.last_receipt = sess.get(ConsentReceipt, receipt_id)
    return view


def latest_receipt(sess: Session, agreement_id: int) -> ConsentReceipt | None:
    return sess.scalar(select(ConsentReceipt).where(ConsentReceipt.agreement_id == agreement_id)
                       .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc()).limit(1))


# --- what the consumer is shown ------------------------------------------------------------

def consent_text(issuer_name: str, language: str) -> str:
    """The exact text the consumer agrees to; rendered the same way for the page and the receipt."""
    with force_locale(language):
        return render_template("consent/_consent_text.txt", issuer_name=issuer_name).strip()


def stop_text(issuer_name: str, language: str) -> str:
    with force_locale(language):
        return render_template("consent/_stop_text.txt", issuer_name=issuer_name).strip()


def decline_text(issuer_name: str, language: str) -> str:
    """The text of a "no thank you": what declining means, shown on the page and kept on the receipt."""
    with force_locale(language):
        return render_template("consent/_decline_text.txt", issuer_name=issuer_name).strip()


def text_digest(text: str) -> str:
    """A short fingerprint of a shown text, carried by the form, to prove the text did not change."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Conflict(Exception):
    """The answer could not be recorded because the situation changed; nothing was saved."""


def check_answerer(sess: Session, consumer: Consumer, agreement: EFakturaAgreement, *, channel: str,
                   since=None) -> None:
    """May this BankID person answer for the agreement's contact? Raises ``ConsentError``.

    When the person is not the contact, that is noted on the agreement (for the issuer and
    support) and nothing else changes."""
    try:
        agreements.check_identity(agreement.contact, consumer)
    except agreements.ConsentError as exc:
        someone_else = exc.code == agreements.NOT_THE_PERSON.code or (
            exc.code == agreements.UNDERAGE.code and not agreements.is_the_contact(agreement.contact, consumer))
        if someone_else:
            agreements.record_answered_by_other(sess, agreement, consumer, channel=channel, since=since)
        raise


def check_link_answerer(sess: Session, view: ConsentLink, consumer: Consumer) -> None:
    """The check before the choice is shown, for an open consent link."""
    check_answerer(sess, consumer, view.agreement, channel=view.channel,
                   since=view.request.created_at if view.request else None)


def decide_from_link(sess: Session, token: str, consumer: Consumer, decision: str, *, shown_text: str,
                     language: str, acr: str | None) -> ConsentReceipt:
    """Record the consumer's answer to a consent link (the link is used up by the answer).

    Raises ``Conflict`` when the link can no longer be answered, ``ConsentError`` on an identity
    conflict, and lets ``InvalidTransition`` / ``StaleDataError`` through for the caller to roll back."""
    view = read_link(sess, token)
    if not view.is_open or view.link is None:
        raise Conflict(view.status.value)
    check_link_answerer(sess, view, consumer)
    try:
        mark_used(sess, Purpose.CONSENT, view.link)
    except LinkError:
        raise Conflict(LinkStatus.ANSWERED.value) from None
    decide = agreements.approve if decision == "approve" else agreements.decline
    return decide(sess, view.agreement, consumer, channel=view.channel, acr=acr, shown_text=shown_text,
                  language=language, consent_request=view.request)


# --- the consumer's own things ---------------------------------------------------------------

def visible_agreements(sess: Session, consumer: Consumer) -> list[EFakturaAgreement]:
    """Agreements bound to the consumer, plus open questions to contacts that are theirs."""
    bound_contacts = select(Contact.id).where(Contact.consumer_id == consumer.id)
    stmt = (select(EFakturaAgreement)
            .where(or_(EFakturaAgreement.consumer_id == consumer.id,
                       (EFakturaAgreement.contact_id.in_(bound_contacts))
                       & EFakturaAgreement.state.in_([AgreementState.REQUESTED, AgreementState.EXPIRED])))
            .order_by(EFakturaAgreement.state_changed_at.desc(), EFakturaAgreement.id.desc()))
    return list(sess.scalars(stmt))


def agreement_of(sess: Session, consumer: Consumer, agreement_id: int) -> EFakturaAgreement | None:
    """One agreement the consumer may see, or None (the caller answers 404)."""
    for agreement in visible_agreements(sess, consumer):
        if agreement.id == agreement_id:
            return agreement
    return None


def approve_in_portal(sess: Session, consumer: Consumer, agreement_id: int, *, shown_text: str,
                      language: str, acr: str | None) -> ConsentReceipt:
    """Say yes from "My agreements" (after declining, stopping, or missing the link)."""
    agreement = agreement_of(sess, consumer, agreement_id)
    if agreement is None or agreement.state not in APPROVABLE:
        raise Conflict("not_approvable")
    check_answerer(sess, consumer, agreement, channel="portal")
    return agreements.approve(sess, agreement, consumer, channel="portal", acr=acr, shown_text=shown_text,
                              language=language, consent_request=agreements.open_request(sess, agreement))


def approvable_ids(consumer: Consumer, rows: list[EFakturaAgreement]) -> set[int]:
    """The agreements the consumer may say yes to from "My agreements": in an approvable state,
    and for a contact that is this person."""
    ok = set()
    for agreement in rows:
        if agreement.state not in APPROVABLE:
            continue
        try:
            agreements.check_identity(agreement.contact, consumer)
        except agreements.ConsentError:
            continue
        ok.add(agreement.id)
    return ok


def stop_in_portal(sess: Session, consumer: Consumer, agreement_id: int, *, shown_text: str,
                   language: str, acr: str | None) -> ConsentReceipt:
    """End an active agreement from "My agreements"."""
    agreement = agreement_of(sess, consumer, agreement_id)
    if agreement is None or agreement.state is not AgreementState.ACTIVE:
        raise Conflict("not_active")
    return agreements.stop(sess, agreement, consumer, acr=acr, shown_text=shown_text, language=language)


def receipts_for_agreement(sess: Session, agreement_id: int) -> list[ConsentReceipt]:
    """Every decision recorded on an agreement, newest first (for the consumer, issuer and support)."""
    return list(sess.scalars(select(ConsentReceipt).where(ConsentReceipt.agreement_id == agreement_id)
                             .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc())))


def receipt_of(sess: Session, consumer: Consumer, agreement_id: int, receipt_id: int) -> ConsentReceipt | None:
    receipt = sess.get(ConsentReceipt, receipt_id)
    if receipt is None or receipt.agreement_id != agreement_id or receipt.consumer_id != consumer.id:
        return None
    return receipt
