"""Every (state, action) pair of every state machine: the allowed ones move, all others refuse."""
from __future__ import annotations

import itertools

import pytest

from portal.agreements import states as agreement_states
from portal.core.states import InvalidTransition
from portal.invoices import states as invoice_states
from portal.issuers import states as issuer_states

A, IA, INV = agreement_states, issuer_states, invoice_states

EXPECTED = {
    "issuer_agreement": {
        (None, "request"): "pending",
        ("pending", "approve"): "approved",
        ("pending", "decline"): "declined",
        ("pending", "withdraw"): "withdrawn",
    },
    "efaktura_agreement": {
        (None, "request"): "requested",
        (None, "import"): "active",
        ("requested", "approve"): "active",
        ("requested", "decline"): "declined",
        ("requested", "expire"): "expired",
        ("expired", "request"): "requested",
        ("expired", "approve"): "active",
        ("expired", "decline"): "declined",
        ("terminated", "request"): "requested",
        ("terminated", "approve"): "active",
        ("declined", "approve"): "active",
        ("stopped", "approve"): "active",
        ("active", "stop"): "stopped",
        ("active", "terminate"): "terminated",
    },
    "invoice": {
        ("draft", "issue"): "sending",
        ("draft", "hold"): "held",
        ("held", "release"): "sending",
        ("sending", "deliver"): "delivered",
        ("sending", "fail"): "failed",
        ("failed", "retry"): "sending",
        ("sending", "reroute"): "sending",
    },
}
MACHINES = [IA.MACHINE, A.MACHINE, INV.MACHINE]


def _all_pairs():
    for machine in MACHINES:
        for state, action in itertools.product([None, *machine.states], machine.actions):
            yield pytest.param(machine, state, action, id=f"{machine.name}-{state and state.value}-{action.value}")


@pytest.mark.parametrize("machine,state,action", list(_all_pairs()))
def test_every_pair(machine, state, action):
    """A pair moves to the documented state if it is in the table, and is refused otherwise."""
    key = (state.value if state else None, action.value)
    expected = EXPECTED[machine.name].get(key)
    if expected is None:
        with pytest.raises(InvalidTransition):
            machine.next_state(state, action)
        assert not machine.allowed(state, action)
    else:
        assert machine.next_state(state, action).value == expected
        assert machine.allowed(state, action)


def test_tables_match_documentation():
    """The transition tables hold exactly the documented pairs, no more."""
    for machine in MACHINES:
        actual = {(s.value if s else None, a.value): t.value for (s, a), t in machine.table.items()}
        assert actual == EXPECTED[machine.name]


def test_delivered_is_final():
    """A delivered invoice accepts no further action: one final delivery, never two."""
    for action in INV.InvoiceAction:
        with pytest.raises(InvalidTransition):
            INV.next_state(INV.InvoiceState.DELIVERED, action)
