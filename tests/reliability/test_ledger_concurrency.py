"""Customers redeeming from several devices at once, a redemption racing the nightly expiry, and one
award delivered by ten threads, on a file SQLite database and on PostgreSQL: no point is lost or
spent twice, and the ledger verifies."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from loyalty.errors import DuplicatePosting, InsufficientPoints
from loyalty.store import Store, ledger
from loyalty.store.tables import Customer, LedgerTransaction, LotAllocation

NOW = datetime(2026, 5, 31, 3, 0, tzinfo=timezone.utc)
MAY_31, JUNE_1 = date(2026, 5, 31), date(2026, 6, 1)


def all_at_once(threads: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` on `threads` threads released together by a barrier; each result or its exception."""
    barrier = threading.Barrier(threads)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:  # the test inspects what each thread got
            return error

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(threads)))


@pytest.fixture
def an_phat(store: Store) -> Store:
    with store.transaction() as session:
        session.add(Customer(id="c1", name="Công ty TNHH An Phát", segment="sme", customer_since=date(2024, 1, 1)))
    return store


def earn(store: Store, reference: str, points: int, expires_on: date | None = None) -> ledger.Posted:
    return store.run(lambda s: ledger.earn(s, "c1", points=points, occurred_at=NOW, reference=reference,
                                           expires_on=expires_on))


def spend(store: Store, reference: str, points: int) -> ledger.Posted:
    return store.run(lambda s: ledger.spend(s, "c1", points, occurred_at=NOW, reference=reference,
                                            actor="c1", today=MAY_31))


def spendable(store: Store) -> int:
    with store.reading() as session:
        return ledger.balance(session, "c1", MAY_31).reward_points


def problems(store: Store) -> list:
    with store.reading() as session:
        return ledger.verify(session)


def kinds(results: list[Any]) -> list[str]:
    return sorted(type(r).__name__ for r in results)


@pytest.mark.parametrize("threads, cost", [(12, 130), (16, 1000)])
def test_threads_spending_one_balance_at_once_succeed_exactly_as_often_as_it_covers(an_phat, threads, cost):
    earn(an_phat, "a", 400, date(2026, 7, 1))
    earn(an_phat, "b", 350, date(2026, 6, 15))
    earn(an_phat, "c", 250)
    results = all_at_once(threads, lambda i: spend(an_phat, f"redemption-{i}", cost))
    paid = 1000 // cost
    assert kinds(results) == sorted(["Posted"] * paid + ["InsufficientPoints"] * (threads - paid))
    assert all(r.requested == cost and r.available < cost for r in results if isinstance(r, InsufficientPoints))
    assert spendable(an_phat) == 1000 - paid * cost >= 0
    assert problems(an_phat) == []


def test_a_redemption_racing_the_nightly_expiry_never_counts_a_point_twice(an_phat):
    expiring = earn(an_phat, "expiring", 100, JUNE_1).lot_ids[0]
    earn(an_phat, "lasting", 50)

    def work(i: int) -> Any:
        if i == 0:
            return an_phat.run(lambda s: ledger.expire(s, "c1", JUNE_1, occurred_at=NOW))
        return spend(an_phat, f"redemption-{i}", 30)

    results = all_at_once(8, work)
    assert {type(r).__name__ for r in results[1:]} <= {"Posted", "InsufficientPoints"}
    spent = 30 * sum(isinstance(r, ledger.Posted) for r in results[1:])
    expired = -results[0].points if results[0] else 0
    with an_phat.reading() as session:
        left = ledger.balance(session, "c1", JUNE_1).reward_points
        out_of_expiring = session.scalar(select(func.sum(LotAllocation.amount)).where(
            LotAllocation.lot_id == expiring, LotAllocation.amount < 0))
    assert spent + expired + left == 150
    assert out_of_expiring == -100
    assert problems(an_phat) == []


def test_the_same_award_sent_by_ten_threads_is_paid_once(an_phat):
    results = all_at_once(10, lambda _: earn(an_phat, "award-42", 500, date(2027, 5, 31)))
    assert kinds(results) == ["DuplicatePosting"] * 9 + ["Posted"]
    posted = next(r for r in results if isinstance(r, ledger.Posted))
    assert all(r.transaction_id == posted.transaction_id for r in results if isinstance(r, DuplicatePosting))
    assert spendable(an_phat) == 500
    assert problems(an_phat) == []


def test_the_same_redemption_sent_by_ten_threads_is_spent_once(an_phat):
    earn(an_phat, "award-1", 1000)
    results = all_at_once(10, lambda _: spend(an_phat, "redemption-7", 300))
    assert kinds(results) == ["DuplicatePosting"] * 9 + ["Posted"]
    assert spendable(an_phat) == 700
    with an_phat.reading() as session:
        spends = session.scalar(select(func.count()).select_from(LedgerTransaction)
                                .where(LedgerTransaction.kind == "spend"))
    assert spends == 1
    assert problems(an_phat) == []


def test_a_cancelled_redemption_refunded_by_ten_threads_gives_its_points_back_once(an_phat):
    earn(an_phat, "award-1", 1000)
    spent = spend(an_phat, "redemption-7", 400)
    results = all_at_once(10, lambda _: an_phat.run(lambda s: ledger.refund(
        s, spent.transaction_id, occurred_at=NOW, actor="billing", today=MAY_31)))
    assert kinds(results) == ["NotReversible"] * 9 + ["Posted"]
    assert spendable(an_phat) == 1000
    assert problems(an_phat) == []


def test_a_redemption_racing_a_clawback_of_the_same_award_never_takes_a_point_twice(an_phat):
    earn(an_phat, "welcome", 300)

    def work(i: int) -> Any:
        if i == 0:
            return an_phat.run(lambda s: ledger.clawback(s, "c1", ["welcome"], reference="HD-1-cancelled",
                                                         occurred_at=NOW, actor="billing"))
        return spend(an_phat, f"redemption-{i}", 100)

    results = all_at_once(6, work)
    clawed, spent = results[0], 100 * sum(isinstance(r, ledger.Posted) for r in results[1:])
    assert {type(r).__name__ for r in results[1:]} <= {"Posted", "InsufficientPoints"}
    assert (clawed.points + spent, clawed.shortfall) == (300, spent)
    assert spendable(an_phat) == 0
    assert problems(an_phat) == []
