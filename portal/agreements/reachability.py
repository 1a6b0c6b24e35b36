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

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from portal.agreements import general
from portal.agreements import services as agreements
from portal.agreements.general_models import ConsumerAddress, GeneralConsent, IssuerBlock
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


class _Reader:
    """The look-up's questions, each answered by the database when asked."""

    def __init__(self, sess: Session):
        self.sess = sess

    def agreement(self, contact: Contact):
        return agreements.agreement_for(self.sess, contact)

    def consumers_with(self, kind: str, value: str) -> list[int]:
        return general.consumers_with_address(self.sess, kind, value)

    def consumer(self, consumer_id: int) -> Consumer | None:
        return self.sess.get(Consumer, consumer_id)

    def blocked(self, consumer_id: int, issuer_id: int) -> bool:
        return general.is_blocked(self.sess, consumer_id, issuer_id)

    def general_consent(self, consumer_id: int) -> bool:
        return general.has_general_consent(self.sess, consumer_id)


class _Prefetched(_Reader):
    """The same answers for a page of one issuer's contacts, read in four queries for the page
    instead of several per contact (the consumer register lists 25 at a time)."""

    def __init__(self, sess: Session, issuer_id: int, contacts: list[Contact], found_agreements: dict):
        super().__init__(sess)
        self.agreements = found_agreements
        wanted = [("mobile", c.mobile) for c in contacts if c.mobile] + \
                 [("email", c.email.lower()) for c in contacts if c.email]
        self.by_address: dict[tuple[str, str], list[int]] = {}
        if wanted:
            rows = sess.execute(select(ConsumerAddress.kind, ConsumerAddress.value, ConsumerAddress.consumer_id)
                                .where(tuple_(ConsumerAddress.kind, ConsumerAddress.value).in_(wanted))
                                .distinct())
            for kind, value, consumer_id in rows:
                self.by_address.setdefault((kind, value), []).append(consumer_id)
        ids = {i for found in self.by_address.values() for i in found}
        ids |= {c.consumer_id for c in contacts if c.consumer_id is not None}
        ids |= {a.consumer_id for a in found_agreements.values() if a is not None and a.consumer_id is not None}
        self.consumers = {c.id: c for c in sess.scalars(select(Consumer).where(Consumer.id.in_(ids)))} if ids else {}
        self.blocks = set(sess.scalars(select(IssuerBlock.consumer_id).where(
            IssuerBlock.issuer_id == issuer_id, IssuerBlock.consumer_id.in_(ids)))) if ids else set()
        self.consenting = set(sess.scalars(select(GeneralConsent.consumer_id).where(
            GeneralConsent.consumer_id.in_(ids), GeneralConsent.active.is_(True)))) if ids else set()
        self.issuer_id = issuer_id

    def agreement(self, contact: Contact):
        return self.agreements.get(contact.id)

    def consumers_with(self, kind: str, value: str) -> list[int]:
        return sorted(self.by_address.get((kind, value), []))

    def consumer(self, consumer_id: int) -> Consumer | None:
        return self.consumers.get(consumer_id)

    def blocked(self, consumer_id: int, issuer_id: int) -> bool:
        if issuer_id != self.issuer_id:
            return super().blocked(consumer_id, issuer_id)
        return consumer_id in self.blocks

    def general_consent(self, consumer_id: int) -> bool:
        return consumer_id in self.consenting


def _matching(facts: _Reader, contact: Contact) -> tuple[list[int], str]:
    """Consumers who can be this contact, and how they were found."""
    if contact.consumer_id is not None:
        return [contact.consumer_id], "verified_identity"
    found: dict[int, str] = {}
    birth_date = getattr(contact, "birth_date", None)  # where the contact has one
    for kind, value, how in (("mobile", contact.mobile, "name_mobile"),
                             ("email", (contact.email or "").lower() or None, "name_email")):
        if not value:
            continue
        for consumer_id in facts.consumers_with(kind, value):
            consumer = facts.consumer(consumer_id)
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
    return _lookup(_Reader(sess), contact, agreement)


def lookup_many(sess: Session, issuer_id: int, pairs: list[tuple[Contact, object]]) -> list[Reachability]:
    """:func:`lookup` for a page of one issuer's (contact, agreement or None) pairs, with the
    facts of the whole page read at once; the answers are the same as one by one."""
    contacts = [c for c, _a in pairs]
    facts = _Prefetched(sess, issuer_id, [c for c in contacts if _eligible(c)], {c.id: a for c, a in pairs})
    return [_lookup(facts, contact, agreement) for contact, agreement in pairs]


def _lookup(facts: _Reader, contact: Contact, agreement) -> Reachability:
    if not _eligible(contact):
        return Reachability(Route.NONE, "not_eligible")
    if agreement is _UNKNOWN:
        agreement = facts.agreement(contact)
    state = agreement.state if agreement else None
    if state is AgreementState.ACTIVE and agreement.consumer_id is not None:
        if facts.blocked(agreement.consumer_id, contact.issuer_id):
            return Reachability(Route.NONE, "blocked", agreement.consumer_id, (agreement.consumer_id,))
        return Reachability(Route.AGREEMENT, "agreement", agreement.consumer_id, (agreement.consumer_id,))
    if state in (AgreementState.DECLINED, AgreementState.STOPPED):
        return Reachability(Route.NONE, "declined", agreement.consumer_id)
    ids, how = _matching(facts, contact)
    if len(ids) > 1:
        return Reachability(Route.NONE, "ambiguous", None, tuple(ids))
    if not ids:
        return Reachability(Route.NONE, "no_match")
    consumer_id = ids[0]
    if facts.blocked(consumer_id, contact.issuer_id):
        return Reachability(Route.NONE, "blocked", consumer_id, (consumer_id,))
    if not facts.general_consent(consumer_id):
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

