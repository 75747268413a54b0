"""What redemption tests share: a small catalogue, customers holding points in lots, and counts.

Imported by name (`from redemption_support import ...`) from the store, API, reliability and
feature tests.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select

from loyalty.engine.model import RewardItem, SourceRef
from loyalty.services.catalogue import sync_catalogue
from loyalty.store import Store, ledger
from loyalty.store.tables import AuditRecord, Customer, LedgerTransaction, Lot, Redemption, Reward

AT = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 25)


def item(reward_id: str, vi: str, points_cost: int, **extra) -> RewardItem:
    """A catalogue item as rewards.yaml would give it."""
    return RewardItem(id=reward_id, names={"vi": vi, "en": reward_id}, kind=extra.pop("kind", "gift"),
                      points_cost=points_cost, source=SourceRef("rewards.yaml", 1), **extra)


CATALOGUE = (
    item("bill-credit-100k", "Giảm 100.000đ hóa đơn", 1000, kind="bill_credit", value=100_000),
    item("wifi-6-router", "Bộ phát Wi-Fi 6", 800, stock=2, per_customer_limit=1),
    item("speed-upgrade", "Nâng tốc độ gấp đôi một tháng", 300, kind="speed_upgrade",
         per_customer_limit=2),
)


def open_catalogue(store: Store, items=CATALOGUE) -> None:
    """Offer the test rewards."""
    sync_catalogue(store, items)


def add_customer(store: Store, customer_id: str = "lan", name: str = "Nguyễn Thị Lan",
                 locale: str = "vi") -> None:
    """A customer row, as billing's PUT would leave it."""
    with store.transaction() as session:
        session.add(Customer(id=customer_id, name=name, segment="home", locale=locale,
                             customer_since=date(2022, 5, 1)))


def give_points(store: Store, customer_id: str, points: int, reference: str,
                expires_on: date | None = None) -> int:
    """Earn `points` in one new lot; its id."""
    with store.transaction() as session:
        posted = ledger.earn(session, customer_id, points=points, occurred_at=AT, reference=reference,
                             expires_on=expires_on, reason="test award")
    return posted.lot_ids[0]


def spendable(store: Store, customer_id: str = "lan") -> int:
    with store.reading() as session:
        return ledger.balance(session, customer_id, TODAY).reward_points


def lot_remaining(store: Store, lot_id: int) -> int:
    with store.reading() as session:
        return session.scalar(select(Lot.remaining).where(Lot.id == lot_id))


def stock_taken(store: Store, reward_id: str) -> int:
    with store.reading() as session:
        return session.scalar(select(Reward.stock_taken).where(Reward.id == reward_id))


def count(store: Store, table, *where) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(table).where(*where))


def spends(store: Store) -> int:
    return count(store, LedgerTransaction, LedgerTransaction.kind == "spend")


def redemptions(store: Store) -> int:
    return count(store, Redemption)


def audit_actions(store: Store, subject_id: int) -> list[str]:
    """The redemption's own audit rows, in order."""
    with store.reading() as session:
        return list(session.scalars(
            select(AuditRecord.action).where(AuditRecord.subject_type == "redemption",
                                             AuditRecord.subject_id == str(subject_id))
            .order_by(AuditRecord.id)))


def ledger_problems(store: Store) -> list:
    with store.reading() as session:
        return ledger.verify(session)


WELCOME_GIFT = """
    programme: welcome
    name: "Chào mừng khách hàng mới"
    rules:
      - id: welcome-router
        on: contract.signed
        then: {reward: wifi-6-router}
    """


def grant_welcome_router(store: Store, customer_id: str = "lan") -> None:
    """A rule gives the customer a router free when a contract is signed."""
    from ingest_support import RECEIVED, contract_signed, ruleset
    from loyalty.services.ingest import ingest

    ingest(store, ruleset(WELCOME_GIFT), contract_signed(f"sign-{customer_id}", f"K-{customer_id}", 500_000,
                                                         customer_id=customer_id), RECEIVED)


def app_offering(store: Store, *items: RewardItem, **config):
    """The API on `store` with a ruleset offering these rewards, rate limits out of the way."""
    import uuid

    from api import create_app
    from loyalty.engine.model import Ruleset

    settings = {"TESTING": True, "LOYALTY_STORE": store, "LOYALTY_RATE_LIMIT": "100000 per minute",
                "LOYALTY_RULESET": Ruleset(version="test", programmes=(), rewards=tuple(items)),
                "LOYALTY_RATE_LIMIT_PREFIX": f"test-{uuid.uuid4().hex}"}
    return create_app(settings | config)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
