"""Customer and contract state as billing reports it, changed on the caller's Session.

Every contract change recomputes the customer's contract summary in the same transaction, so the
batch SQL path (which reads the summary on the customer row) never disagrees with the event path.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.engine.awards import add_months
from loyalty.engine.facts import ContractSnapshot, CustomerSnapshot, summarize_contracts
from loyalty.errors import Conflict, FieldErrors, UnknownContract, UnknownCustomer
from loyalty.services.event_payloads import load_customer_data
from loyalty.store.event_lane import CustomerRow, read_customer
from loyalty.store.insert_once import insert_once
from loyalty.store.tables import Contract, Customer

NEEDED_TO_CREATE = ("name", "segment", "customer_since")
LOCK_BATCH = 500
FIND_LOCKED = select(Customer).where(Customer.id == bindparam("customer_id")).with_for_update()
_CONTRACTS = Contract.__table__
CONTRACT_ROWS = (
    select(_CONTRACTS.c.id, _CONTRACTS.c.monthly_value, _CONTRACTS.c.term_months, _CONTRACTS.c.start,
           _CONTRACTS.c.renewals, _CONTRACTS.c.status)
    .where(_CONTRACTS.c.customer_id == bindparam("customer_id")).order_by(_CONTRACTS.c.id)
)
"""Built once: building a statement cost more than running it; the contracts are read as plain rows,
not ORM objects, since the engine wants plain values."""
LOCK_CUSTOMERS = (
    select(Customer.id).where(Customer.id.in_(bindparam("ids", expanding=True))).order_by(Customer.id)
    .with_for_update()
)


def upsert_customer(session: Session, customer_id: str, data: Mapping[str, Any], *, prefix: str = "") -> Customer:
    """Create the customer, or update the fields given; a new customer needs name, segment, since."""
    values = load_customer_data(data, prefix=prefix)
    customer = session.get(Customer, customer_id, with_for_update=True)
    if customer is None:
        missing = [name for name in NEEDED_TO_CREATE if name not in values]
        if missing:
            raise FieldErrors({f"{prefix}{name}": ["required for a new customer"] for name in missing},
                              f"Customer {customer_id!r} is new: give its name, segment and customer_since.")
        customer = _create_customer(session, customer_id, values)
    for name, value in values.items():
        setattr(customer, name, value)
    session.flush()
    return customer


def _create_customer(session: Session, customer_id: str, values: Mapping[str, Any]) -> Customer:
    """A new customer row; if a concurrent transaction created it first, that row, locked."""
    try:
        with session.begin_nested():
            customer = Customer(id=customer_id, **{name: values[name] for name in NEEDED_TO_CREATE})
            customer.apply_contract_summary(summarize_contracts(()))
            session.add(customer)
    except IntegrityError:
        existing = session.get(Customer, customer_id, with_for_update=True, populate_existing=True)
        if existing is None:
            raise
        return existing
    return customer


def find_customer(session: Session, customer_id: str, *, lock: bool = False) -> Customer:
    """The customer, locked for this transaction when asked; `UnknownCustomer` if billing never sent it."""
    if lock:
        customer = session.scalars(FIND_LOCKED, {"customer_id": customer_id}).one_or_none()
    else:
        customer = session.get(Customer, customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    return customer


def lock_customers(session: Session, customer_ids: list[str]) -> None:
    """Lock these customers' rows in id order (those that exist), as `find_customer(lock=True)` locks one:
    a transaction about many customers takes them all first, so it cannot deadlock with one about one."""
    for first in range(0, len(customer_ids), LOCK_BATCH):
        session.execute(LOCK_CUSTOMERS, {"ids": customer_ids[first:first + LOCK_BATCH]}).all()


def find_customer_with_contracts(session: Session, customer_id: str) -> tuple[CustomerRow, list[ContractSnapshot]]:
    """The customer, locked, and its contracts, as plain values read in one statement, for an event
    that changes nothing about it (no ORM object: loading one cost a paid invoice on SQLite a sixth
    of its time); `UnknownCustomer` if billing never sent it."""
    session.flush()  # the read goes past the ORM: rows it has not sent yet first
    read = read_customer(session, customer_id)
    if read is None:
        raise UnknownCustomer(customer_id)
    return read.customer, read.contracts


def find_contract(session: Session, customer_id: str, contract_id: str) -> Contract:
    """The customer's contract; `UnknownContract` if not signed yet or someone else's."""
    contract = session.get(Contract, contract_id)
    if contract is None or contract.customer_id != customer_id:
        raise UnknownContract(contract_id, customer_id)
    return contract


def sign_contract(session: Session, customer_id: str, data: Mapping[str, Any]) -> Contract:
    """Record a newly signed contract (id, monthly_value, term_months, start) for a known customer."""
    customer = find_customer(session, customer_id, lock=True)
    row = dict(id=data["id"], customer_id=customer.id, monthly_value=data["monthly_value"],
               term_months=data["term_months"], start=data["start"], renewals=0, status="active",
               end=add_months(data["start"], data["term_months"]))
    # the key decides, not a read first: two customers signing one contract id at once (two
    # transactions on PostgreSQL) would both find it free, and the second insert would fail raw
    if insert_once(session, Contract, row, ["id"]) is None:
        raise Conflict(f"Contract {data['id']!r} is already signed; a renewal is its own event.")
    contract = session.get(Contract, data["id"])
    refresh_contract_summary(session, customer)
    return contract


def renew_contract(session: Session, customer_id: str, contract_id: str, *,
                   term_months: int | None = None, monthly_value: int | None = None) -> Contract:
    """Count one more renewal and extend the end date by the (new or same) term."""
    customer = find_customer(session, customer_id, lock=True)
    contract = find_contract(session, customer_id, contract_id)
    if contract.status == "cancelled":
        raise Conflict(f"Contract {contract_id!r} was cancelled on {contract.cancelled_on}; it cannot be renewed.")
    contract.term_months = term_months or contract.term_months
    if monthly_value is not None:
        contract.monthly_value = monthly_value
    contract.end = add_months(contract.end or add_months(contract.start, contract.term_months), contract.term_months)
    contract.renewals += 1
    contract.status = "active"
    refresh_contract_summary(session, customer)
    return contract


def cancel_contract(session: Session, customer_id: str, contract_id: str, on: date) -> Contract:
    """Mark the contract cancelled on local date `on`; cancelling twice changes nothing."""
    customer = find_customer(session, customer_id, lock=True)
    contract = find_contract(session, customer_id, contract_id)
    if contract.status != "cancelled":
        contract.status, contract.cancelled_on = "cancelled", on
        refresh_contract_summary(session, customer)
    return contract


def end_contract(session: Session, contract_id: str) -> Contract:
    """Mark an active contract ended (its end date has passed); the nightly run calls this."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise UnknownContract(contract_id)
    if contract.status == "active":
        contract.status = "ended"
        refresh_contract_summary(session, find_customer(session, contract.customer_id, lock=True))
    return contract


def refresh_contract_summary(session: Session, customer: Customer) -> None:
    """Recompute the figures the batch path reads from the customer's contracts as they now are."""
    session.flush()
    customer.apply_contract_summary(summarize_contracts(contract_snapshots(session, customer.id)))
    session.flush()


def contract_snapshots(session: Session, customer_id: str) -> list[ContractSnapshot]:
    """The customer's contracts as plain values for the engine."""
    session.flush()  # Core reads no pending ORM change: write them first
    rows = session.execute(CONTRACT_ROWS, {"customer_id": customer_id})
    return [ContractSnapshot(id=c.id, monthly_value=c.monthly_value, term_months=c.term_months,
                             start=c.start, renewals=c.renewals, status=c.status) for c in rows]


def customer_snapshot(customer: Customer | CustomerRow) -> CustomerSnapshot:
    """The customer as plain values for the engine."""
    return CustomerSnapshot(id=customer.id, segment=customer.segment, customer_since=customer.customer_since,
                            region=customer.region, locale=customer.locale, tier=customer.tier,
                            status_points=customer.status_points or 0)
