"""Issuer agreement (utstederavtale): requested by issuer staff, approved or declined through an
e-mail link by a role holder with signing authority who logs in with BankID."""
from __future__ import annotations

import enum

from portal.core.states import Machine


class IssuerAgreementState(enum.Enum):
    PENDING = "pending"  # sent to the approver, waiting
    APPROVED = "approved"  # the issuer may send eFaktura
    DECLINED = "declined"  # a role holder with signing authority said no
    WITHDRAWN = "withdrawn"  # replaced by a request to another approver, or cancelled


class IssuerAgreementAction(enum.Enum):
    REQUEST = "request"
    APPROVE = "approve"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


S, A = IssuerAgreementState, IssuerAgreementAction
MACHINE = Machine(
    "issuer_agreement",
    S,
    A,
    {
        (None, A.REQUEST): S.PENDING,
        (S.PENDING, A.APPROVE): S.APPROVED,
        (S.PENDING, A.DECLINE): S.DECLINED,
        (S.PENDING, A.WITHDRAW): S.WITHDRAWN,
    },
)
next_state = MACHINE.next_state
