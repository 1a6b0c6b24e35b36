"""The life of one outbox row. Pure: no Flask, no database."""
from __future__ import annotations

import enum

from portal.core.states import Machine


class OutboxStatus(enum.Enum):
    PENDING = "pending"  # waiting to be worked (or being worked under a lease)
    DONE = "done"  # the effect happened
    DEAD = "dead"  # given up: a permanent error or too many attempts; support can retry
    CANCELLED = "cancelled"  # no longer wanted (a deadline that lost its race, a superseded row)


class OutboxAction(enum.Enum):
    COMPLETE = "complete"  # the handler succeeded
    RESCHEDULE = "reschedule"  # a transient failure: try again later
    GIVE_UP = "give_up"
    CANCEL = "cancel"
    RETRY = "retry"  # support puts a dead row back to work
    SUPERSEDE = "supersede"  # a dead row replaced by a new one (an invoice sent again)


S, A = OutboxStatus, OutboxAction
MACHINE = Machine(
    "outbox",
    S,
    A,
    {
        (S.PENDING, A.COMPLETE): S.DONE,
        (S.PENDING, A.RESCHEDULE): S.PENDING,
        (S.PENDING, A.GIVE_UP): S.DEAD,
        (S.PENDING, A.CANCEL): S.CANCELLED,
        (S.DEAD, A.RETRY): S.PENDING,
        (S.DEAD, A.SUPERSEDE): S.CANCELLED,
    },
)
next_state = MACHINE.next_state
FINAL = frozenset({S.DONE, S.CANCELLED})
