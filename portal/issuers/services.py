"""Issuer accounts, B2C activation and the issuer agreement (SPEC flows A, B and H)."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core import events, outbox
from portal.core.auth import (
    PasswordRefused,
    change_password,
    check_new_password,
    hash_password,
    throttle,
    verify_password,
)
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.formatting import local_time
from portal.core.names import same_person
from portal.core.outbox import OutboxKind, OutboxMessage, enqueue
from portal.core.sessions import password_stamp
from portal.core.tokens import (
    LinkError,
    LinkProblem,
    Purpose,
    is_used,
    make_token,
    mark_used,
    read_token,
    verify_token,
)
from portal.issuers import register, signals
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.issuers.states import IssuerAgreementAction, IssuerAgreementState, next_state

APPROVER_PATH = "/utstederavtale/"
VERIFY_PATH = "/utsteder/bekreft-epost/"
LOGIN_PATH = "/utsteder/logg-inn"
RESET_PATH = "/utsteder/nytt-passord/"
FORGOT_PATH = "/utsteder/glemt-passord"


def staff_actor(user: IssuerUser) -> Actor:
    return Actor("issuer_user", user.id, user.name or user.email)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


class SignupError(Exception):
    """Sign-up refused; ``field`` names the input that is wrong (None: the whole form)."""

    def __init__(self, field: str | None, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SignupOutcome:
    """``user`` is the new staff user; ``duplicate`` names what already existed instead
    (``"email"`` or ``"org_number"``), in which case nothing was created."""

    user: IssuerUser | None
    duplicate: str | None = None


_STATUS_REFUSAL = {
    register.UnitStatus.DELETED: _l("Enheten er slettet i Enhetsregisteret, og kan ikke registreres."),
    register.UnitStatus.BANKRUPT: _l("Enheten er konkurs ifølge Enhetsregisteret, og kan ikke registreres."),
    register.UnitStatus.LIQUIDATING: _l("Enheten er under avvikling ifølge Enhetsregisteret, og kan ikke registreres."),
}


def registered_unit(org_number: str) -> register.Unit:
    """The unit from the business register when it may sign up; SignupError otherwise."""
    try:
        unit = register.lookup_unit(org_number)
    except register.UnitNotFound:
        raise SignupError("org_number", _l("Enhetsregisteret kjenner ikke dette organisasjonsnummeret. "
                                           "Sjekk at du har skrevet det riktig.")) from None
    except register.RegisterUnavailable:
        raise SignupError(None, _l("Enhetsregisteret svarer ikke akkurat nå, så vi kan ikke sjekke bedriften. "
                                   "Ingenting er lagret. Prøv igjen om litt.")) from None
    refusal = _STATUS_REFUSAL.get(unit.status)
    if refusal is not None:
        raise SignupError("org_number", refusal)
    return unit


def create_issuer(sess: Session, *, org_number: str, admin_name: str, email: str, password: str,
                  account_number: str | None = None, uses_avtalegiro: bool = False,
                  verified: bool = False, notify_duplicates: bool = True) -> SignupOutcome:
    """A new issuer with its first staff user; name and address come from the business register.

    The unit must exist and be active (not deleted, bankrupt or under liquidation); a register
    that does not answer refuses the sign-up. An e-mail or organisation number that already
    has an account creates nothing: with ``notify_duplicates`` that address gets an e-mail
    saying so, and the caller shows the same answer as for a new account (so the page does
    not tell a stranger who has an account). A new user must confirm the e-mail address
    before logging in, unless ``verified`` (the operator's command)."""
    email = normalize_email(email)
    try:
        check_new_password(password, email=email)
    except PasswordRefused as exc:
        raise SignupError("password", exc.message) from None
    duplicate = None
    if sess.scalar(select(IssuerUser.id).where(IssuerUser.email == email)) is not None:
        duplicate = "email"
    elif sess.scalar(select(Issuer.id).where(Issuer.org_number == org_number)) is not None:
        duplicate = "org_number"
    if duplicate is not None:
        if notify_duplicates:
            _send_account_exists(sess, email, duplicate)
        return SignupOutcome(None, duplicate)
    unit = registered_unit(org_number)
    issuer = Issuer(name=unit.name, org_number=org_number, address_line=unit.address_line[:200],
                    postal_code=unit.postal_code[:10], city=unit.city[:100],
                    account_number=account_number or None, uses_avtalegiro=uses_avtalegiro,
                    vat_registered=unit.vat_registered)
    sess.add(issuer)
    sess.flush()
    user = IssuerUser(issuer_id=issuer.id, email=email, name=admin_name.strip(),
                      password_hash=hash_password(password), email_verified_at=utcnow() if verified else None)
    sess.add(user)
    sess.flush()
    events.record(sess, staff_actor(user), "issuer", issuer.id, "create", issuer_id=issuer.id,
                  data={"user_id": user.id, "register_name": unit.name})
    if not verified:
        send_verification_link(sess, user)
    return SignupOutcome(user)


_URL = re.compile(r"https?://[^\s<>\"]+")


def _link(match: re.Match) -> str:
    return f'<a href="{match.group(0)}">{match.group(0)}</a>'


def _mail(sess: Session, key: str, to: str, subject: str, text: str, purpose: str,
          issuer_id: int | None = None) -> OutboxMessage:
    html = "".join(f"<p>{_URL.sub(_link, str(escape(part)))}</p>" for part in text.split("\n\n"))
    return enqueue(sess, OutboxKind.EMAIL, key, {"to": to, "subject": subject, "text": text, "html": html,
                                                 "purpose": purpose}, issuer_id=issuer_id)


def _send_account_exists(sess: Session, email: str, duplicate: str) -> None:
    login_url = current_app.config["PORTAL"]["BASE_URL"] + LOGIN_PATH
    with force_locale("nb"):
        subject = _("Du har allerede en konto")
        if duplicate == "email":
            body = _("Noen prøvde å registrere en ny bedrift med denne e-postadressen, men adressen har "
                     "allerede en bruker hos oss. Logg inn her: %(url)s", url=login_url)
        else:
            body = _("Noen prøvde å registrere en bedrift som allerede har en konto hos oss, med denne "
                     "e-postadressen. Spør den som registrerte bedriften om å gi deg tilgang, "
                     "eller logg inn her: %(url)s", url=login_url)
        text = body + "\n\n" + _("Var det ikke deg, kan du se bort fra denne e-posten.")
    _mail(sess, f"signup-exists:{secrets.token_urlsafe(12)}", email, subject, text, "account_exists")


def send_verification_link(sess: Session, user: IssuerUser) -> OutboxMessage:
    """An e-mail with a signed, single-use link that confirms the address."""
    prefix = f"email-verify:{user.id}:"
    n = outbox.count_caused(sess, prefix) + 1
    token = make_token(Purpose.EMAIL, {"u": user.id, "e": user.email})
    url = current_app.config["PORTAL"]["BASE_URL"] + VERIFY_PATH + token
    hours = int(current_app.config["PORTAL"]["EMAIL_LINK_MAX_AGE"]) // 3600
    with force_locale("nb"):
        subject = _("Bekreft e-postadressen din")
        text = (_("Hei %(name)s,", name=user.name or user.email) + "\n\n"
                + _("Bekreft e-postadressen din for å ta i bruk kontoen for %(issuer)s:",
                    issuer=user.issuer.name) + "\n\n" + url + "\n\n"
                + _("Lenken gjelder i %(hours)s timer og kan brukes én gang.", hours=hours))
    msg = _mail(sess, prefix + str(n), user.email, subject, text, "email_verification", issuer_id=user.issuer_id)
    events.record(sess, staff_actor(user), "issuer_user", user.id, "verification_sent", issuer_id=user.issuer_id)
    return msg


class EmailLinkError(Exception):
    def __init__(self, problem: LinkProblem, user: IssuerUser | None = None):
        super().__init__(problem.value)
        self.problem = problem
        self.user = user


def verify_email(sess: Session, token: str) -> IssuerUser:
    """Use the confirmation link once: the user may log in from now on."""
    try:
        link = read_token(sess, Purpose.EMAIL, token)
    except LinkError as exc:
        raise EmailLinkError(exc.problem) from None
    user = sess.get(IssuerUser, link.payload.get("u")) if isinstance(link.payload.get("u"), int) else None
    if user is None or user.email != link.payload.get("e"):
        raise EmailLinkError(LinkProblem.INVALID)
    try:
        mark_used(sess, Purpose.EMAIL, link)
    except LinkError:
        raise EmailLinkError(LinkProblem.USED, user) from None
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        events.record(sess, staff_actor(user), "issuer_user", user.id, "email_verified", issuer_id=user.issuer_id)
    sess.flush()
    return user


def authenticate(sess: Session, email: str, password: str) -> IssuerUser | None:
    """The user when e-mail and password match; None otherwise (same work either way)."""
    user = sess.scalar(select(IssuerUser).where(IssuerUser.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password or ""):
        return None
    return user


# ---------------------------------------------------------------------------------------------
# Passwords: a change by the logged-in user, and a new one through a link sent by e-mail
# ---------------------------------------------------------------------------------------------

def _reset_stamp(user: IssuerUser) -> str:
    """A keyed digest of the password hash now (as the session stamp, shortened for the link): a
    link made before a later change of password, by any means, no longer matches."""
    return (password_stamp(user.password_hash) or "")[:16]


def _send_password_changed(sess: Session, user: IssuerUser, how: str) -> OutboxMessage:
    """Tell the account owner that the password was changed: no secret, and what to do if it was
    not them."""
    prefix = f"password-changed:{user.id}:"
    n = outbox.count_caused(sess, prefix) + 1
    forgot_url = current_app.config["PORTAL"]["BASE_URL"] + FORGOT_PATH
    with force_locale("nb"):
        subject = _("Passordet ditt er endret")
        how_text = (_("Det ble gjort med en lenke for nytt passord sendt til denne adressen.") if how == "reset"
                    else _("Det ble gjort av noen som var logget inn og kjente det gamle passordet."))
        text = (_("Hei %(name)s,", name=user.name or user.email) + "\n\n"
                + _("Passordet til brukeren %(email)s for %(issuer)s ble endret %(when)s (norsk tid).",
                    email=user.email, issuer=user.issuer.name, when=local_time(utcnow())) + " " + how_text
                + " " + _("Alle andre innlogginger med brukeren er avsluttet.") + "\n\n"
                + _("Var det deg, trenger du ikke gjøre noe.") + "\n\n"
                + _("Var det ikke deg, kan noen andre ha passordet ditt eller tilgang til e-posten din. "
                    "Lag et nytt passord med en gang her: %(url)s – og sjekk at ingen andre kan lese "
                    "e-posten din.", url=forgot_url))
    return _mail(sess, prefix + str(n), user.email, subject, text, "password_changed", issuer_id=user.issuer_id)


def change_own_password(sess: Session, user: IssuerUser, new_password: str) -> None:
    """The logged-in user sets a new password (the caller has checked the current one): every
    session of the account ends, and the owner gets an e-mail. PasswordRefused when the new
    password breaks the rule; nothing changes then."""
    check_new_password(new_password, email=user.email, current_hash=user.password_hash)
    change_password(sess, user, new_password)
    events.record(sess, staff_actor(user), "issuer_user", user.id, "password_changed",
                  issuer_id=user.issuer_id, data={"how": "change"})
    _send_password_changed(sess, user, "change")
    sess.flush()


def request_password_reset(sess: Session, email: str) -> OutboxMessage | None:
    """E-mail a signed, single-use link for a new password when ``email`` has an account; nothing
    otherwise. The caller answers the same either way (and the same work is done up to the
    e-mail), so the answer does not tell who has an account."""
    user = sess.scalar(select(IssuerUser).where(IssuerUser.email == normalize_email(email)))
    token = make_token(Purpose.PASSWORD_RESET, {"u": user.id if user else 0,
                                                "p": _reset_stamp(user) if user else ""})
    if user is None:
        return None
    prefix = f"password-reset:{user.id}:"
    n = outbox.count_caused(sess, prefix) + 1
    url = current_app.config["PORTAL"]["BASE_URL"] + RESET_PATH + token
    minutes = max(1, int(current_app.config["PORTAL"]["PASSWORD_RESET_LINK_MAX_AGE"]) // 60)
    with force_locale("nb"):
        subject = _("Lag et nytt passord")
        text = (_("Hei %(name)s,", name=user.name or user.email) + "\n\n"
                + _("Noen har bedt om å lage et nytt passord for brukeren %(email)s for %(issuer)s. "
                    "Åpne lenken for å velge et nytt passord:", email=user.email, issuer=user.issuer.name)
                + "\n\n" + url + "\n\n"
                + _("Lenken gjelder i %(minutes)s minutter og kan brukes én gang. Den slutter også å virke "
                    "hvis passordet blir endret på annen måte.", minutes=minutes) + "\n\n"
                + _("Ba du ikke om dette, kan du se bort fra e-posten: passordet ditt er ikke endret."))
    msg = _mail(sess, prefix + str(n), user.email, subject, text, "password_reset", issuer_id=user.issuer_id)
    events.record(sess, staff_actor(user), "issuer_user", user.id, "password_reset_sent", issuer_id=user.issuer_id)
    sess.flush()
    return msg


class PasswordLinkError(Exception):
    """A link for a new password that cannot be used: ``problem`` is expired, used, invalid or
    changed (the password was changed after the link was made)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def _reset_user(sess: Session, payload: dict) -> IssuerUser:
    uid = payload.get("u")
    user = sess.get(IssuerUser, uid) if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0 else None
    if user is None:
        raise PasswordLinkError("invalid")
    if not hmac.compare_digest(str(payload.get("p") or ""), _reset_stamp(user)):
        raise PasswordLinkError("changed")
    return user


def check_reset_link(sess: Session, token: str) -> IssuerUser:
    """The user a link for a new password is for, without using the link up (opening it only
    shows the form: mail scanners open links too)."""
    try:
        link = verify_token(Purpose.PASSWORD_RESET, token)
    except LinkError as exc:
        raise PasswordLinkError(exc.problem.value) from None
    if is_used(sess, link.jti):
        raise PasswordLinkError(LinkProblem.USED.value)
    return _reset_user(sess, link.payload)


def reset_password(sess: Session, token: str, new_password: str) -> IssuerUser:
    """Use a link for a new password once: the password is set, every session of the account
    ends (nobody is logged in by it), the owner gets an e-mail, and an address not yet confirmed
    counts as confirmed (the link proves the mailbox). PasswordLinkError when the link cannot be
    used; PasswordRefused when the password breaks the rule (the link stays usable then)."""
    try:
        link = read_token(sess, Purpose.PASSWORD_RESET, token)
    except LinkError as exc:
        raise PasswordLinkError(exc.problem.value) from None
    user = _reset_user(sess, link.payload)
    check_new_password(new_password, email=user.email, current_hash=user.password_hash)
    try:
        mark_used(sess, Purpose.PASSWORD_RESET, link)
    except LinkError:
        raise PasswordLinkError(LinkProblem.USED.value) from None
    change_password(sess, user, new_password)
    # Earlier wrong guesses (often the owner's own) no longer hold the new password up.
    throttle.clear(sess, "issuer", user.email)
    actor = staff_actor(user)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        events.record(sess, actor, "issuer_user", user.id, "email_verified", issuer_id=user.issuer_id,
                      data={"by": "password_reset"})
    events.record(sess, actor, "issuer_user", user.id, "password_changed", issuer_id=user.issuer_id,
                  data={"how": "reset"})
    _send_password_changed(sess, user, "reset")
    sess.flush()
    return user


# ---------------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# B2C activation
# ---------------------------------------------------------------------------------------------

class ActivationError(Exception):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _agreement_move(sess: Session, agr: IssuerAgreement, action: IssuerAgreementAction, actor: Actor,
                    data: dict | None = None) -> None:
    before = agr.state
    agr.state = next_state(before, action)
    events.record(sess, actor, "issuer_agreement", agr.id, action.value,
                  from_state=before.value if before else None, to_state=agr.state.value,
                  issuer_id=agr.issuer_id, data=data)


def request_activation(sess: Session, issuer: Issuer, user: IssuerUser, *, approver_name: str,
                       approver_email: str, stop_avtalegiro: bool, preview) -> IssuerAgreement:
    """Ask the named person to approve the issuer agreement; a pending request is withdrawn.

    ``preview`` says what approval will do (``portal.agreements.services.activation_preview``);
    it is recorded with the request and shown to the approver."""
    if issuer.is_active:
        raise ActivationError(_l("B2C er allerede aktivert for denne bedriften."))
    if issuer.uses_avtalegiro and not stop_avtalegiro:
        raise ActivationError(_l("Du må velge å stoppe AvtaleGiro for å aktivere eFaktura B2C."))
    actor = staff_actor(user)
    old = issuer.pending_agreement
    if old is not None:
        _agreement_move(sess, old, IssuerAgreementAction.WITHDRAW, actor, data={"reason": "replaced"})
    agr = IssuerAgreement(issuer_id=issuer.id, approver_name=approver_name.strip(),
                          approver_email=normalize_email(approver_email),
                          state=next_state(None, IssuerAgreementAction.REQUEST),
                          stop_avtalegiro=bool(stop_avtalegiro and issuer.uses_avtalegiro),
                          requested_by_id=user.id, requested_at=utcnow())
    sess.add(agr)
    issuer.agreements.append(agr)
    sess.flush()
    events.record(sess, actor, "issuer_agreement", agr.id, IssuerAgreementAction.REQUEST.value,
                  to_state=agr.state.value, issuer_id=issuer.id,
                  data={"approver": agr.approver_email, "third_party_agreements": preview.third_party_agreements,
                        "stop_avtalegiro": agr.stop_avtalegiro})
    send_approver_link(sess, agr, actor, preview)
    return agr


def approver_url(token: str) -> str:
    return current_app.config["PORTAL"]["BASE_URL"] + APPROVER_PATH + token


def send_approver_link(sess: Session, agr: IssuerAgreement, actor: Actor, preview) -> OutboxMessage:
    """One e-mail with a fresh signed link; every sending has its own outbox key."""
    if agr.state is not IssuerAgreementState.PENDING:
        raise ActivationError(_l("Utstederavtalen venter ikke på godkjenning, så lenken kan ikke sendes."))
    prefix = f"issuer-agreement:{agr.id}:"
    n = outbox.count_caused(sess, prefix) + 1
    token = make_token(Purpose.APPROVER, {"ia": agr.id})
    issuer = agr.issuer
    max_days = int(current_app.config["PORTAL"]["APPROVER_LINK_MAX_AGE"]) // 86400
    ctx = {"issuer": issuer, "agreement": agr, "url": approver_url(token), "preview": preview,
           "days": max_days}
    with force_locale("nb"):
        subject = render_template("messages/approver_email_subject.txt", **ctx).strip()
        text = render_template("messages/approver_email.txt", **ctx)
        html = render_template("messages/approver_email.html", **ctx)
    msg = enqueue(sess, OutboxKind.EMAIL, prefix + str(n),
                  {"to": agr.approver_email, "subject": subject, "text": text, "html": html,
                   "purpose": "issuer_agreement"}, issuer_id=issuer.id)
    agr.link_sent_at = utcnow()
    events.record(sess, actor, "issuer_agreement", agr.id, "link_sent", issuer_id=issuer.id,
                  data={"to": agr.approver_email, "sending": n})
    sess.flush()
    return msg


def resend_approver_link(sess: Session, issuer: Issuer, user: IssuerUser, preview) -> OutboxMessage:
    agr = issuer.pending_agreement
    if agr is None:
        raise ActivationError(_l("Ingen utstederavtale venter på godkjenning."))
    return send_approver_link(sess, agr, staff_actor(user), preview)


class ApproverLinkProblem(enum.Enum):
    EXPIRED = "expired"
    USED = "used"
    INVALID = "invalid"
    WITHDRAWN = "withdrawn"
    APPROVED = "approved"  # a link of an agreement already approved through another link
    DECLINED = "declined"  # the agreement was declined
    CHANGED = "changed"  # the text shown is no longer the agreement's (reload the page)


class ApproverLinkError(Exception):
    def __init__(self, problem: ApproverLinkProblem, agreement: IssuerAgreement | None = None):
        super().__init__(problem.value)
        self.problem = problem
        self.agreement = agreement


def _agreement_from(sess: Session, payload: dict | None) -> IssuerAgreement | None:
    ia = (payload or {}).get("ia")
    return sess.get(IssuerAgreement, ia) if isinstance(ia, int) else None


def check_approver_link(sess: Session, token: str):
    """The link and its pending agreement, or ApproverLinkError saying what is wrong."""
    try:
        link = read_token(sess, Purpose.APPROVER, token)
    except LinkError as exc:
        agr = _agreement_from(sess, exc.payload)
        problem = {LinkProblem.EXPIRED: ApproverLinkProblem.EXPIRED, LinkProblem.USED: ApproverLinkProblem.USED,
                   }.get(exc.problem, ApproverLinkProblem.INVALID)
        if problem is ApproverLinkProblem.EXPIRED and agr is not None and agr.state is IssuerAgreementState.WITHDRAWN:
            problem = ApproverLinkProblem.WITHDRAWN
        if problem is ApproverLinkProblem.USED and agr is not None and agr.state is IssuerAgreementState.DECLINED:
            problem = ApproverLinkProblem.DECLINED
        raise ApproverLinkError(problem, agr) from None
    agr = _agreement_from(sess, link.payload)
    if agr is None:
        raise ApproverLinkError(ApproverLinkProblem.INVALID)
    if agr.state is IssuerAgreementState.WITHDRAWN:
        raise ApproverLinkError(ApproverLinkProblem.WITHDRAWN, agr)
    if agr.state is IssuerAgreementState.APPROVED:
        raise ApproverLinkError(ApproverLinkProblem.APPROVED, agr)
    if agr.state is IssuerAgreementState.DECLINED:
        raise ApproverLinkError(ApproverLinkProblem.DECLINED, agr)
    return link, agr


APPROVER_TEXT_VERSION = "2026-11"


def agreement_digest(agr: IssuerAgreement) -> str:
    """A fingerprint of what the approver is shown: text version, company and the choices made."""
    issuer = agr.issuer
    text = "|".join([APPROVER_TEXT_VERSION, issuer.org_number, issuer.name, str(agr.id),
                     agr.approver_name, str(bool(agr.stop_avtalegiro))])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class BankIDPerson:
    """Who logged in with BankID, as the relying party saw it."""

    name: str | None
    birth_date: dt.date | None
    sub: str
    acr: str | None


class NotASignatory(Exception):
    """The person logged in is not among the unit's role holders with signing authority."""

    def __init__(self, signatories: list):
        super().__init__("not a signatory")
        self.signatories = signatories


def find_signatory(sess: Session, agr: IssuerAgreement, person: BankIDPerson) -> register.RoleHolder:
    """The register's role holder with signing authority who is this person (``same_person``).

    None found: an event tells the issuer that the named approver could not sign, and
    NotASignatory lists who can. register.RegisterUnavailable when the register is down."""
    try:
        holders = register.signing_roles(agr.issuer.org_number)
    except register.UnitNotFound:
        holders = []
    for holder in holders:
        if same_person(record_name=holder.name, record_birth_date=holder.birth_date,
                       bankid_name=person.name, bankid_birth_date=person.birth_date):
            return holder
    events.record(sess, Actor("approver", None, person.name or "BankID"), "issuer_agreement", agr.id,
                  "signer_not_found", issuer_id=agr.issuer_id, data={"bankid_name": person.name})
    sess.flush()
    raise NotASignatory(holders)


def answer_issuer_agreement(sess: Session, token: str, *, approve: bool, person: BankIDPerson,
                            digest: str) -> IssuerAgreement:
    """A role holder with signing authority approves or declines. Approval makes the issuer
    active (earlier third-party agreements end, AvtaleGiro stops when that was chosen); a
    decline closes the request so the issuer can name someone else. Both are recorded with
    who, role, when, text version and the BankID subject and level. The link can be used once."""
    link, agr = check_approver_link(sess, token)
    if digest != agreement_digest(agr):
        raise ApproverLinkError(ApproverLinkProblem.CHANGED, agr)
    holder = find_signatory(sess, agr, person)
    try:
        mark_used(sess, Purpose.APPROVER, link)
    except LinkError:
        raise ApproverLinkError(ApproverLinkProblem.USED, agr) from None
    actor = Actor("approver", None, f"{holder.name} ({holder.description})")
    issuer = agr.issuer
    now = utcnow()
    agr.answered_at = now
    agr.signer_name = holder.name[:200]
    agr.signer_role = holder.code[:10]
    agr.signer_role_text = holder.description[:100]
    agr.signer_sub = person.sub[:255]
    agr.signer_acr = (person.acr or "")[:100] or None
    agr.text_version = APPROVER_TEXT_VERSION
    agr.text_digest = digest
    receipt = {"signer": holder.name, "role": holder.code, "text_version": APPROVER_TEXT_VERSION,
               "acr": person.acr}
    if not approve:
        _agreement_move(sess, agr, IssuerAgreementAction.DECLINE, actor, data=receipt)
        sess.flush()
        return agr
    _agreement_move(sess, agr, IssuerAgreementAction.APPROVE, actor, data=receipt)
    agr.approved_at = now
    issuer.b2c_active_since = now
    events.record(sess, actor, "issuer", issuer.id, "b2c_activated", issuer_id=issuer.id,
                  data={"issuer_agreement_id": agr.id})
    signals.issuer_activated.send(issuer, sess=sess, actor=actor)
    if agr.stop_avtalegiro and issuer.uses_avtalegiro:
        issuer.uses_avtalegiro = False
        events.record(sess, actor, "issuer", issuer.id, "avtalegiro_stopped", issuer_id=issuer.id)
    sess.flush()
    return agr


def approval_status(sess: Session, issuer: Issuer) -> dict:
    """What the issuer's B2C page shows about answers: the last answered agreement, and the
    times someone who may not sign opened the pending one."""
    answered = [a for a in issuer.agreements if a.answered_at is not None]
    pending = issuer.pending_agreement
    refused = []
    if pending is not None:
        refused = list(sess.scalars(select(events.Event).where(
            events.Event.subject_type == "issuer_agreement", events.Event.subject_id == pending.id,
            events.Event.action == "signer_not_found").order_by(events.Event.id.desc()).limit(5)))
    return {"last_answer": answered[-1] if answered else None, "not_signatory": refused}


def scoped_get(sess: Session, model, object_id: int, issuer_id: int):
    """The row only when it belongs to the issuer; None otherwise (the caller answers 404)."""
    obj = sess.get(model, object_id)
    if obj is None or getattr(obj, "issuer_id", None) != issuer_id:
        return None
    return obj


def update_company_settings(sess: Session, issuer: Issuer, user: IssuerUser, *, address_line: str,
                            postal_code: str, city: str, account_number: str,
                            digest_opt_in: bool | None = None) -> list[str]:
    """Change the company's address and account number; returns the names of what changed
    (recorded as one event). The name, org number and VAT registration come from the register."""
    wanted = {"address_line": address_line.strip()[:200], "postal_code": postal_code.strip()[:10],
              "city": city.strip()[:100], "account_number": account_number or None}
    if digest_opt_in is not None:
        wanted["digest_opt_in"] = bool(digest_opt_in)
    changed = [name for name, value in wanted.items() if getattr(issuer, name) != value]
    for name in changed:
        setattr(issuer, name, wanted[name])
    if changed:
        events.record(sess, staff_actor(user), "issuer", issuer.id, "update", issuer_id=issuer.id,
                      data={"fields": changed})
    sess.flush()
    return changed
