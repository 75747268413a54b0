"""What an event changes about the customer and its contracts, applied before the rules look.

Rules see the world after the event (a renewal bonus reads the incremented renewal count). An
event that needs an earlier one the engine has not seen (a renewal of an unknown contract, an
invoice for an unknown customer) is refused whole with `EventOutOfOrder`; billing resends it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from sqlalchemy.orm import Session

from loyalty.engine.facts import ContractSnapshot, EventSnapshot, compute_facts
from loyalty.engine.model import Scalar
from loyalty.errors import EventOutOfOrder, UnknownContract, UnknownCustomer
from loyalty.ledger import local_date
from loyalty.services.customers import (
    cancel_contract,
    contract_snapshots,
    customer_snapshot,
    find_customer,
    find_customer_with_contracts,
    renew_contract,
    sign_contract,
    upsert_customer,
)
from loyalty.store.event_lane import CustomerRow
from loyalty.store.tables import Customer
from loyalty.store.tables.customers import DEFAULT_TIME_ZONE

Contracts = list[ContractSnapshot]


@dataclass(frozen=True)
class AppliedEvent:
    """The event applied: the (locked) customer, its local date, and what facts and rules read. The
    customer is an ORM row when the event changed it, else its plain values (`CustomerRow`)."""

    customer: Customer | CustomerRow
    today: date
    snapshot: EventSnapshot
    facts: dict[str, Scalar | None]


def apply_event(session: Session, event: dict[str, Any], *, facts_needed: bool = True) -> AppliedEvent:
    """Change the customer's state as the event says, then compute the facts the rules will test
    (none when no rule is `on` this event: reading the contracts would be wasted)."""
    try:
        customer, snapshot, contracts = APPLY[event["type"]](session, event)
    except (UnknownCustomer, UnknownContract) as missing:
        raise EventOutOfOrder(
            f"Event {event['id']!r} ({event['type']}) came before an event it needs: {missing} "
            "Nothing was applied; send it again after the earlier event."
        ) from missing
    today = customer_today(customer, event)
    facts: dict[str, Scalar | None] = {}
    if facts_needed:
        if contracts is None:  # the event changed them: read them as they now are
            contracts = contract_snapshots(session, customer.id)
        facts = compute_facts(customer_snapshot(customer), contracts, today, snapshot)
    return AppliedEvent(customer, today, snapshot, facts)


def customer_today(customer: Customer | CustomerRow, event: dict[str, Any]) -> date:
    """The local date of the event where the customer lives."""
    return local_date(event["occurred_at"], customer.time_zone or DEFAULT_TIME_ZONE)


def _snapshot(event: dict[str, Any], contract_id: str | None = None, **values: Any) -> EventSnapshot:
    return EventSnapshot(type=event["type"], id=event["id"], contract_id=contract_id, **values)


def _customer_upserted(session: Session, event: dict[str, Any]):
    customer = upsert_customer(session, event["customer_id"], event["data"], prefix="data.")
    return customer, _snapshot(event), None


def _contract_signed(session: Session, event: dict[str, Any]):
    data = event["data"]
    if "customer" in data:
        upsert_customer(session, event["customer_id"], data["customer"], prefix="data.customer.")
    contract = sign_contract(session, event["customer_id"], data["contract"])
    return contract.customer, _snapshot(event, contract.id), None


def _contract_renewed(session: Session, event: dict[str, Any]):
    data = event["data"]
    contract = renew_contract(session, event["customer_id"], data["contract_id"],
                              term_months=data.get("term_months"), monthly_value=data.get("monthly_value"))
    return contract.customer, _snapshot(event, contract.id), None


def _contract_cancelled(session: Session, event: dict[str, Any]):
    customer = find_customer(session, event["customer_id"], lock=True)
    contract_id = event["data"]["contract_id"]
    cancel_contract(session, customer.id, contract_id, on=customer_today(customer, event))
    return customer, _snapshot(event, contract_id), None


def _about_a_customer(session: Session, event: dict[str, Any]) -> tuple[CustomerRow, str | None, Contracts]:
    """The locked customer, the contract the event names (which must be theirs) if any, and its contracts."""
    customer, contracts = find_customer_with_contracts(session, event["customer_id"])
    contract_id = event["data"].get("contract_id")
    if contract_id is not None and all(contract.id != contract_id for contract in contracts):
        raise UnknownContract(contract_id, customer.id)
    return customer, contract_id, contracts


def event_snapshot(event: dict[str, Any], contract_id: str | None) -> EventSnapshot:
    """What the rules read of an invoice paid, a service incident or a referral (about the contract
    named, if any): the same for `ingest`'s paths."""
    data = event["data"]
    if event["type"] == "invoice.paid":
        return _snapshot(event, contract_id, amount=data["amount"])
    if event["type"] == "service.incident":
        return _snapshot(event, contract_id, outage_hours=data["outage_hours"], planned=data["planned"])
    return _snapshot(event)


def _event_about_a_customer(session: Session, event: dict[str, Any]):
    customer, contract_id, contracts = _about_a_customer(session, event)
    return customer, event_snapshot(event, contract_id), contracts


APPLY: dict[str, Callable[[Session, dict[str, Any]], tuple[Customer | CustomerRow, EventSnapshot, Contracts | None]]] = {
    "customer.upserted": _customer_upserted,
    "contract.signed": _contract_signed,
    "contract.renewed": _contract_renewed,
    "contract.cancelled": _contract_cancelled,
    "invoice.paid": _event_about_a_customer,
    "service.incident": _event_about_a_customer,
    "referral.converted": _event_about_a_customer,
}
