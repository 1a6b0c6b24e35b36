"""Support area: staff accounts, search, status pages and the two actions support may take
(resend a consent request, retry a dead outbox row). Every lookup is recorded."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.agreements import general, reachability
from portal.agreements import services as agreements
from portal.agreements.general_models import (
    ConsumerAddress,
    GeneralConsent,
    GeneralConsentReceipt,
    IssuerBlock,
)
from portal.agreements.models import ConsentReceipt, ConsentRequest, Consumer, EFakturaAgreement
from portal.agreements.states import AgreementState
from portal.contacts.models import Contact
from portal.contacts.rules import efaktura_blockers
from portal.core import events, outbox, pagination
from portal.core.auth import (
    PasswordRefused,
    change_password,
    check_new_password,
    hash_password,
    verify_password,
)
from portal.core.db import utcnow
from portal.core.events import Actor, Event
from portal.core.formatting import local_time
from portal.core.identifiers import (
    InvalidIdentifier,
    mask_mobile,
    mask_national_id,
    parse_mobile_loose,
    validate_national_id,
    validate_org_number,
)
from portal.core.outbox import OutboxAction, OutboxKind, OutboxMessage, OutboxStatus
from portal.invoices import credit_notes
from portal.invoices import services as invoices
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceState
from portal.issuers.models import Issuer
from portal.support.models import SupportAudit, SupportUser

SEARCH_LIMIT = 10
AUDIT_PAGE_SIZE = 50
TIMELINE_LIMIT = 200
RESEND_FRESH = dt.timedelta(hours=24)
RESEND_WINDOW = dt.timedelta(days=7)
RESEND_MAX = 3


class SupportError(Exception):
    """An action support may not take now; ``message`` says why, for the support user."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message


def actor_for(user: SupportUser) -> Actor:
    return Actor("support", user.id, user.name or user.email)


def record(sess: Session, user: SupportUser, action: str, *, target_type: str | None = None,
           target_id: int | None = None, detail: str = "") -> SupportAudit:
    """One line in the support audit log."""
    row = SupportAudit(support_user_id=user.id, action=action, target_type=target_type,
                       target_id=target_id, detail=detail[:500])
    sess.add(row)
    sess.flush()
    return row


# --- accounts ----------------------------------------------------------------------------

def create_support_user(sess: Session, *, email: str, name: str, password: str) -> SupportUser:
    """A new support staff account. Raises SupportError (code, one-line English message for the
    operator) on bad input; nothing is saved then."""
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise SupportError("email", "the e-mail address is not valid") from None
    name = (name or "").strip()
    if not name:
        raise SupportError("name", "the name is missing")
    if len(name) > 200:
        raise SupportError("name", "the name is longer than 200 characters")
    _check_password_for_operator(password or "", email)
    if sess.scalar(select(SupportUser.id).where(func.lower(SupportUser.email) == email)) is not None:
        raise SupportError("duplicate", f"a support user with the e-mail {email} already exists")
    user = SupportUser(email=email, name=name, password_hash=hash_password(password))
    sess.add(user)
    sess.flush()
    return user


def _check_password_for_operator(password: str, email: str) -> None:
    """The staff password rule (portal.core.auth), its refusal in English for the command line."""
    try:
        check_new_password(password, email=email)
    except PasswordRefused as exc:
        with force_locale("en"):
            raise SupportError("password", str(exc.message)) from None


def _send_password_changed(sess: Session, user: SupportUser, how: str) -> OutboxMessage:
    """Tell the support user the password was changed (no secret in it; what to do if not them)."""
    prefix = f"support-password-changed:{user.id}:"
    n = outbox.count_caused(sess, prefix) + 1
    with force_locale("nb"):
        subject = _("Passordet ditt i kundestøtte er endret")
        how_text = (_("Det ble satt av en administrator.") if how == "admin"
                    else _("Det ble gjort av noen som var logget inn og kjente det gamle passordet."))
        text = (_("Hei %(name)s,", name=user.name or user.email) + "\n\n"
                + _("Passordet til kundestøttebrukeren %(email)s ble endret %(when)s (norsk tid).",
                    email=user.email, when=local_time(utcnow())) + " " + how_text + " "
                + _("Alle andre innlogginger med brukeren er avsluttet.") + "\n\n"
                + _("Var det deg, trenger du ikke gjøre noe.") + "\n\n"
                + _("Var det ikke deg, si fra til den som administrerer kundestøttebrukerne med en gang, "
                    "så de kan sette et nytt passord for deg."))
    return outbox.enqueue(sess, OutboxKind.EMAIL, prefix + str(n),
                          {"to": user.email, "subject": subject, "text": text,
                           "purpose": "password_changed"})


def change_own_password(sess: Session, user: SupportUser, new_password: str) -> None:
    """The logged-in support user sets a new password (the caller has checked the current one):
    every session of the account ends, and the owner gets an e-mail.
    PasswordRefused when the new password breaks the rule; nothing changes then."""
    check_new_password(new_password, email=user.email, current_hash=user.password_hash)
    change_password(sess, user, new_password)
    events.record(sess, actor_for(user), "support_user", user.id, "password_changed", data={"how": "change"})
    _send_password_changed(sess, user, "change")
    sess.flush()


def set_password_by_admin(sess: Session, email: str, new_password: str) -> SupportUser:
    """An administrator's reset (the command line): the support user with this e-mail gets a new
    password, every session of the account ends, and the owner is told by e-mail. Raises
    SupportError (code, one-line English message for the operator)."""
    user = sess.scalar(select(SupportUser).where(func.lower(SupportUser.email) == (email or "").strip().lower()))
    if user is None:
        raise SupportError("unknown", f"there is no support user with the e-mail {email.strip()}")
    _check_password_for_operator(new_password or "", user.email)
    change_password(sess, user, new_password)
    events.record(sess, Actor("system", None, "command line"), "support_user", user.id, "password_changed",
                  data={"how": "admin"})
    _send_password_changed(sess, user, "admin")
    sess.flush()
    return user


def authenticate(sess: Session, email: str, password: str) -> SupportUser | None:
    """The support user with this e-mail and password, or None (same time either way)."""
    user = sess.scalar(select(SupportUser).where(
        func.lower(SupportUser.email) == (email or "").strip().lower()))
    if not verify_password(user.password_hash if user else None, password or ""):
        return None
    return user


def _page(sess: Session, stmt, model, limit: int, cursor: str | None):
    """Newest first by (created_at, id); returns (rows, cursor of the next page or None)."""
    page = pagination.newest_first(sess, stmt, model, cursor=cursor, size=limit)
    return page.rows, page.next_cursor


# --- search ------------------------------------------------------------------------------

GROUPS = ("issuers", "contacts", "consumers", "invoices")


@dataclass
class Group:
    kind: str
    rows: list = field(default_factory=list)
    more: str | None = None  # cursor of the next page


@dataclass
class SearchResult:
    query: str
    understood: list[str] = field(default_factory=list)  # what the query was read as
    groups: dict[str, Group] = field(default_factory=dict)
    message: object | None = None  # calm explanation when nothing could be searched

    @property
    def total(self) -> int:
        return sum(len(g.rows) for g in self.groups.values())


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _audit_query_text(query: str, understood: list[str]) -> str:
    """The query as it may be written to the audit log: never a national identity number,
    phone numbers masked."""
    if "national_id" in understood or re.search(r"\d{6}\s*\d{5}", query):
        return "[" + mask_national_id(re.sub(r"\D", "", query)) + "]"
    if "mobile" in understood:
        return mask_mobile(query)
    return query[:200]


def search(sess: Session, user: SupportUser, query: str, *, only: str | None = None,
           cursor: str | None = None, limit: int = SEARCH_LIMIT) -> SearchResult:
    """Search everything support may look up, and record the search.

    ``only`` (one of GROUPS) with ``cursor`` asks for the next page of one group."""
    query = (query or "").strip()[:200]
    result = SearchResult(query=query)
    if only not in GROUPS:
        only, cursor = None, None
    after = cursor if only else None
    if not query:
        result.message = _l("Skriv noe i søkefeltet: et mobilnummer, en e-postadresse, et fakturanummer, "
                            "et bedriftsnavn, et organisasjonsnummer eller et fødselsnummer.")
        return result

    def wanted(kind):
        return (only is None or only == kind)
    digits = re.sub(r"[\s.\-]", "", query)

    # A national identity number (11 digits) of a BankID-verified consumer.
    nnin_hash = None
    if re.fullmatch(r"\d{11}", digits):
        try:
            nnin_hash = agreements.national_id_hash(validate_national_id(digits, allow_synthetic=True))
            result.understood.append("national_id")
        except InvalidIdentifier as exc:
            result.message = exc.message
    mobile = parse_mobile_loose(query) if nnin_hash is None else None
    if mobile:
        result.understood.append("mobile")
    email = query.lower() if "@" in query and " " not in query else None
    if email:
        result.understood.append("email")
    org_number = None
    if re.fullmatch(r"\d{9}", digits):
        try:
            org_number = validate_org_number(digits)
            result.understood.append("org_number")
        except InvalidIdentifier:
            pass
    eleven_digits = re.fullmatch(r"\d{11}", digits) is not None
    text = query if len(query) >= 2 and not (email or mobile or eleven_digits) else None
    if text:
        result.understood.append("text")

    if wanted("issuers") and (org_number or text):
        conds = []
        if org_number:
            conds.append(Issuer.org_number == org_number)
        if text:
            conds.append(Issuer.name.ilike(_like(text), escape="\\"))
        rows, more = _page(sess, select(Issuer).where(or_(*conds)), Issuer, limit, after)
        result.groups["issuers"] = Group("issuers", rows, more)
    if wanted("contacts") and (mobile or email or org_number):
        conds = []
        if mobile:
            conds.append(Contact.mobile == mobile)
        if email:
            conds.append(func.lower(Contact.email) == email)
        if org_number:
            conds.append(Contact.org_number == org_number)
        rows, more = _page(sess, select(Contact).where(or_(*conds)), Contact, limit, after)
        result.groups["contacts"] = Group("contacts", rows, more)
    if wanted("consumers") and nnin_hash:
        rows, more = _page(sess, select(Consumer).where(Consumer.nnin_hash == nnin_hash), Consumer, limit, after)
        result.groups["consumers"] = Group("consumers", rows, more)
    if wanted("invoices") and query and len(query) <= 30 and not eleven_digits:
        rows, more = _page(sess, select(Invoice).where(Invoice.number == query), Invoice, limit, after)
        if rows or only == "invoices":
            result.groups["invoices"] = Group("invoices", rows, more)
    result.groups = {k: v for k, v in result.groups.items() if v.rows or only == k}

    if not result.groups and result.message is None:
        result.message = _l("Vi fant ingen treff. Sjekk skrivemåten, eller søk på noe annet: mobilnummer, "
                            "e-post, fakturanummer, bedriftsnavn, organisasjonsnummer eller fødselsnummer.")
    detail = _audit_query_text(query, result.understood)
    if only:
        detail += f" ({only})"
    record(sess, user, "search", detail=f"{detail} → {result.total}")
    return result


# --- timelines ---------------------------------------------------------------------------

def timeline(sess: Session, *, contact_id: int | None = None, invoice_id: int | None = None,
             issuer_id: int | None = None, limit: int = TIMELINE_LIMIT) -> list[Event]:
    """Events about one contact, invoice or issuer, oldest first (the latest ``limit``)."""
    stmt = select(Event)
    if contact_id is not None:
        stmt = stmt.where(Event.contact_id == contact_id)
    elif invoice_id is not None:
        stmt = stmt.where(Event.invoice_id == invoice_id)
    elif issuer_id is not None:
        stmt = stmt.where(Event.issuer_id == issuer_id)
    rows = list(sess.scalars(stmt.order_by(Event.created_at.desc(), Event.id.desc()).limit(limit)))
    rows.reverse()
    return rows


# --- resend a consent request ------------------------------------------------------------

def resend_refusals(sess: Session, contact: Contact) -> list:
    """Every reason a consent request cannot be sent again now (empty when it can)."""
    reasons = []
    issuer = contact.issuer
    if not issuer.is_active:
        reasons.append(_l("Bedriften er ikke aktivert for eFaktura (utstederavtalen er ikke godkjent)."))
    reasons.extend(b.message for b in efaktura_blockers(contact, issuer) if b.code != "issuer_inactive")
    agreement = agreements.agreement_for(sess, contact)
    state = agreement.state if agreement else None
    if state is AgreementState.DECLINED:
        reasons.append(_l("Forbrukeren har takket nei til eFaktura fra denne bedriften. Vi spør ikke igjen "
                          "med mindre forbrukeren selv ombestemmer seg i portalen."))
    elif state is AgreementState.STOPPED:
        reasons.append(_l("Forbrukeren har stoppet avtalen om eFaktura fra denne bedriften. Vi spør ikke igjen "
                          "med mindre forbrukeren selv ombestemmer seg i portalen."))
    elif state is AgreementState.ACTIVE:
        reasons.append(_l("Avtalen er allerede aktiv; det trengs ikke noe nytt samtykke."))
    found = reachability.lookup(sess, contact)
    if found.reason == "blocked" and state is not AgreementState.ACTIVE:
        reasons.append(_l("Personen har sperret eFaktura fra denne bedriften i nettbanken, og skal ikke spørres."))
    elif found.route is reachability.Route.GENERAL_CONSENT:
        reasons.append(_l("Personen har sagt ja til eFaktura fra alle i nettbanken; det trengs ikke noe samtykke."))
    now = utcnow()
    last = sess.scalar(select(func.max(ConsentRequest.created_at)).where(ConsentRequest.contact_id == contact.id))
    if last is not None:
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        if now - last < RESEND_FRESH:
            reasons.append(_l("Forrige forespørsel ble sendt for mindre enn 24 timer siden og er fortsatt fersk. "
                              "Gi forbrukeren tid til å svare før du sender på nytt."))
    recent = sess.scalar(select(func.count(ConsentRequest.id)).where(
        ConsentRequest.contact_id == contact.id, ConsentRequest.trigger == "support",
        ConsentRequest.created_at > now - RESEND_WINDOW)) or 0
    if recent >= RESEND_MAX:
        reasons.append(_l("Kundestøtte har allerede sendt forespørselen på nytt %(n)s ganger de siste sju dagene. "
                          "Vent før du prøver igjen.", n=RESEND_MAX))
    return reasons


def resend_consent(sess: Session, user: SupportUser, contact_id: int) -> ConsentRequest:
    """Send the consent request (SMS + e-mail) again. Raises SupportError when not allowed."""
    contact = sess.get(Contact, contact_id)
    if contact is None:
        raise LookupError(contact_id)
    reasons = resend_refusals(sess, contact)
    if reasons:
        record(sess, user, "resend_refused", target_type="contact", target_id=contact.id,
               detail="; ".join(str(r) for r in reasons))
        raise SupportError("refused", reasons)
    actor = actor_for(user)
    req = agreements.request_consent(sess, contact, actor, trigger="support")
    events.record(sess, actor, "contact", contact.id, "support_resend_consent", issuer_id=contact.issuer_id,
                  contact_id=contact.id, data={"consent_request_id": req.id})
    record(sess, user, "resend", target_type="contact", target_id=contact.id,
           detail=f"consent_request {req.id}")
    sess.flush()
    return req


# --- retry a dead outbox row -------------------------------------------------------------

INVOICE_DELIVERY_KINDS = (OutboxKind.NETTBANK, OutboxKind.POST, OutboxKind.INVOICE_EMAIL)


def _is_invoice_delivery(msg: OutboxMessage) -> bool:
    return msg.kind in INVOICE_DELIVERY_KINDS and msg.invoice_id is not None


def retry_outbox(sess: Session, user: SupportUser, message_id: int) -> OutboxMessage:
    """Put a dead outbox row back to work after its cause was fixed.

    A failed invoice delivery is retried through the invoice (a new outbox row; the dead one
    is kept as cancelled history). Returns the row that will now be worked."""
    msg = sess.get(OutboxMessage, message_id)
    if msg is None:
        raise LookupError(message_id)
    if msg.status is not OutboxStatus.DEAD:
        raise SupportError("not_dead", _l("Denne meldingen har ikke gitt opp, så den kan ikke prøves på nytt."))
    actor = actor_for(user)
    common = {"issuer_id": msg.issuer_id, "contact_id": msg.contact_id, "invoice_id": msg.invoice_id}
    target = msg
    if _is_invoice_delivery(msg):
        inv = sess.get(Invoice, msg.invoice_id)
        if inv.state is InvoiceState.DELIVERED:
            raise SupportError("delivered", _l("Fakturaen er allerede levert. Ingenting ble sendt på nytt."))
        if inv.state is InvoiceState.FAILED:
            invoices.retry(sess, inv, actor)
            outbox.move(msg, OutboxAction.SUPERSEDE)
            target = sess.scalar(select(OutboxMessage).where(
                OutboxMessage.invoice_id == inv.id, OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind.in_(INVOICE_DELIVERY_KINDS)).order_by(OutboxMessage.id.desc())) or msg
    if target is msg:
        outbox.move(msg, OutboxAction.RETRY)
    events.record(sess, actor, "outbox", msg.id, "support_retry", from_state=OutboxStatus.DEAD.value,
                  to_state=msg.status.value, data={"kind": msg.kind.value, "new_outbox_id": target.id}, **common)
    record(sess, user, "retry", target_type="outbox", target_id=msg.id, detail=f"{msg.kind.value} → {target.id}")
    sess.flush()
    return target


# --- status pages ------------------------------------------------------------------------

@dataclass
class ConsentRound:
    request: ConsentRequest
    messages: list[OutboxMessage]


@dataclass
class ContactStatus:
    contact: Contact
    issuer: Issuer
    blockers: list
    agreement: EFakturaAgreement | None
    rounds: list[ConsentRound]
    receipts: list[ConsentReceipt]
    invoices: list[Invoice]
    refusals: list
    timeline: list[Event]
    revealed: bool = False
    reach: reachability.Reachability | None = None

    @property
    def eligible(self) -> bool:
        return not self.blockers and not (self.agreement and self.agreement.state in
                                          (AgreementState.DECLINED, AgreementState.STOPPED))


def contact_status(sess: Session, user: SupportUser, contact_id: int, *, reveal: bool = False) -> ContactStatus | None:
    """Everything support needs about one contact; records the look (and a reveal)."""
    contact = sess.get(Contact, contact_id)
    if contact is None:
        return None
    issuer = contact.issuer
    agreement = agreements.agreement_for(sess, contact)
    blockers = [b.message for b in efaktura_blockers(contact, issuer)]
    if agreement is not None and agreement.state is AgreementState.DECLINED:
        blockers.append(_l("Forbrukeren har takket nei til eFaktura fra denne bedriften."))
    if agreement is not None and agreement.state is AgreementState.STOPPED:
        blockers.append(_l("Forbrukeren har stoppet avtalen om eFaktura fra denne bedriften."))
    requests = list(sess.scalars(select(ConsentRequest).where(ConsentRequest.contact_id == contact.id)
                                 .order_by(ConsentRequest.created_at.desc(), ConsentRequest.id.desc()).limit(50)))
    msgs: dict[int, list[OutboxMessage]] = {}
    if requests:
        for m in sess.scalars(select(OutboxMessage).where(
                OutboxMessage.consent_request_id.in_([r.id for r in requests]),
                OutboxMessage.kind.in_((OutboxKind.SMS, OutboxKind.EMAIL))).order_by(OutboxMessage.id)):
            msgs.setdefault(m.consent_request_id, []).append(m)
    receipts = []
    if agreement is not None:
        receipts = list(sess.scalars(select(ConsentReceipt).where(ConsentReceipt.agreement_id == agreement.id)
                                     .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc())))
    invs = list(sess.scalars(select(Invoice).where(Invoice.contact_id == contact.id)
                             .order_by(Invoice.created_at.desc(), Invoice.id.desc()).limit(100)))
    if reveal:
        record(sess, user, "reveal", target_type="contact", target_id=contact.id, detail="mobile")
    else:
        record(sess, user, "view", target_type="contact", target_id=contact.id)
    return ContactStatus(contact=contact, issuer=issuer, blockers=blockers, agreement=agreement,
                         rounds=[ConsentRound(r, msgs.get(r.id, [])) for r in requests], receipts=receipts,
                         invoices=invs, refusals=resend_refusals(sess, contact),
                         timeline=timeline(sess, contact_id=contact.id), revealed=reveal,
                         reach=reachability.lookup(sess, contact))


@dataclass
class InvoiceStatus:
    invoice: Invoice
    route: list[Event]
    outbox: list[OutboxMessage]
    timeline: list[Event]
    credit_notes: list[Invoice] = field(default_factory=list)  # of an invoice: the credit notes that correct it


def invoice_status(sess: Session, user: SupportUser, invoice_id: int) -> InvoiceStatus | None:
    inv = sess.get(Invoice, invoice_id)
    if inv is None:
        return None
    line = timeline(sess, invoice_id=inv.id)
    route = [e for e in line if e.subject_type == "invoice" and e.action in ("issue", "hold", "release", "retry")]
    rows = list(sess.scalars(select(OutboxMessage).where(OutboxMessage.invoice_id == inv.id)
                             .order_by(OutboxMessage.id)))
    record(sess, user, "view", target_type="invoice", target_id=inv.id, detail=inv.number)
    return InvoiceStatus(invoice=inv, route=route, outbox=rows, timeline=line,
                         credit_notes=credit_notes.credit_notes_of(sess, inv))


@dataclass
class IssuerStatus:
    issuer: Issuer
    counts: dict[str, int]
    dead: list[OutboxMessage]
    timeline: list[Event]


def issuer_status(sess: Session, user: SupportUser, issuer_id: int) -> IssuerStatus | None:
    issuer = sess.get(Issuer, issuer_id)
    if issuer is None:
        return None
    counts = {state.value: 0 for state in InvoiceState}
    for state, n in sess.execute(select(Invoice.state, func.count(Invoice.id))
                                 .where(Invoice.issuer_id == issuer.id).group_by(Invoice.state)):
        counts[state.value] = n
    dead = list(sess.scalars(select(OutboxMessage).where(OutboxMessage.issuer_id == issuer.id,
                                                         OutboxMessage.status == OutboxStatus.DEAD)
                             .order_by(OutboxMessage.id.desc()).limit(100)))
    record(sess, user, "view", target_type="issuer", target_id=issuer.id, detail=issuer.name[:200])
    return IssuerStatus(issuer=issuer, counts=counts, dead=dead, timeline=timeline(sess, issuer_id=issuer.id))


@dataclass
class ConsumerStatus:
    consumer: Consumer
    contacts: list[Contact]
    agreements: list[EFakturaAgreement]
    receipts: list[ConsentReceipt]
    general_consent: GeneralConsent | None = None
    blocks: list[IssuerBlock] = field(default_factory=list)
    addresses: list[ConsumerAddress] = field(default_factory=list)
    general_receipts: list[GeneralConsentReceipt] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)


def consumer_status(sess: Session, user: SupportUser, consumer_id: int) -> ConsumerStatus | None:
    consumer = sess.get(Consumer, consumer_id)
    if consumer is None:
        return None
    contacts = list(sess.scalars(select(Contact).where(Contact.consumer_id == consumer.id).order_by(Contact.id)))
    agrs = list(sess.scalars(select(EFakturaAgreement).where(EFakturaAgreement.consumer_id == consumer.id)
                             .order_by(EFakturaAgreement.id)))
    receipts = list(sess.scalars(select(ConsentReceipt).where(ConsentReceipt.consumer_id == consumer.id)
                                 .order_by(ConsentReceipt.decided_at.desc(), ConsentReceipt.id.desc())))
    record(sess, user, "view", target_type="consumer", target_id=consumer.id)
    line = list(sess.scalars(select(Event).where(Event.subject_type == "consumer", Event.subject_id == consumer.id)
                             .order_by(Event.created_at.desc(), Event.id.desc()).limit(TIMELINE_LIMIT)))
    line.reverse()
    return ConsumerStatus(consumer=consumer, contacts=contacts, agreements=agrs, receipts=receipts,
                          general_consent=general.consent_of(sess, consumer.id),
                          blocks=general.blocks_of(sess, consumer.id),
                          addresses=general.addresses_of(sess, consumer.id),
                          general_receipts=general.receipts_of(sess, consumer.id), timeline=line)


# --- the audit log -----------------------------------------------------------------------

def audit_page(sess: Session, user: SupportUser, cursor: str | None):
    """One page of the audit log, newest first; opening it is recorded too."""
    record(sess, user, "view", target_type="audit")
    stmt = select(SupportAudit)
    rows, more = _page(sess, stmt, SupportAudit, AUDIT_PAGE_SIZE, cursor)
    users = {u.id: u for u in sess.scalars(select(SupportUser).where(
        SupportUser.id.in_({r.support_user_id for r in rows})))} if rows else {}
    return rows, more, users


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config["PORTAL"]["SUPPORT_IDLE_MINUTES"]))
