"""The shared shape of every state machine: a pure table of (state, action) -> next state."""
from __future__ import annotations

import enum
from collections.abc import Mapping


class InvalidTransition(Exception):
    def __init__(self, machine: str, state: object, action: object):
        super().__init__(f"{machine}: {action!r} is not allowed from {state!r}")
        self.machine = machine
        self.state = state
        self.action = action


class Machine:
    """A named transition table. ``None`` as a state means "no record yet"."""

    def __init__(self, name: str, states: type[enum.Enum], actions: type[enum.Enum],
                 table: Mapping[tuple[enum.Enum | None, enum.Enum], enum.Enum]):
        self.name = name
        self.states = states
        self.actions = actions
        self.table = dict(table)

    def next_state(self, state: enum.Enum | None, action: enum.Enum) -> enum.Enum:
        try:
            return self.table[(state, action)]
        except KeyError:
            raise InvalidTransition(self.name, state, action) from None

    def allowed(self, state: enum.Enum | None, action: enum.Enum) -> bool:
        return (state, action) in self.table
