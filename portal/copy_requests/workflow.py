"""States of a copy request and the transitions allowed between them: data, free of Flask and SQL.

    submitted ──assign──▶ in_progress ──issue──▶ issued ──deliver──▶ delivered
        │                      │
        ├──cancel (requester)  └──reject──▶ rejected
        └──reject──▶ rejected

Electronic copies are delivered the moment they are issued (the download is the delivery); paper
copies wait at `issued` until the desk hands them over or the post takes them.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    SUBMITTED = "submitted"
    IN_PROGRESS = "in_progress"
    ISSUED = "issued"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(StrEnum):
    ASSIGN = "assign"
    ISSUE = "issue"
    DELIVER = "deliver"
    REJECT = "reject"
    CANCEL = "cancel"


#: (state, action) → next state. Anything else is refused.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.SUBMITTED, Action.ASSIGN): State.IN_PROGRESS,
    (State.SUBMITTED, Action.REJECT): State.REJECTED,
    (State.SUBMITTED, Action.CANCEL): State.CANCELLED,
    (State.IN_PROGRESS, Action.ASSIGN): State.IN_PROGRESS,  # reassigned to another clerk
    (State.IN_PROGRESS, Action.ISSUE): State.ISSUED,
    (State.IN_PROGRESS, Action.REJECT): State.REJECTED,
    (State.ISSUED, Action.DELIVER): State.DELIVERED,
}

#: States in which nothing more happens.
FINAL = frozenset({State.DELIVERED, State.REJECTED, State.CANCELLED})
#: States in which the request still counts against its due date.
OPEN = frozenset({State.SUBMITTED, State.IN_PROGRESS})
#: Who may take each action: the requester, or staff of the request's unit.
BY_REQUESTER = frozenset({Action.CANCEL})


class InvalidTransition(ValueError):
    """The action is not allowed from the request's current state."""

    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"cannot {action} a request that is {state}")
        self.state, self.action = state, action


def next_state(state: State | str, action: Action | str) -> State:
    """The state after ``action``. Raises InvalidTransition when it is not allowed."""
    state, action = State(state), Action(action)
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(state, action) from None


def allowed_actions(state: State | str) -> list[Action]:
    state = State(state)
    return [action for (source, action) in TRANSITIONS if source == state]
