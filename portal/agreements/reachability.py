"""Recipient look-up: can this contact receive eFaktura from this issuer, and why?

eFaktura 2.0 beside the per-issuer consent. The answer, in this order:

1. the contact cannot have eFaktura at all (not a private person, not B2CNO, eDocuments off,
   or the issuer is not active) → ``none / not_eligible``;
2. an active per-issuer agreement with a BankID-verified consumer → ``agreement`` (unless that
   consumer has blocked the issuer);
3. the consumer said no to this issuer (declined or stopped the agreement) → ``none / declined``:
   a specific no is not overruled by a general yes;
4. who is the person? The consumer the contact is bound to by an earlier BankID answer
   (``verified_identity``; contacts store no national identity number, so this is how an
   identity is known), else every consumer whose bank profile holds the contact's mobile or
   e-mail address *and* whose name matches the contact's under the written name rule
   (``portal.core.names``). Two or more such people → ``none / ambiguous``: we never guess;
   nobody → ``none / no_match``;
5. that person has blocked the issuer → ``none / blocked`` (the issuer is told only that the
   customer does not receive eFaktura from them); has no general consent → ``none /
   consent_off``; else → ``general_consent`` with the way they were found (``verified_identity``,
   ``name_mobile`` or ``name_email``) and the consumer the invoice goes to.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.agreements import general
from portal.agreements import services as agreements
from portal.agreements.models import Consumer
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact, ContactKind
from portal.contacts.rules import efaktura_blockers
from portal.core import events
from portal.core.events import Actor
from portal.core.names import same_person


class Route(enum.Enum):
    AGREEMENT = "agreement"
    GENERAL_CONSENT = "general_consent"
    NONE = "none"


# Reason codes, by route.
GENERAL_REASONS = ("verified_identity", "name_mobile", "name_email")
NONE_REASONS = ("not_eligible", "declined", "blocked", "ambiguous", "no_match", "consent_off")


@dataclass(frozen=True)
class Reachability:
    """The answer of the look-up."""

    route: Route
    reason: str
    consumer_id: int | None = None  # the person an eFaktura goes to (or who blocked, or has no consent)
    candidates: tuple[int, ...] = ()  # every person who matched (more than one: ambiguous)

    @property
    def reachable(self) -> bool:
        return self.route is not Route.NONE

    @property
    def issuer_reason(self) -> str:
        """The reason as the issuer may see it: a block is only "does not receive eFaktura from you"."""
        return "not_receiving" if self.reason == "blocked" else self.reason


def _eligible(contact: Contact) -> bool:
    # The SMS of the per-issuer request needs a mobile; a general consent does not.
    return not [b for b in efaktura_blockers(contact, contact.issuer) if b.code != "no_mobile"]


def _matching(sess: Session, contact: Contact) -> tuple[list[int], str]:
    """Consumers who can be this contact, and how they were found."""
    if contact.consumer_id is not None:
        return [contact.consumer_id], "verified_identity"
    found: dict[int, str] = {}
    birth_date = getattr(contact, "birth_date", None)  # where the contact has one
    for kind, value, how in (("mobile", contact.mobile, "name_mobile"),
                             ("email", (contact.email or "").lower() or None, "name_email")):
        if not value:
            continue
        for consumer_id in general.consumers_with_address(sess, kind, value):
            consumer = sess.get(Consumer, consumer_id)
            if consumer is not None and same_person(record_name=contact.name, record_birth_date=birth_date,
                                                    bankid_name=consumer.name,
                                                    bankid_birth_date=consumer.birth_date):
                found.setdefault(consumer_id, how)
    ids = sorted(found)
    return ids, (found[ids[0]] if len(ids) == 1 else "")


_UNKNOWN = object()


def lookup(sess: Session, contact: Contact, *, agreement=_UNKNOWN) -> Reachability:
    """Whether and how this contact can receive eFaktura from its issuer (see the module).
    ``agreement``: the contact's agreement (or None) when the caller has just read it."""
    if not _eligible(contact):
        return Reachability(Route.NONE, "not_eligible")
    if agreement is _UNKNOWN:
        agreement = agreements.agreement_for(sess, contact)
    state = agreement.state if agreement else None
    if state is AgreementState.ACTIVE and agreement.consumer_id is not None:
        if general.is_blocked(sess, agreement.consumer_id, contact.issuer_id):
            return Reachability(Route.NONE, "blocked", agreement.consumer_id, (agreement.consumer_id,))
        return Reachability(Route.AGREEMENT, "agreement", agreement.consumer_id, (agreement.consumer_id,))
    if state in (AgreementState.DECLINED, AgreementState.STOPPED):
        return Reachability(Route.NONE, "declined", agreement.consumer_id)
    ids, how = _matching(sess, contact)
    if len(ids) > 1:
        return Reachability(Route.NONE, "ambiguous", None, tuple(ids))
    if not ids:
        return Reachability(Route.NONE, "no_match")
    consumer_id = ids[0]
    if general.is_blocked(sess, consumer_id, contact.issuer_id):
        return Reachability(Route.NONE, "blocked", consumer_id, (consumer_id,))
    if not general.has_general_consent(sess, consumer_id):
        return Reachability(Route.NONE, "consent_off", consumer_id, (consumer_id,))
    return Reachability(Route.GENERAL_CONSENT, how, consumer_id, (consumer_id,))


def record_lookup(sess: Session, contact: Contact, result: Reachability, actor: Actor, *, trigger: str,
                  contact_event: bool = True) -> None:
    """Keep a look-up: on the contact (in words the issuer may see) and on every person it
    concerned (for support, in the consumer's timeline)."""
    if contact_event:
        events.record(sess, actor, "contact", contact.id, "reachability_check", issuer_id=contact.issuer_id,
                      contact_id=contact.id, data={"route": result.route.value, "reason": result.issuer_reason,
                                                   "trigger": trigger})
    for consumer_id in result.candidates:
        events.record(sess, actor, "consumer", consumer_id, "lookup", issuer_id=contact.issuer_id,
                      data={"route": result.route.value, "reason": result.reason, "trigger": trigger,
                            "contact_id": contact.id, "issuer_name": contact.issuer.name})


def check_now(sess: Session, contact: Contact, actor: Actor) -> Reachability:
    """The issuer asks again ("check now"): the look-up is run and recorded."""
    result = lookup(sess, contact)
    record_lookup(sess, contact, result, actor, trigger="check")
    sess.flush()
    return result


def contacts_of(sess: Session, consumer_id: int) -> list[Contact]:
    """Contacts (at any issuer) that may be this consumer: bound to them by BankID, or holding a
    mobile or e-mail address of their profile. The look-up decides for each."""
    addresses = general.addresses_of(sess, consumer_id)
    mobiles = [a.value for a in addresses if a.kind == "mobile"]
    emails = [a.value for a in addresses if a.kind == "email"]
    conds = [Contact.consumer_id == consumer_id]
    if mobiles:
        conds.append(Contact.mobile.in_(mobiles))
    if emails:
        conds.append(func.lower(Contact.email).in_(emails))
    return list(sess.scalars(select(Contact).where(Contact.kind == ContactKind.PERSON, or_(*conds))
                             .order_by(Contact.id)))

