"""The conversation's state machine: one thread per contact and business number.

A thread is `open` (nobody waits for an answer), `pending` (in the queue: the customer waits for a
person, longest-waiting first) or `resolved` (done until the customer writes again). What moves it:

- the customer writes something that asks for an answer (not a reaction, nor a system notice): a new or
  resolved thread goes to the queue; a pending one keeps its place (when the customer started waiting);
- the business answers free-form (not a template): a pending thread leaves the queue and is open;
- a person sets the state: pending puts the thread at the back of the queue, the others leave it.

The store writes what these functions decide (`store/ingest_messages.py`, `store/messages.py`,
`store/conversations.py`); nothing else decides a thread's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"


STATES = tuple(s.value for s in State)


@dataclass(frozen=True, slots=True)
class Thread:
    """What the state machine looks at: the state and since when the customer waits (pending only)."""

    state: State
    waiting_since: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A change that applies to threads in one state only (so the store can write it in one UPDATE)."""

    source: State
    target: State
    keeps_waiting: bool  # False: the thread is no longer in the queue


def parse_state(raw: str) -> State | None:
    """The state named `raw`, or None when there is no such state."""
    try:
        return State(raw)
    except ValueError:
        return None


def customer_wrote(thread: Thread | None, at: float, asks_for_answer: bool) -> Thread:
    """The thread after the customer's message at `at` (None: the thread does not exist yet)."""
    if thread is None:
        return Thread(State.PENDING, at) if asks_for_answer else Thread(State.OPEN)
    if not asks_for_answer:
        return thread
    if thread.state == State.RESOLVED:
        return Thread(State.PENDING, at)
    if thread.state == State.PENDING and thread.waiting_since is None:
        return Thread(State.PENDING, at)
    return thread


# The business's free-form answer: a pending thread leaves the queue. Templates change nothing: a
# notification is not an answer to the customer's question.
BUSINESS_ANSWERED = Transition(State.PENDING, State.OPEN, keeps_waiting=False)


def business_answered(thread: Thread, free_form: bool) -> Thread:
    """The thread after the business sent a message (`free_form`: not a template)."""
    if free_form and thread.state == BUSINESS_ANSWERED.source:
        return Thread(BUSINESS_ANSWERED.target)
    return thread


def set_by_person(state: State, now: float) -> Thread:
    """The thread a person (an operator, the API) put in `state` at `now`."""
    return Thread(state, now if state == State.PENDING else None)
