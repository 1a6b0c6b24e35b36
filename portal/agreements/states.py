"""eFaktura agreement between an issuer and one consumer (a contact of that issuer)."""
from __future__ import annotations

import enum

from portal.core.states import Machine


class AgreementState(enum.Enum):
    REQUESTED = "requested"  # consent request sent, no answer yet
    ACTIVE = "active"  # invoices go to the consumer's nettbank
    DECLINED = "declined"  # consumer said no: no more requests from this issuer
    EXPIRED = "expired"  # the consent link ran out unanswered; a new invoice asks again
    STOPPED = "stopped"  # consumer ended an active agreement: no more requests
    TERMINATED = "terminated"  # ended by the issuer's B2C activation (earlier third-party arrangement)


class AgreementAction(enum.Enum):
    REQUEST = "request"
    APPROVE = "approve"
    DECLINE = "decline"
    EXPIRE = "expire"
    STOP = "stop"
    TERMINATE = "terminate"
    IMPORT = "import"  # an agreement brought over from a third-party arrangement


S, A = AgreementState, AgreementAction
MACHINE = Machine(
    "efaktura_agreement",
    S,
    A,
    {
        (None, A.REQUEST): S.REQUESTED,
        (None, A.IMPORT): S.ACTIVE,
        (S.REQUESTED, A.APPROVE): S.ACTIVE,
        (S.REQUESTED, A.DECLINE): S.DECLINED,
        (S.REQUESTED, A.EXPIRE): S.EXPIRED,
        (S.EXPIRED, A.REQUEST): S.REQUESTED,
        (S.EXPIRED, A.APPROVE): S.ACTIVE,
        (S.EXPIRED, A.DECLINE): S.DECLINED,
        (S.TERMINATED, A.REQUEST): S.REQUESTED,
        (S.TERMINATED, A.APPROVE): S.ACTIVE,
        (S.DECLINED, A.APPROVE): S.ACTIVE,
        (S.STOPPED, A.APPROVE): S.ACTIVE,
        (S.ACTIVE, A.STOP): S.STOPPED,
        (S.ACTIVE, A.TERMINATE): S.TERMINATED,
    },
)
next_state = MACHINE.next_state

# States in which a new invoice may trigger a (new) consent request.
REQUESTABLE = frozenset({None, S.EXPIRED, S.TERMINATED})
