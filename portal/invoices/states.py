"""Delivery of one invoice. The channel (nettbank, e-mail, post) is kept beside the state."""
from __future__ import annotations

import enum

from portal.core.states import Machine


class InvoiceState(enum.Enum):
    DRAFT = "draft"  # being written, not issued
    HELD = "held"  # waiting for the consumer's consent (at most the consent deadline)
    SENDING = "sending"  # channel chosen, the worker is delivering
    DELIVERED = "delivered"  # final: in nettbank, e-mailed, or in the print queue
    FAILED = "failed"  # the channel gave up; support can retry after fixing the cause


class InvoiceAction(enum.Enum):
    ISSUE = "issue"  # route straight to a channel
    HOLD = "hold"  # wait for consent
    RELEASE = "release"  # leave the hold: consent given, declined, or the deadline passed
    DELIVER = "deliver"
    FAIL = "fail"
    RETRY = "retry"
    REROUTE = "reroute"  # the recipient can no longer be reached on the chosen channel: another one


class DocumentKind(enum.Enum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"  # kreditnota: corrects an issued invoice, which is never changed


class Channel(enum.Enum):
    NETTBANK = "nettbank"
    EMAIL = "email"
    POST = "post"


S, A = InvoiceState, InvoiceAction
MACHINE = Machine(
    "invoice",
    S,
    A,
    {
        (S.DRAFT, A.ISSUE): S.SENDING,
        (S.DRAFT, A.HOLD): S.HELD,
        (S.HELD, A.RELEASE): S.SENDING,
        (S.SENDING, A.DELIVER): S.DELIVERED,
        (S.SENDING, A.FAIL): S.FAILED,
        (S.FAILED, A.RETRY): S.SENDING,
        (S.SENDING, A.REROUTE): S.SENDING,
    },
)
next_state = MACHINE.next_state
FINAL = frozenset({S.DELIVERED})
