"""Single events sent together by several server threads share one transaction (group commit),
and each thread still gets exactly the answer `ingest` would give it, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from ingest_support import RECEIVED, award_count, customer_upserted, invoice_paid, ledger_problems, points_of, ruleset

from loyalty.errors import EventConflict, EventOutOfOrder, FieldErrors
from loyalty.services.ingest import ingest
from loyalty.services.ingest_group import IngestGroups
from loyalty.services.ingest_result import IngestResult

RULES = ruleset("""
    programme: invoices
    name: "Tích điểm hóa đơn"
    rules:
      - id: invoice-points
        on: invoice.paid
        then: {points: {per: 10000, of: event.amount}}
    """)


class HeldGroups(IngestGroups):
    """The first group waits until `behind` events queue after it, so the second group is known."""

    def __init__(self, store, behind: int, fail_second: bool = False):
        super().__init__(store)
        self.behind, self.fail_second, self.runs = behind, fail_second, 0

    def _run(self, compiled, group):
        self.runs += 1
        if self.runs == 1:
            deadline = time.monotonic() + 10
            while self.waiting < self.behind:
                assert time.monotonic() < deadline, "the other threads never queued"
                time.sleep(0.001)
        if self.runs == 2 and self.fail_second:
            raise RuntimeError("the database went away")
        return super()._run(compiled, group)


def first_then_together(groups: IngestGroups, events: list[dict[str, Any]]) -> list[Any]:
    """Send events[0] alone, then the others from their own threads while it runs: each answer or error."""
    answers: list[Any] = [None] * len(events)

    def send(index: int) -> None:
        try:
            answers[index] = groups.ingest(RULES, events[index], RECEIVED)
        except Exception as error:  # the test looks at what each thread got
            answers[index] = error

    first = threading.Thread(target=send, args=(0,))
    first.start()
    while groups.groups == 0:  # the first event's group has started
        time.sleep(0.001)
    with ThreadPoolExecutor(len(events) - 1) as pool:
        list(pool.map(send, range(1, len(events))))
    first.join()
    return answers


@pytest.fixture
def customers(store):
    for n in range(1, 6):
        ingest(store, RULES, customer_upserted(f"setup-{n}", f"C00{n}"), RECEIVED)
    return store


def test_events_sent_together_share_one_transaction_each_with_its_own_answer(customers):
    store = customers
    groups = HeldGroups(store, behind=5)
    events = [invoice_paid(f"evt-{n}", 10_000 * (n + 1), customer_id=f"C00{n % 5 + 1}") for n in range(6)]

    answers = first_then_together(groups, events)

    assert all(isinstance(a, IngestResult) and not a.replayed for a in answers), answers
    assert [a.event_id for a in answers] == [e["id"] for e in events]
    assert [a.awards[0].points for a in answers] == [1, 2, 3, 4, 5, 6]
    assert (groups.groups, groups.events) == (2, 6)  # the first alone, the five that waited together
    assert points_of(store, "C001") == (1 + 6, 0, 0)
    assert points_of(store, "C002") == (2, 0, 0)
    assert award_count(store, rule_id="invoice-points") == 6
    assert ledger_problems(store) == []


def test_a_refused_event_in_a_group_costs_the_others_nothing(customers):
    store = customers
    ingest(store, RULES, invoice_paid("sent-before", 50_000, customer_id="C001"), RECEIVED)
    groups = HeldGroups(store, behind=4)
    changed = invoice_paid("sent-before", 60_000, customer_id="C001")
    events = [
        invoice_paid("lead", 10_000, customer_id="C002"),
        invoice_paid("sent-before", 50_000, customer_id="C001"),  # a resend: the first answer again
        changed,  # the same id with another body
        invoice_paid("stranger", 10_000, customer_id="C404"),  # billing never sent this customer
        invoice_paid("good", 30_000, customer_id="C003"),
    ]

    answers = first_then_together(groups, events)

    assert answers[1].replayed and answers[1].awards[0].points == 5
    assert isinstance(answers[2], EventConflict)
    assert isinstance(answers[3], EventOutOfOrder)
    assert answers[4].awards[0].points == 3 and not answers[4].replayed
    assert points_of(store, "C001") == (5, 0, 0)
    assert points_of(store, "C003") == (3, 0, 0)
    assert ledger_problems(store) == []


def test_a_bad_body_is_refused_in_its_own_thread_before_any_group():
    groups = IngestGroups(store=None)  # never reached: the body is checked first
    with pytest.raises(FieldErrors) as refused:
        groups.ingest(RULES, invoice_paid("bad", -5), RECEIVED)
    assert "data.amount" in refused.value.errors
    assert groups.groups == 0


def test_a_failed_group_answers_every_waiter_and_hands_on_the_lead(customers):
    store = customers
    groups = HeldGroups(store, behind=3, fail_second=True)
    events = [invoice_paid(f"evt-{n}", 10_000, customer_id=f"C00{n + 1}") for n in range(4)]

    answers = first_then_together(groups, events)

    assert isinstance(answers[0], IngestResult)
    assert all(isinstance(a, RuntimeError) for a in answers[1:]), answers
    assert groups.waiting == 0
    again = groups.ingest(RULES, events[1], RECEIVED)  # nothing of the failed group was written
    assert not again.replayed and again.awards[0].points == 1
    assert ledger_problems(store) == []
