"""Issuer agreement (utstederavtale): requested by issuer staff, approved by e-mail link."""
from __future__ import annotations

import enum

from portal.core.states import Machine


class IssuerAgreementState(enum.Enum):
    PENDING = "pending"  # sent to the approver, waiting
    APPROVED = "approved"  # the issuer may send eFaktura
    WITHDRAWN = "withdrawn"  # replaced by a request to another approver, or cancelled


class IssuerAgreementAction(enum.Enum):
    REQUEST = "request"
    APPROVE = "approve"
    WITHDRAW = "withdraw"


S, A = IssuerAgreementState, IssuerAgreementAction
MACHINE = Machine(
    "issuer_agreement",
    S,
    A,
    {
        (None, A.REQUEST): S.PENDING,
        (S.PENDING, A.APPROVE): S.APPROVED,
        (S.PENDING, A.WITHDRAW): S.WITHDRAWN,
    },
)
next_state = MACHINE.next_state
