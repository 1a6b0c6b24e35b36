"""Issuer accounts, B2C activation and the issuer agreement (SPEC flows A and B)."""
from __future__ import annotations

import enum

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from portal.core import events
from portal.core.auth import hash_password, verify_password
from portal.core.db import utcnow
from portal.core.events import Actor
from portal.core.outbox import OutboxKind, OutboxMessage, enqueue
from portal.core.tokens import LinkError, LinkProblem, Purpose, make_token, mark_used, read_token
from portal.issuers import signals
from portal.issuers.models import Issuer, IssuerAgreement, IssuerUser
from portal.issuers.states import IssuerAgreementAction, IssuerAgreementState, next_state

APPROVER_PATH = "/utstederavtale/"
MIN_PASSWORD_LENGTH = 10


class SignupError(Exception):
    """Sign-up refused; ``field`` names the input that is wrong."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field = field
        self.message = message


def staff_actor(user: IssuerUser) -> Actor:
    return Actor("issuer_user", user.id, user.name or user.email)


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def create_issuer(sess: Session, *, name: str, org_number: str, admin_name: str, email: str,
                  password: str, account_number: str | None = None,
                  uses_avtalegiro: bool = False) -> IssuerUser:
    """A new issuer with its first staff user. Inputs are already validated in form;
    uniqueness of the organisation number and the e-mail is checked here."""
    email = normalize_email(email)
    if sess.scalar(select(Issuer.id).where(Issuer.org_number == org_number)) is not None:
        raise SignupError("org_number", _l("Det finnes allerede en bedrift med dette organisasjonsnummeret."))
    if sess.scalar(select(IssuerUser.id).where(IssuerUser.email == email)) is not None:
        raise SignupError("email", _l("Det finnes allerede en bruker med denne e-postadressen. Logg inn i stedet."))
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SignupError("password", _l("Passordet må ha minst 10 tegn."))
    issuer = Issuer(name=name.strip(), org_number=org_number, account_number=account_number or None,
                    uses_avtalegiro=uses_avtalegiro)
    sess.add(issuer)
    sess.flush()
    user = IssuerUser(issuer_id=issuer.id, email=email, name=admin_name.strip(),
                      password_hash=hash_password(password))
    sess.add(user)
    sess.flush()
    events.record(sess, staff_actor(user), "issuer", issuer.id, "create", issuer_id=issuer.id,
                  data={"user_id": user.id})
    return user


def authenticate(sess: Session, email: str, password: str) -> IssuerUser | None:
    """The user when e-mail and password match; None otherwise (same work either way)."""
    user = sess.scalar(select(IssuerUser).where(IssuerUser.email == normalize_email(email)))
    if not verify_password(user.password_hash if user else None, password or ""):
        return None
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
    sent_before = sess.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(or_(OutboxMessage.idempotency_key.like(prefix + "%"),  # keys before installation ids
                                         OutboxMessage.idempotency_key.like("%:" + prefix + "%")))) or 0
    n = sent_before + 1
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
        raise ApproverLinkError(problem, agr) from None
    agr = _agreement_from(sess, link.payload)
    if agr is None:
        raise ApproverLinkError(ApproverLinkProblem.INVALID)
    if agr.state is IssuerAgreementState.WITHDRAWN:
        raise ApproverLinkError(ApproverLinkProblem.WITHDRAWN, agr)
    if agr.state is IssuerAgreementState.APPROVED:
        raise ApproverLinkError(ApproverLinkProblem.APPROVED, agr)
    return link, agr


def approve_issuer_agreement(sess: Session, token: str) -> IssuerAgreement:
    """The approver accepts: the issuer becomes active, earlier third-party agreements end,
    AvtaleGiro stops when that was chosen. The link can be used once."""
    link, agr = check_approver_link(sess, token)
    try:
        mark_used(sess, Purpose.APPROVER, link)
    except LinkError:
        raise ApproverLinkError(ApproverLinkProblem.USED, agr) from None
    actor = Actor("approver", None, f"{agr.approver_name} <{agr.approver_email}>")
    issuer = agr.issuer
    _agreement_move(sess, agr, IssuerAgreementAction.APPROVE, actor)
    now = utcnow()
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


def scoped_get(sess: Session, model, object_id: int, issuer_id: int):
    """The row only when it belongs to the issuer; None otherwise (the caller answers 404)."""
    obj = sess.get(model, object_id)
    if obj is None or getattr(obj, "issuer_id", None) != issuer_id:
        return None
    return obj
