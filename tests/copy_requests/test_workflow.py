"""The pure state machine of copy requests, alone: every (state, action) pair, allowed or refused.

The expected table is written out here by hand, from the issue's rules, not derived from
`workflow.TRANSITIONS`: a change to the machine must change this file too.
"""

from __future__ import annotations

import itertools

import pytest

from portal.copy_requests import workflow
from portal.copy_requests.workflow import Action, InvalidTransition, State

#: submitted → in_progress → issued → delivered; rejected; cancelled by the requester before work starts.
ALLOWED = {
    ("submitted", "assign"): "in_progress",
    ("submitted", "reject"): "rejected",
    ("submitted", "cancel"): "cancelled",
    ("in_progress", "assign"): "in_progress",  # a supervisor gives it to someone else
    ("in_progress", "issue"): "issued",
    ("in_progress", "reject"): "rejected",
    ("issued", "deliver"): "delivered",
}
EVERY_PAIR = list(itertools.product([s.value for s in State], [a.value for a in Action]))
REFUSED = [pair for pair in EVERY_PAIR if pair not in ALLOWED]


def test_the_enums_hold_exactly_the_states_and_actions_of_the_issue():
    assert {s.value for s in State} == {"submitted", "in_progress", "issued", "delivered", "rejected",
                                        "cancelled"}
    assert {a.value for a in Action} == {"assign", "issue", "deliver", "reject", "cancel"}
    assert len(REFUSED) == 30 - len(ALLOWED) == 23


@pytest.mark.parametrize(("state", "action"), list(ALLOWED))
def test_allowed_transition(state, action):
    assert workflow.next_state(state, action) == State(ALLOWED[(state, action)])
    # Enums and their string values are the same thing to the machine.
    assert workflow.next_state(State(state), Action(action)) == State(ALLOWED[(state, action)])


@pytest.mark.parametrize(("state", "action"), REFUSED)
def test_refused_transition(state, action):
    with pytest.raises(InvalidTransition) as refused:
        workflow.next_state(state, action)
    assert (refused.value.state, refused.value.action) == (State(state), Action(action))
    assert str(refused.value) == f"cannot {action} a request that is {state}"


@pytest.mark.parametrize("state", [s.value for s in State])
def test_allowed_actions_lists_exactly_the_allowed_pairs(state):
    expected = {action for (source, action) in ALLOWED if source == state}
    assert {a.value for a in workflow.allowed_actions(state)} == expected


def test_final_states_allow_nothing_and_open_ones_count_against_the_due_date():
    assert workflow.FINAL == {State.DELIVERED, State.REJECTED, State.CANCELLED}
    for state in workflow.FINAL:
        assert workflow.allowed_actions(state) == []
    assert workflow.OPEN == {State.SUBMITTED, State.IN_PROGRESS}
    # Issued is neither: nothing more is due, but the paper copy still has to reach the requester.
    assert State.ISSUED not in workflow.OPEN | workflow.FINAL


def test_only_the_requester_cancels_and_only_before_work_starts():
    assert workflow.BY_REQUESTER == {Action.CANCEL}
    assert [s for s in State if Action.CANCEL in workflow.allowed_actions(s)] == [State.SUBMITTED]


def test_no_transition_leads_back_to_submitted():
    targets = {workflow.next_state(s, a) for (s, a) in ALLOWED}
    assert State.SUBMITTED not in targets


@pytest.mark.parametrize(("state", "action"), [("archived", "assign"), ("submitted", "approve"), ("", "")])
def test_unknown_names_are_refused_as_bad_values(state, action):
    with pytest.raises(ValueError):
        workflow.next_state(state, action)
